using System.Buffers.Binary;

namespace Room.Crypto.SFrame;

/// <summary>
/// SFrame header (RFC 9605 section 4.3): one config byte |X|K K K|Y|C C C| followed by the
/// optional extended KID and CTR, both big-endian and minimal. Decoding rejects non-minimal encodings.
/// </summary>
public readonly record struct SFrameHeader(ulong KeyId, ulong Counter)
{
    /// <summary>Largest possible header: config byte, 8-byte KID, 8-byte CTR.</summary>
    public const int MaxSize = 17;

    private static int MinimalLength(ulong v) => v == 0 ? 1 : (71 - System.Numerics.BitOperations.LeadingZeroCount(v)) / 8;

    /// <summary>Encoded size of this header in bytes.</summary>
    public int Size =>
        1 + (KeyId < 8 ? 0 : MinimalLength(KeyId)) + (Counter < 8 ? 0 : MinimalLength(Counter));

    /// <summary>Writes the header; returns the number of bytes written.</summary>
    public int Encode(Span<byte> destination)
    {
        int size = Size;
        if (destination.Length < size)
        {
            throw new SFrameException("destination too small for SFrame header");
        }

        byte config = 0;
        int pos = 1;
        if (KeyId < 8)
        {
            config |= (byte)(KeyId << 4);
        }
        else
        {
            int n = MinimalLength(KeyId);
            config |= (byte)(0x80 | ((n - 1) << 4));
            WriteBigEndian(destination.Slice(pos, n), KeyId);
            pos += n;
        }

        if (Counter < 8)
        {
            config |= (byte)Counter;
        }
        else
        {
            int n = MinimalLength(Counter);
            config |= (byte)(0x08 | (n - 1));
            WriteBigEndian(destination.Slice(pos, n), Counter);
            pos += n;
        }

        destination[0] = config;
        return pos;
    }

    /// <summary>Parses a header from the start of <paramref name="source"/>.</summary>
    /// <exception cref="SFrameException">truncated or non-canonical header.</exception>
    public static SFrameHeader Decode(ReadOnlySpan<byte> source, out int consumed)
    {
        if (source.IsEmpty)
        {
            throw new SFrameException("empty SFrame header");
        }

        byte config = source[0];
        int pos = 1;
        ulong kid;
        if ((config & 0x80) == 0)
        {
            kid = (ulong)((config >> 4) & 0x07);
        }
        else
        {
            int n = ((config >> 4) & 0x07) + 1;
            kid = ReadExtended(source, ref pos, n, "KID");
        }

        ulong ctr;
        if ((config & 0x08) == 0)
        {
            ctr = (ulong)(config & 0x07);
        }
        else
        {
            int n = (config & 0x07) + 1;
            ctr = ReadExtended(source, ref pos, n, "CTR");
        }

        consumed = pos;
        return new SFrameHeader(kid, ctr);
    }

    private static ulong ReadExtended(ReadOnlySpan<byte> source, ref int pos, int n, string what)
    {
        if (source.Length < pos + n)
        {
            throw new SFrameException($"truncated SFrame header ({what})");
        }

        ulong v = 0;
        for (int i = 0; i < n; i++)
        {
            v = (v << 8) | source[pos + i];
        }

        if (v < 8 || MinimalLength(v) != n)
        {
            throw new SFrameException($"non-canonical SFrame {what} encoding");
        }

        pos += n;
        return v;
    }

    private static void WriteBigEndian(Span<byte> dest, ulong v)
    {
        Span<byte> tmp = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(tmp, v);
        tmp[(8 - dest.Length)..].CopyTo(dest);
    }
}
