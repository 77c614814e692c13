using Room.Crypto;
using Room.Crypto.SFrame;
using Room.Media;

namespace Room.Call.E2ee;

/// <summary>What an encoded frame is, for the layout of its SFrame (which bytes stay in clear).</summary>
public enum FrameKind
{
    /// <summary>Opus: the whole frame is encrypted.</summary>
    Audio,

    /// <summary>
    /// VP8: the payload header (RFC 6386 9.1: the 3-byte frame tag, and on keyframes the start code and dimensions,
    /// 10 bytes) stays in clear, so that packetizers, depacketizers and the SFU (which read it for keyframes and the
    /// picture size) keep working; it is authenticated as SFrame metadata.
    /// </summary>
    Vp8,
}

/// <summary>
/// Per-frame SFrame layout that survives browsers' packetizers (the layout browsers' encoded transforms use):
/// <c>clear prefix || SFrame header || ciphertext || tag</c>, with the clear prefix as the AAD metadata
/// (RFC 9605 4.4.3: AAD = header || metadata).
/// </summary>
public static class SFrameLayout
{
    public const int Vp8KeyframePrefix = 10;
    public const int Vp8DeltaPrefix = 3;

    /// <summary>Bytes the layout adds at most (header and tag of AES_128_GCM_SHA256_128).</summary>
    public const int MaxExpansion = SFrameHeader.MaxSize + 16;

    /// <summary>Clear bytes at the start of a frame of this kind (never more than the frame has).</summary>
    public static int ClearPrefix(FrameKind kind, ReadOnlySpan<byte> frame)
    {
        if (kind == FrameKind.Audio || frame.IsEmpty) return 0;
        // VP8 frame tag bit 0 is P: 0 for a keyframe.
        int prefix = (frame[0] & 1) == 0 ? Vp8KeyframePrefix : Vp8DeltaPrefix;
        return Math.Min(prefix, frame.Length);
    }
}

/// <summary>
/// Encrypts this sender's frames: with one fixed SFrame key (one KID, one counter), or with the current key of a
/// <see cref="ISFrameSendKeys"/> (MLS: a new KID and key on every epoch change, taken before the next frame; no key, as
/// when this member was removed, drops the frame). Thread-safe.
/// </summary>
public sealed class SFrameEncryptor : IFrameTransform, IDisposable
{
    private readonly SFrameContext _context = new(SFrameCipherSuite.Aes128GcmSha256Tag128);
    private readonly FrameKind _kind;
    private readonly Lock _gate = new();
    private readonly ISFrameSendKeys? _keys;
    private readonly uint _stream;
    private long _generation;
    private bool _hasKey;

    public SFrameEncryptor(FrameKind kind, ulong keyId, ReadOnlySpan<byte> baseKey)
    {
        _kind = kind;
        KeyId = keyId;
        _context.AddKey(keyId, baseKey);
        _hasKey = true;
    }

    /// <summary>Follows <paramref name="keys"/>: stream <paramref name="stream"/> of this member, rekeyed with every generation.</summary>
    public SFrameEncryptor(FrameKind kind, ISFrameSendKeys keys, uint stream)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _kind = kind;
        _keys = keys;
        _stream = stream;
        _generation = long.MinValue;
    }

    /// <summary>The KID the last frame went out with.</summary>
    public ulong KeyId { get; private set; }

    public int MaxExpansion => SFrameLayout.MaxExpansion;

    public long Frames { get; private set; }

    /// <summary>Frames dropped because this member had no send key (not, or no longer, a member).</summary>
    public long Dropped { get; private set; }

    public int Transform(ReadOnlySpan<byte> frame, bool keyframe, Span<byte> output)
    {
        int prefix = SFrameLayout.ClearPrefix(_kind, frame);
        if (output.Length < frame.Length + MaxExpansion) return -1;
        lock (_gate)
        {
            if (_keys is not null && _keys.Generation != _generation) Rekey();
            if (!_hasKey)
            {
                Dropped++;
                return -1;
            }

            var clear = frame[..prefix];
            int n = _context.Encrypt(KeyId, clear, frame[prefix..], output[prefix..]);
            clear.CopyTo(output);
            Frames++;
            return prefix + n;
        }
    }

    private void Rekey()
    {
        Span<byte> baseKey = stackalloc byte[64];
        int n = _keys!.SendKey(_stream, out ulong keyId, out long generation, baseKey);
        if (_hasKey) _context.RemoveKey(KeyId);
        _hasKey = n > 0;
        if (_hasKey)
        {
            _context.AddKey(keyId, baseKey[..n]);
            KeyId = keyId;
        }

        System.Security.Cryptography.CryptographicOperations.ZeroMemory(baseKey);
        _generation = generation;
    }

    public void Dispose()
    {
        lock (_gate) _context.Dispose();
    }
}

/// <summary>Where a sender gets its current SFrame key (MLS: per epoch, from the exporter).</summary>
public interface ISFrameSendKeys
{
    /// <summary>Changes whenever the send key changes (every epoch).</summary>
    long Generation { get; }

