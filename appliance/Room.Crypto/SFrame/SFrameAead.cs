using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Room.Crypto.SFrame;

/// <summary>The AEAD of one SFrame key. Holds the key schedule once; seal and open allocate nothing.</summary>
internal abstract class SFrameAead : IDisposable
{
    public abstract int TagSize { get; }

    /// <summary>Writes ciphertext (same length as plaintext) followed by the tag into <paramref name="output"/>.</summary>
    public abstract void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> output);

    /// <summary>Verifies and decrypts ciphertext||tag into <paramref name="plaintext"/>; false if authentication fails.</summary>
    public abstract bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertextAndTag, Span<byte> plaintext);

    public abstract void Dispose();

    public static SFrameAead Create(SFrameSuiteParameters p, ReadOnlySpan<byte> key) =>
        p.IsCtrHmac ? new CtrHmacAead(p, key) : new GcmAead(key, p.TagSize);
}

internal sealed class GcmAead(ReadOnlySpan<byte> key, int tagSize) : SFrameAead
{
    private readonly AesGcm _gcm = new(key, tagSize);

    public override int TagSize { get; } = tagSize;

    public override void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> output) =>
        _gcm.Encrypt(nonce, plaintext, output[..plaintext.Length], output.Slice(plaintext.Length, TagSize), aad);

    public override bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertextAndTag, Span<byte> plaintext)
    {
        int n = ciphertextAndTag.Length - TagSize;
        try
        {
            _gcm.Decrypt(nonce, ciphertextAndTag[..n], ciphertextAndTag[n..], plaintext[..n], aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public override void Dispose() => _gcm.Dispose();
}

/// <summary>AES-CTR + truncated HMAC (RFC 9605 section 4.5.1). Keeps its buffers; allocation-free per frame; not thread-safe.</summary>
internal sealed class CtrHmacAead : SFrameAead
{
    private const int ChunkBytes = 4096;
    private readonly Aes _aes;
    private readonly ICryptoTransform _ecb;
    private readonly IncrementalHash _hmac;
    private readonly int _hashSize;
    private readonly byte[] _counters = new byte[ChunkBytes];
    private readonly byte[] _stream = new byte[ChunkBytes];

    public CtrHmacAead(SFrameSuiteParameters p, ReadOnlySpan<byte> key)
    {
        TagSize = p.TagSize;
        _hashSize = p.HashSize;
        _aes = Aes.Create();
        byte[] enc = key[..p.EncKeySize].ToArray();
        _aes.Key = enc;
        CryptographicOperations.ZeroMemory(enc);
        _aes.Mode = CipherMode.ECB;
        _aes.Padding = PaddingMode.None;
        _ecb = _aes.CreateEncryptor();
        byte[] auth = key[p.EncKeySize..].ToArray();
        _hmac = IncrementalHash.CreateHMAC(p.Hash, auth);
        CryptographicOperations.ZeroMemory(auth);
    }

    public override int TagSize { get; }

    public override void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        Span<byte> ct = output[..plaintext.Length];
        Ctr(nonce, plaintext, ct);
        Span<byte> tag = stackalloc byte[64];
        ComputeTag(nonce, aad, ct, tag);
        tag[..TagSize].CopyTo(output.Slice(plaintext.Length, TagSize));
        CryptographicOperations.ZeroMemory(tag);
    }

    public override bool Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertextAndTag, Span<byte> plaintext)
    {
        int n = ciphertextAndTag.Length - TagSize;
        ReadOnlySpan<byte> ct = ciphertextAndTag[..n];
        Span<byte> tag = stackalloc byte[64];
        ComputeTag(nonce, aad, ct, tag);
        bool ok = CryptographicOperations.FixedTimeEquals(tag[..TagSize], ciphertextAndTag[n..]);
        if (ok)
        {
            Ctr(nonce, ct, plaintext[..n]);
        }

        return ok;
    }

    private void ComputeTag(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ct, Span<byte> tag)
    {
        Span<byte> lens = stackalloc byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(lens, (ulong)aad.Length);
        BinaryPrimitives.WriteUInt64BigEndian(lens[8..], (ulong)ct.Length);
        BinaryPrimitives.WriteUInt64BigEndian(lens[16..], (ulong)TagSize);
        _hmac.AppendData(lens);
        _hmac.AppendData(nonce);
        _hmac.AppendData(aad);
        _hmac.AppendData(ct);
        _hmac.GetHashAndReset(tag[.._hashSize]);
    }

    private void Ctr(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> input, Span<byte> output)
    {
        uint block = 0;
        int done = 0;
        while (done < input.Length)
        {
            int chunk = Math.Min(input.Length - done, ChunkBytes);
            int nblocks = (chunk + 15) / 16;
            for (int b = 0; b < nblocks; b++)
            {
                Span<byte> c = _counters.AsSpan(b * 16, 16);
                nonce.CopyTo(c);
                BinaryPrimitives.WriteUInt32BigEndian(c[12..], block++);
            }

            _ecb.TransformBlock(_counters, 0, nblocks * 16, _stream, 0);
            Xor(input.Slice(done, chunk), _stream.AsSpan(0, chunk), output.Slice(done, chunk));
            done += chunk;
        }

        CryptographicOperations.ZeroMemory(_stream);
    }

    private static void Xor(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> dest)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int w = System.Numerics.Vector<byte>.Count;
            for (; i + w <= a.Length; i += w)
            {
                (new System.Numerics.Vector<byte>(a[i..]) ^ new System.Numerics.Vector<byte>(b[i..])).CopyTo(dest[i..]);
            }
        }

        for (; i < a.Length; i++)
        {
            dest[i] = (byte)(a[i] ^ b[i]);
        }
    }

    public override void Dispose()
    {
        _ecb.Dispose();
        _aes.Dispose();
        _hmac.Dispose();
    }
}
