using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Room.Crypto.SFrame;

/// <summary>
/// The key and salt derived for one KID (RFC 9605 section 4.4.2), with its AEAD ready to use.
/// Encrypt and decrypt work on caller buffers and allocate nothing.
/// </summary>
public sealed class SFrameKey : IDisposable
{
    private readonly SFrameAead _aead;
    private readonly byte[] _salt;
    private bool _disposed;

    public SFrameKey(SFrameCipherSuite suite, ulong keyId, ReadOnlySpan<byte> baseKey)
    {
        Suite = suite;
        KeyId = keyId;
        Parameters = SFrameSuiteParameters.For(suite);
        byte[] key = new byte[Parameters.KeySize];
        _salt = new byte[Parameters.NonceSize];
        Derive(suite, keyId, baseKey, key, _salt);
        _aead = SFrameAead.Create(Parameters, key);
        CryptographicOperations.ZeroMemory(key);
    }

    public SFrameCipherSuite Suite { get; }

    public ulong KeyId { get; }

    public SFrameSuiteParameters Parameters { get; }

    /// <summary>Bytes an SFrame ciphertext adds to the plaintext at most.</summary>
    public int MaxOverhead => SFrameHeader.MaxSize + Parameters.TagSize;

    /// <summary>HKDF key/salt derivation: sframe_secret = Extract("", base_key); key/salt = Expand(secret, label, N).</summary>
    public static void Derive(SFrameCipherSuite suite, ulong keyId, ReadOnlySpan<byte> baseKey, Span<byte> key, Span<byte> salt)
    {
        var p = SFrameSuiteParameters.For(suite);
        Span<byte> secret = stackalloc byte[p.HashSize];
        HKDF.Extract(p.Hash, baseKey, ReadOnlySpan<byte>.Empty, secret);
        Span<byte> label = stackalloc byte[64];
        int n = Label("SFrame 1.0 Secret key ", keyId, suite, label);
        HKDF.Expand(p.Hash, secret, key[..p.KeySize], label[..n]);
        n = Label("SFrame 1.0 Secret salt ", keyId, suite, label);
        HKDF.Expand(p.Hash, secret, salt[..p.NonceSize], label[..n]);
        CryptographicOperations.ZeroMemory(secret);
    }

    private static int Label(string prefix, ulong keyId, SFrameCipherSuite suite, Span<byte> dest)
    {
        int n = Encoding.ASCII.GetBytes(prefix, dest);
        BinaryPrimitives.WriteUInt64BigEndian(dest[n..], keyId);
        BinaryPrimitives.WriteUInt16BigEndian(dest[(n + 8)..], (ushort)suite);
        return n + 10;
    }

    /// <summary>
    /// Encrypts one frame with counter <paramref name="counter"/> into <paramref name="output"/>
    /// (header || ciphertext || tag). Returns the bytes written.
    /// </summary>
    public int Encrypt(ulong counter, ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var header = new SFrameHeader(KeyId, counter);
        int hlen = header.Size;
        int total = hlen + plaintext.Length + Parameters.TagSize;
        if (output.Length < total)
        {
            throw new SFrameException("output buffer too small");
        }

        if (output.Overlaps(plaintext))
        {
            throw new SFrameException("output must not overlap the plaintext");
        }

        header.Encode(output);
        Span<byte> nonce = stackalloc byte[Parameters.NonceSize];
        FormNonce(counter, nonce);
        byte[]? rented = metadata.Length <= 256 ? null : System.Buffers.ArrayPool<byte>.Shared.Rent(hlen + metadata.Length);
        Span<byte> aadBuf = rented == null ? stackalloc byte[hlen + metadata.Length] : rented.AsSpan(0, hlen + metadata.Length);
        output[..hlen].CopyTo(aadBuf);
        metadata.CopyTo(aadBuf[hlen..]);
        _aead.Seal(nonce, aadBuf, plaintext, output[hlen..total]);
        if (rented != null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return total;
    }

    /// <summary>
    /// Decrypts a whole SFrame ciphertext (header included) whose header names this key. Returns the plaintext length.
    /// </summary>
    /// <exception cref="SFrameException">malformed, wrong key, or authentication failure.</exception>
    public int Decrypt(ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> sframe, Span<byte> plaintext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var header = SFrameHeader.Decode(sframe, out int hlen);
        if (header.KeyId != KeyId)
        {
            throw new SFrameException("SFrame KID does not match this key");
        }

        return DecryptBody(header, hlen, metadata, sframe, plaintext);
    }

    internal int DecryptBody(SFrameHeader header, int hlen, ReadOnlySpan<byte> metadata, ReadOnlySpan<byte> sframe, Span<byte> plaintext)
    {
        int ctLen = sframe.Length - hlen - Parameters.TagSize;
        if (ctLen < 0)
        {
            throw new SFrameException("SFrame ciphertext shorter than its tag");
        }

        if (plaintext.Length < ctLen)
        {
            throw new SFrameException("plaintext buffer too small");
        }

        Span<byte> nonce = stackalloc byte[Parameters.NonceSize];
        FormNonce(header.Counter, nonce);
        byte[]? rented = metadata.Length <= 256 ? null : System.Buffers.ArrayPool<byte>.Shared.Rent(hlen + metadata.Length);
        Span<byte> aadBuf = rented == null ? stackalloc byte[hlen + metadata.Length] : rented.AsSpan(0, hlen + metadata.Length);
        sframe[..hlen].CopyTo(aadBuf);
        metadata.CopyTo(aadBuf[hlen..]);
        bool ok = _aead.Open(nonce, aadBuf, sframe[hlen..], plaintext);
        if (rented != null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        if (!ok)
        {
            plaintext[..ctLen].Clear();
            throw new SFrameException("SFrame authentication failed");
        }

        return ctLen;
    }

    private void FormNonce(ulong counter, Span<byte> nonce)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[^8..], counter);
        for (int i = 0; i < nonce.Length; i++)
        {
            nonce[i] ^= _salt[i];
        }
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _aead.Dispose();
            CryptographicOperations.ZeroMemory(_salt);
        }
    }
}
