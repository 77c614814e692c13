using System.Buffers.Binary;

namespace Room.Media.Rtp;

/// <summary>
/// H.264 RTP payload format (RFC 6184), packetization-mode 1: consecutive small NAL units go into STAP-A,
/// NAL units that fit go alone, larger ones are split into FU-A fragments. Input is an Annex B access unit.
/// </summary>
public sealed class H264Packetizer : IPacketizer
{
    private const int StapA = 24;
    private const int FuA = 28;
    private readonly byte[] _packet;
    private int[] _nalStart = new int[64];
    private int[] _nalLength = new int[64];
    private ushort _sequence;

    public H264Packetizer(int maxPayloadSize = 1200, ushort initialSequence = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadSize, 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPayloadSize, 65000);
        MaxPayloadSize = maxPayloadSize;
        _packet = new byte[maxPayloadSize];
        _sequence = initialSequence;
    }

    public int MaxPayloadSize { get; }

    public ushort NextSequenceNumber => _sequence;

    public int Packetize(ReadOnlySpan<byte> frame, uint timestamp, IRtpPacketSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var count = SplitAnnexB(frame);
        var sent = 0;
        var i = 0;
        while (i < count)
        {
            var nal = frame.Slice(_nalStart[i], _nalLength[i]);
            if (nal.Length > MaxPayloadSize)
            {
                sent += SendFragmented(nal, timestamp, i == count - 1, sink);
                i++;
                continue;
            }

            // Aggregate as many following NAL units as fit into one STAP-A.
            var stapSize = 1 + 2 + nal.Length;
            var j = i + 1;
            while (j < count && stapSize + 2 + _nalLength[j] <= MaxPayloadSize)
            {
                stapSize += 2 + _nalLength[j];
                j++;
            }

            if (j == i + 1)
            {
                Send(nal, timestamp, i == count - 1, sink);
                sent++;
                i++;
                continue;
            }

            var p = _packet.AsSpan();
            byte f = 0, nri = 0;
            var pos = 1;
            for (var k = i; k < j; k++)
            {
                var n = frame.Slice(_nalStart[k], _nalLength[k]);
                f |= (byte)(n[0] & 0x80);
                nri = Math.Max(nri, (byte)(n[0] & 0x60));
                BinaryPrimitives.WriteUInt16BigEndian(p[pos..], (ushort)n.Length);
                n.CopyTo(p[(pos + 2)..]);
                pos += 2 + n.Length;
            }

            p[0] = (byte)(f | nri | StapA);
            Send(p[..pos], timestamp, j == count, sink);
            sent++;
            i = j;
        }

        return sent;
    }

    private int SendFragmented(ReadOnlySpan<byte> nal, uint timestamp, bool lastNal, IRtpPacketSink sink)
    {
        var indicator = (byte)((nal[0] & 0xE0) | FuA);
        var type = (byte)(nal[0] & 0x1F);
        var data = nal[1..];
        var chunk = MaxPayloadSize - 2;
        var sent = 0;
        for (var off = 0; off < data.Length; off += chunk)
        {
            var len = Math.Min(chunk, data.Length - off);
            var end = off + len == data.Length;
            _packet[0] = indicator;
            _packet[1] = (byte)((off == 0 ? 0x80 : 0) | (end ? 0x40 : 0) | type);
            data.Slice(off, len).CopyTo(_packet.AsSpan(2));
            Send(_packet.AsSpan(0, len + 2), timestamp, end && lastNal, sink);
            sent++;
        }

        return sent;
    }

    private void Send(ReadOnlySpan<byte> payload, uint timestamp, bool marker, IRtpPacketSink sink) =>
        sink.OnPacket(new RtpPacketView(_sequence++, timestamp, marker, payload));

    /// <summary>Finds NAL units between Annex B start codes (3 or 4 byte); fills the reusable range arrays.</summary>
    private int SplitAnnexB(ReadOnlySpan<byte> s)
    {
        var count = 0;
        var start = -1;
        var i = 0;
        while (i + 2 < s.Length)
        {
            var rel = s[i..].IndexOf((byte)1);
            if (rel < 0)
            {
                break;
            }

            var one = i + rel;
            if (one >= 2 && s[one - 1] == 0 && s[one - 2] == 0)
            {
                var scStart = one - 2;
                if (scStart > 0 && s[scStart - 1] == 0)
                {
                    scStart--;
                }

                if (start >= 0)
                {
                    count = AddNal(count, start, scStart - start);
                }

                start = one + 1;
            }

            i = one + 1;
        }

        if (start >= 0 && start < s.Length)
        {
            count = AddNal(count, start, s.Length - start);
        }
        else if (start < 0 && !s.IsEmpty)
        {
            count = AddNal(count, 0, s.Length); // no start code: one bare NAL unit
        }

        return count;
    }

    private int AddNal(int count, int start, int length)
    {
        // Trailing zero bytes belong to the next start code or are padding.
        if (length <= 0)
        {
            return count;
        }

        if (count == _nalStart.Length)
        {
            Array.Resize(ref _nalStart, count * 2);
            Array.Resize(ref _nalLength, count * 2);
        }

        _nalStart[count] = start;
        _nalLength[count] = length;
        return count + 1;
    }
}

