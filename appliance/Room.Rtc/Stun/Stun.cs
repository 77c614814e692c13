using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Room.Rtc.Stun;

public enum StunClass { Request = 0, Indication = 1, SuccessResponse = 2, ErrorResponse = 3 }

public static class StunMethod
{
    public const int Binding = 0x001;
    public const int Allocate = 0x003;
    public const int Refresh = 0x004;
    public const int Send = 0x006;
    public const int Data = 0x007;
    public const int CreatePermission = 0x008;
    public const int ChannelBind = 0x009;
}

public static class StunAttributeType
{
    public const ushort MappedAddress = 0x0001;
    public const ushort Username = 0x0006;
    public const ushort MessageIntegrity = 0x0008;
    public const ushort ErrorCode = 0x0009;
    public const ushort UnknownAttributes = 0x000A;
    public const ushort ChannelNumber = 0x000C;
    public const ushort Lifetime = 0x000D;
    public const ushort XorPeerAddress = 0x0012;
    public const ushort Data = 0x0013;
    public const ushort Realm = 0x0014;
    public const ushort Nonce = 0x0015;
    public const ushort XorRelayedAddress = 0x0016;
    public const ushort RequestedTransport = 0x0019;
    public const ushort XorMappedAddress = 0x0020;
    public const ushort Priority = 0x0024;
    public const ushort UseCandidate = 0x0025;
    public const ushort Software = 0x8022;
    public const ushort Fingerprint = 0x8028;
    public const ushort IceControlled = 0x8029;
    public const ushort IceControlling = 0x802A;
}

