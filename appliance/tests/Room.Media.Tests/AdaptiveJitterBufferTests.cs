using Microsoft.Extensions.Time.Testing;
using Room.Media.Audio;
using Xunit.Abstractions;
using Room.Testing;

namespace Room.Media.Tests;

/// <summary>
/// The audio jitter buffer's delay follows the jitter it measures. Each test plays a synthetic arrival pattern on a
/// fake clock (a packet sent every 20 ms, delayed by the pattern; a read every 20 ms on the receiver's own phase)
/// and looks at what the buffer did: its target, how long frames waited, how many came too late.
/// </summary>
public sealed class AdaptiveJitterBufferTests(ITestOutputHelper log)
{
    private const int FrameMs = AudioFormat.FrameMilliseconds;

    /// <summary>One Opus packet reused for every frame (content does not matter here, only timing).</summary>
    private static readonly byte[] Packet = MakePacket();

    private static byte[] MakePacket()
    {
        using var encoder = new OpusAudioEncoder(32000, dtx: false);
        var pcm = AudioTests.SpeechLike(AudioFormat.FrameSamples, 3);
        var packet = new byte[AudioFormat.MaxPacketSize];
        return packet.AsSpan(0, encoder.Encode(pcm, packet)).ToArray();
    }

    /// <summary>What a run measured: per played frame, how long after its arrival it was read (ms).</summary>
    private sealed record Run(AudioJitterBuffer Buffer, List<double> Waits, int Sent)
    {
        public double Percentile(double q, int skip = 0)
        {
            var sorted = Waits.Skip(skip).Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        }
    }

    /// <summary>
    /// Sends <paramref name="frames"/> packets (packet k leaves at k*20 ms and arrives <paramref name="delayMs"/>(k)
    /// later; null: lost), reads every <paramref name="readPeriodMs"/> starting at <paramref name="readPhaseMs"/>, and
    /// records for each decoded frame how long it sat in the buffer.
    /// </summary>
    /// <remarks>Times are on one timeline from the clock's start, so a later call continues where the last one ended
    /// (give the earlier one <paramref name="tailMs"/> 0 so its reads stop where the next call's begin).</remarks>
    private static Run Play(AudioJitterBuffer jb, FakeTimeProvider time, int frames, Func<int, double?> delayMs, double readPhaseMs = 7, double readPeriodMs = FrameMs, int firstFrame = 0, double tailMs = 400)
    {
        var arrivals = new List<(double At, int Frame)>();
        for (var k = firstFrame; k < firstFrame + frames; k++)
        {
            if (delayMs(k) is { } d)
            {
                arrivals.Add(((k * FrameMs) + d, k));
            }
        }

        arrivals.Sort((a, b) => a.At.CompareTo(b.At));
        var arrivedAt = new Dictionary<uint, double>();
        var waits = new List<double>();
        var pcm = new short[AudioFormat.FrameSamples];
        double Now() => (time.GetUtcNow() - time.Start).TotalMilliseconds;
        void AdvanceTo(double ms)
        {
            var now = Now();
            if (ms > now)
            {
                time.Advance(TimeSpan.FromTicks((long)Math.Round((ms - now) * TimeSpan.TicksPerMillisecond)));
            }
        }

        var a = 0;
        var end = ((firstFrame + frames) * FrameMs) + tailMs;
        for (var read = (firstFrame * FrameMs) + readPhaseMs; read < end; read += readPeriodMs)
        {
            while (a < arrivals.Count && arrivals[a].At <= read)
            {
                AdvanceTo(arrivals[a].At);
                var ts = (uint)(arrivals[a].Frame * AudioFormat.FrameSamples);
                arrivedAt[ts] = Now();
                jb.Insert(ts, Packet);
                a++;
            }

            AdvanceTo(read);
            var decoded = jb.FramesDecoded;
            jb.ReadFrame(pcm);
            if (jb.FramesDecoded > decoded && arrivedAt.TryGetValue(jb.PlayingTimestamp, out var at))
            {
                waits.Add(Now() - at);
            }
        }

        return new Run(jb, waits, arrivals.Count);
    }

    private void Report(string what, Run run) => log.WriteLine(
        $"{what}: target {run.Buffer.TargetDelay.TotalMilliseconds:F0} ms, wait p50 {run.Percentile(0.5, 100):F1} p95 {run.Percentile(0.95, 100):F1} ms, " +
        $"decoded {run.Buffer.FramesDecoded}, late {run.Buffer.LatePackets}, dropped {run.Buffer.FramesDropped}, stretched {run.Buffer.FramesStretched}, " +
        $"concealed {run.Buffer.FramesConcealed}, fec {run.Buffer.FramesRecoveredByFec}, jitter {run.Buffer.Jitter.TotalMilliseconds:F1} ms");

