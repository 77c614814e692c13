using System.Buffers.Binary;

namespace Room.Rtc.Rtcp;

/// <summary>RTCP packet types (RFC 3550, RFC 4585).</summary>
public enum RtcpType : byte
{
    SenderReport = 200,
    ReceiverReport = 201,
    SourceDescription = 202,
    Goodbye = 203,
    Application = 204,
    TransportFeedback = 205,
    PayloadFeedback = 206,
}

/// <summary>One packet of an RTCP compound packet: its header fields and its body (after the 4-byte header).</summary>
public readonly ref struct RtcpPacket
{
    public RtcpPacket(int count, RtcpType type, ReadOnlySpan<byte> packet, ReadOnlySpan<byte> body)
    {
        Count = count;
        Type = type;
        Packet = packet;
        Body = body;
    }

    /// <summary>Report count, source count or feedback message type (FMT), depending on <see cref="Type"/>.</summary>
    public int Count { get; }
    public RtcpType Type { get; }
    /// <summary>The whole packet, header included.</summary>
    public ReadOnlySpan<byte> Packet { get; }
    /// <summary>The packet after its 4-byte header, padding removed.</summary>
    public ReadOnlySpan<byte> Body { get; }
}

/// <summary>Walks an RTCP compound packet (RFC 3550 section 6.1) without allocating.</summary>
public ref struct RtcpCompoundReader
{
    private ReadOnlySpan<byte> _rest;

    public RtcpCompoundReader(ReadOnlySpan<byte> compound) => _rest = compound;

    /// <summary>The error that stopped iteration, or None if the compound was consumed cleanly.</summary>
    public RtcError Error { get; private set; }

    /// <summary>Reads the next packet; false at the end or on malformed input (see <see cref="Error"/>).</summary>
    public bool TryRead(out RtcpPacket packet)
    {
        packet = default;
        if (_rest.IsEmpty || Error != RtcError.None) return false;
        if (_rest.Length < 4) return Fail(RtcError.Truncated);
        byte b0 = _rest[0];
        if (b0 >> 6 != 2) return Fail(RtcError.BadVersion);
        byte pt = _rest[1];
        if (pt is < 192 or > 223) return Fail(RtcError.BadType);
        int length = 4 * (BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]) + 1);
        if (length > _rest.Length) return Fail(RtcError.Truncated);
        var whole = _rest[..length];
        var body = whole[4..];
        if ((b0 & 0x20) != 0)
        {
            // Only the last packet of a compound may be padded (RFC 3550 section 6.4.1).
            if (length != _rest.Length) return Fail(RtcError.BadPadding);
            int pad = whole[^1];
            if (pad == 0 || pad > body.Length) return Fail(RtcError.BadPadding);
            body = body[..^pad];
        }
        _rest = _rest[length..];
        packet = new RtcpPacket(b0 & 0x1F, (RtcpType)pt, whole, body);
        return true;
    }

    private bool Fail(RtcError error)
    {
        Error = error;
        return false;
    }

    /// <summary>Checks a whole compound: every packet well formed and the first one a report (SR/RR).</summary>
    public static RtcError Validate(ReadOnlySpan<byte> compound, bool requireReportFirst = true)
    {
        if (compound.IsEmpty) return RtcError.Truncated;
        var reader = new RtcpCompoundReader(compound);
        bool first = true;
        while (reader.TryRead(out var packet))
        {
            if (first && requireReportFirst && packet.Type is not (RtcpType.SenderReport or RtcpType.ReceiverReport))
                return RtcError.BadType;
            first = false;
        }
        return reader.Error;
    }
}

/// <summary>An RTCP reception report block (RFC 3550 section 6.4.1).</summary>
public readonly record struct ReportBlock(uint Ssrc, byte FractionLost, int CumulativeLost, uint ExtendedHighestSequence,
    uint Jitter, uint LastSenderReport, uint DelaySinceLastSenderReport)
{
    public const int Length = 24;

    public static ReportBlock Read(ReadOnlySpan<byte> b)
    {
        int lost = (b[5] << 16) | (b[6] << 8) | b[7];
        if ((lost & 0x800000) != 0) lost |= unchecked((int)0xFF000000);
        return new ReportBlock(BinaryPrimitives.ReadUInt32BigEndian(b), b[4], lost,
            BinaryPrimitives.ReadUInt32BigEndian(b[8..]), BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[16..]), BinaryPrimitives.ReadUInt32BigEndian(b[20..]));
    }

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32BigEndian(b, Ssrc);
        b[4] = FractionLost;
        int lost = Math.Clamp(CumulativeLost, -0x800000, 0x7FFFFF);
        b[5] = (byte)(lost >> 16);
        b[6] = (byte)(lost >> 8);
        b[7] = (byte)lost;
        BinaryPrimitives.WriteUInt32BigEndian(b[8..], ExtendedHighestSequence);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], Jitter);
        BinaryPrimitives.WriteUInt32BigEndian(b[16..], LastSenderReport);
        BinaryPrimitives.WriteUInt32BigEndian(b[20..], DelaySinceLastSenderReport);
    }
}

