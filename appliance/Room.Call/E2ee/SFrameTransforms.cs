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

/// <summary>Encrypts this sender's frames with one SFrame key (one KID, one counter). Thread-safe.</summary>
public sealed class SFrameEncryptor : IFrameTransform, IDisposable
{
    private readonly SFrameContext _context = new(SFrameCipherSuite.Aes128GcmSha256Tag128);
    private readonly FrameKind _kind;
    private readonly Lock _gate = new();

    public SFrameEncryptor(FrameKind kind, ulong keyId, ReadOnlySpan<byte> baseKey)
    {
        _kind = kind;
        KeyId = keyId;
        _context.AddKey(keyId, baseKey);
    }

    public ulong KeyId { get; }

    public int MaxExpansion => SFrameLayout.MaxExpansion;

    public long Frames { get; private set; }

    public int Transform(ReadOnlySpan<byte> frame, bool keyframe, Span<byte> output)
    {
        int prefix = SFrameLayout.ClearPrefix(_kind, frame);
        if (output.Length < frame.Length + MaxExpansion) return -1;
        lock (_gate)
        {
            var clear = frame[..prefix];
            int n = _context.Encrypt(KeyId, clear, frame[prefix..], output[prefix..]);
            clear.CopyTo(output);
            Frames++;
            return prefix + n;
        }
    }

    public void Dispose()
    {
        lock (_gate) _context.Dispose();
    }
}

/// <summary>Where a receiver gets the SFrame base key for a KID it has not seen (null: unknown sender).</summary>
public interface ISFrameKeySource
{
    /// <summary>Writes the base key for <paramref name="keyId"/> into <paramref name="baseKey"/> and returns its length, or 0 when the KID is not ours to accept.</summary>
    int BaseKey(ulong keyId, Span<byte> baseKey);
}

/// <summary>
/// Decrypts frames of any sender whose key the <see cref="ISFrameKeySource"/> gives: KID from the SFrame header, key
/// derived on first sight and kept (at most <see cref="MaxKeys"/>, oldest dropped), replays refused (64-frame window
/// per KID). A frame that is malformed, of an unknown sender, tampered or replayed is dropped (-1). Thread-safe.
/// </summary>
public sealed class SFrameDecryptor(FrameKind kind, ISFrameKeySource keys) : IFrameTransform, IDisposable
{
    public const int MaxKeys = 64;
    private readonly SFrameContext _context = new(SFrameCipherSuite.Aes128GcmSha256Tag128);
    private readonly Queue<ulong> _order = new();
    private readonly HashSet<ulong> _refused = [];
    private readonly Lock _gate = new();

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

        if (_order.Count >= MaxKeys) _context.RemoveKey(_order.Dequeue());
        _context.AddKey(keyId, baseKey[..n]);
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
