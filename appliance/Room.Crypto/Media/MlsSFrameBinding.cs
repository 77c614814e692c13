using System.Buffers.Binary;
using System.Security.Cryptography;
using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Crypto.Media;

/// <summary>
/// Binds SFrame media keys to an MLS group (RFC 9605 section 5.2). Each epoch:
/// <c>sframe_epoch_secret = MLS-Exporter("SFrame 1.0 Base Key", "", Nh)</c>,
/// <c>base_key = HKDF-Expand(sframe_epoch_secret, uint32(leaf), Nh)</c>, and
/// <c>KID = (((leaf &lt;&lt; S) + stream) &lt;&lt; E) + (epoch mod 2^E)</c>.
/// The previous epoch's receive keys stay usable for <see cref="GracePeriod"/>; after every rekey the sender must
/// send a keyframe (<see cref="KeyframeRequired"/>, <see cref="KeyframeNeeded"/>).
/// Thread-safe: all of a member's streams share one send counter, so encoders on several threads never reuse a nonce.
/// </summary>
public sealed class MlsSFrameBinding : IDisposable
{
    /// <summary>Bits of the epoch carried in the KID.</summary>
    public const int EpochBits = 4;

    /// <summary>Bits for the per-member stream (context) id.</summary>
    public const int StreamBits = 4;

    private readonly MlsGroup _group;
    private readonly TimeProvider _time;
    private readonly SFrameContext _rx;
    private readonly SFrameContext _tx;
    private readonly Lock _txLock = new();
    private readonly Lock _rxLock = new();
    private readonly List<ulong> _currentKids = [];
    private readonly List<ulong> _previousKids = [];
    private long _previousExpiresAt = long.MaxValue;
    private ulong _sendKid;
    private bool _hasSendKey;

    public MlsSFrameBinding(MlsGroup group, SFrameCipherSuite suite = SFrameCipherSuite.Aes128GcmSha256Tag128, TimeSpan? gracePeriod = null, TimeProvider? time = null)
    {
        _group = group;
        Suite = suite;
        GracePeriod = gracePeriod ?? TimeSpan.FromSeconds(5);
        _time = time ?? TimeProvider.System;
        _rx = new SFrameContext(suite);
        _tx = new SFrameContext(suite);
        InstallEpoch();
        group.EpochChanged += OnEpochChanged;
    }

    public SFrameCipherSuite Suite { get; }

    public TimeSpan GracePeriod { get; }

    /// <summary>True from a rekey until the sender calls <see cref="KeyframeSent"/>.</summary>
    public bool KeyframeRequired { get; private set; }

    /// <summary>Raised on every rekey: the local encoder must produce a keyframe now.</summary>
    public event EventHandler<ulong>? KeyframeNeeded;

    /// <summary>The human-comparable security code of the current epoch.</summary>
    public string SecurityCode => Media.SecurityCode.FromEpochAuthenticator(_group.Suite, _group.EpochAuthenticator);

    public int MaxOverhead => _tx.MaxOverhead;

    /// <summary>KID for a sender; only stream 0 is installed today (one media sender per member).</summary>
    public static ulong KeyId(ulong epoch, uint leaf, uint stream = 0)
    {
        if (stream >= 1u << StreamBits)
        {
            throw new SFrameException("stream id out of range");
        }

        return ((((ulong)leaf << StreamBits) + stream) << EpochBits) + (epoch & ((1UL << EpochBits) - 1));
    }

    /// <summary>base_key for one sender in the current epoch.</summary>
    public static byte[] BaseKey(MlsGroup group, SFrameCipherSuite suite, uint leaf)
    {
        int nh = SFrameSuiteParameters.For(suite).HashSize;
        var hash = SFrameSuiteParameters.For(suite).Hash;
        byte[] epochSecret = group.Export("SFrame 1.0 Base Key", [], nh);
        Span<byte> info = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(info, leaf);
        byte[] key = new byte[nh];
        HKDF.Expand(hash, epochSecret, key, info);
        CryptographicOperations.ZeroMemory(epochSecret);
        return key;
    }

