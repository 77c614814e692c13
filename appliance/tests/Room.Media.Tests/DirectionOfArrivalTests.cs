using System.Numerics;
using Room.Media.Audio;
using Room.Media.Audio.Doa;
using Xunit.Abstractions;

namespace Room.Media.Tests;

public class DirectionOfArrivalTests(ITestOutputHelper log)
{
    private const double Level = 0.25 * 32768; // talker peaks near -12 dBFS at the mics

    /// <summary>Meeting-bar array: four mics 5 cm apart.</summary>
    private static readonly MicrophoneArray Bar = MicrophoneArray.Linear(4, 0.05);

    /// <summary>The final direction after <paramref name="seconds"/> of a talker at <paramref name="azimuth"/> in the room.</summary>
    private static DoaEstimate? Locate(MicrophoneArray array, RoomSimulation room, double azimuth, double snrDb, int seed, double seconds = 2)
    {
        var source = RoomSimulation.Source((int)(seconds * RoomSimulation.Rate), seed);
        var mics = room.Reverberant(array, azimuth, source, seed + 1000);
        RoomSimulation.AddNoise(mics, source, snrDb, seed + 2000);
        var capture = RoomSimulation.Interleave(mics, Level);
        var finder = new SpeakerDirectionFinder(array);
        DoaEstimate? last = null;
        var block = AudioFormat.FrameSamples * array.Count;
        for (var off = 0; off + block <= capture.Length; off += block)
        {
            last = finder.Process(capture.AsSpan(off, block)) ?? last;
        }

        return last;
    }

    private static double AngleError(double a, double b)
    {
        var d = Math.Abs(a - b) % 360;
        return d > 180 ? 360 - d : d;
    }

    private (double Mean, double Max) Sweep(MicrophoneArray array, RoomSimulation room, IEnumerable<double> azimuths, double snrDb)
    {
        var errors = new List<double>();
        var seed = 100;
        foreach (var azimuth in azimuths)
        {
            var e = Locate(array, room, azimuth, snrDb, seed++);
            Assert.NotNull(e);
            errors.Add(AngleError(e.Value.AzimuthDegrees, azimuth));
            log.WriteLine($"  {snrDb,3} dB SNR  talker {azimuth,6:F1}°  estimate {e.Value.AzimuthDegrees,7:F1}°  error {errors[^1],5:F1}°  confidence {e.Value.Confidence:F2}");
        }

        log.WriteLine($"{snrDb} dB SNR: mean error {errors.Average():F1}°, max {errors.Max():F1}° over {errors.Count} angles");
        return (errors.Average(), errors.Max());
    }

    [Fact]
    public void Fft_matches_the_definition_and_inverts()
    {
        var fft = new Fft(64);
        var rng = new Random(1);
        var x = Enumerable.Range(0, 64).Select(_ => new Complex(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5)).ToArray();
        var y = (Complex[])x.Clone();
        fft.Forward(y);
        for (var k = 0; k < 64; k++)
        {
            var direct = Complex.Zero;
            for (var n = 0; n < 64; n++)
            {
                direct += x[n] * Complex.FromPolarCoordinates(1, -2 * Math.PI * k * n / 64);
            }

            Assert.True((direct - y[k]).Magnitude < 1e-9, $"bin {k}: {y[k]} vs {direct}");
        }

        fft.Inverse(y);
        Assert.All(Enumerable.Range(0, 64), n => Assert.True((y[n] - x[n]).Magnitude < 1e-12));
    }

    [Fact]
    public void Fractional_delays_without_a_room_give_the_direction_within_two_degrees()
    {
        // Anechoic, 30 dB SNR: only the fractional-delay estimation is tested (delays of 0.3..2.1 samples per pair).
        var room = new RoomSimulation { Reflection = 0, DirectToReverberantDb = 60 };
        foreach (var azimuth in new[] { -50.0, -17.5, 0, 8.3, 33.3, 61 })
        {
            var e = Locate(Bar, room, azimuth, 30, 7);
            Assert.NotNull(e);
            log.WriteLine($"talker {azimuth}°: {e.Value.AzimuthDegrees:F2}° (confidence {e.Value.Confidence:F2})");
            Assert.True(AngleError(e.Value.AzimuthDegrees, azimuth) < 2, $"talker {azimuth}°, estimate {e.Value.AzimuthDegrees:F2}°");
        }
    }

    [Fact]
    public void Linear_array_in_a_reverberant_room_finds_the_talker_within_10_degrees_at_10_dB_snr()
    {
        // RT60 0.4 s, first-order reflections (0.7), diffuse tail as strong as the direct sound: a talker 1.8 m away.
        var room = new RoomSimulation();
        var azimuths = Enumerable.Range(-4, 9).Select(i => i * 15.0).ToArray(); // -60..60
        foreach (var snr in new[] { 20.0, 5 })
        {
            Sweep(Bar, room, azimuths, snr); // reported, not asserted
        }

        var (mean, max) = Sweep(Bar, room, azimuths, 10);
        Assert.True(max <= 10, $"max error {max:F1}° at 10 dB SNR (mean {mean:F1}°)");
    }

    [Fact]
    public void Circular_array_finds_the_talker_all_round_within_10_degrees_at_10_dB_snr()
    {
        // Six mics on a 4.63 cm radius (the common USB conference-puck layout), in the middle of the room.
        var puck = MicrophoneArray.Circular(6, 0.0463);
        var room = new RoomSimulation { ArrayAt = (3.0, 2.5, 0.75) };
        var azimuths = Enumerable.Range(-5, 12).Select(i => i * 30.0 + 7).ToArray();
        var (mean, max) = Sweep(puck, room, azimuths, 10);
        Assert.True(max <= 10, $"max error {max:F1}° at 10 dB SNR (mean {mean:F1}°)");
    }

