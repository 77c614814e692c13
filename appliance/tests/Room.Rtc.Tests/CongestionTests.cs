using Room.Rtc.Congestion;
using Room.Rtc.Rtcp;

namespace Room.Rtc.Tests;

public class CongestionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Transport_feedback_round_trips_with_losses_and_large_deltas()
    {
        var sent = new PacketResult[]
        {
            new(65534, true, 1_000_000), new(65535, false, 0), new(0, true, 1_000_250), new(1, true, 1_090_000),
            new(2, true, 1_080_000), new(3, false, 0), new(4, true, 1_100_000), new(5, true, 1_100_000),
        };
        var buffer = new byte[256];
        int n = TransportFeedback.Write(buffer, 1, 2, 9, sent);
        Assert.Equal(RtcError.None, RtcpCompoundReader.Validate(buffer.AsSpan(0, n), requireReportFirst: false));
        var reader = new RtcpCompoundReader(buffer.AsSpan(0, n));
        Assert.True(reader.TryRead(out var packet));
        Assert.Equal(RtcError.None, FeedbackMessage.TryParse(packet, out var fb));
        Assert.True(fb.IsTransportCc);
        var results = new PacketResult[64];
        Assert.Equal(RtcError.None, TransportFeedback.TryParse(fb.Fci, results, out int count, out byte fbCount));
        Assert.Equal(9, fbCount);
        Assert.Equal(sent.Length, count);
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(sent[i].SequenceNumber, results[i].SequenceNumber);
            Assert.Equal(sent[i].Received, results[i].Received);
            if (sent[i].Received) Assert.Equal(sent[i].ArrivalMicroseconds, results[i].ArrivalMicroseconds);
        }
    }

    [Theory]
    [InlineData("0001")]                       // too short
    [InlineData("00010005000000010000")]       // chunk says 0 packets in a run, then nothing more
    [InlineData("0001000300000001c000")]       // no deltas for... (all not received is fine) -> see below
    [InlineData("000100020000000160020000")]  // run of 2 "large delta" with missing deltas
    public void Malformed_transport_feedback_is_rejected_or_bounded(string hex)
    {
        var results = new PacketResult[16];
        var error = TransportFeedback.TryParse(Hex.Bytes(hex), results, out int count, out _);
        Assert.True(error != RtcError.None || count <= results.Length);
        if (hex == "0001000300000001c000") Assert.Equal(RtcError.None, error);
        else Assert.NotEqual(RtcError.None, error);
    }

    [Fact]
    public void Transport_feedback_claiming_more_packets_than_the_caller_holds_is_rejected()
    {
        var results = new PacketResult[16];
        Assert.Equal(RtcError.TooLarge, TransportFeedback.TryParse(Hex.Bytes("0001ffff0000000100000000"), results, out _, out _));
    }

    [Fact]
    public void Random_transport_feedback_never_throws()
    {
        var rng = new Random(3);
        var results = new PacketResult[TransportFeedback.MaxPacketsPerFeedback];
        var buffer = new byte[600];
        for (int i = 0; i < 20000; i++)
        {
            int len = rng.Next(0, buffer.Length);
            rng.NextBytes(buffer.AsSpan(0, len));
            TransportFeedback.TryParse(buffer.AsSpan(0, len), results, out _, out _);
        }
    }

    /// <summary>A bottleneck link: FIFO at a capacity, 20 ms propagation, 300 ms of buffer, optional random loss.</summary>
    private sealed class Link(int seed)
    {
        private readonly Random _rng = new(seed);
        private double _free;
        public double CapacityBps = 5_000_000;
        public double LossRate;

        public double? Deliver(double sendMs, int bytes)
        {
            if (_rng.NextDouble() < LossRate) return null;
            double start = Math.Max(sendMs, _free);
            if (start - sendMs > 300) return null; // tail drop
            _free = start + bytes * 8 * 1000.0 / CapacityBps;
            return _free + 20;
        }
    }

    /// <summary>Runs the sender at the controller's target through the link for a while; returns the mean target over the last 5 s.</summary>
    private static double Run(CongestionController cc, Link link, ref long now, ref ushort seq, int seconds, List<(long, bool, double)> inFlight)
    {
        long end = now + seconds * 1000L;
        double sum = 0;
        int samples = 0;
        double credit = 0;
        var results = new List<PacketResult>();
        while (now < end)
        {
            credit += cc.TargetBps * 5 / 1000.0 / 8; // bytes per 5 ms
            while (credit >= 1200)
            {
                credit -= 1200;
                cc.OnPacketSent(seq, 1200, now);
                var arrival = link.Deliver(now, 1200);
                inFlight.Add((seq, arrival.HasValue, arrival ?? now + 20));
                seq++;
            }
            now += 5;
            if (now % 50 == 0)
            {
                results.Clear();
                // feedback for everything that has arrived (or is known lost) by now, with the 20 ms return path
                int i = 0;
                for (; i < inFlight.Count && inFlight[i].Item3 + 20 <= now; i++)
                    results.Add(new PacketResult((ushort)inFlight[i].Item1, inFlight[i].Item2, (long)(inFlight[i].Item3 * 1000)));
                inFlight.RemoveRange(0, i);
                if (results.Count > 0) cc.OnFeedback(results.ToArray(), now);
            }
            if (now > end - 5000) { sum += cc.TargetBps; samples++; }
        }
        return sum / samples;
    }

    [Fact]
    public void Controller_falls_under_a_1_mbit_cap_without_collapsing_and_recovers_after()
    {
        var cc = new CongestionController(initialBps: 600_000);
        var changes = new List<int>();
        cc.TargetBitrateChanged += changes.Add;
        var link = new Link(1);
        long now = 0;
        ushort seq = 0;
        var inFlight = new List<(long, bool, double)>();

        double open = Run(cc, link, ref now, ref seq, 15, inFlight);
        Assert.True(open > 1_500_000, $"ramps up on an open 5 Mbit/s link: {open}");

        link.CapacityBps = 1_000_000;
        double capped = Run(cc, link, ref now, ref seq, 20, inFlight);
        Assert.InRange(capped, 400_000, 1_000_000);

        link.CapacityBps = 5_000_000;
        double after = Run(cc, link, ref now, ref seq, 25, inFlight);
        Assert.True(after > 1_500_000, $"recovers when the cap is lifted: {after}");
        Assert.NotEmpty(changes);
        output.WriteLine($"mean target over the last 5 s: open {open:N0}, capped at 1 Mbit/s {capped:N0}, cap lifted {after:N0} bit/s");
    }

    [Fact]
    public void Five_percent_random_loss_does_not_collapse_the_rate()
    {
        var cc = new CongestionController(initialBps: 1_000_000);
        var link = new Link(2) { LossRate = 0.05 };
        long now = 0;
        ushort seq = 0;
        double rate = Run(cc, link, ref now, ref seq, 20, []);
        Assert.True(rate >= 800_000, $"rate under 5 % loss: {rate}");
        output.WriteLine($"5 % loss: mean target {rate:N0} bit/s, loss seen {cc.LastLossFraction:P1}");
        Assert.InRange(cc.LastLossFraction, 0.01, 0.12);
    }

    [Fact]
    public void Remb_caps_the_target()
    {
        var cc = new CongestionController(initialBps: 2_000_000);
        int last = 0;
        cc.TargetBitrateChanged += b => last = b;
        cc.OnRemb(700_000, 0);
        Assert.Equal(700_000, cc.TargetBps);
        Assert.Equal(700_000, last);
    }
}
