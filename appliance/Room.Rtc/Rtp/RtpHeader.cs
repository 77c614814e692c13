using System.Buffers.Binary;

namespace Room.Rtc.Rtp;

/// <summary>
/// A parsed RTP fixed header (RFC 3550 section 5.1) with the offsets of the CSRC list, the header extension
/// (RFC 8285) and the payload inside the packet it was parsed from. Parsing allocates nothing.
/// </summary>
public readonly record struct RtpHeader(
    bool Padding,
    bool Marker,
    byte PayloadType,
    ushort SequenceNumber,
    uint Timestamp,
    uint Ssrc,
    int CsrcCount,
    ushort ExtensionProfile,
    int ExtensionOffset,
    int ExtensionLength,
    int HeaderLength,
    int PayloadLength,
    int PaddingLength)
{
    public const int FixedLength = 12;
    public const ushort OneByteExtensionProfile = 0xBEDE;

    public bool HasExtension => ExtensionOffset > 0;

    /// <summary>Parses the header of <paramref name="packet"/>; returns <see cref="RtcError.None"/> on success.</summary>
    public static RtcError TryParse(ReadOnlySpan<byte> packet, out RtpHeader header) => TryParse(packet, true, out header);

    /// <summary>Parses; when <paramref name="checkPadding"/> is false the padding count (which is encrypted in SRTP) is not read.</summary>
    public static RtcError TryParse(ReadOnlySpan<byte> packet, bool checkPadding, out RtpHeader header)
    {
        header = default;
        if (packet.Length < FixedLength) return RtcError.Truncated;
        byte b0 = packet[0];
        if (b0 >> 6 != 2) return RtcError.BadVersion;
        bool padding = (b0 & 0x20) != 0;
        bool extension = (b0 & 0x10) != 0;
        int cc = b0 & 0x0F;
        int offset = FixedLength + 4 * cc;
        if (packet.Length < offset) return RtcError.Truncated;
        ushort profile = 0;
        int extOffset = 0, extLength = 0;
        if (extension)
        {
            if (packet.Length < offset + 4) return RtcError.Truncated;
            profile = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
            extLength = 4 * BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
            extOffset = offset + 4;
            offset = extOffset + extLength;
            if (packet.Length < offset) return RtcError.Truncated;
        }
        int padLength = 0;
        if (padding && checkPadding)
        {
            padLength = packet[^1];
            if (padLength == 0 || offset + padLength > packet.Length) return RtcError.BadPadding;
        }
        header = new RtpHeader(padding, (packet[1] & 0x80) != 0, (byte)(packet[1] & 0x7F),
            BinaryPrimitives.ReadUInt16BigEndian(packet[2..]), BinaryPrimitives.ReadUInt32BigEndian(packet[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(packet[8..]), cc, profile, extOffset, extLength, offset,
            packet.Length - offset - padLength, padLength);
        return RtcError.None;
    }

    /// <summary>The payload of the packet this header was parsed from.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> packet) => packet.Slice(HeaderLength, PayloadLength);

    /// <summary>The CSRC at <paramref name="index"/>.</summary>
    public uint Csrc(ReadOnlySpan<byte> packet, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, CsrcCount);
        return BinaryPrimitives.ReadUInt32BigEndian(packet[(FixedLength + 4 * index)..]);
    }

    /// <summary>
    /// Finds the RFC 8285 header extension element with <paramref name="id"/> (one-byte or two-byte form).
    /// Returns <see cref="RtcError.None"/> and the element's data if found, <see cref="RtcError.Unsupported"/> if absent,
    /// or the reason the extension block is malformed.
    /// </summary>
    public RtcError TryGetExtension(ReadOnlySpan<byte> packet, int id, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!HasExtension) return RtcError.Unsupported;
        var block = packet.Slice(ExtensionOffset, ExtensionLength);
        bool oneByte = ExtensionProfile == OneByteExtensionProfile;
        bool twoByte = (ExtensionProfile & 0xFFF0) == 0x1000;
        if (!oneByte && !twoByte) return RtcError.Unsupported;
        int i = 0;
        while (i < block.Length)
        {
            if (block[i] == 0) { i++; continue; } // padding
            int elementId, length;
            if (oneByte)
            {
                elementId = block[i] >> 4;
                length = (block[i] & 0x0F) + 1;
                if (elementId == 15) return RtcError.Unsupported; // reserved: stop processing
                i++;
            }
            else
            {
                if (i + 2 > block.Length) return RtcError.BadHeaderExtension;
                elementId = block[i];
                length = block[i + 1];
                i += 2;
            }
            if (i + length > block.Length) return RtcError.BadHeaderExtension;
            if (elementId == id)
            {
                value = block.Slice(i, length);
                return RtcError.None;
            }
            i += length;
        }
        return RtcError.Unsupported;
    }

    /// <summary>Writes a 12-byte fixed header without CSRCs or extension; returns 12.</summary>
    public static int WriteFixed(Span<byte> destination, byte payloadType, bool marker, ushort sequenceNumber, uint timestamp, uint ssrc)
    {
        if (destination.Length < FixedLength) throw new ArgumentException("destination too small", nameof(destination));
        destination[0] = 0x80;
        destination[1] = (byte)((marker ? 0x80 : 0) | (payloadType & 0x7F));
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], sequenceNumber);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], timestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], ssrc);
        return FixedLength;
    }

    /// <summary>
    /// Rewrites the id of the one-byte header extension element <paramref name="fromId"/> to <paramref name="toId"/>
    /// in place (e.g. rid → repaired-rid on a retransmission); false if the packet has no such element.
    /// </summary>
    public static bool TryRenameOneByteExtension(Span<byte> packet, int fromId, int toId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(toId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(toId, 14);
        if (TryParse(packet, false, out var h) != RtcError.None || h.ExtensionProfile != OneByteExtensionProfile) return false;
        var block = packet.Slice(h.ExtensionOffset, h.ExtensionLength);
        int i = 0;
        while (i < block.Length)
        {
            if (block[i] == 0) { i++; continue; }
            int id = block[i] >> 4, length = (block[i] & 0x0F) + 1;
            if (id == 15 || i + 1 + length > block.Length) return false;
            if (id == fromId)
            {
                block[i] = (byte)((toId << 4) | (block[i] & 0x0F));
                return true;
            }
            i += 1 + length;
        }
        return false;
    }

    /// <summary>Reads the SSRC of an RTP packet without a full parse (caller checked length >= 12).</summary>
    public static uint ReadSsrc(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32BigEndian(packet[8..]);

    /// <summary>RFC 7983 demultiplexing: RTP or RTCP if the first byte is in [128, 191].</summary>
    public static bool LooksLikeRtpOrRtcp(ReadOnlySpan<byte> datagram) => datagram.Length >= 2 && datagram[0] is >= 128 and <= 191;

    /// <summary>RFC 5761 section 4: RTCP packet types 192..223 share the byte with RTP payload types 64..95 (with marker).</summary>
    public static bool IsRtcp(ReadOnlySpan<byte> datagram) => datagram.Length >= 2 && datagram[1] is >= 192 and <= 223;
}

/// <summary>
/// Appends an RFC 8285 one-byte header extension block after a fixed header: elements of 1..16 bytes with ids
/// 1..14, zero-padded to a 32-bit boundary; sets the X bit. Allocates nothing.
/// </summary>
public ref struct OneByteExtensionWriter
{
    private readonly Span<byte> _packet;
    private readonly int _start;
    private int _position;

    /// <param name="packet">The packet being written; its fixed header (and CSRCs) end at <paramref name="headerLength"/>.</param>
    public OneByteExtensionWriter(Span<byte> packet, int headerLength)
    {
        if (packet.Length < headerLength + 4) throw new ArgumentException("destination too small", nameof(packet));
        _packet = packet;
        _start = headerLength;
        _position = headerLength + 4;
        packet[0] |= 0x10;
        BinaryPrimitives.WriteUInt16BigEndian(packet[headerLength..], RtpHeader.OneByteExtensionProfile);
    }

    /// <summary>Adds one element.</summary>
    public void Add(int id, scoped ReadOnlySpan<byte> data)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(id, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(id, 14);
        if (data.Length is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(data), "one-byte elements carry 1..16 bytes");
        if (_packet.Length < _position + 1 + data.Length + 3) throw new ArgumentException("destination too small");
        _packet[_position++] = (byte)((id << 4) | (data.Length - 1));
        data.CopyTo(_packet[_position..]);
        _position += data.Length;
    }

    /// <summary>Adds a 16-bit big-endian element (the transport-wide sequence number).</summary>
    public void AddUInt16(int id, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, value);
        Add(id, b);
    }

    /// <summary>Pads, writes the block length; returns the header length including the extension block.</summary>
    public int Finish()
    {
        while ((_position - _start) % 4 != 0) _packet[_position++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(_packet[(_start + 2)..], (ushort)((_position - _start - 4) / 4));
        return _position;
    }
}
