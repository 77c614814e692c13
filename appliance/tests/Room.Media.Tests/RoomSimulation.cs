using System.Numerics;
using Room.Media.Audio.Doa;

namespace Room.Media.Tests;

/// <summary>
/// A talker in a reverberant room, heard by a microphone array: per microphone, the direct path and the six
/// first-order wall, floor and ceiling images of a shoebox room (image-source model, each a fractional delay by a
/// windowed sinc, 1/r spreading, a reflection coefficient), plus a late diffuse tail (exponentially decaying noise,
/// independent per microphone, at a set direct-to-reverberant ratio), convolved by FFT; then speech-shaped noise
/// (the source's long-term spectrum with random phases, independent per microphone) at a set SNR.
/// </summary>
internal sealed record RoomSimulation
{
    public const int Rate = 48000;

    /// <summary>Room size, metres; the array sits at <see cref="ArrayAt"/>, its plane horizontal, facing +y.</summary>
    public (double X, double Y, double Z) Size { get; init; } = (6.0, 5.0, 2.8);

    public (double X, double Y, double Z) ArrayAt { get; init; } = (3.0, 0.6, 1.2);

    public double SourceDistance { get; init; } = 1.8;

    public double SourceHeight { get; init; } = 1.3;

    /// <summary>Amplitude reflection coefficient of every surface.</summary>
    public double Reflection { get; init; } = 0.7;

    public double Rt60Seconds { get; init; } = 0.4;

    /// <summary>Direct-path energy over the diffuse tail's, dB (0: as strong as each other).</summary>
    public double DirectToReverberantDb { get; init; }

    /// <summary>Interleaved capture (frames × mics) of <paramref name="source"/> from <paramref name="azimuthDegrees"/>, reverberant, no noise.</summary>
    public double[][] Reverberant(MicrophoneArray array, double azimuthDegrees, double[] source, int seed)
    {
        var a = azimuthDegrees * Math.PI / 180;
        var src = (X: ArrayAt.X + (SourceDistance * Math.Sin(a)), Y: ArrayAt.Y + (SourceDistance * Math.Cos(a)), Z: SourceHeight);
        if (src.X <= 0.1 || src.X >= Size.X - 0.1 || src.Y <= 0.1 || src.Y >= Size.Y - 0.1)
        {
            throw new ArgumentOutOfRangeException(nameof(azimuthDegrees), "the source would be outside the room");
        }

        // The source and its first-order images: mirrored in each of the six surfaces.
        var images = new List<(double X, double Y, double Z, double Gain)>
        {
            (src.X, src.Y, src.Z, 1),
            (-src.X, src.Y, src.Z, Reflection), ((2 * Size.X) - src.X, src.Y, src.Z, Reflection),
            (src.X, -src.Y, src.Z, Reflection), (src.X, (2 * Size.Y) - src.Y, src.Z, Reflection),
            (src.X, src.Y, -src.Z, Reflection), (src.X, src.Y, (2 * Size.Z) - src.Z, Reflection),
        };

        var rng = new Random(seed);
        var tailLength = (int)(Rt60Seconds * Rate);
        var fftSize = (int)BitOperations.RoundUpToPowerOf2((uint)(source.Length + tailLength + 2048));
        var fft = new Fft(fftSize);
        var sourceSpectrum = Spectrum(fft, source);
        var output = new double[array.Count][];
        for (var m = 0; m < array.Count; m++)
        {
            var mic = (X: ArrayAt.X + array.Positions[m].X, Y: ArrayAt.Y + array.Positions[m].Y, Z: ArrayAt.Z);
            var ir = new double[fftSize];
            var directSamples = 0.0;
            foreach (var img in images)
            {
                var r = Math.Sqrt(Math.Pow(img.X - mic.X, 2) + Math.Pow(img.Y - mic.Y, 2) + Math.Pow(img.Z - mic.Z, 2));
                var delay = r / MicrophoneArray.SpeedOfSound * Rate;
                directSamples = directSamples == 0 ? delay : directSamples;
                AddFractionalImpulse(ir, delay, img.Gain / r);
            }

            // Late diffuse tail from 5 ms after the direct sound, decaying 60 dB over RT60.
            var directEnergy = 1 / Math.Pow(SourceDistance, 2);
            var start = (int)directSamples + (Rate / 200);
            var tail = new double[tailLength];
            double tailEnergy = 0;
            for (var n = 0; n < tailLength; n++)
            {
                tail[n] = Gaussian(rng) * Math.Exp(-6.9 * n / (Rt60Seconds * Rate));
                tailEnergy += tail[n] * tail[n];
            }

            var tailScale = Math.Sqrt(directEnergy / tailEnergy / Math.Pow(10, DirectToReverberantDb / 10));
            for (var n = 0; n < tailLength && start + n < fftSize; n++)
            {
                ir[start + n] += tail[n] * tailScale;
            }

            var h = Spectrum(fft, ir);
            for (var k = 0; k < fftSize; k++)
            {
                h[k] *= sourceSpectrum[k];
            }

            fft.Inverse(h);
            output[m] = [.. h.Take(source.Length).Select(c => c.Real)];
        }

        return output;
    }