    /// <summary>
    /// Writes the current base key of this member's stream <paramref name="stream"/>, its KID and the generation it
    /// belongs to (read together); returns its length, 0 when this member may not send.
    /// </summary>
    int SendKey(uint stream, out ulong keyId, out long generation, Span<byte> baseKey);
}

/// <summary>Where a receiver gets the SFrame base key for a KID it has not seen (null: unknown sender).</summary>
public interface ISFrameKeySource
{
    /// <summary>Writes the base key for <paramref name="keyId"/> into <paramref name="baseKey"/> and returns its length, or 0 when the KID is not ours to accept.</summary>
    int BaseKey(ulong keyId, Span<byte> baseKey);

    /// <summary>
    /// Changes whenever keys given out before may have been withdrawn or replaced (MLS: every epoch change). A fixed
    /// key source (a link key) never changes.
    /// </summary>
    long Generation => 0;

    /// <summary>Whether the key given out for <paramref name="keyId"/> at <paramref name="generation"/> is still to be accepted.</summary>
    bool IsCurrent(ulong keyId, long generation) => true;
}

/// <summary>
/// Decrypts frames of any sender whose key the <see cref="ISFrameKeySource"/> gives: KID from the SFrame header, key
/// derived on first sight and kept (at most <see cref="MaxKeys"/>, oldest dropped), replays refused (64-frame window
/// per KID). When the source's <see cref="ISFrameKeySource.Generation"/> changes (an MLS epoch change), keys it no
/// longer accepts are dropped before the next frame is opened, and KIDs refused before are asked for again. A frame that is malformed, of an unknown sender, tampered or replayed is dropped (-1). Thread-safe.
/// </summary>
public sealed class SFrameDecryptor(FrameKind kind, ISFrameKeySource keys) : IFrameTransform, IDisposable
{
    public const int MaxKeys = 64;
    private readonly SFrameContext _context = new(SFrameCipherSuite.Aes128GcmSha256Tag128);
    private readonly Queue<ulong> _order = new();
    private readonly HashSet<ulong> _refused = [];
    private readonly Dictionary<ulong, long> _installedAt = [];
    private readonly Lock _gate = new();
    private long _generation = keys.Generation;

    public int MaxExpansion => 0;

    public long Frames { get; private set; }

    /// <summary>Frames dropped: malformed, unknown KID, failed authentication or replayed.</summary>
    public long Rejected { get; private set; }

    /// <summary>Why the last frame was dropped (diagnostics; no key material).</summary>
    public string? LastError { get; private set; }

    public int Transform(ReadOnlySpan<byte> frame, bool keyframe, Span<byte> output)
    {
        lock (_gate)
        {
            int prefix = SFrameLayout.ClearPrefix(kind, frame);
            var sframe = frame[prefix..];
            if (sframe.Length < 1 + 16 || output.Length < frame.Length) return Reject("frame too short for SFrame");
            long generation = keys.Generation;
            if (generation != _generation) Refresh(generation);
            try
            {
                var header = SFrameHeader.Decode(sframe, out _);
                if (!_context.HasKey(header.KeyId) && !Install(header.KeyId)) return Reject("unknown SFrame KID");
                int n = _context.Decrypt(frame[..prefix], sframe, output[prefix..]);
                frame[..prefix].CopyTo(output);
                Frames++;
                return prefix + n;
            }
            catch (RoomCryptoException e)
            {
                return Reject(e.Message);
            }
        }
    }

    /// <summary>The key source moved on: drop what it no longer accepts, forget refusals (a new epoch's KIDs may be good now).</summary>
    private void Refresh(long generation)
    {
        _refused.Clear();
        var keep = new Queue<ulong>(_order.Count);
        foreach (ulong kid in _order)
        {
            if (keys.IsCurrent(kid, _installedAt[kid]))
            {
                keep.Enqueue(kid);
            }
            else
            {
                _context.RemoveKey(kid);
                _installedAt.Remove(kid);
            }
        }

        _order.Clear();
        foreach (ulong kid in keep) _order.Enqueue(kid);
        _generation = generation;
    }

    private bool Install(ulong keyId)
    {
        if (_refused.Contains(keyId)) return false;
        Span<byte> baseKey = stackalloc byte[64];
        int n = keys.BaseKey(keyId, baseKey);
        if (n <= 0)
        {
            if (_refused.Count < 1024) _refused.Add(keyId);
            return false;
        }

        if (_order.Count >= MaxKeys)
        {
            ulong oldest = _order.Dequeue();
            _context.RemoveKey(oldest);
            _installedAt.Remove(oldest);
        }

        _context.AddKey(keyId, baseKey[..n]);
        _installedAt[keyId] = _generation;
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(baseKey);
        _order.Enqueue(keyId);
        return true;
    }

    private int Reject(string why)
    {
        Rejected++;
        LastError = why;
        return -1;
    }

    public void Dispose()
    {
        lock (_gate) _context.Dispose();
    }
}
