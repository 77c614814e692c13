namespace Room.Media.Rtp;

/// <summary>
/// The seam with Room.Rtc: one RTP packet as the media layer sees it (no SSRC, CSRC, extensions or SRTP: those
/// are Rtc's). Packetizers hand these to an <see cref="IRtpPacketSink"/>; Rtc feeds received ones to a
/// <see cref="JitterBuffer"/> with <see cref="JitterBuffer.Insert"/>. The payload is valid only during the call.
/// </summary>
public readonly ref struct RtpPacketView
{
    public RtpPacketView(ushort sequenceNumber, uint timestamp, bool marker, ReadOnlySpan<byte> payload)
    {
        SequenceNumber = sequenceNumber;
        Timestamp = timestamp;
        Marker = marker;
        Payload = payload;
    }

    public ushort SequenceNumber { get; }

    public uint Timestamp { get; }

    public bool Marker { get; }

    public ReadOnlySpan<byte> Payload { get; }
}

/// <summary>Where packetizers send packets (Room.Rtc adds the header, encrypts and sends).</summary>
public interface IRtpPacketSink
{
    void OnPacket(in RtpPacketView packet);
}

/// <summary>Turns one encoded frame into RTP payloads of at most <see cref="MaxPayloadSize"/> bytes.</summary>
public interface IPacketizer
{
    int MaxPayloadSize { get; }

    /// <summary>The sequence number the next packet will carry.</summary>
    ushort NextSequenceNumber { get; }

    /// <summary>Packetizes one frame; the last packet carries the marker bit (video). Returns the packet count.</summary>
    int Packetize(ReadOnlySpan<byte> frame, uint timestamp, IRtpPacketSink sink);
}

/// <summary>Reassembles one frame from the payloads of its packets, in sequence order.</summary>
public interface IDepacketizer
{
    /// <summary>True when this payload certainly begins a frame (codec-level signal).</summary>
    bool IsFrameStart(ReadOnlySpan<byte> payload);

    /// <summary>True when this (first) payload begins a keyframe.</summary>
    bool IsKeyframe(ReadOnlySpan<byte> payload);

    /// <summary>Starts a new frame.</summary>
    void Begin();

    /// <summary>Adds the next payload; false when it is malformed (the frame must then be dropped).</summary>
    bool Append(ReadOnlySpan<byte> payload);

    /// <summary>The frame assembled since <see cref="Begin"/> (H.264: Annex B; VP8: the raw frame).</summary>
    ReadOnlySpan<byte> Frame { get; }
}

/// <summary>A growable byte buffer for frame assembly that never shrinks and caps at a sane maximum.</summary>
internal struct FrameBuffer(int initial)
{
    public const int MaxFrameSize = 8 << 20;

    private byte[] _data = new byte[initial];

    public int Length { get; private set; }

    public readonly ReadOnlySpan<byte> Span => _data.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public bool Append(ReadOnlySpan<byte> bytes)
    {
        if (!Ensure(bytes.Length))
        {
            return false;
        }

        bytes.CopyTo(_data.AsSpan(Length));
        Length += bytes.Length;
        return true;
    }

    public bool Append(byte b)
    {
        if (!Ensure(1))
        {
            return false;
        }

        _data[Length++] = b;
        return true;
    }

    private bool Ensure(int more)
    {
        var need = Length + more;
        if (need > MaxFrameSize)
        {
            return false;
        }

        if (need > _data.Length)
        {
            Array.Resize(ref _data, Math.Min(MaxFrameSize, Math.Max(need, _data.Length * 2)));
        }

        return true;
    }
}