    /// <summary>Speech-shaped noise added per microphone so the mean active-speech power over mics is <paramref name="snrDb"/> above it (<paramref name="source"/>: the talking part).</summary>
    public static void AddNoise(double[][] mics, double[] source, double snrDb, int seed)
    {
        var rng = new Random(seed);
        var fft = new Fft((int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(source.Length, mics[0].Length)));
        var magnitude = Spectrum(fft, source).Select(c => c.Magnitude).ToArray();
        var signal = mics.Average(ActiveSpeechPower);
        foreach (var mic in mics)
        {
            var noise = new Complex[fft.Size];
            for (var k = 1; k < fft.Size / 2; k++)
            {
                noise[k] = Complex.FromPolarCoordinates(magnitude[k], rng.NextDouble() * 2 * Math.PI);
                noise[fft.Size - k] = Complex.Conjugate(noise[k]);
            }

            fft.Inverse(noise);
            var power = noise.Take(mic.Length).Average(c => c.Real * c.Real);
            var scale = Math.Sqrt(signal / Math.Pow(10, snrDb / 10) / power);
            for (var n = 0; n < mic.Length; n++)
            {
                mic[n] += noise[n].Real * scale;
            }
        }
    }

    /// <summary>Mean power of the 20 ms blocks within 25 dB of the loudest (the talking, not the pauses).</summary>
    public static double ActiveSpeechPower(double[] x)
    {
        var blocks = Enumerable.Range(0, x.Length / 960).Select(b => x.AsSpan(b * 960, 960).ToArray().Average(v => v * v)).ToArray();
        var loudest = blocks.Max();
        return blocks.Where(p => p > loudest / 316).Average();
    }

    /// <summary>Channels to interleaved 16-bit blocks, at <paramref name="scale"/> (full scale ±1 → ±32767).</summary>
    public static short[] Interleave(double[][] mics, double scale)
    {
        var frames = mics[0].Length;
        var o = new short[frames * mics.Length];
        for (var n = 0; n < frames; n++)
        {
            for (var m = 0; m < mics.Length; m++)
            {
                o[(n * mics.Length) + m] = (short)Math.Clamp(Math.Round(mics[m][n] * scale), short.MinValue, short.MaxValue);
            }
        }

        return o;
    }

    public static double[] Source(int samples, int seed) => [.. AudioTests.SpeechLike(samples, seed).Select(s => s / 32768.0)];

    private static Complex[] Spectrum(Fft fft, double[] x)
    {
        var c = new Complex[fft.Size];
        for (var n = 0; n < Math.Min(x.Length, fft.Size); n++)
        {
            c[n] = x[n];
        }

        fft.Forward(c);
        return c;
    }

    /// <summary>A band-limited impulse at a fractional delay: Hann-windowed sinc, 64 taps either side.</summary>
    private static void AddFractionalImpulse(double[] ir, double delay, double gain)
    {
        const int Half = 64;
        var centre = (int)Math.Floor(delay);
        for (var n = centre - Half; n <= centre + Half; n++)
        {
            if (n < 0 || n >= ir.Length)
            {
                continue;
            }

            var t = n - delay;
            var sinc = Math.Abs(t) < 1e-12 ? 1 : Math.Sin(Math.PI * t) / (Math.PI * t);
            var window = 0.5 + (0.5 * Math.Cos(Math.PI * t / (Half + 1)));
            ir[n] += gain * sinc * window;
        }
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