    private void OnEpochChanged(object? sender, ulong epoch)
    {
        lock (_txLock)
        {
            lock (_rxLock)
            {
                InstallEpoch();
            }
        }

        KeyframeNeeded?.Invoke(this, epoch);
    }

    private void InstallEpoch()
    {
        ulong epoch = _group.Epoch;

        // What is older than the previous epoch goes now; the current epoch becomes the previous, kept for the grace period.
        foreach (ulong k in _previousKids)
        {
            _rx.RemoveKey(k);
        }

        _previousKids.Clear();
        _previousKids.AddRange(_currentKids);
        _currentKids.Clear();
        _previousExpiresAt = _previousKids.Count > 0 ? _time.GetTimestamp() + (long)(GracePeriod.TotalSeconds * _time.TimestampFrequency) : long.MaxValue;
        if (_hasSendKey)
        {
            _tx.RemoveKey(_sendKid);
            _hasSendKey = false;
        }

        foreach (uint leaf in _group.Members)
        {
            byte[] baseKey = BaseKey(_group, Suite, leaf);
            ulong kid = KeyId(epoch, leaf);
            _previousKids.Remove(kid); // epoch bits wrapped inside the grace window: the new epoch wins
            _rx.AddKey(kid, baseKey);
            _currentKids.Add(kid);
            if (leaf == _group.MyLeaf && !_group.Removed)
            {
                _tx.AddKey(kid, baseKey);
                _sendKid = kid;
                _hasSendKey = true;
            }

            CryptographicOperations.ZeroMemory(baseKey);
        }

        KeyframeRequired = true;
    }

    private void ExpireGrace()
    {
        if (_previousKids.Count > 0 && _time.GetTimestamp() >= _previousExpiresAt)
        {
            foreach (ulong k in _previousKids)
            {
                _rx.RemoveKey(k);
            }

            _previousKids.Clear();
            _previousExpiresAt = long.MaxValue;
        }
    }

    /// <summary>The encoder produced a keyframe after a rekey.</summary>
    public void KeyframeSent() => KeyframeRequired = false;

    /// <summary>Encrypts one frame with this member's current key. Returns bytes written.</summary>
    public int Encrypt(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> frame, Span<byte> output)
    {
        lock (_txLock)
        {
            return _hasSendKey ? _tx.Encrypt(_sendKid, metadata, frame, output) : throw new SFrameException("no send key (not a member)");
        }
    }

    /// <summary>Decrypts a frame from any member, current epoch or previous within the grace period.</summary>
    public int Decrypt(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> sframe, Span<byte> output)
    {
        lock (_rxLock)
        {
            ExpireGrace();
            return _rx.Decrypt(metadata, sframe, output);
        }
    }

    public void Dispose()
    {
        _group.EpochChanged -= OnEpochChanged;
        lock (_txLock)
        {
            lock (_rxLock)
            {
                _rx.Dispose();
                _tx.Dispose();
            }
        }
    }
}

/// <summary>The code people compare to detect a meddling server: same on every member of an epoch.</summary>
public static class SecurityCode
{
    public const int Groups = 12;
    public const int DigitsPerGroup = 5;

    /// <summary>
    /// 12 groups of 5 digits: 60 bytes from ExpandWithLabel(epoch_authenticator, "Room security code", "", 60); each
    /// 5-byte chunk as a big-endian integer mod 100000.
    /// </summary>
    public static string FromEpochAuthenticator(MlsCipherSuite cs, ReadOnlySpan<byte> epochAuthenticator)
    {
        byte[] bytes = cs.ExpandWithLabel(epochAuthenticator, "Room security code", [], Groups * 5);
        var parts = new string[Groups];
        for (int g = 0; g < Groups; g++)
        {
            ulong v = 0;
            for (int i = 0; i < 5; i++)
            {
                v = (v << 8) | bytes[g * 5 + i];
            }

            parts[g] = (v % 100000).ToString("D5");
        }

        return string.Join(' ', parts);
    }
}
