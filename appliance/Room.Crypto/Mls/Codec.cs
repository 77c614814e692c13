using System.Buffers.Binary;

namespace Room.Crypto.Mls;

/// <summary>Writer for the TLS presentation language with MLS variable-length vectors (RFC 9420 section 2.1.2).</summary>
public sealed class MlsWriter
{
    private byte[] _buf;
    private int _len;

    public MlsWriter(int capacity = 256) => _buf = new byte[capacity];

    public int Length => _len;

    public ReadOnlySpan<byte> Written => _buf.AsSpan(0, _len);

    public byte[] ToArray() => _buf.AsSpan(0, _len).ToArray();

    private Span<byte> Grow(int n)
    {
        if (_len + n > _buf.Length)
        {
            Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + n));
        }

        var s = _buf.AsSpan(_len, n);
        _len += n;
        return s;
    }

    public void U8(byte v) => Grow(1)[0] = v;

    public void U16(ushort v) => BinaryPrimitives.WriteUInt16BigEndian(Grow(2), v);

    public void U32(uint v) => BinaryPrimitives.WriteUInt32BigEndian(Grow(4), v);

    public void U64(ulong v) => BinaryPrimitives.WriteUInt64BigEndian(Grow(8), v);

    public void Raw(ReadOnlySpan<byte> b) => b.CopyTo(Grow(b.Length));

    public static int VarIntSize(ulong v) => v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x40000000 ? 4 : throw new MlsException("length too large for a varint");

    public void VarInt(ulong v)
    {
        switch (VarIntSize(v))
        {
            case 1: U8((byte)v); break;
            case 2: U16((ushort)(0x4000 | v)); break;
            default: U32((uint)(0x80000000 | v)); break;
        }
    }

    /// <summary>opaque data&lt;V&gt;.</summary>
    public void Opaque(ReadOnlySpan<byte> b)
    {
        VarInt((ulong)b.Length);
        Raw(b);
    }

    /// <summary>A vector whose content is written by <paramref name="body"/>, prefixed with its varint length.</summary>
    public void Vector(Action<MlsWriter> body)
    {
        int start = _len;
        body(this);
        int n = _len - start;
        int p = VarIntSize((ulong)n);
        Grow(p);
        Array.Copy(_buf, start, _buf, start + p, n);
        int save = _len;
        _len = start;
        VarInt((ulong)n);
        _len = save;
    }

    public void Vector<T>(IEnumerable<T> items, Action<MlsWriter, T> each) => Vector(w =>
    {
        foreach (var i in items)
        {
            each(w, i);
        }
    });

    public void Optional<T>(T? value, Action<MlsWriter, T> each)
        where T : class
    {
        if (value is null)
        {
            U8(0);
        }
        else
        {
            U8(1);
            each(this, value);
        }
    }

    public static byte[] Encode(Action<MlsWriter> body)
    {
        var w = new MlsWriter();
        body(w);
        return w.ToArray();
    }
}

/// <summary>
/// Reader for MLS wire data. Every failure (truncation, non-minimal varint, over-long vector, trailing bytes,
/// unknown enum value) raises <see cref="MlsDecodeException"/>.
/// </summary>
public sealed class MlsReader
{
    /// <summary>Largest vector accepted (RFC 9420 allows 2^30-1; the whole input bounds it anyway).</summary>
    public const int MaxVector = (1 << 30) - 1;

    private readonly ReadOnlyMemory<byte> _data;
    private int _pos;

    public MlsReader(ReadOnlyMemory<byte> data) => _data = data;

    public int Position => _pos;

    public int Remaining => _data.Length - _pos;

    public bool AtEnd => _pos == _data.Length;

    public ReadOnlyMemory<byte> Consumed(int from) => _data[from.._pos];

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || n > Remaining)
        {
            throw new MlsDecodeException($"truncated input: need {n} bytes, {Remaining} left");
        }

        var s = _data.Span.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public byte U8() => Take(1)[0];

    public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    public byte[] Raw(int n) => Take(n).ToArray();

    public ulong VarInt()
    {
        byte first = U8();
        int prefix = first >> 6;
        ulong v = (ulong)(first & 0x3F);
        int len = prefix switch
        {
            0 => 1,
            1 => 2,
            2 => 4,
            _ => throw new MlsDecodeException("invalid varint prefix 0b11"),
        };
        foreach (byte b in Take(len - 1))
        {
            v = (v << 8) | b;
        }

        if (len > 1 && MlsWriter.VarIntSize(v) != len)
        {
            throw new MlsDecodeException("non-minimal varint encoding");
        }

        return v;
    }

    private int VectorLength()
    {
        ulong n = VarInt();
        if (n > (ulong)Remaining)
        {
            throw new MlsDecodeException($"vector length {n} exceeds the {Remaining} bytes left");
        }

        return (int)n;
    }

    public byte[] Opaque() => Take(VectorLength()).ToArray();

    /// <summary>Opaque with a fixed expected length (e.g. keys), refusing anything else.</summary>
    public byte[] Opaque(int exactLength)
    {
        var b = Opaque();
        if (b.Length != exactLength)
        {
            throw new MlsDecodeException($"expected {exactLength} bytes, got {b.Length}");
        }

        return b;
    }

    public MlsReader Sub()
    {
        int n = VectorLength();
        var r = new MlsReader(_data.Slice(_pos, n));
        _pos += n;
        return r;
    }

    public List<T> Vector<T>(Func<MlsReader, T> each)
    {
        var r = Sub();
        var list = new List<T>();
        while (!r.AtEnd)
        {
            list.Add(each(r));
        }

        return list;
    }

    public T? Optional<T>(Func<MlsReader, T> each)
        where T : class => U8() switch
        {
            0 => null,
            1 => each(this),
            _ => throw new MlsDecodeException("invalid optional presence byte"),
        };

    public void ExpectEnd()
    {
        if (!AtEnd)
        {
            throw new MlsDecodeException($"{Remaining} trailing bytes");
        }
    }

    /// <summary>Decodes exactly one value spanning all of <paramref name="data"/>.</summary>
    public static T DecodeAll<T>(ReadOnlyMemory<byte> data, Func<MlsReader, T> decode)
    {
        var r = new MlsReader(data);
        var v = decode(r);
        r.ExpectEnd();
        return v;
    }
}