    [Fact]
    public void Without_jitter_frames_wait_less_than_one_frame()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var run = Play(jb, time, 500, _ => 30);
        Report("steady", run);
        Assert.True(jb.TargetDelay <= TimeSpan.FromMilliseconds(5), $"target {jb.TargetDelay}");
        // Packets arrive at 10 ms past each 20 ms, reads come at 7 ms past: once adapted, every frame waits the 17 ms
        // to the next read, no more.
        Assert.Equal(17, run.Percentile(0.95, 100), 3);
        Assert.Equal(0, jb.LatePackets);
        Assert.True(jb.FramesDecoded >= 495, $"decoded {jb.FramesDecoded}");
    }

    [Fact]
    public void The_initial_delay_gives_way_to_the_measured_one_within_a_second()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(new AudioJitterBufferSettings { InitialDelay = TimeSpan.FromMilliseconds(100) }, time);
        Assert.Equal(TimeSpan.FromMilliseconds(100), jb.TargetDelay);
        var run = Play(jb, time, 50, _ => 30);
        Report("after 1 s", run);
        Assert.True(jb.TargetDelay <= TimeSpan.FromMilliseconds(5), $"target {jb.TargetDelay}");
        Assert.True(run.Waits[^1] < FrameMs, $"last frame waited {run.Waits[^1]} ms");
    }

    [Fact]
    public void Under_jitter_the_target_covers_95_percent_of_packets_and_few_arrive_late()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var rng = new Random(42);
        // Exponential extra delay, mean 15 ms: its 95th percentile is 45 ms. Reordering happens (delays differ by more than 20 ms).
        var delays = Enumerable.Range(0, 1500).Select(_ => 30 - (15 * Math.Log(1 - rng.NextDouble()))).ToArray();
        var run = Play(jb, time, delays.Length, k => delays[k]);
        Report("exponential jitter", run);
        Assert.InRange(jb.TargetDelay.TotalMilliseconds, 35, 70);
        Assert.True(jb.LatePackets < delays.Length * 0.08, $"late {jb.LatePackets} of {delays.Length}");
        Assert.True(jb.FramesDecoded > delays.Length * 0.9, $"decoded {jb.FramesDecoded}");
        // No more delay than the jitter needs: the slowest packets wait little, so the typical one waits about the target.
        Assert.InRange(run.Percentile(0.5, 100), 20, 80);
        Assert.InRange(jb.Jitter.TotalMilliseconds, 5, 25);
    }

    [Fact]
    public void When_the_jitter_stops_the_buffer_drops_frames_back_down_to_a_small_delay()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var rng = new Random(7);
        var jittery = Play(jb, time, 500, _ => 20 + (rng.NextDouble() * 80), tailMs: 0);
        Report("80 ms uniform jitter", jittery);
        Assert.True(jb.TargetDelay >= TimeSpan.FromMilliseconds(60), $"target {jb.TargetDelay}");
        var before = jb.FramesDropped;
        var calm = Play(jb, time, 1000, _ => 20, firstFrame: 500);
        Report("then none", calm);
        Assert.True(jb.FramesDropped > before, "no frame was dropped to cut the delay");
        Assert.True(jb.TargetDelay <= TimeSpan.FromMilliseconds(10), $"target {jb.TargetDelay}");
        Assert.True(calm.Waits[^1] < FrameMs + 6, $"last frame waited {calm.Waits[^1]} ms");
    }

    [Fact]
    public void After_a_delay_spike_the_buffer_stretches_to_the_new_target_instead_of_dropping_every_packet_as_late()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        Play(jb, time, 200, _ => 10, tailMs: 0);
        Assert.Equal(0, jb.FramesStretched);
        // The path gets slower and jittery: 10..110 ms from now on.
        var rng = new Random(5);
        var run = Play(jb, time, 1000, _ => 10 + (rng.NextDouble() * 100), firstFrame: 200);
        Report("spike", run);
        Assert.True(jb.FramesStretched > 0);
        Assert.True(jb.TargetDelay >= TimeSpan.FromMilliseconds(80), $"target {jb.TargetDelay}");
        Assert.True(jb.LatePackets < 1000 * 0.1, $"late {jb.LatePackets}");
    }

    [Fact]
    public void A_sender_clock_faster_than_the_speaker_does_not_let_the_delay_grow()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        // 1 % fast: the sender's 20 ms frames arrive every 19.8 ms; 60 s of them would pile up 600 ms.
        var run = Play(jb, time, 3000, k => 20 - (k * 0.2));
        Report("sender 1 % fast", run);
        Assert.True(jb.FramesDropped >= 20, $"dropped {jb.FramesDropped}");
        Assert.True(run.Percentile(0.95, 100) < 40, $"p95 wait {run.Percentile(0.95, 100)} ms");
    }

    [Fact]
    public void A_sender_clock_slower_than_the_speaker_underruns_rarely_and_recovers()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var run = Play(jb, time, 3000, k => 20 + (k * 0.2));
        Report("sender 1 % slow", run);
        Assert.True(jb.FramesDecoded >= 2900, $"decoded {jb.FramesDecoded}");
        Assert.True(run.Percentile(0.95, 100) < 40, $"p95 wait {run.Percentile(0.95, 100)} ms");
    }

    [Fact]
    public void After_the_player_stalls_for_a_second_the_delay_is_back_at_the_target_on_the_next_read()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        Play(jb, time, 200, _ => 10, tailMs: 0);
        var pcm = new short[AudioFormat.FrameSamples];
        // No reads for a second (a stalled process) while 50 packets arrive.
        for (var k = 200; k < 250; k++)
        {
            time.Advance(TimeSpan.FromMilliseconds(FrameMs));
            jb.Insert((uint)(k * AudioFormat.FrameSamples), Packet);
        }

        var dropped = jb.FramesDropped;
        jb.ReadFrame(pcm);
        Assert.True(jb.FramesDropped - dropped >= 40, $"dropped {jb.FramesDropped - dropped}");
        Assert.True(jb.CurrentDelay > TimeSpan.FromMilliseconds(900), $"delay seen {jb.CurrentDelay}");
        time.Advance(TimeSpan.FromMilliseconds(FrameMs));
        jb.ReadFrame(pcm);
        Assert.True(jb.CurrentDelay <= jb.TargetDelay + TimeSpan.FromMilliseconds(2 * FrameMs), $"delay {jb.CurrentDelay}, target {jb.TargetDelay}");
        Assert.Equal(0, jb.Underruns);
    }

    [Fact]
    public void The_delay_never_exceeds_the_configured_maximum()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(new AudioJitterBufferSettings { MaxDelay = TimeSpan.FromMilliseconds(60) }, time);
        var rng = new Random(9);
        var run = Play(jb, time, 1000, _ => 20 + (rng.NextDouble() * 300));
        Report("capped", run);
        Assert.Equal(TimeSpan.FromMilliseconds(60), jb.TargetDelay);
        // Packets up to 300 ms late: many miss their turn, and the frames that do play wait about the cap.
        Assert.True(run.Percentile(0.5, 50) <= 60 + FrameMs, $"median wait {run.Percentile(0.5, 50)} ms");
        Assert.True(jb.LatePackets > 0);
    }

    [Fact]
    public void A_fixed_delay_holds_every_frame_that_long()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(AudioJitterBufferSettings.Fixed(TimeSpan.FromMilliseconds(60)), time);
        var run = Play(jb, time, 300, _ => 30);
        Report("fixed 60", run);
        Assert.InRange(run.Percentile(0.5, 50), 60, 60 + FrameMs);
    }

    [Fact]
    public void Loss_is_concealed_or_recovered_by_fec_without_stalling_the_play_point()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var run = Play(jb, time, 1000, k => k % 10 == 3 ? null : 25);
        Report("10 % loss", run);
        // Every lost frame is repaired (the 20 reads after the stream ends conceal too).
        Assert.InRange(jb.FramesConcealed + jb.FramesRecoveredByFec, 100, 125);
        Assert.True(jb.FramesRecoveredByFec >= 90, $"fec {jb.FramesRecoveredByFec}");
        Assert.Equal(0, jb.LatePackets);
        Assert.True(run.Percentile(0.95, 100) < 30, $"p95 wait {run.Percentile(0.95, 100)} ms");
    }

    /// <summary>An Opus packet of silence (what the encoder makes of a pause).</summary>
    private static readonly byte[] QuietPacket = MakeQuietPacket();

    /// <summary>An Opus packet of a vowel-like 220 Hz tone at -12 dBFS (speech, for the buffer's pause detection).</summary>
    private static readonly byte[] LoudPacket = MakePacket(k => (short)(8000 * Math.Sin(2 * Math.PI * 220 * k / AudioFormat.SampleRate)));

    private static byte[] MakeQuietPacket() => MakePacket(_ => 0);

    private static byte[] MakePacket(Func<int, short> sample)
    {
        using var encoder = new OpusAudioEncoder(32000, dtx: false);
        var pcm = Enumerable.Range(0, AudioFormat.FrameSamples).Select(sample).ToArray();
        var packet = new byte[AudioFormat.MaxPacketSize];
        return packet.AsSpan(0, encoder.Encode(pcm, packet)).ToArray();
    }

    /// <summary>
    /// Talkspurts of <paramref name="loudFrames"/> frames, pauses of <paramref name="quietFrames"/> (0: speech without
    /// pause): 500 frames with 0-80 ms of jitter, then 1000 without, one read per 20 ms. Per read that dropped a frame:
    /// whether the frame played before it was a pause.
    /// </summary>
    private static (List<bool> DropsAfterPause, List<int> DropReads) Talk(AudioJitterBuffer jb, FakeTimeProvider time, int loudFrames, int quietFrames)
    {
        var rng = new Random(11);
        var arrivals = Enumerable.Range(0, 1500).Select(k => (At: (k * FrameMs) + (k < 500 ? 20 + (rng.NextDouble() * 80) : 20), Frame: k)).OrderBy(a => a.At).ToList();
        var pcm = new short[AudioFormat.FrameSamples];
        var dropsAfterPause = new List<bool>();
        var dropReads = new List<int>();
        var lastWasPause = true;
        var a = 0;
        var reads = 0;
        for (var read = 7.0; read < (1500 * FrameMs) + 200; read += FrameMs, reads++)
        {
            while (a < arrivals.Count && arrivals[a].At <= read)
            {
                time.Advance(TimeSpan.FromMilliseconds(arrivals[a].At) - (time.GetUtcNow() - time.Start));
                var k = arrivals[a].Frame;
                var loud = quietFrames == 0 || k % (loudFrames + quietFrames) < loudFrames;
                jb.Insert((uint)(k * AudioFormat.FrameSamples), loud ? LoudPacket : QuietPacket);
                a++;
            }

            time.Advance(TimeSpan.FromMilliseconds(read) - (time.GetUtcNow() - time.Start));
            var dropped = jb.FramesDropped;
            jb.ReadFrame(pcm);
            if (jb.FramesDropped > dropped && read > 500 * FrameMs)
            {
                dropsAfterPause.Add(lastWasPause);
                dropReads.Add(reads);
            }

            lastWasPause = Math.Sqrt(pcm.Average(x => (double)x * x)) < 328;
        }

        return (dropsAfterPause, dropReads);
    }

    [Fact]
    public void The_delay_comes_down_in_the_pauses_between_talkspurts_not_inside_them()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        // 400 ms of speech, 200 ms of pause: no talkspurt is long enough to make a change go ahead in speech.
        var (afterPause, _) = Talk(jb, time, 20, 10);
        log.WriteLine($"drops after the jitter stopped: {afterPause.Count}, after a pause {afterPause.Count(p => p)}; target {jb.TargetDelay.TotalMilliseconds} ms, changes in speech {jb.ChangesInSpeech}");
        Assert.True(afterPause.Count >= 3, $"only {afterPause.Count} frames dropped after the jitter stopped");
        Assert.All(afterPause, Assert.True);
        Assert.Equal(0, jb.ChangesInSpeech);
    }

    [Fact]
    public void In_speech_without_a_pause_the_delay_still_comes_down_a_frame_per_100_ms_at_most()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var (_, reads) = Talk(jb, time, 1, 0);
        log.WriteLine($"drops after the jitter stopped at reads {string.Join(" ", reads)}; target {jb.TargetDelay.TotalMilliseconds} ms, changes in speech {jb.ChangesInSpeech}");
        Assert.True(reads.Count >= 3, $"only {reads.Count} frames dropped after the jitter stopped");
        Assert.True(jb.ChangesInSpeech >= reads.Count, $"{jb.ChangesInSpeech} changes in speech, {reads.Count} drops");
        Assert.All(reads.Zip(reads.Skip(1), (x, y) => y - x), gap => Assert.True(gap >= 5, $"drops {gap} reads apart"));
        Assert.True(jb.TargetDelay <= TimeSpan.FromMilliseconds(10), $"target {jb.TargetDelay}");
    }

    [Theory]
    [InlineData(-1, 300, 40, 0.95, 0.995)]
    [InlineData(0, 700, 40, 0.95, 0.995)]
    [InlineData(100, 50, 40, 0.95, 0.995)]
    [InlineData(0, 300, 40, 0.2, 0.995)]
    [InlineData(0, 300, 40, 0.95, 1.0)]
    public void Bad_settings_are_refused(int minMs, int maxMs, int initialMs, double quantile, double forget)
    {
        var settings = new AudioJitterBufferSettings
        {
            MinDelay = TimeSpan.FromMilliseconds(minMs), MaxDelay = TimeSpan.FromMilliseconds(maxMs),
            InitialDelay = TimeSpan.FromMilliseconds(initialMs), Quantile = quantile, ForgetFactor = forget,
        };
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudioJitterBuffer(settings));
    }

    [Fact]
    public void Inserting_and_reading_allocate_nothing()
    {
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        using (var probe = new OpusAudioDecoder())
        {
            // libopus0 comes with media.mk; the managed fallback (Concentus) allocates per frame.
            Assert.Contains("native", probe.Backend, StringComparison.Ordinal);
        }

        var pcm = new short[AudioFormat.FrameSamples];
        var step = TimeSpan.FromMilliseconds(FrameMs);
        for (var k = 0; k < 100; k++)
        {
            jb.Insert((uint)(k * AudioFormat.FrameSamples), Packet);
            time.Advance(step);
            jb.ReadFrame(pcm);
        }

        var before = ThreadAllocations.Start();
        for (var k = 100; k < 600; k++)
        {
            jb.Insert((uint)(k * AudioFormat.FrameSamples), Packet);
            time.Advance(k % 7 == 0 ? step * 2 : step);
            jb.ReadFrame(pcm);
        }

        Assert.Equal(0, ThreadAllocations.Since(before));
        Assert.True(jb.FramesDecoded > 400);
    }
}