/// <summary>Sender report (PT 200).</summary>
public readonly record struct SenderReport(uint Ssrc, ulong NtpTimestamp, uint RtpTimestamp, uint PacketCount, uint OctetCount, int ReportCount)
{
    public static RtcError TryParse(in RtcpPacket packet, out SenderReport report)
    {
        report = default;
        if (packet.Type != RtcpType.SenderReport) return RtcError.BadType;
        var b = packet.Body;
        if (b.Length < 24 + packet.Count * ReportBlock.Length) return RtcError.BadLength;
        report = new SenderReport(BinaryPrimitives.ReadUInt32BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[12..]), BinaryPrimitives.ReadUInt32BigEndian(b[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(b[20..]), packet.Count);
        return RtcError.None;
    }

    public static ReportBlock Block(in RtcpPacket packet, int index) => ReportBlock.Read(packet.Body[(24 + index * ReportBlock.Length)..]);

    /// <summary>Writes an SR with the given report blocks; returns the length.</summary>
    public int Write(Span<byte> destination, ReadOnlySpan<ReportBlock> blocks)
    {
        if (blocks.Length > 31) throw new ArgumentException("at most 31 report blocks", nameof(blocks));
        int length = 28 + blocks.Length * ReportBlock.Length;
        RtcpWriter.Header(destination, blocks.Length, RtcpType.SenderReport, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], Ssrc);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], NtpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], RtpTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(destination[20..], PacketCount);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], OctetCount);
        for (int i = 0; i < blocks.Length; i++) blocks[i].Write(destination[(28 + i * ReportBlock.Length)..]);
        return length;
    }
}

/// <summary>Receiver report (PT 201).</summary>
public static class ReceiverReport
{
    public static RtcError TryParse(in RtcpPacket packet, out uint ssrc)
    {
        ssrc = 0;
        if (packet.Type != RtcpType.ReceiverReport) return RtcError.BadType;
        if (packet.Body.Length < 4 + packet.Count * ReportBlock.Length) return RtcError.BadLength;
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(packet.Body);
        return RtcError.None;
    }

    public static ReportBlock Block(in RtcpPacket packet, int index) => ReportBlock.Read(packet.Body[(4 + index * ReportBlock.Length)..]);

    public static int Write(Span<byte> destination, uint ssrc, ReadOnlySpan<ReportBlock> blocks)
    {
        if (blocks.Length > 31) throw new ArgumentException("at most 31 report blocks", nameof(blocks));
        int length = 8 + blocks.Length * ReportBlock.Length;
        RtcpWriter.Header(destination, blocks.Length, RtcpType.ReceiverReport, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], ssrc);
        for (int i = 0; i < blocks.Length; i++) blocks[i].Write(destination[(8 + i * ReportBlock.Length)..]);
        return length;
    }
}

/// <summary>Common header of RFC 4585 feedback messages: sender SSRC, media SSRC, then FCI.</summary>
public readonly ref struct FeedbackMessage
{
    private FeedbackMessage(int format, RtcpType type, uint senderSsrc, uint mediaSsrc, ReadOnlySpan<byte> fci)
    {
        Format = format;
        Type = type;
        SenderSsrc = senderSsrc;
        MediaSsrc = mediaSsrc;
        Fci = fci;
    }

    public const int NackFormat = 1;
    public const int TransportCcFormat = 15;
    public const int PliFormat = 1;
    public const int FirFormat = 4;
    public const int AfbFormat = 15;

    public int Format { get; }
    public RtcpType Type { get; }
    public uint SenderSsrc { get; }
    public uint MediaSsrc { get; }
    public ReadOnlySpan<byte> Fci { get; }

    public bool IsNack => Type == RtcpType.TransportFeedback && Format == NackFormat;
    public bool IsTransportCc => Type == RtcpType.TransportFeedback && Format == TransportCcFormat;
    public bool IsPli => Type == RtcpType.PayloadFeedback && Format == PliFormat;
    public bool IsFir => Type == RtcpType.PayloadFeedback && Format == FirFormat;
    public bool IsRemb => Type == RtcpType.PayloadFeedback && Format == AfbFormat && Fci.Length >= 4 && Fci[..4].SequenceEqual("REMB"u8);

    public static RtcError TryParse(in RtcpPacket packet, out FeedbackMessage message)
    {
        message = default;
        if (packet.Type is not (RtcpType.TransportFeedback or RtcpType.PayloadFeedback)) return RtcError.BadType;
        if (packet.Body.Length < 8) return RtcError.BadLength;
        message = new FeedbackMessage(packet.Count, packet.Type, BinaryPrimitives.ReadUInt32BigEndian(packet.Body),
            BinaryPrimitives.ReadUInt32BigEndian(packet.Body[4..]), packet.Body[8..]);
        return RtcError.None;
    }

    /// <summary>Generic NACK (RFC 4585 6.2.1): writes the lost sequence numbers into <paramref name="lost"/>; returns how many (capped by its length).</summary>
    public int ReadNack(Span<ushort> lost)
    {
        if (!IsNack || Fci.Length % 4 != 0) return 0;
        int n = 0;
        for (int i = 0; i + 4 <= Fci.Length; i += 4)
        {
            ushort pid = BinaryPrimitives.ReadUInt16BigEndian(Fci[i..]);
            ushort blp = BinaryPrimitives.ReadUInt16BigEndian(Fci[(i + 2)..]);
            if (n < lost.Length) lost[n++] = pid;
            for (int bit = 0; bit < 16; bit++)
                if ((blp & (1 << bit)) != 0 && n < lost.Length) lost[n++] = (ushort)(pid + bit + 1);
        }
        return n;
    }

    /// <summary>REMB (draft-alvestrand-rmcat-remb): the bitrate in bits per second, and the SSRC count.</summary>
    public RtcError TryReadRemb(out ulong bitrate, out int ssrcCount)
    {
        bitrate = 0;
        ssrcCount = 0;
        if (!IsRemb) return RtcError.BadType;
        if (Fci.Length < 8) return RtcError.BadLength;
        ssrcCount = Fci[4];
        if (Fci.Length < 8 + 4 * ssrcCount) return RtcError.BadLength;
        int exp = Fci[5] >> 2;
        ulong mantissa = (ulong)(((Fci[5] & 3) << 16) | (Fci[6] << 8) | Fci[7]);
        bitrate = exp > 46 ? ulong.MaxValue : mantissa << exp;
        return RtcError.None;
    }

    /// <summary>FIR entries (RFC 5104 4.3.1): count of (SSRC, command sequence number) pairs.</summary>
    public int FirEntryCount => IsFir ? Fci.Length / 8 : 0;

    public (uint Ssrc, byte Sequence) FirEntry(int index) =>
        (BinaryPrimitives.ReadUInt32BigEndian(Fci[(index * 8)..]), Fci[index * 8 + 4]);
}

