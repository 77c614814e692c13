using System.Security.Cryptography;
using Room.Crypto.Media;
using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Call.E2ee;

/// <summary>One member of the MLS group as the call shows it: its leaf and the identity its X.509 certificate names.</summary>
/// <param name="Member">Who the member is by its credential (kind, name to show, a guest's inviting host); null when unreadable.</param>
public sealed record MlsCallMember(uint Leaf, string Identity, Room.Crypto.Certificates.MemberInfo? Member = null);

/// <summary>
/// The SFrame keys of a call keyed by an MLS group (RFC 9605 section 5.2), for <see cref="SFrameEncryptor"/> and
/// <see cref="SFrameDecryptor"/> (the same interfaces the link key serves):
/// <list type="bullet">
/// <item><c>sframe_epoch_secret = MLS-Exporter("SFrame 1.0 Base Key", "", Nh)</c>; base key of the member at leaf L:
/// <c>HKDF-Expand(sframe_epoch_secret, uint32(L), Nh)</c>; KID <c>((L &lt;&lt; 4 | stream) &lt;&lt; 4) | epoch mod 16</c>
/// (stream 0 video, 1 audio; <see cref="MlsSFrameBinding"/>'s layout).</item>
/// <item>Frames are accepted only under the key of a leaf that is a member of the current epoch. The previous epoch's
/// keys stay accepted (frames in flight, members who process the commit a little later) only when nobody left the
/// group in that commit, and only until the next epoch change; a commit that removes anyone withdraws every older key
/// at once, so a removed member can neither read nor forge what follows.</item>
/// <item>The send key changes with every epoch (<see cref="Generation"/>); <see cref="Changed"/> tells the sender to
/// make a keyframe, and the call to show the new <see cref="SecurityCode"/> and <see cref="Members"/>.</item>
/// </list>
/// Thread-safe: epochs change on the thread that processes handshakes; media threads read keys.
/// </summary>
public sealed class MlsCallKeys : ISFrameKeySource, ISFrameSendKeys, IDisposable
{
    /// <summary>Media streams per member: 0 video, 1 audio.</summary>
    public const uint Streams = 2;

    private const int EpochBits = MlsSFrameBinding.EpochBits;
    private const int StreamBits = MlsSFrameBinding.StreamBits;
    private const SFrameCipherSuite Suite = SFrameCipherSuite.Aes128GcmSha256Tag128;

    private readonly MlsGroup _group;
    private readonly Lock _gate = new();
    /// <summary>Accepted keys by KID with the stream bits cleared (one base key per member and epoch).</summary>
    private readonly Dictionary<ulong, Entry> _keys = [];
    private long _generation;
    private ulong _epoch;
    private bool _removed;
    private uint _myLeaf;
    private IReadOnlyList<MlsCallMember> _members = [];
    private string _securityCode = "";

    private sealed record Entry(byte[] BaseKey, long Since, ulong Epoch);

    public MlsCallKeys(MlsGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        _group = group;
        lock (_gate)
        {
            Install();
        }

        group.EpochChanged += OnEpochChanged;
    }

    /// <summary>A new epoch: keys, members and security code changed.</summary>
    public event EventHandler? Changed;

    public long Generation => Volatile.Read(ref _generation);

    public ulong Epoch
    {
        get
        {
            lock (_gate) return _epoch;
        }
    }

    /// <summary>The current epoch's security code (from its epoch authenticator): the same on every member, new on every join and leave.</summary>
    public string SecurityCode
    {
        get
        {
            lock (_gate) return _securityCode;
        }
    }

    /// <summary>The members of the current epoch, from the ratchet tree, by leaf.</summary>
    public IReadOnlyList<MlsCallMember> Members
    {
        get
        {
            lock (_gate) return _members;
        }
    }

    /// <summary>This member's leaf.</summary>
    public uint MyLeaf
    {
        get
        {
            lock (_gate) return _myLeaf;
        }
    }

    /// <summary>True once this member was removed: nothing more is sent or accepted.</summary>
    public bool Removed
    {
        get
        {
            lock (_gate) return _removed;
        }
    }

    /// <summary>The KID of <paramref name="leaf"/>'s stream <paramref name="stream"/> in <paramref name="epoch"/>.</summary>
    public static ulong KeyId(ulong epoch, uint leaf, uint stream) => MlsSFrameBinding.KeyId(epoch, leaf, stream);

