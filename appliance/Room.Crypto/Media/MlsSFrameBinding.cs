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
/// send a keyframe (<see cref="KeyframeRequired"/>, <see cref="KeyframeNeeded"/>). With a <see cref="SendSwitchDelay"/>,
/// a member receives with the new keys at once but sends with its old key for that long after a rekey, so that
/// members who process the commit a little later (the delivery service's latency) can still read it.
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
    /// <summary>Earlier epochs' receive keys, oldest first, each until its grace period ends.</summary>
    private readonly Queue<(List<ulong> Kids, long ExpiresAt)> _previousEpochs = new();
    private ulong _sendKid;
    private bool _hasSendKey;
    private byte[]? _pendingSendKey;
    private ulong _pendingSendKid;
    private ulong _pendingEpoch;
    private long _switchAt;

    public MlsSFrameBinding(MlsGroup group, SFrameCipherSuite suite = SFrameCipherSuite.Aes128GcmSha256Tag128, TimeSpan? gracePeriod = null, TimeProvider? time = null, TimeSpan? sendSwitchDelay = null)
    {
        _group = group;
        Suite = suite;
        GracePeriod = gracePeriod ?? TimeSpan.FromSeconds(5);
        SendSwitchDelay = sendSwitchDelay ?? TimeSpan.Zero;
        if (SendSwitchDelay >= GracePeriod && SendSwitchDelay > TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(sendSwitchDelay), "the send switch delay must be shorter than the grace period");
        }

        _time = time ?? TimeProvider.System;
        _rx = new SFrameContext(suite);
        _tx = new SFrameContext(suite);
        InstallEpoch();
        group.EpochChanged += OnEpochChanged;
    }

    public SFrameCipherSuite Suite { get; }

    public TimeSpan GracePeriod { get; }

    /// <summary>How long after a rekey this member still sends with the previous epoch's key (zero: switch at once).</summary>
    public TimeSpan SendSwitchDelay { get; }

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
        bool switched;
        lock (_txLock)
        {
            lock (_rxLock)
            {
                switched = InstallEpoch();
            }
        }

        if (switched)
        {
            KeyframeNeeded?.Invoke(this, epoch);
        }
    }

    /// <summary>Installs the current epoch's keys; true when the send key switched now (not deferred).</summary>
    private bool InstallEpoch()
    {
        ulong epoch = _group.Epoch;
        bool switched = true;

        // The current epoch's keys stay readable for the grace period, as do earlier ones still inside theirs: frames
        // sent just before a rekey, even two quick rekeys, still open. (Each epoch is only a few keys.)
        ExpireGrace();
        if (_currentKids.Count > 0)
        {
            _previousEpochs.Enqueue(([.. _currentKids], _time.GetTimestamp() + (long)(GracePeriod.TotalSeconds * _time.TimestampFrequency)));
            _currentKids.Clear();
        }

        // A switch still pending from the last rekey is overtaken: its epoch is now the previous one.
        bool defer = SendSwitchDelay > TimeSpan.Zero && _hasSendKey && _pendingSendKey is null && !_group.Removed;
        DropPendingSendKey();
        if (!defer && _hasSendKey)
        {
            _tx.RemoveKey(_sendKid);
            _hasSendKey = false;
        }

        foreach (uint leaf in _group.Members)
        {
            byte[] baseKey = BaseKey(_group, Suite, leaf);
            ulong kid = KeyId(epoch, leaf);
            foreach (var previous in _previousEpochs)
            {
                previous.Kids.Remove(kid); // epoch bits wrapped inside the grace window: the new epoch wins
            }

            _rx.AddKey(kid, baseKey);
            _currentKids.Add(kid);
            if (leaf == _group.MyLeaf && !_group.Removed)
            {
                if (defer)
                {
                    // Keep sending with the old key a little longer; Encrypt switches when the delay is over.
                    _pendingSendKey = (byte[])baseKey.Clone();
                    _pendingSendKid = kid;
                    _pendingEpoch = epoch;
                    _switchAt = _time.GetTimestamp() + (long)(SendSwitchDelay.TotalSeconds * _time.TimestampFrequency);
                    switched = false;
                }
                else
                {
                    _tx.AddKey(kid, baseKey);
                    _sendKid = kid;
                    _hasSendKey = true;
                }
            }

            CryptographicOperations.ZeroMemory(baseKey);
        }

        if (switched)
        {
            KeyframeRequired = true;
        }

        return switched;
    }

    private void DropPendingSendKey()
    {
        if (_pendingSendKey is not null)
        {
            CryptographicOperations.ZeroMemory(_pendingSendKey);
            _pendingSendKey = null;
        }
    }

    /// <summary>Under the send lock: the deferred switch to the new epoch's send key, once its time has come.</summary>
    private bool SwitchSendKeyIfDue()
    {
        if (_pendingSendKey is null || _time.GetTimestamp() < _switchAt)
        {
            return false;
        }

        if (_hasSendKey)
        {
            _tx.RemoveKey(_sendKid);
        }

        _tx.AddKey(_pendingSendKid, _pendingSendKey);
        _sendKid = _pendingSendKid;
        _hasSendKey = true;
        DropPendingSendKey();
        KeyframeRequired = true;
        return true;
    }

    private void ExpireGrace()
    {
        if (_previousEpochs.Count == 0)
        {
            return;
        }

        long now = _time.GetTimestamp();
        while (_previousEpochs.TryPeek(out var oldest) && now >= oldest.ExpiresAt)
        {
            _previousEpochs.Dequeue();
            foreach (ulong k in oldest.Kids)
            {
                _rx.RemoveKey(k);
            }
        }
    }

    /// <summary>The encoder produced a keyframe after a rekey.</summary>
    public void KeyframeSent() => KeyframeRequired = false;

    /// <summary>Encrypts one frame with this member's current key. Returns bytes written.</summary>
    public int Encrypt(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> frame, Span<byte> output)
    {
        bool switched;
        ulong epoch;
        int written;
        lock (_txLock)
        {
            epoch = _pendingEpoch;
            switched = SwitchSendKeyIfDue();
            written = _hasSendKey ? _tx.Encrypt(_sendKid, metadata, frame, output) : throw new SFrameException("no send key (not a member)");
        }

        if (switched)
        {
            KeyframeNeeded?.Invoke(this, epoch); // this frame already went out with the new key; the next one is the keyframe
        }

        return written;
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
                DropPendingSendKey();
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