public sealed class ArrivalDelayEstimatorTests
{
    private const int Frame = AudioFormat.FrameSamples;

    [Fact]
    public void Rfc3550_jitter_of_alternating_transit_converges_to_the_difference()
    {
        var e = new ArrivalDelayEstimator();
        // Transit alternates 0 / 480 samples (10 ms): |D| is 480 every packet, so J tends to 480.
        for (var k = 0; k < 400; k++)
        {
            e.Update((uint)(k * Frame), (k * Frame) + (k % 2 * 480));
        }

        Assert.Equal(480, e.Jitter, 1);
        Assert.Equal(0, e.MinTransit);
    }

    [Fact]
    public void Relative_delay_is_measured_against_the_fastest_packet_of_the_window()
    {
        var e = new ArrivalDelayEstimator();
        Assert.Equal(0, e.Update(1000, 5000));
        Assert.Equal(0, e.Update(1000 + Frame, 5000 + Frame - 100)); // faster: the new minimum
        Assert.Equal(100 + 300, e.Update(1000 + (2 * Frame), 5000 + (2 * Frame) + 300));
    }

    [Fact]
    public void Timestamps_wrapping_past_2_to_the_32_do_not_look_like_a_jump_in_delay()
    {
        var e = new ArrivalDelayEstimator();
        uint ts = uint.MaxValue - (10 * Frame);
        long arrival = 0;
        for (var k = 0; k < 40; k++)
        {
            Assert.Equal(0, e.Update(ts, arrival));
            ts += Frame;
            arrival += Frame;
        }

        Assert.Equal(0, e.Jitter, 3);
    }

