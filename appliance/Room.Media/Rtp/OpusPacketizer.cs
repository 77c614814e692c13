namespace Room.Media.Rtp;

/// <summary>
/// Opus RTP payload format (RFC 7587): one Opus packet per RTP packet, timestamp in 48 kHz units, marker on the
/// first packet of a talk spurt (after DTX silence).
/// </summary>
public sealed class OpusPacketizer(ushort initialSequence = 0) : IPacketizer
{
    private ushort _sequence = initialSequence;
    private bool _silent = true;

    public int MaxPayloadSize => 1275 * 3; // largest Opus packet (RFC 6716, 3.4)

    public ushort NextSequenceNumber => _sequence;

    public int Packetize(ReadOnlySpan<byte> frame, uint timestamp, IRtpPacketSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (frame.IsEmpty || frame.Length > MaxPayloadSize)
        {
            return 0;
        }

        // A DTX frame is 1-2 bytes (TOC only): not speech, sent as a comfort-noise update.
        var speech = frame.Length > 2;
        var marker = speech && _silent;
        _silent = !speech;
        sink.OnPacket(new RtpPacketView(_sequence++, timestamp, marker, frame));
        return 1;
    }

    /// <summary>Validates an Opus payload's TOC and frame-count byte (RFC 6716, 3.1-3.2); returns its frame count or -1.</summary>
    public static int FrameCount(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return -1;
        }

        return (payload[0] & 0x03) switch
        {
            0 => 1,
            1 or 2 => 2,
            _ => payload.Length >= 2 && (payload[1] & 0x3F) is > 0 and <= 48 ? payload[1] & 0x3F : -1,
        };
    }
}