/// <summary>Reassembles an Annex B access unit from RFC 6184 single NAL, STAP-A and FU-A payloads.</summary>
public sealed class H264Depacketizer : IDepacketizer
{
    private static ReadOnlySpan<byte> StartCode => [0, 0, 0, 1];

    private FrameBuffer _frame = new(256 << 10);
    private bool _inFragment;

    public ReadOnlySpan<byte> Frame => _frame.Span;

    public void Begin()
    {
        _frame.Clear();
        _inFragment = false;
    }

    public bool Append(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || (payload[0] & 0x80) != 0)
        {
            return false; // empty, or forbidden_zero_bit set
        }

        var type = payload[0] & 0x1F;
        switch (type)
        {
            case >= 1 and <= 23:
                if (_inFragment)
                {
                    return false;
                }

                return _frame.Append(StartCode) && _frame.Append(payload);
            case 24:
                if (_inFragment)
                {
                    return false;
                }

                var rest = payload[1..];
                var any = false;
                while (!rest.IsEmpty)
                {
                    if (rest.Length < 2)
                    {
                        return false;
                    }

                    var size = (rest[0] << 8) | rest[1];
                    if (size == 0 || size > rest.Length - 2 || (rest[2] & 0x1F) is 0 or > 23)
                    {
                        return false;
                    }

                    if (!_frame.Append(StartCode) || !_frame.Append(rest.Slice(2, size)))
                    {
                        return false;
                    }

                    rest = rest[(2 + size)..];
                    any = true;
                }

                return any;
            case 28:
                if (payload.Length < 3)
                {
                    return false;
                }

                var header = payload[1];
                bool start = (header & 0x80) != 0, end = (header & 0x40) != 0;
                var inner = header & 0x1F;
                if ((start && end) || inner is 0 or > 23)
                {
                    return false;
                }

                if (start)
                {
                    if (_inFragment)
                    {
                        return false;
                    }

                    if (!_frame.Append(StartCode) || !_frame.Append((byte)((payload[0] & 0xE0) | inner)))
                    {
                        return false;
                    }

                    _inFragment = true;
                }
                else if (!_inFragment)
                {
                    return false;
                }

                if (!_frame.Append(payload[2..]))
                {
                    return false;
                }

                if (end)
                {
                    _inFragment = false;
                }

                return true;
            default:
                return false; // STAP-B, MTAP, FU-B are not in packetization-mode 1; 0, 30, 31 are reserved
        }
    }

    /// <summary>True when the frame ended cleanly (no fragment left open).</summary>
    public bool IsComplete => !_inFragment && _frame.Length > 0;

    public bool IsFrameStart(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 2)
        {
            return false;
        }

        switch (payload[0] & 0x1F)
        {
            case 24:
                return payload.Length >= 4 && NalBeginsAccessUnit(payload[3..]);
            case 28:
                return (payload[1] & 0x80) != 0 && payload.Length >= 3
                    && NalBeginsAccessUnit([(byte)((payload[0] & 0xE0) | (payload[1] & 0x1F)), payload[2]]);
            default:
                return NalBeginsAccessUnit(payload);
        }
    }

    public bool IsKeyframe(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return false;
        }

        switch (payload[0] & 0x1F)
        {
            case 5 or 7:
                return true;
            case 24:
                var rest = payload[1..];
                while (rest.Length >= 3)
                {
                    var size = (rest[0] << 8) | rest[1];
                    if ((rest[2] & 0x1F) is 5 or 7)
                    {
                        return true;
                    }

                    if (size == 0 || size > rest.Length - 2)
                    {
                        return false;
                    }

                    rest = rest[(2 + size)..];
                }

                return false;
            case 28:
                return payload.Length >= 2 && (payload[1] & 0x1F) == 5;
            default:
                return false;
        }
    }

    /// <summary>An AU starts with an AUD, SPS, PPS, SEI, or the slice whose first_mb_in_slice is 0.</summary>
    private static bool NalBeginsAccessUnit(ReadOnlySpan<byte> nal)
    {
        var type = nal[0] & 0x1F;
        return type switch
        {
            6 or 7 or 8 or 9 => true,
            1 or 5 => nal.Length >= 2 && (nal[1] & 0x80) != 0, // ue(v) first_mb_in_slice == 0 is the single bit '1'
            _ => false,
        };
    }
}