/// <summary>
/// A STUN message (RFC 8489) viewed in place over the datagram that carried it. Parsing checks the header and that
/// every attribute lies within the message; it allocates nothing.
/// </summary>
public readonly ref struct StunMessage
{
    public const int HeaderLength = 20;
    public const uint MagicCookie = 0x2112A442;
    private const uint FingerprintXor = 0x5354554E;
    /// <summary>No STUN message we accept is longer than this (the largest UDP datagram we read).</summary>
    public const int MaxLength = 1500;

    private StunMessage(ReadOnlySpan<byte> raw) => Raw = raw;

    public ReadOnlySpan<byte> Raw { get; }
    public ushort Type => BinaryPrimitives.ReadUInt16BigEndian(Raw);
    public int Method => (Type & 0x000F) | ((Type & 0x00E0) >> 1) | ((Type & 0x3E00) >> 2);
    public StunClass Class => (StunClass)(((Type >> 4) & 1) | ((Type >> 7) & 2));
    public ReadOnlySpan<byte> TransactionId => Raw.Slice(8, 12);

    public static ushort MessageType(int method, StunClass cls) =>
        (ushort)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | (((int)cls & 1) << 4) | (((int)cls & 2) << 7));

    /// <summary>RFC 7983 demultiplexing: a STUN message starts with a byte in [0, 3] and carries the magic cookie.</summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && datagram[0] < 4 && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    public static RtcError TryParse(ReadOnlySpan<byte> datagram, out StunMessage message)
    {
        message = default;
        if (datagram.Length < HeaderLength) return RtcError.Truncated;
        if (datagram.Length > MaxLength) return RtcError.TooLarge;
        if ((datagram[0] & 0xC0) != 0) return RtcError.BadType;
        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != MagicCookie) return RtcError.BadMagicCookie;
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if ((length & 3) != 0) return RtcError.BadLength;
        if (HeaderLength + length != datagram.Length) return datagram.Length < HeaderLength + length ? RtcError.Truncated : RtcError.BadLength;
        int offset = HeaderLength;
        bool sawIntegrity = false, sawFingerprint = false;
        while (offset < datagram.Length)
        {
            if (offset + 4 > datagram.Length) return RtcError.BadAttribute;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(datagram[offset..]);
            int attrLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[(offset + 2)..]);
            int padded = (attrLength + 3) & ~3;
            if (offset + 4 + padded > datagram.Length) return RtcError.BadAttribute;
            if (sawFingerprint) return RtcError.BadAttribute; // nothing may follow FINGERPRINT
            if (sawIntegrity && type != StunAttributeType.Fingerprint) return RtcError.BadAttribute;
            if (type == StunAttributeType.MessageIntegrity)
            {
                if (attrLength != 20) return RtcError.BadAttribute;
                sawIntegrity = true;
            }
            else if (type == StunAttributeType.Fingerprint)
            {
                if (attrLength != 4) return RtcError.BadAttribute;
                sawFingerprint = true;
            }
            offset += 4 + padded;
        }
        message = new StunMessage(datagram);
        return RtcError.None;
    }

    /// <summary>Finds the first attribute of <paramref name="type"/>; returns its offset (of the value) or -1.</summary>
    private int Find(ushort type, out int length)
    {
        int offset = HeaderLength;
        while (offset + 4 <= Raw.Length)
        {
            ushort t = BinaryPrimitives.ReadUInt16BigEndian(Raw[offset..]);
            length = BinaryPrimitives.ReadUInt16BigEndian(Raw[(offset + 2)..]);
            if (t == type) return offset + 4;
            offset += 4 + ((length + 3) & ~3);
        }
        length = 0;
        return -1;
    }

    public bool TryGetAttribute(ushort type, out ReadOnlySpan<byte> value)
    {
        int offset = Find(type, out int length);
        value = offset < 0 ? default : Raw.Slice(offset, length);
        return offset >= 0;
    }

    public bool Has(ushort type) => Find(type, out _) >= 0;

    /// <summary>Comprehension-required attributes (type below 0x8000) that this implementation does not know.</summary>
    public bool HasUnknownRequiredAttribute()
    {
        int offset = HeaderLength;
        while (offset + 4 <= Raw.Length)
        {
            ushort t = BinaryPrimitives.ReadUInt16BigEndian(Raw[offset..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(Raw[(offset + 2)..]);
            if (t < 0x8000 && t is not (StunAttributeType.MappedAddress or StunAttributeType.Username or StunAttributeType.MessageIntegrity
                or StunAttributeType.ErrorCode or StunAttributeType.UnknownAttributes or StunAttributeType.ChannelNumber or StunAttributeType.Lifetime
                or StunAttributeType.XorPeerAddress or StunAttributeType.Data or StunAttributeType.Realm or StunAttributeType.Nonce
                or StunAttributeType.XorRelayedAddress or StunAttributeType.RequestedTransport or StunAttributeType.XorMappedAddress
                or StunAttributeType.Priority or StunAttributeType.UseCandidate or 0x0022 /* RESERVATION-TOKEN */ or 0x0018 /* EVEN-PORT */
                or 0x001A /* DONT-FRAGMENT */))
                return true;
            offset += 4 + ((length + 3) & ~3);
        }
        return false;
    }

    public bool TryGetUInt32(ushort type, out uint value)
    {
        value = 0;
        if (!TryGetAttribute(type, out var v) || v.Length != 4) return false;
        value = BinaryPrimitives.ReadUInt32BigEndian(v);
        return true;
    }

    public bool TryGetUInt64(ushort type, out ulong value)
    {
        value = 0;
        if (!TryGetAttribute(type, out var v) || v.Length != 8) return false;
        value = BinaryPrimitives.ReadUInt64BigEndian(v);
        return true;
    }

    /// <summary>ERROR-CODE: class*100 + number, or -1.</summary>
    public int ErrorCode => TryGetAttribute(StunAttributeType.ErrorCode, out var v) && v.Length >= 4 ? (v[2] & 7) * 100 + v[3] : -1;

    /// <summary>Reads an XOR-*-ADDRESS attribute (RFC 8489 14.2).</summary>
    public RtcError TryGetXorAddress(ushort type, out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (!TryGetAttribute(type, out var v)) return RtcError.Unsupported;
        if (v.Length < 4) return RtcError.BadAttribute;
        int port = BinaryPrimitives.ReadUInt16BigEndian(v[2..]) ^ (int)(MagicCookie >> 16);
        if (v[1] == 1 && v.Length == 8)
        {
            Span<byte> ip = stackalloc byte[4];
            for (int i = 0; i < 4; i++) ip[i] = (byte)(v[4 + i] ^ Raw[4 + i]);
            endPoint = new IPEndPoint(new IPAddress(ip), port);
            return RtcError.None;
        }
        if (v[1] == 2 && v.Length == 20)
        {
            Span<byte> ip = stackalloc byte[16];
            for (int i = 0; i < 16; i++) ip[i] = (byte)(v[4 + i] ^ Raw[4 + i]);
            endPoint = new IPEndPoint(new IPAddress(ip), port);
            return RtcError.None;
        }
        return RtcError.BadAttribute;
    }

    /// <summary>Checks MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 14.5) with <paramref name="key"/>.</summary>
    public bool VerifyIntegrity(ReadOnlySpan<byte> key)
    {
        int offset = Find(StunAttributeType.MessageIntegrity, out int length);
        if (offset < 0 || length != 20) return false;
        int covered = offset - 4;
        Span<byte> head = stackalloc byte[HeaderLength];
        Raw[..HeaderLength].CopyTo(head);
        BinaryPrimitives.WriteUInt16BigEndian(head[2..], (ushort)(covered + 24 - HeaderLength));
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, key);
        hmac.AppendData(head);
        hmac.AppendData(Raw[HeaderLength..covered]);
        Span<byte> mac = stackalloc byte[20];
        hmac.GetHashAndReset(mac);
        return CryptographicOperations.FixedTimeEquals(mac, Raw.Slice(offset, 20));
    }

    /// <summary>Checks FINGERPRINT (CRC-32 xor 0x5354554E, RFC 8489 14.7).</summary>
    public bool VerifyFingerprint()
    {
        int offset = Find(StunAttributeType.Fingerprint, out int length);
        if (offset < 0 || length != 4 || offset + 4 != Raw.Length) return false;
        uint crc = Crc32.Compute(Raw[..(offset - 4)]) ^ FingerprintXor;
        return crc == BinaryPrimitives.ReadUInt32BigEndian(Raw[offset..]);
    }

    internal static uint Fingerprint(ReadOnlySpan<byte> covered) => Crc32.Compute(covered) ^ FingerprintXor;
}

