using Microsoft.Extensions.Time.Testing;
using Room.Media.Audio;
using Room.Media.Audio.Doa;
using Room.Testing;
using Xunit.Abstractions;

namespace Room.Media.Tests;

public class SpeakerTrackingTests(ITestOutputHelper log)
{
    private static readonly MicrophoneArray Bar = MicrophoneArray.Linear(4, 0.05);
    private static readonly TimeSpan Block = TimeSpan.FromMilliseconds(20);

    private static readonly SpeakerTarget[] Presets =
    [
        new("left", -60, -20),
        new("centre", -20, 20),
        new("right", 20, 60),
    ];

    /// <summary>A talker at <paramref name="azimuth"/> for <paramref name="talkSeconds"/>, then room noise only, at 10 dB SNR, interleaved.</summary>
    private static short[] Capture(double azimuth, double talkSeconds, double silenceSeconds, int seed)
    {
        var talk = (int)(talkSeconds * RoomSimulation.Rate);
        var source = RoomSimulation.Source(talk + (int)(silenceSeconds * RoomSimulation.Rate), seed);
        Array.Clear(source, talk, source.Length - talk);
        var mics = new RoomSimulation().Reverberant(Bar, azimuth, source, seed + 1);
        RoomSimulation.AddNoise(mics, source[..talk], 10, seed + 2);
        return RoomSimulation.Interleave(mics, 0.25 * 32768);
    }

    /// <summary>Runs the capture block by block on a fake clock; returns when each switch happened (seconds) and to what.</summary>
    private static List<(double At, string? To)> Track(short[] capture, IReadOnlyList<SpeakerTarget> targets)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var tracker = new SpeakerTracker(timeProvider: clock);
        tracker.SetTargets(targets);
        var switches = new List<(double, string?)>();
        tracker.Switched += t => switches.Add(((clock.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds, t?.Name));
        var finder = new SpeakerDirectionFinder(Bar);
        var size = AudioFormat.FrameSamples * Bar.Count;
        for (var off = 0; off + size <= capture.Length; off += size)
        {
            clock.Advance(Block);
            tracker.Update(finder.Process(capture.AsSpan(off, size)));
        }

        return switches;
    }

    [Fact]
    public void A_talker_in_a_preset_is_framed_after_the_switch_delay_and_the_group_returns_in_silence()
    {
        var switches = Track(Capture(35, 3, 6, 40), Presets);
        log.WriteLine(string.Join("; ", switches.Select(s => $"{s.At:F2} s -> {s.To ?? "group"}")));
        Assert.Equal(2, switches.Count);
        Assert.Equal("right", switches[0].To);
        Assert.InRange(switches[0].At, 1.5, 2.5); // SwitchAfter 1.5 s of speech, not before
        Assert.Null(switches[1].To);
        Assert.InRange(switches[1].At, 3 + 4, 3 + 4.5); // 4 s of silence after the talk (plus the VAD's hangover)
    }

    [Theory]
    [InlineData(-38, "ana")]
    [InlineData(4, "ben")]
    [InlineData(41, "cleo")]
    public void The_detected_person_in_the_talkers_direction_is_chosen(double azimuth, string expected)
    {
        var people = new[] { SpeakerTarget.Person("ana", -40), SpeakerTarget.Person("ben", 0), SpeakerTarget.Person("cleo", 42) };
        var switches = Track(Capture(azimuth, 2.5, 0, 50 + (int)azimuth), people);
        log.WriteLine(string.Join("; ", switches.Select(s => $"{s.At:F2} s -> {s.To ?? "group"}")));
        Assert.Equal([expected], switches.Select(s => s.To));
    }

    [Fact]
    public void A_short_interjection_does_not_switch_and_a_new_talker_needs_the_full_delay()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var tracker = new SpeakerTracker(new SpeakerTrackerOptions { SwitchAfter = TimeSpan.FromSeconds(1) }, clock);
        tracker.SetTargets(Presets);
        SpeakerTarget? Run(double azimuth, int blocks)
        {
            for (var i = 0; i < blocks; i++)
            {
                clock.Advance(Block);
                tracker.Update(new DoaEstimate(azimuth, 0.5));
            }

            return tracker.Current;
        }

