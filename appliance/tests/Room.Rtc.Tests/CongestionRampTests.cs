using Room.Rtc.Congestion;
using Room.Rtc.Rtcp;

namespace Room.Rtc.Tests;

/// <summary>
/// The controller against a link like the call-quality bench's (and a real call's): a tail-drop bottleneck with a
/// 100 ms queue; a sender that sends each video frame as one burst at 30 fps (keyframes several times a frame),
/// Opus every 20 ms, and an encoder that may make less than the target (content); a receiver (Janus) whose arrival
/// stamps jitter by a few milliseconds and that reports every 50 ms. Simulated time: nothing here is timed.
/// </summary>
public class CongestionRampTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed class FrameLink(int seed)
    {
        private readonly Random _rng = new(seed);
        private readonly List<(ushort Seq, bool Received, double Arrival)> _inFlight = [];
        private double _free;
        private long _nextFrame, _nextAudio, _nextFeedback, _frames;
        private ushort _seq;

        public double CapacityBps { get; set; } = 5_000_000;

        /// <summary>The most the encoder makes, whatever the target (a simple picture).</summary>
        public double ContentBps { get; set; } = double.MaxValue;

        public double JitterMs { get; set; } = 3;

        /// <summary>Chance per millisecond that the receiver's thread stalls for <see cref="StallMs"/> (a loaded machine): it then stamps what arrived meanwhile at the stall's end.</summary>
        public double StallChance { get; set; }

        public double StallMs { get; set; } = 30;

        /// <summary>Every this many frames a keyframe of <see cref="KeyframeScale"/> frames' size.</summary>
        public int KeyframeEvery { get; set; } = 300;

        public double KeyframeScale { get; set; } = 5;

        private double _stallUntil;

        public long Now { get; private set; }

        public long Dropped { get; private set; }

        public double SentBytes { get; private set; }

        private void Send(CongestionController cc, int bytes)
        {
            cc.OnPacketSent(_seq, bytes, Now);
            SentBytes += bytes;
            double start = Math.Max(Now, _free);
            bool received = start - Now <= 100;
            if (received) _free = start + bytes * 8 * 1000.0 / CapacityBps;
            else Dropped++;
            double arrival = _free + 10;
            if (arrival < _stallUntil) arrival = _stallUntil;
            _inFlight.Add((_seq++, received, arrival + _rng.NextDouble() * JitterMs));
        }

        /// <summary>Runs for <paramref name="ms"/>; returns the target at each second.</summary>
        public List<int> Run(CongestionController cc, int ms)
        {
            var targets = new List<int>();
            long end = Now + ms;
            for (; Now < end; Now++)
            {
                if (_rng.NextDouble() < StallChance) _stallUntil = Now + 10 + StallMs;
                if (Now >= _nextAudio)
                {
                    Send(cc, 120);
                    _nextAudio += 20;
                }

                if (Now >= _nextFrame)
                {
                    double video = Math.Min(cc.TargetBps - 40_000, ContentBps);
                    double bytes = video / 8 / 30 * (_frames++ % KeyframeEvery == 0 ? KeyframeScale : 1);
                    for (; bytes > 0; bytes -= 1200) Send(cc, (int)Math.Min(1200, Math.Max(bytes, 100)));
                    _nextFrame += 33;
                }

                if (Now >= _nextFeedback)
                {
                    _nextFeedback += 50;
                    // What has reached the receiver by now (10 ms back), in sequence order, as Janus reports it.
                    int n = _inFlight.FindIndex(p => p.Arrival + 10 > Now);
                    if (n < 0) n = _inFlight.Count;
                    if (n > 0)
                    {
                        var results = _inFlight.Take(n).Select(p => new PacketResult(p.Seq, p.Received, p.Received ? (long)(p.Arrival * 1000) : 0)).ToArray();
                        _inFlight.RemoveRange(0, n);
                        cc.OnFeedback(results, Now);
                    }
                }

                if (Now % 1000 == 0) targets.Add(cc.TargetBps);
            }

            return targets;
        }
    }

    private void Show(string what, List<int> targets) => output.WriteLine($"{what}: " + string.Join(' ', targets.Select(t => (t / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture))));

    [Fact]
    public void A_clean_5_mbit_link_is_found_within_8_simulated_seconds_from_900_kbit()
    {
        var cc = new CongestionController(initialBps: 900_000, minBps: 150_000, maxBps: 6_000_000);
        var link = new FrameLink(1);
        var targets = link.Run(cc, 30_000);
        Show("clean 5 Mbit/s, encoder fills its target", targets);
        Assert.True(targets[8] >= 4_000_000, $"target after 8 s: {targets[8]}");
        // Found, not overrun: the queue's drops stay a blip (first overuse) against what was sent.
        Assert.True(targets.Skip(10).All(t => t is >= 3_500_000 and <= 5_600_000), "after 10 s: " + string.Join(' ', targets.Skip(10)));
    }

    [Fact]
    public void An_encoder_that_makes_less_than_its_target_and_unevenly_does_not_drag_the_target_down()
    {
        var cc = new CongestionController(initialBps: 900_000, minBps: 150_000, maxBps: 6_000_000);
        var link = new FrameLink(2);
        var targets = new List<int>();
        for (int second = 0; second < 30; second++)
        {
            // A still picture: 100 kbit/s one second, 400 the next (what a VP8 encoder made of roomd's simulated camera).
            link.ContentBps = second % 2 == 0 ? 100_000 : 400_000;
            targets.AddRange(link.Run(cc, 1000));
        }

        Show("clean 5 Mbit/s, encoder makes 100 or 400 kbit/s", targets);
        Assert.True(targets.Min() >= 800_000, $"lowest target: {targets.Min()}");
    }

    [Fact]
    public void After_the_link_drops_to_1_mbit_and_comes_back_the_target_fits_under_it_and_then_finds_5_mbit_again()
    {
        var cc = new CongestionController(initialBps: 900_000, minBps: 150_000, maxBps: 6_000_000);
        var link = new FrameLink(4);
        var clean = link.Run(cc, 20_000);
        link.CapacityBps = 1_000_000;
        var low = link.Run(cc, 20_000);
        link.CapacityBps = 5_000_000;
        var back = link.Run(cc, 20_000);
        Show("5 Mbit/s", clean);
        Show("1 Mbit/s", low);
        Show("5 Mbit/s again", back);
        Assert.True(low.Skip(3).All(t => t <= 1_100_000), "at 1 Mbit/s after 3 s: " + string.Join(' ', low.Skip(3)));
        Assert.True(back[12] >= 4_000_000, $"12 s after the link came back: {back[12]}");
    }

    [Fact]
    public void A_receiver_that_stalls_now_and_then_and_keyframes_every_2_s_do_not_collapse_the_target_on_a_clean_link()
    {
        var cc = new CongestionController(initialBps: 900_000, minBps: 150_000, maxBps: 6_000_000);
        var link = new FrameLink(3) { StallChance = 0.002, StallMs = 40, KeyframeEvery = 60, KeyframeScale = 15 };
        var targets = link.Run(cc, 30_000);
        Show("clean 5 Mbit/s, receiver stalls 40 ms twice a second, keyframe every 2 s", targets);
        // Keyframes this size overflow the 100 ms queue (a burst, unpaced): the target pays for that, but stays far
        // from the floor (the call of issue 21 sat at 115-208 kbit/s on a free link).
        Assert.True(targets.Skip(10).Min() >= 1_500_000, $"lowest target after 10 s: {targets.Skip(10).Min()}");
    }
}