/// <summary>Builds a STUN message into a caller-provided buffer.</summary>
public ref struct StunBuilder
{
    private readonly Span<byte> _buffer;
    private int _length;

    public StunBuilder(Span<byte> buffer, int method, StunClass cls, ReadOnlySpan<byte> transactionId)
    {
        if (transactionId.Length != 12) throw new ArgumentException("transaction id is 12 bytes", nameof(transactionId));
        if (buffer.Length < StunMessage.HeaderLength) throw new ArgumentException("buffer too small", nameof(buffer));
        _buffer = buffer;
        BinaryPrimitives.WriteUInt16BigEndian(buffer, StunMessage.MessageType(method, cls));
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], StunMessage.MagicCookie);
        transactionId.CopyTo(buffer[8..]);
        _length = StunMessage.HeaderLength;
        SetLength();
    }

    public readonly int Length => _length;
    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    private readonly void SetLength() => BinaryPrimitives.WriteUInt16BigEndian(_buffer[2..], (ushort)(_length - StunMessage.HeaderLength));

    public void Add(ushort type, scoped ReadOnlySpan<byte> value, byte padding = 0)
    {
        int padded = (value.Length + 3) & ~3;
        if (_length + 4 + padded > _buffer.Length) throw new ArgumentException("STUN buffer too small");
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[_length..], type);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_length + 2)..], (ushort)value.Length);
        value.CopyTo(_buffer[(_length + 4)..]);
        _buffer.Slice(_length + 4 + value.Length, padded - value.Length).Fill(padding);
        _length += 4 + padded;
        SetLength();
    }

    public void AddUInt32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, value);
        Add(type, v);
    }

    public void AddUInt64(ushort type, ulong value)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(v, value);
        Add(type, v);
    }

    public void AddErrorCode(int code, string reason)
    {
        Span<byte> v = stackalloc byte[4 + 128];
        v[0] = v[1] = 0;
        v[2] = (byte)(code / 100);
        v[3] = (byte)(code % 100);
        int n = System.Text.Encoding.UTF8.GetBytes(reason.AsSpan(0, Math.Min(reason.Length, 120)), v[4..]);
        Add(StunAttributeType.ErrorCode, v[..(4 + n)]);
    }

    public void AddXorAddress(ushort type, IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Span<byte> v = stackalloc byte[20];
        Span<byte> ip = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(ip, out int ipLength);
        v[0] = 0;
        v[1] = endPoint.AddressFamily == AddressFamily.InterNetwork ? (byte)1 : (byte)2;
        BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)(endPoint.Port ^ (int)(StunMessage.MagicCookie >> 16)));
        for (int i = 0; i < ipLength; i++) v[4 + i] = (byte)(ip[i] ^ _buffer[4 + i]);
        Add(type, v[..(4 + ipLength)]);
    }

    /// <summary>Appends MESSAGE-INTEGRITY keyed with <paramref name="key"/> (the ICE password, or the TURN long-term key).</summary>
    public void AddIntegrity(ReadOnlySpan<byte> key)
    {
        if (_length + 24 > _buffer.Length) throw new ArgumentException("STUN buffer too small");
        int covered = _length;
        _length += 24;
        SetLength();
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[covered..], StunAttributeType.MessageIntegrity);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(covered + 2)..], 20);
#pragma warning disable CA5350 // HMAC-SHA1 is what STUN MESSAGE-INTEGRITY is (RFC 8489 14.5); peers expect it.
        HMACSHA1.HashData(key, _buffer[..covered], _buffer.Slice(covered + 4, 20));
#pragma warning restore CA5350
    }

    public void AddFingerprint()
    {
        if (_length + 8 > _buffer.Length) throw new ArgumentException("STUN buffer too small");
        int covered = _length;
        _length += 8;
        SetLength();
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[covered..], StunAttributeType.Fingerprint);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(covered + 2)..], 4);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[(covered + 4)..], StunMessage.Fingerprint(_buffer[..covered]));
    }

    /// <summary>TURN long-term credential key: MD5(username ":" realm ":" password) (RFC 8489 9.2.2).</summary>
    public static byte[] LongTermKey(string username, string realm, string password)
    {
#pragma warning disable CA5351 // MD5 is what RFC 8489 long-term credentials specify; it is not our choice.
        return MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"{username}:{realm}:{password}"));
#pragma warning restore CA5351
    }
}

internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}