    private static ulong MemberKid(ulong kid) => kid & ~(((1UL << StreamBits) - 1) << EpochBits);

    private static uint StreamOf(ulong kid) => (uint)(kid >> EpochBits) & ((1u << StreamBits) - 1);

    public int BaseKey(ulong keyId, Span<byte> baseKey)
    {
        if (StreamOf(keyId) >= Streams) return 0;
        lock (_gate)
        {
            if (!_keys.TryGetValue(MemberKid(keyId), out var e) || baseKey.Length < e.BaseKey.Length) return 0;
            e.BaseKey.CopyTo(baseKey);
            return e.BaseKey.Length;
        }
    }

    public bool IsCurrent(ulong keyId, long generation)
    {
        lock (_gate)
        {
            return _keys.TryGetValue(MemberKid(keyId), out var e) && e.Since <= generation;
        }
    }

    public int SendKey(uint stream, out ulong keyId, out long generation, Span<byte> baseKey)
    {
        lock (_gate)
        {
            generation = _generation;
            keyId = 0;
            if (_removed || stream >= Streams) return 0;
            keyId = KeyId(_epoch, _myLeaf, stream);
            if (!_keys.TryGetValue(MemberKid(keyId), out var e) || baseKey.Length < e.BaseKey.Length) return 0;
            e.BaseKey.CopyTo(baseKey);
            return e.BaseKey.Length;
        }
    }

    /// <summary>
    /// After processing handshakes: a commit that removed this member changes no epoch for it (the group raises no
    /// event), so whoever processes them calls this; every key goes, nothing more is sent or accepted. True when this
    /// member was found removed now.
    /// </summary>
    public bool CheckRemoved()
    {
        lock (_gate)
        {
            if (_removed || !_group.Removed) return false;
            Install();
        }

        Changed?.Invoke(this, EventArgs.Empty);
        return true;
    }

    private void OnEpochChanged(object? sender, ulong epoch)
    {
        lock (_gate)
        {
            Install();
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    private static MlsCallMember Member(uint leaf, Credential credential)
    {
        string identity = CredentialIdentity.Of(credential);
        try
        {
            return new MlsCallMember(leaf, identity, Room.Crypto.Certificates.MemberCertificate.Read(credential));
        }
        catch (Room.Crypto.MlsException)
        {
            return new MlsCallMember(leaf, identity);
        }
    }

    /// <summary>Under the lock: the group's current epoch becomes the call's.</summary>
    private void Install()
    {
        var previous = _members;
        ulong previousEpoch = _epoch;
        List<MlsCallMember> members = _group.Removed ? [] : [.. _group.Members.Select(l => Member(l, _group.Tree.Leaf(l)!.Credential)).OrderBy(m => m.Leaf)];
        bool someoneLeft = previous.Any(p => !members.Contains(p)) || _group.Removed;
        long generation = _generation + 1;

        // Keep only the previous epoch's keys, and those only when nobody left; older epochs go.
        foreach (var (kid, e) in _keys.ToList())
        {
            if (someoneLeft || e.Epoch != previousEpoch)
            {
                CryptographicOperations.ZeroMemory(e.BaseKey);
                _keys.Remove(kid);
            }
        }

        ulong epoch = _group.Epoch;
        if (!_group.Removed)
        {
            foreach (var m in members)
            {
                ulong kid = MemberKid(KeyId(epoch, m.Leaf, 0));
                if (_keys.Remove(kid, out var wrapped)) CryptographicOperations.ZeroMemory(wrapped.BaseKey); // epoch bits wrapped
                _keys[kid] = new Entry(MlsSFrameBinding.BaseKey(_group, Suite, m.Leaf), generation, epoch);
            }
        }

        _epoch = epoch;
        _removed = _group.Removed;
        _myLeaf = _group.MyLeaf;
        _members = members;
        _securityCode = _removed ? "" : Room.Crypto.Media.SecurityCode.FromEpochAuthenticator(_group.Suite, _group.EpochAuthenticator);
        Volatile.Write(ref _generation, generation);
    }

    public void Dispose()
    {
        _group.EpochChanged -= OnEpochChanged;
        lock (_gate)
        {
            foreach (var e in _keys.Values) CryptographicOperations.ZeroMemory(e.BaseKey);
            _keys.Clear();
        }
    }
}
