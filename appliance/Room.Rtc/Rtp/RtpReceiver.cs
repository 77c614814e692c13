using Room.Rtc.Rtcp;

namespace Room.Rtc.Rtp;

/// <summary>
/// The feedback side of one incoming RTP stream over an <see cref="RtcTransport"/>: reception statistics
/// (RFC 3550 A.1/A.3/A.8: extended highest sequence, cumulative and fractional loss, interarrival jitter), the
/// sender's last SR (for LSR/DLSR), receiver reports about once a second, and NACK/PLI sent as RFC 4585 compound
/// packets that begin with the receiver report.
/// <para>
/// Both matter to an SFU. Janus keeps a subscriber's retransmission buffer only once it has measured the round trip
/// from the subscriber's receiver reports (LSR/DLSR): a receiver that sends none gets no retransmissions at all. And
/// Janus matches incoming RTCP to a stream by its sender SSRC or by the first report block / the NACK's media SSRC;
/// a bare PLI from a receive-only endpoint (whose SSRC Janus does not know) is dropped, a PLI behind an RR is not.
/// </para>
/// Nothing is allocated per packet; <see cref="OnPacket"/> and the senders may be called from different threads.
/// Every <c>nowTicks</c> is a timestamp of the transport's <see cref="RtcTransport.TimeProvider"/>.
/// </summary>
public sealed class RtpReceiver
{
    private readonly RtcTransport _transport;
    private readonly object _gate = new();
    private readonly byte[] _rtcp = new byte[1200];
    private readonly long _reportIntervalTicks;
    private readonly long _frequency;
    private bool _started;
    private ushort _baseSeq;
    private uint _cycles;      // sequence number cycles << 16
    private ushort _maxSeq;
    private long _received;
    private long _expectedPrior, _receivedPrior;
    private long _transit;
    private double _jitter;
    private uint _lastSr;      // middle 32 bits of the last SR's NTP timestamp
    private long _lastSrTicks;
    private long _lastReportTicks = long.MinValue / 2;

    /// <param name="transport">The (receiving) transport the reports and feedback go out on.</param>
    /// <param name="localSsrc">Our SSRC as a receiver (the RR's and feedback's sender SSRC).</param>
    /// <param name="clockRate">The stream's RTP clock rate (jitter).</param>
    /// <param name="remoteSsrc">The sender's SSRC, or 0 to take it from the first packet.</param>
    public RtpReceiver(RtcTransport transport, uint localSsrc, int clockRate, uint remoteSsrc = 0, TimeSpan? reportInterval = null)
    {
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(clockRate, 0);
        LocalSsrc = localSsrc;
        ClockRate = clockRate;
        RemoteSsrc = remoteSsrc;
        _frequency = transport.TimeProvider.TimestampFrequency;
        _reportIntervalTicks = (long)((reportInterval ?? TimeSpan.FromSeconds(1)).TotalSeconds * _frequency);
    }

    public uint LocalSsrc { get; }
    public int ClockRate { get; }

    /// <summary>The media sender's SSRC (learned from the first packet when not given).</summary>
    public uint RemoteSsrc { get; private set; }

    public long PacketsReceived => Interlocked.Read(ref _received);
    public long ReportsSent { get; private set; }
    public long NacksSent { get; private set; }
    public long NackedPackets { get; private set; }
    public long PlisSent { get; private set; }
    public long SenderReportsReceived { get; private set; }

    /// <summary>Interarrival jitter in RTP timestamp units (RFC 3550 A.8).</summary>
    public uint Jitter { get { lock (_gate) return (uint)_jitter; } }

    /// <summary>Packets lost so far (expected minus received; retransmissions count as received).</summary>
    public long CumulativeLost { get { lock (_gate) return Expected() - _received; } }

    /// <summary>
    /// Counts one packet of the stream (not its retransmissions on an RTX SSRC) and sends a receiver report when one
    /// is due. Packets of other SSRCs are ignored.
    /// </summary>
    public void OnPacket(uint ssrc, ushort sequenceNumber, uint timestamp, long nowTicks)
    {
        bool due;
        lock (_gate)
        {
            if (RemoteSsrc == 0) RemoteSsrc = ssrc;
            if (ssrc != RemoteSsrc) return;
            if (!_started)
            {
                _started = true;
                _baseSeq = _maxSeq = sequenceNumber;
                _cycles = 0;
            }
            else
            {
                var delta = (ushort)(sequenceNumber - _maxSeq);
                if (delta is > 0 and < 0x8000)
                {
                    if (sequenceNumber < _maxSeq) _cycles += 1 << 16; // wrapped
                    _maxSeq = sequenceNumber;
                }
            }
            _received++;
            // Interarrival jitter (RFC 3550 A.8), arrival in RTP units. Out-of-order packets count too, as there.
            long arrival = (long)(nowTicks * (double)ClockRate / _frequency);
            long transit = arrival - timestamp;
            if (_received > 1)
            {
                long d = Math.Abs(transit - _transit);
                if (d < ClockRate * 10L) _jitter += (d - _jitter) / 16.0;
            }
            _transit = transit;
            due = nowTicks - _lastReportTicks >= _reportIntervalTicks;
        }
        if (due) SendReport(nowTicks);
    }