    [Fact]
    public void The_detector_inside_the_finder_decides_as_a_detector_of_its_own_on_the_first_microphone()
    {
        // The finder hands the detector the first microphone's transform it made anyway: same decisions, same levels.
        var room = new RoomSimulation();
        var source = RoomSimulation.Source(RoomSimulation.Rate, 7);
        var mics = room.Reverberant(Bar, 30, source, 1007);
        RoomSimulation.AddNoise(mics, source, 10, 2007);
        var capture = RoomSimulation.Interleave(mics, Level);
        var finder = new SpeakerDirectionFinder(Bar);
        var alone = new VoiceActivityDetector();
        var block = AudioFormat.FrameSamples * Bar.Count;
        var floats = new float[block];
        int speech = 0, blocks = 0;
        for (var off = 0; off + block <= capture.Length; off += block, blocks++)
        {
            finder.Process(capture.AsSpan(off, block));
            DirectionFinder.ToFloat(capture.AsSpan(off, block), floats);
            speech += alone.Process(floats, Bar.Count) ? 1 : 0;
            var inside = finder.VoiceActivity;
            Assert.Equal((alone.LevelDb, alone.Flatness, alone.FloorDb), (inside.LevelDb, inside.Flatness, inside.FloorDb));
        }

        Assert.InRange(speech, 1, blocks - 1);
    }

    [Fact]
    public void A_spectrum_of_another_block_size_is_refused_by_the_detector()
    {
        var detector = new VoiceActivityDetector();
        Assert.Throws<ArgumentException>(() => detector.Decide(new BlockSpectrum(AudioFormat.FrameSamples / 2)));
    }

    [Fact]
    public void Silence_and_steady_noise_give_no_direction()
    {
        var finder = new SpeakerDirectionFinder(Bar);
        var rng = new Random(3);
        var block = new short[AudioFormat.FrameSamples * Bar.Count];
        var directions = 0;
        for (var b = 0; b < 100; b++)
        {
            for (var i = 0; i < block.Length; i++)
            {
                block[i] = (short)((rng.NextDouble() - 0.5) * 600); // steady white noise, about -40 dBFS
            }

            directions += finder.Process(block) is null ? 0 : 1;
        }

        Array.Clear(block);
        directions += finder.Process(block) is null ? 0 : 1;
        Assert.Equal(0, directions);
        Assert.Equal(0, finder.Directions.Blocks);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void A_block_with_the_wrong_channel_count_is_refused_with_the_counts(int channels)
    {
        var finder = new SpeakerDirectionFinder(Bar);
        var ex = Assert.Throws<ArgumentException>(() => finder.Process(new short[AudioFormat.FrameSamples * channels]));
        Assert.Contains("4 microphones", ex.Message, StringComparison.Ordinal);
        Assert.Contains("4 channels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_block_is_refused()
    {
        var finder = new SpeakerDirectionFinder(Bar);
        var ex = Assert.Throws<ArgumentException>(() => finder.Process(ReadOnlySpan<short>.Empty));
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_with_nan_is_refused_and_leaves_the_direction_as_it_was()
    {
        var finder = new DirectionFinder(Bar);
        var source = RoomSimulation.Source(AudioFormat.FrameSamples * 20, 5);
        var mics = new RoomSimulation { Reflection = 0, DirectToReverberantDb = 60 }.Reverberant(Bar, 30, source, 6);
        RoomSimulation.AddNoise(mics, source, 20, 7);
        var block = new float[AudioFormat.FrameSamples * Bar.Count];
        for (var b = 0; b < 20; b++)
        {
            for (var n = 0; n < AudioFormat.FrameSamples; n++)
            {
                for (var m = 0; m < Bar.Count; m++)
                {
                    block[(n * Bar.Count) + m] = (float)mics[m][(AudioFormat.FrameSamples * b) + n];
                }
            }

            finder.Process(block, speech: true);
        }

        var blocks = finder.Blocks;
        Assert.True(blocks > 0);
        var before = finder.Estimate();
        var map = finder.Map.ToArray();
        block[17] = float.NaN;
        var ex = Assert.Throws<ArgumentException>(() => finder.Process(block, true));
        Assert.Contains("sample 17 is NaN", ex.Message, StringComparison.Ordinal);
        block[17] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => finder.Process(block, true));
        Assert.Equal(before, finder.Estimate());
        Assert.Equal(map, finder.Map.ToArray());
        Assert.Equal(blocks, finder.Blocks);
    }

    [Fact]
    public void Coincident_microphones_are_refused_with_which_ones()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MicrophoneArray([new(0, 0), new(0.04, 0), new(0.0401, 0.001)]));
        Assert.Contains("microphones 1 and 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("coincident", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_microphone_or_a_non_finite_position_is_refused()
    {
        Assert.Contains("at least two", Assert.Throws<ArgumentException>(() => new MicrophoneArray([new(0, 0)])).Message, StringComparison.Ordinal);
        Assert.Contains("microphone 1", Assert.Throws<ArgumentException>(() => new MicrophoneArray([new(0, 0), new(double.NaN, 0)])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fft(1000));
    }

    [Fact]
    public void A_linear_array_is_searched_over_the_front_half_and_a_planar_one_all_round()
    {
        Assert.True(Bar.IsCollinear);
        Assert.Equal(-90, new DirectionFinder(Bar).Azimuths[0]);
        Assert.Equal(90, new DirectionFinder(Bar).Azimuths[^1]);
        var puck = MicrophoneArray.Circular(6, 0.0463);
        Assert.False(puck.IsCollinear);
        Assert.Equal(360, new DirectionFinder(puck).Azimuths.Length);
    }
}
