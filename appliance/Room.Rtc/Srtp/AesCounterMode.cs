using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace Room.Rtc.Srtp;

/// <summary>
/// AES-128 in counter mode as SRTP uses it (RFC 3711 4.1.1): keystream block i is AES(key, IV + i).
/// Uses AES-NI when the CPU has it, else a reused ECB transform over preallocated buffers. No allocation per call.
/// </summary>
internal sealed class AesCounterMode : IDisposable
{
    private readonly Vector128<byte>[]? _roundKeys;
    private readonly System.Security.Cryptography.Aes? _aes;
    private readonly ICryptoTransform? _ecb;
    private readonly byte[] _counters = new byte[1024];
    private readonly byte[] _stream = new byte[1024];

    public AesCounterMode(ReadOnlySpan<byte> key)
    {
        if (key.Length != 16) throw new ArgumentException("AES-128 key is 16 bytes", nameof(key));
        if (X86Aes.IsSupported && Sse2.IsSupported)
        {
            _roundKeys = ExpandKey(key);
        }
        else
        {
            _aes = System.Security.Cryptography.Aes.Create();
            _aes.Key = key.ToArray();
            _aes.Mode = CipherMode.ECB;
            _aes.Padding = PaddingMode.None;
            _ecb = _aes.CreateEncryptor();
        }
    }

    /// <summary>XORs the keystream that starts at counter block <paramref name="iv"/> into <paramref name="data"/>.</summary>
    public void Apply(ReadOnlySpan<byte> iv, Span<byte> data)
    {
        if (_roundKeys is not null) ApplyNi(iv, data);
        else ApplyTransform(iv, data);
    }

    private void ApplyNi(ReadOnlySpan<byte> iv, Span<byte> data)
    {
        var rk = _roundKeys!;
        Span<byte> counter = stackalloc byte[16];
        iv[..16].CopyTo(counter);
        uint c0 = BinaryPrimitives.ReadUInt32BigEndian(iv[12..]);
        Span<byte> tmp = stackalloc byte[16];
        int offset = 0;
        uint block = 0;
        while (offset < data.Length)
        {
            BinaryPrimitives.WriteUInt32BigEndian(counter[12..], c0 + block);
            var ks = EncryptBlock(Vector128.Create((ReadOnlySpan<byte>)counter), rk);
            int n = Math.Min(16, data.Length - offset);
            if (n == 16)
            {
                var d = Vector128.Create((ReadOnlySpan<byte>)data.Slice(offset, 16));
                (d ^ ks).CopyTo(data.Slice(offset, 16));
            }
            else
            {
                ks.CopyTo(tmp);
                for (int i = 0; i < n; i++) data[offset + i] ^= tmp[i];
            }
            offset += n;
            block++;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> EncryptBlock(Vector128<byte> x, Vector128<byte>[] rk)
    {
        x ^= rk[0];
        for (int r = 1; r < 10; r++) x = X86Aes.Encrypt(x, rk[r]);
        return X86Aes.EncryptLast(x, rk[10]);
    }

    private static Vector128<byte>[] ExpandKey(ReadOnlySpan<byte> key)
    {
        var rk = new Vector128<byte>[11];
        rk[0] = Vector128.Create(key);
        rk[1] = Expand(rk[0], X86Aes.KeygenAssist(rk[0], 0x01));
        rk[2] = Expand(rk[1], X86Aes.KeygenAssist(rk[1], 0x02));
        rk[3] = Expand(rk[2], X86Aes.KeygenAssist(rk[2], 0x04));
        rk[4] = Expand(rk[3], X86Aes.KeygenAssist(rk[3], 0x08));
        rk[5] = Expand(rk[4], X86Aes.KeygenAssist(rk[4], 0x10));
        rk[6] = Expand(rk[5], X86Aes.KeygenAssist(rk[5], 0x20));
        rk[7] = Expand(rk[6], X86Aes.KeygenAssist(rk[6], 0x40));
        rk[8] = Expand(rk[7], X86Aes.KeygenAssist(rk[7], 0x80));
        rk[9] = Expand(rk[8], X86Aes.KeygenAssist(rk[8], 0x1B));
        rk[10] = Expand(rk[9], X86Aes.KeygenAssist(rk[9], 0x36));
        return rk;
    }

    private static Vector128<byte> Expand(Vector128<byte> key, Vector128<byte> assist)
    {
        assist = Sse2.Shuffle(assist.AsInt32(), 0xFF).AsByte();
        key ^= Sse2.ShiftLeftLogical128BitLane(key, 4);
        key ^= Sse2.ShiftLeftLogical128BitLane(key, 4);
        key ^= Sse2.ShiftLeftLogical128BitLane(key, 4);
        return key ^ assist;
    }

    private void ApplyTransform(ReadOnlySpan<byte> iv, Span<byte> data)
    {
        uint c0 = BinaryPrimitives.ReadUInt32BigEndian(iv[12..]);
        uint block = 0;
        int offset = 0;
        while (offset < data.Length)
        {
            int chunk = Math.Min(_counters.Length, (data.Length - offset + 15) & ~15);
            for (int b = 0; b < chunk; b += 16)
            {
                iv[..12].CopyTo(_counters.AsSpan(b));
                BinaryPrimitives.WriteUInt32BigEndian(_counters.AsSpan(b + 12), c0 + block++);
            }
            _ecb!.TransformBlock(_counters, 0, chunk, _stream, 0);
            int n = Math.Min(chunk, data.Length - offset);
            for (int i = 0; i < n; i++) data[offset + i] ^= _stream[i];
            offset += n;
        }
    }

    public void Dispose()
    {
        _ecb?.Dispose();
        _aes?.Dispose();
    }
}