    /// <summary>Takes the sender report of the stream's sender from an incoming compound (for LSR/DLSR).</summary>
    public void OnRtcp(ReadOnlySpan<byte> compound, long nowTicks)
    {
        var reader = new RtcpCompoundReader(compound);
        while (reader.TryRead(out var packet))
        {
            if (packet.Type != RtcpType.SenderReport || SenderReport.TryParse(packet, out var sr) != RtcError.None) continue;
            lock (_gate)
            {
                if (RemoteSsrc == 0 || sr.Ssrc != RemoteSsrc) continue;
                _lastSr = (uint)(sr.NtpTimestamp >> 16);
                _lastSrTicks = nowTicks;
                SenderReportsReceived++;
            }
        }
    }

    /// <summary>Sends a receiver report now.</summary>
    public RtcError SendReport(long nowTicks)
    {
        lock (_gate)
        {
            if (RemoteSsrc == 0) return RtcError.Unsupported;
            int n = WriteReport(_rtcp, nowTicks);
            ReportsSent++;
            return _transport.SendRtcp(_rtcp.AsSpan(0, n));
        }
    }

    /// <summary>Sends RR + generic NACK for <paramref name="lost"/> (ascending modulo wrap) in one compound packet.</summary>
    public RtcError SendNack(ReadOnlySpan<ushort> lost, long nowTicks)
    {
        if (lost.IsEmpty) return RtcError.None;
        lock (_gate)
        {
            if (RemoteSsrc == 0) return RtcError.Unsupported;
            int n = WriteReport(_rtcp, nowTicks);
            // Each NACK entry covers up to 17 packets; bound the message to the buffer (a very long list is cut short).
            int max = Math.Min(lost.Length, (_rtcp.Length - n - 12) / 4);
            n += RtcpWriter.WriteNack(_rtcp.AsSpan(n), LocalSsrc, RemoteSsrc, lost[..max]);
            NacksSent++;
            NackedPackets += max;
            return _transport.SendRtcp(_rtcp.AsSpan(0, n));
        }
    }

    /// <summary>Sends RR + PLI (picture loss indication: please send a keyframe) in one compound packet.</summary>
    public RtcError SendPli(long nowTicks)
    {
        lock (_gate)
        {
            if (RemoteSsrc == 0) return RtcError.Unsupported;
            int n = WriteReport(_rtcp, nowTicks);
            n += RtcpWriter.WritePli(_rtcp.AsSpan(n), LocalSsrc, RemoteSsrc);
            PlisSent++;
            return _transport.SendRtcp(_rtcp.AsSpan(0, n));
        }
    }

    private long Expected() => _started ? (long)(_cycles + _maxSeq) - _baseSeq + 1 : 0;

    private int WriteReport(Span<byte> destination, long nowTicks)
    {
        long expected = Expected();
        long lost = expected - _received;
        long expectedInterval = expected - _expectedPrior;
        long receivedInterval = _received - _receivedPrior;
        _expectedPrior = expected;
        _receivedPrior = _received;
        long lostInterval = expectedInterval - receivedInterval;
        byte fraction = expectedInterval == 0 || lostInterval <= 0 ? (byte)0 : (byte)Math.Min(255, (lostInterval << 8) / expectedInterval);
        uint dlsr = 0;
        if (_lastSrTicks != 0)
        {
            // Delay since the last SR in units of 1/65536 s.
            double seconds = (nowTicks - _lastSrTicks) / (double)_frequency;
            dlsr = (uint)Math.Clamp(seconds * 65536, 0, uint.MaxValue);
        }
        var block = new ReportBlock(RemoteSsrc, fraction, (int)Math.Clamp(lost, -0x800000, 0x7FFFFF),
            _cycles + _maxSeq, (uint)_jitter, _lastSr, dlsr);
        _lastReportTicks = nowTicks;
        return ReceiverReport.Write(destination, LocalSsrc, [block]);
    }
}
