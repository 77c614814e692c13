namespace Room.Media.Rtp;

/// <summary>
/// VP8 RTP payload format (RFC 7741): a payload descriptor with a 15-bit PictureID on every packet,
/// S=1 on the first packet of a frame (partition index 0), the frame split evenly across packets.
/// </summary>
public sealed class Vp8Packetizer : IPacketizer
{
    private const int DescriptorSize = 4; // X|S, I, PictureID (2 bytes, M=1)
    private readonly byte[] _packet;
    private ushort _sequence;
    private ushort _pictureId;

    public Vp8Packetizer(int maxPayloadSize = 1200, ushort initialSequence = 0, ushort initialPictureId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadSize, 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPayloadSize, 65000);
        MaxPayloadSize = maxPayloadSize;
        _packet = new byte[maxPayloadSize];
        _sequence = initialSequence;
        _pictureId = (ushort)(initialPictureId & 0x7FFF);
    }

    public int MaxPayloadSize { get; }

    public ushort NextSequenceNumber => _sequence;

    public int Packetize(ReadOnlySpan<byte> frame, uint timestamp, IRtpPacketSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (frame.IsEmpty)
        {
            return 0;
        }

        var room = MaxPayloadSize - DescriptorSize;
        var packets = (frame.Length + room - 1) / room;
        var per = (frame.Length + packets - 1) / packets; // even split: no runt last packet
        var off = 0;
        for (var i = 0; i < packets; i++)
        {
            var len = Math.Min(per, frame.Length - off);
            _packet[0] = (byte)(0x80 | (i == 0 ? 0x10 : 0)); // X, S; N=0, PID=0
            _packet[1] = 0x80; // I: PictureID present
            _packet[2] = (byte)(0x80 | (_pictureId >> 8)); // M: 15-bit
            _packet[3] = (byte)_pictureId;
            frame.Slice(off, len).CopyTo(_packet.AsSpan(DescriptorSize));
            sink.OnPacket(new RtpPacketView(_sequence++, timestamp, i == packets - 1, _packet.AsSpan(0, DescriptorSize + len)));
            off += len;
        }

        _pictureId = (ushort)((_pictureId + 1) & 0x7FFF);
        return packets;
    }
}

/// <summary>Reassembles VP8 frames from RFC 7741 payloads; parses and validates the payload descriptor.</summary>
public sealed class Vp8Depacketizer : IDepacketizer
{
    private FrameBuffer _frame = new(256 << 10);

    public ReadOnlySpan<byte> Frame => _frame.Span;

    public void Begin() => _frame.Clear();

    public bool Append(ReadOnlySpan<byte> payload)
    {
        var header = DescriptorLength(payload);
        if (header < 0 || header >= payload.Length)
        {
            return false;
        }

        return _frame.Append(payload[header..]);
    }

    public bool IsFrameStart(ReadOnlySpan<byte> payload) =>
        DescriptorLength(payload) is var h && h >= 0 && h < payload.Length && (payload[0] & 0x10) != 0 && (payload[0] & 0x07) == 0;

    public bool IsKeyframe(ReadOnlySpan<byte> payload) =>
        IsFrameStart(payload) && (payload[DescriptorLength(payload)] & 0x01) == 0; // VP8 frame tag P bit: 0 = key frame

    /// <summary>The PictureID of a payload, or -1 when it has none or is malformed.</summary>
    public static int PictureId(ReadOnlySpan<byte> payload)
    {
        if (DescriptorLength(payload) < 0 || (payload[0] & 0x80) == 0 || (payload[1] & 0x80) == 0)
        {
            return -1;
        }

        return (payload[2] & 0x80) != 0 ? ((payload[2] & 0x7F) << 8) | payload[3] : payload[2] & 0x7F;
    }

    /// <summary>Length of the payload descriptor, or -1 when truncated.</summary>
    public static int DescriptorLength(ReadOnlySpan<byte> p)
    {
        if (p.IsEmpty)
        {
            return -1;
        }

        var n = 1;
        if ((p[0] & 0x80) == 0)
        {
            return n;
        }

        if (p.Length < 2)
        {
            return -1;
        }

        var x = p[1];
        n = 2;
        if ((x & 0x80) != 0)
        {
            if (p.Length < n + 1)
            {
                return -1;
            }

            n += (p[n] & 0x80) != 0 ? 2 : 1;
        }

        if ((x & 0x40) != 0)
        {
            n++;
        }

        if ((x & 0x30) != 0)
        {
            n++;
        }

        return n <= p.Length ? n : -1;
    }
}