        // The count starts at the first block heard: the 51st is 1.0 s after it.
        Assert.Null(Run(-40, 50));               // 0.98 s of "left": not yet
        Assert.Equal("left", Run(-40, 1)?.Name); // 1.0 s: switched
        Assert.Equal("left", Run(40, 30)?.Name);  // "right" for 0.6 s: an interjection, no switch
        Assert.Equal("left", Run(-40, 5)?.Name);  // back to left...
        Assert.Equal("left", Run(40, 50)?.Name);  // ...so right's count restarted: 0.98 s is not enough
        Assert.Equal("right", Run(40, 1)?.Name);  // 1.0 s of right
        Assert.Equal("right", Run(0, 1)?.Name);
        tracker.Update(new DoaEstimate(0, 0.05)); // too unsure to count
        Assert.Equal("right", tracker.Current?.Name);
    }

    [Fact]
    public void A_target_that_leaves_returns_the_camera_to_the_group_and_bad_targets_are_refused()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var tracker = new SpeakerTracker(timeProvider: clock);
        tracker.SetTargets([SpeakerTarget.Person("ana", -40), SpeakerTarget.Person("ben", 10)]);
        for (var i = 0; i < 100; i++)
        {
            clock.Advance(Block);
            tracker.Update(new DoaEstimate(10, 0.5));
        }

        Assert.Equal("ben", tracker.Current?.Name);
        Assert.Throws<ArgumentException>(() => tracker.SetTargets([SpeakerTarget.Person("ana", -40), SpeakerTarget.Person("ana", 10)]));
        Assert.Equal("ben", tracker.Current?.Name); // a refused list changes nothing
        Assert.Throws<ArgumentException>(() => new SpeakerTarget("x", 10, -10));
        tracker.SetTargets([SpeakerTarget.Person("ana", -40)]);
        Assert.Null(tracker.Current);
    }

    [Fact]
    public void Steering_the_beam_to_the_tracked_talker_raises_their_snr_against_an_interferer()
    {
        // Talker at 40°, an interfering talker at -30° as loud, in the reverberant room. Delay-and-sum is linear,
        // so each is put through the same beam alone and the output powers compared.
        const int Seconds = 3;
        var room = new RoomSimulation();
        var talker = RoomSimulation.Source(Seconds * RoomSimulation.Rate, 61);
        var other = RoomSimulation.Source(Seconds * RoomSimulation.Rate, 62);
        var talkerMics = room.Reverberant(Bar, 40, talker, 63);
        var otherMics = room.Reverberant(Bar, -30, other, 64);

        // The direction comes from the finder, on the talker with the interferer 6 dB down.
        var mixed = talkerMics.Select((m, i) => m.Zip(otherMics[i], (a, b) => a + (0.5 * b)).ToArray()).ToArray();
        var capture = RoomSimulation.Interleave(mixed, 0.25 * 32768);
        var finder = new SpeakerDirectionFinder(Bar);
        DoaEstimate? found = null;
        var size = AudioFormat.FrameSamples * Bar.Count;
        for (var off = 0; off + size <= capture.Length; off += size)
        {
            found = finder.Process(capture.AsSpan(off, size)) ?? found;
        }

        Assert.NotNull(found);
        var steered = new int[Bar.Count];
        Bar.SteeringDelays(found.Value.AzimuthDegrees, steered);
        double Sir(int[] delays) =>
            10 * Math.Log10(BeamPower(talkerMics, delays) / BeamPower(otherMics, delays));
        var oneMic = 10 * Math.Log10(RoomSimulation.ActiveSpeechPower(talkerMics[0]) / RoomSimulation.ActiveSpeechPower(otherMics[0]));
        var broadside = Sir(new int[Bar.Count]);
        var towardsTalker = Sir(steered);
        var wrongWay = Sir(Delays(-found.Value.AzimuthDegrees));
        log.WriteLine($"talker found at {found.Value.AzimuthDegrees:F1}° (true 40°), delays [{string.Join(",", steered)}]");
        log.WriteLine($"talker-to-interferer: one mic {oneMic:F1} dB, fixed broadside beam {broadside:F1} dB, steered {towardsTalker:F1} dB, mirrored {wrongWay:F1} dB");
        Assert.True(towardsTalker > broadside + 1, $"steered {towardsTalker:F1} dB vs broadside {broadside:F1} dB");
        Assert.True(towardsTalker > oneMic + 1, $"steered {towardsTalker:F1} dB vs one mic {oneMic:F1} dB");
        Assert.True(towardsTalker > wrongWay + 3, $"steered {towardsTalker:F1} dB vs mirrored {wrongWay:F1} dB");
    }

    [Fact]
    public void Retargeting_the_beam_crossfades_without_a_click_or_an_allocation()
    {
        // A 300 Hz tone from 40°; the beam moves from broadside to 40° mid-block.
        var channels = Bar.Count;
        var frames = AudioFormat.FrameSamples * 6;
        var input = new short[frames * channels];
        for (var n = 0; n < frames; n++)
        {
            for (var m = 0; m < channels; m++)
            {
                var t = (n / 48000.0) - Bar.ArrivalTime(m, 40);
                input[(n * channels) + m] = (short)(10000 * Math.Sin(2 * Math.PI * 300 * t));
            }
        }

        var beam = new DelayAndSumBeamformer(new int[channels]);
        var target = Delays(40);
        var output = new short[frames];
        var size = AudioFormat.FrameSamples * channels;
        beam.Process(input.AsSpan(0, size), output); // warm up
        var before = ThreadAllocations.Start();
        for (var b = 1; b < 6; b++)
        {
            if (b == 3)
            {
                beam.Steer(target);
            }

            beam.Process(input.AsSpan(b * size, size), output.AsSpan(b * AudioFormat.FrameSamples));
        }

        var allocated = ThreadAllocations.Since(before);
        var maxStep = 0;
        for (var n = AudioFormat.FrameSamples + 1; n < frames; n++)
        {
            maxStep = Math.Max(maxStep, Math.Abs(output[n] - output[n - 1]));
        }

        // The tone's own steepest step is 10000·2π·300/48000 ≈ 393; an instant switch between these beams (out of
        // phase and in phase) jumps by far more.
        log.WriteLine($"largest sample step {maxStep}, allocated {allocated} bytes over 5 blocks");
        Assert.True(maxStep < 450, $"a step of {maxStep}");
        Assert.Equal(0, allocated);
        Assert.Equal(target, beam.Delays.ToArray());
    }

    [Fact]
    public void Steering_with_the_wrong_delay_count_or_range_is_refused_and_keeps_the_beam()
    {
        var beam = new DelayAndSumBeamformer([0, 1, 2, 3]);
        Assert.Throws<ArgumentException>(() => beam.Steer([1, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => beam.Steer([0, 0, 0, 2000]));
        Assert.Throws<ArgumentException>(() => Bar.SteeringDelays(0, new int[3]));
        Assert.Equal([0, 1, 2, 3], beam.Delays.ToArray());
    }

    private static int[] Delays(double azimuth)
    {
        var d = new int[Bar.Count];
        Bar.SteeringDelays(azimuth, d);
        return d;
    }

    /// <summary>Active-speech power of the beam's output for one source's mic signals.</summary>
    private static double BeamPower(double[][] mics, int[] delays)
    {
        var capture = RoomSimulation.Interleave(mics, 0.25 * 32768);
        var beam = new DelayAndSumBeamformer(delays);
        var mono = new short[mics[0].Length];
        beam.Process(capture, mono);
        return RoomSimulation.ActiveSpeechPower([.. mono.Select(s => (double)s)]);
    }
}
