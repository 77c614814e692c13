using System.Buffers.Binary;

namespace Room.Rtc.Rtcp;

/// <summary>One packet's fate in a transport-wide congestion control feedback message.</summary>
public readonly record struct PacketResult(ushort SequenceNumber, bool Received, long ArrivalMicroseconds);

/// <summary>
/// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01, RTPFB FMT 15):
/// parse into caller storage (bounded, so a hostile peer cannot make us allocate) and write.
/// </summary>
public static class TransportFeedback
{
    public const int MaxPacketsPerFeedback = 8192;

    /// <summary>
    /// Parses the FCI of a TWCC feedback; fills <paramref name="results"/> (arrival times relative to the reference
    /// time, in microseconds) and returns how many entries, or the reason it is malformed.
    /// </summary>
    public static RtcError TryParse(ReadOnlySpan<byte> fci, Span<PacketResult> results, out int count, out byte feedbackCount)
    {
        count = 0;
        feedbackCount = 0;
        if (fci.Length < 8) return RtcError.Truncated;
        ushort baseSeq = BinaryPrimitives.ReadUInt16BigEndian(fci);
        int statusCount = BinaryPrimitives.ReadUInt16BigEndian(fci[2..]);
        int refTime = (fci[4] << 16) | (fci[5] << 8) | fci[6];
        if ((refTime & 0x800000) != 0) refTime |= unchecked((int)0xFF000000);
        feedbackCount = fci[7];
        if (statusCount > results.Length || statusCount > MaxPacketsPerFeedback) return RtcError.TooLarge;
        Span<byte> symbols = statusCount <= 1024 ? stackalloc byte[statusCount] : new byte[statusCount];
        int offset = 8, n = 0;
        while (n < statusCount)
        {
            if (offset + 2 > fci.Length) return RtcError.Truncated;
            ushort chunk = BinaryPrimitives.ReadUInt16BigEndian(fci[offset..]);
            offset += 2;
            if ((chunk & 0x8000) == 0)
            {
                byte symbol = (byte)((chunk >> 13) & 3);
                int run = chunk & 0x1FFF;
                if (symbol == 3) return RtcError.BadSyntax;
                for (int i = 0; i < run && n < statusCount; i++) symbols[n++] = symbol;
            }
            else if ((chunk & 0x4000) == 0)
            {
                for (int i = 13; i >= 0 && n < statusCount; i--) symbols[n++] = (byte)((chunk >> i) & 1);
            }
            else
            {
                for (int i = 6; i >= 0 && n < statusCount; i--)
                {
                    byte symbol = (byte)((chunk >> (2 * i)) & 3);
                    if (symbol == 3) return RtcError.BadSyntax;
                    symbols[n++] = symbol;
                }
            }
        }
        long arrival = refTime * 64_000L;
        for (int i = 0; i < statusCount; i++)
        {
            ushort seq = (ushort)(baseSeq + i);
            switch (symbols[i])
            {
                case 0:
                    results[i] = new PacketResult(seq, false, 0);
                    break;
                case 1:
                    if (offset + 1 > fci.Length) return RtcError.Truncated;
                    arrival += fci[offset] * 250L;
                    offset += 1;
                    results[i] = new PacketResult(seq, true, arrival);
                    break;
                default:
                    if (offset + 2 > fci.Length) return RtcError.Truncated;
                    arrival += BinaryPrimitives.ReadInt16BigEndian(fci[offset..]) * 250L;
                    offset += 2;
                    results[i] = new PacketResult(seq, true, arrival);
                    break;
            }
        }
        count = statusCount;
        return RtcError.None;
    }

    /// <summary>
    /// Writes a complete TWCC feedback RTCP packet for consecutive sequence numbers starting at results[0] (status
    /// vector chunks of two-bit symbols). Arrival times in microseconds; the reference time is taken from the first
    /// received packet. Returns the length.
    /// </summary>
    public static int Write(Span<byte> destination, uint senderSsrc, uint mediaSsrc, byte feedbackCount, ReadOnlySpan<PacketResult> results)
    {
        if (results.IsEmpty) throw new ArgumentException("no packets", nameof(results));
        long reference = 0;
        foreach (var r in results)
            if (r.Received) { reference = r.ArrivalMicroseconds / 64_000 * 64_000; break; }
        int offset = 20;
        BinaryPrimitives.WriteUInt16BigEndian(destination[12..], results[0].SequenceNumber);
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], (ushort)results.Length);
        int refUnits = (int)(reference / 64_000);
        destination[16] = (byte)(refUnits >> 16);
        destination[17] = (byte)(refUnits >> 8);
        destination[18] = (byte)refUnits;
        destination[19] = feedbackCount;
        // chunks
        Span<byte> symbol = stackalloc byte[results.Length];
        long previous = reference;
        for (int i = 0; i < results.Length; i++)
        {
            if (!results[i].Received) { symbol[i] = 0; continue; }
            long delta = (results[i].ArrivalMicroseconds - previous) / 250;
            symbol[i] = delta is >= 0 and <= 255 ? (byte)1 : (byte)2;
            previous += delta * 250;
        }
        for (int i = 0; i < results.Length; i += 7)
        {
            ushort chunk = 0xC000;
            for (int k = 0; k < 7; k++) chunk |= (ushort)((i + k < results.Length ? symbol[i + k] : 0) << (2 * (6 - k)));
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], chunk);
            offset += 2;
        }
        previous = reference;
        for (int i = 0; i < results.Length; i++)
        {
            if (!results[i].Received) continue;
            long delta = (results[i].ArrivalMicroseconds - previous) / 250;
            previous += delta * 250;
            if (symbol[i] == 1) destination[offset++] = (byte)delta;
            else
            {
                BinaryPrimitives.WriteInt16BigEndian(destination[offset..], (short)Math.Clamp(delta, short.MinValue, short.MaxValue));
                offset += 2;
            }
        }
        while (offset % 4 != 0) destination[offset++] = 0;
        RtcpWriter.Header(destination, FeedbackMessage.TransportCcFormat, RtcpType.TransportFeedback, offset);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], senderSsrc);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], mediaSsrc);
        return offset;
    }
}