    [Fact]
    public void The_target_is_the_quantile_of_relative_delays()
    {
        var e = new ArrivalDelayEstimator(quantile: 0.9);
        // Every tenth packet 30 ms late (1440 samples), the rest on time: 90 % arrive with no delay.
        for (var k = 0; k < 1000; k++)
        {
            e.Update((uint)(k * Frame), (k * Frame) + (k % 10 == 0 ? 1440 : 0));
        }

        Assert.InRange(e.TargetDelaySamples, ArrivalDelayEstimator.BucketSamples, 1440 + ArrivalDelayEstimator.BucketSamples);
        var strict = new ArrivalDelayEstimator(quantile: 0.95);
        for (var k = 0; k < 1000; k++)
        {
            strict.Update((uint)(k * Frame), (k * Frame) + (k % 10 == 0 ? 1440 : 0));
        }

        Assert.Equal(1440 + ArrivalDelayEstimator.BucketSamples, strict.TargetDelaySamples);
    }

    [Fact]
    public void Reset_forgets_the_old_stream()
    {
        var e = new ArrivalDelayEstimator(initialDelaySamples: 960);
        for (var k = 0; k < 200; k++)
        {
            e.Update((uint)(k * Frame), (k * Frame) + (k % 2 * 4800));
        }

        Assert.True(e.TargetDelaySamples > 4000);
        e.Reset();
        Assert.Equal(0, e.Packets);
        Assert.Equal(960, e.TargetDelaySamples);
    }
}