/// <summary>Writers for the RTCP messages Room sends.</summary>
public static class RtcpWriter
{
    internal static void Header(Span<byte> destination, int count, RtcpType type, int length)
    {
        if (destination.Length < length) throw new ArgumentException("destination too small", nameof(destination));
        destination[0] = (byte)(0x80 | (count & 0x1F));
        destination[1] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(length / 4 - 1));
    }

    private static void FeedbackHeader(Span<byte> destination, int format, RtcpType type, int length, uint sender, uint media)
    {
        Header(destination, format, type, length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], sender);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], media);
    }

    public static int WritePli(Span<byte> destination, uint senderSsrc, uint mediaSsrc)
    {
        FeedbackHeader(destination, FeedbackMessage.PliFormat, RtcpType.PayloadFeedback, 12, senderSsrc, mediaSsrc);
        return 12;
    }

    public static int WriteFir(Span<byte> destination, uint senderSsrc, uint mediaSsrc, byte sequence)
    {
        FeedbackHeader(destination, FeedbackMessage.FirFormat, RtcpType.PayloadFeedback, 20, senderSsrc, 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], mediaSsrc);
        destination[16] = sequence;
        destination[17] = destination[18] = destination[19] = 0;
        return 20;
    }

    /// <summary>Generic NACK for the given lost sequence numbers (sorted ascending, modulo wrap); returns the length.</summary>
    public static int WriteNack(Span<byte> destination, uint senderSsrc, uint mediaSsrc, ReadOnlySpan<ushort> lost)
    {
        int offset = 12;
        int i = 0;
        while (i < lost.Length)
        {
            ushort pid = lost[i++];
            ushort blp = 0;
            while (i < lost.Length)
            {
                int d = (ushort)(lost[i] - pid);
                if (d is < 1 or > 16) break;
                blp |= (ushort)(1 << (d - 1));
                i++;
            }
            if (destination.Length < offset + 4) throw new ArgumentException("destination too small", nameof(destination));
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], pid);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], blp);
            offset += 4;
        }
        FeedbackHeader(destination, FeedbackMessage.NackFormat, RtcpType.TransportFeedback, offset, senderSsrc, mediaSsrc);
        return offset;
    }

    public static int WriteRemb(Span<byte> destination, uint senderSsrc, ulong bitrate, ReadOnlySpan<uint> ssrcs)
    {
        int length = 20 + 4 * ssrcs.Length;
        FeedbackHeader(destination, FeedbackMessage.AfbFormat, RtcpType.PayloadFeedback, length, senderSsrc, 0);
        "REMB"u8.CopyTo(destination[12..]);
        destination[16] = (byte)ssrcs.Length;
        int exp = 0;
        while ((bitrate >> exp) > 0x3FFFF) exp++;
        uint mantissa = (uint)(bitrate >> exp);
        destination[17] = (byte)((exp << 2) | (int)(mantissa >> 16));
        destination[18] = (byte)(mantissa >> 8);
        destination[19] = (byte)mantissa;
        for (int i = 0; i < ssrcs.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(destination[(20 + 4 * i)..], ssrcs[i]);
        return length;
    }
}
