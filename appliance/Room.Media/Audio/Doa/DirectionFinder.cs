using System.Numerics;

namespace Room.Media.Audio.Doa;

/// <summary>A direction estimate: azimuth in the array's frame (<see cref="MicrophoneArray"/>) and how sure it is (0..1).</summary>
public readonly record struct DoaEstimate(double AzimuthDegrees, double Confidence);

/// <summary>Direction finding settings.</summary>
public sealed record DoaOptions
{
    /// <summary>Lowest frequency used: below it, small arrays see almost no phase difference.</summary>
    public double MinFrequency { get; init; } = 200;

    /// <summary>Highest frequency used: speech's energy is below it, and spatial aliasing grows above.</summary>
    public double MaxFrequency { get; init; } = 4000;

    /// <summary>Azimuth grid step, degrees (the peak is refined between grid points).</summary>
    public double ResolutionDegrees { get; init; } = 1;

    /// <summary>Weight the direction map keeps per speech block (0: only the last block; 0.95: about 400 ms of speech).</summary>
    public double Smoothing { get; init; } = 0.95;

    /// <summary>Samples per channel in a block.</summary>
    public int BlockFrames { get; init; } = AudioFormat.FrameSamples;

    public int SampleRate { get; init; } = AudioFormat.SampleRate;
}

/// <summary>
/// Direction of arrival by GCC-PHAT over every microphone pair, combined as steered response power (SRP-PHAT,
/// DiBiase 2000): for each azimuth on a grid, the PHAT-weighted cross-spectra of all pairs are evaluated at the
/// pair delays that azimuth implies (fractional delays are exact: it is done per frequency bin), and averaged. The
/// map value is the mean GCC-PHAT coherence over pairs and bins, 1 for a single clean plane wave. It is computed in
/// its per-microphone form, |Σ_m Y_m e^{jωτ_m}|² = M + 2 Σ_{i&lt;j} Re(Y_i Y_j* e^{jω(τ_i-τ_j)}) with Y = X/|X|, so the
/// cost is microphones × bins × azimuths, not pairs × bins × azimuths. The map is smoothed over speech blocks.
/// Feed every block, saying which are speech (see <see cref="SpeakerDirectionFinder"/>): all of them teach the
/// per-bin noise floor that weights the bins, only speech is mapped. No allocation per block. Not thread-safe.
/// </summary>
public sealed class DirectionFinder
{
    private readonly MicrophoneArray _array;
    private readonly DoaOptions _options;
    private readonly BlockSpectrum _spectrum;
    private readonly int _lo;
    private readonly int _bins;
    private readonly double[] _azimuths;
    private readonly Complex[] _steer;   // [azimuth][bin][mic]: e^{+jωτ_m(θ)}, undoing each mic's arrival delay
    private readonly Complex[] _phat;    // [bin][mic]: X/|X| of the current block
    private readonly double[] _map;      // smoothed mean pair coherence per azimuth: _sum / _norm
    private readonly double[] _sum;
    private readonly double[] _power;    // [bin]: mean power over mics, this block
    private readonly double[] _floor;    // [bin]: noise floor of _power
    private readonly double[] _weight;   // [bin]: this block's weight
    private double _norm;
    private bool _empty = true;

    private const double FloorRise = 1.0116; // 0.05 dB per block
    private const double FloorMargin = 2;    // a bin counts from 3 dB over its floor

    public DirectionFinder(MicrophoneArray array, DoaOptions? options = null)
    {
        _array = array ?? throw new ArgumentNullException(nameof(array));
        _options = options ?? new DoaOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ResolutionDegrees, 0.1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.ResolutionDegrees, 10);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.Smoothing);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(_options.Smoothing, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.SampleRate, 8000);
        if (!(_options.MinFrequency > 0 && _options.MaxFrequency > _options.MinFrequency && _options.MaxFrequency < _options.SampleRate / 2))
        {
            throw new ArgumentException($"need 0 < MinFrequency < MaxFrequency < {_options.SampleRate / 2} Hz", nameof(options));
        }

        _spectrum = new BlockSpectrum(_options.BlockFrames);
        _lo = _spectrum.Bin(_options.MinFrequency, _options.SampleRate);
        _bins = _spectrum.Bin(_options.MaxFrequency, _options.SampleRate) - _lo + 1;

        // A collinear array's grid covers -90..90 inclusive; a planar one's the circle, -180 included, 180 not.
        var max = array.MaxAzimuth;
        var count = array.IsCollinear ? (int)Math.Round(2 * max / _options.ResolutionDegrees) + 1 : (int)Math.Round(2 * max / _options.ResolutionDegrees);
        _azimuths = [.. Enumerable.Range(0, count).Select(i => -max + (i * 2 * max / (array.IsCollinear ? count - 1 : count)))];
        var mics = array.Count;
        _steer = new Complex[count * mics * _bins];
        for (var a = 0; a < count; a++)
        {
            for (var m = 0; m < mics; m++)
            {
                var tau = array.ArrivalTime(m, _azimuths[a]);
                for (var b = 0; b < _bins; b++)
                {
                    var omega = 2 * Math.PI * (_lo + b) * _options.SampleRate / _spectrum.FftSize;
                    _steer[(((a * _bins) + b) * mics) + m] = Complex.FromPolarCoordinates(1, omega * tau);
                }
            }
        }

        _phat = new Complex[mics * _bins];
        _map = new double[count];
        _sum = new double[count];
        _power = new double[_bins];
        _floor = new double[_bins];
        _weight = new double[_bins];
        System.Array.Fill(_floor, double.NaN);
        Interleaved = new float[_options.BlockFrames * mics];
    }

    public MicrophoneArray Array => _array;

    public DoaOptions Options => _options;

    /// <summary>Speech blocks taken into the map since the last <see cref="Reset"/>.</summary>
    public long Blocks { get; private set; }

    /// <summary>The azimuth grid, degrees.</summary>
    public ReadOnlySpan<double> Azimuths => _azimuths;

    /// <summary>The smoothed map over <see cref="Azimuths"/>: mean GCC-PHAT coherence over pairs and bins.</summary>
    public ReadOnlySpan<double> Map => _map;

    /// <summary>The block converted to float (±1 full scale) by the short overload; reused.</summary>
    internal float[] Interleaved { get; }

    /// <summary>Forgets the map (the talker changed, or a long silence); the noise floor is kept.</summary>
    public void Reset()
    {
        System.Array.Clear(_map);
        System.Array.Clear(_sum);
        _norm = 0;
        _empty = true;
        Blocks = 0;
    }

    /// <summary>
    /// Takes one block of interleaved 16-bit capture (<see cref="DoaOptions.BlockFrames"/> × microphones): every
    /// block updates the per-bin noise floor, speech blocks (<paramref name="speech"/>) are added to the map.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length (nothing changes).</exception>
    public void Process(ReadOnlySpan<short> interleaved, bool speech)
    {
        CheckLength(interleaved.Length);
        ToFloat(interleaved, Interleaved);
        ProcessChecked(Interleaved, speech);
    }

    /// <summary>As the 16-bit overload, for float samples (±1 full scale).</summary>
    /// <exception cref="ArgumentException">Wrong length, or a NaN or infinite sample (nothing changes).</exception>
    public void Process(ReadOnlySpan<float> interleaved, bool speech)
    {
        CheckLength(interleaved.Length);
        CheckFinite(interleaved);
        ProcessChecked(interleaved, speech);
    }

    /// <summary>The map's peak, refined between grid points; null before any block.</summary>
    public DoaEstimate? Estimate()
    {
        if (_empty)
        {
            return null;
        }

        var best = 0;
        double mean = 0;
        for (var a = 0; a < _map.Length; a++)
        {
            mean += _map[a];
            if (_map[a] > _map[best])
            {
                best = a;
            }
        }

        mean /= _map.Length;

        // Parabolic refinement through the peak and its neighbours (wrapping round a circle).
        var n = _map.Length;
        var circle = !_array.IsCollinear;
        double offset = 0;
        if (circle || (best > 0 && best < n - 1))
        {
            var l = _map[(best - 1 + n) % n];
            var r = _map[(best + 1) % n];
            var den = l - (2 * _map[best]) + r;
            offset = den < 0 ? Math.Clamp(0.5 * (l - r) / den, -0.5, 0.5) : 0;
        }

        var step = circle ? 360.0 / n : 180.0 / (n - 1);
        var azimuth = _azimuths[best] + (offset * step);
        if (circle && azimuth >= 180)
        {
            azimuth -= 360;
        }
        else if (circle && azimuth < -180)
        {
            azimuth += 360;
        }

        var confidence = Math.Clamp((_map[best] - mean) / (1 - mean), 0, 1);
        return new DoaEstimate(azimuth, confidence);
    }

    internal static void ToFloat(ReadOnlySpan<short> from, Span<float> to)
    {
        for (var i = 0; i < from.Length; i++)
        {
            to[i] = from[i] / 32768f;
        }
    }

    internal void CheckLength(int length)
    {
        if (length != _options.BlockFrames * _array.Count)
        {
            throw new ArgumentException(
                length == 0
                    ? "empty block"
                    : $"a block is {_options.BlockFrames} frames × {_array.Count} microphones = {_options.BlockFrames * _array.Count} samples; got {length}" +
                      (length % _array.Count != 0 || length / _array.Count != _options.BlockFrames ? $" (is the capture {_array.Count} channels?)" : string.Empty),
                nameof(length));
        }
    }

    internal static void CheckFinite(ReadOnlySpan<float> interleaved)
    {
        for (var i = 0; i < interleaved.Length; i++)
        {
            if (!float.IsFinite(interleaved[i]))
            {
                throw new ArgumentException($"sample {i} is {interleaved[i]}: a block must be finite", nameof(interleaved));
            }
        }
    }

    /// <summary>Takes a block already checked for length and finiteness.</summary>
    internal void ProcessChecked(ReadOnlySpan<float> interleaved, bool speech)
    {
        Analyse(interleaved);
        Accumulate(speech);
    }

    /// <summary>The spectrum of the first microphone after <see cref="Analyse"/> (the voice activity detector's input).</summary>
    internal BlockSpectrum FirstMicrophoneSpectrum => _spectrum;

    /// <summary>Every microphone's spectrum of a checked block: per-bin power and PHAT-normalised bins.</summary>
    internal void Analyse(ReadOnlySpan<float> interleaved)
    {
        var mics = _array.Count;
        _power.AsSpan().Clear();
        // The last microphone first, so that the first one's transform is left in _spectrum for the detector.
        for (var m = mics - 1; m >= 0; m--)
        {
            _spectrum.Transform(interleaved, mics, m);
            var bins = _spectrum.Bins;
            for (var b = 0; b < _bins; b++)
            {
                var x = bins[_lo + b];
                var mag = x.Magnitude;
                _power[b] += mag * mag / mics;
                _phat[(b * mics) + m] = mag > 1e-12 ? x / mag : Complex.Zero;
            }
        }

    }

    /// <summary>Updates the noise floor from the analysed block, and adds it to the map when it holds speech.</summary>
    internal void Accumulate(bool speech)
    {
        var mics = _array.Count;

        // PHAT gives every bin the same say, so bins that hold only noise (between a voice's harmonics, or above
        // its band) would blur the peak and pull it towards broadside. Weight each bin by how far it stands above
        // its own noise floor (a spectral-subtraction gain; the floor goes down at once and creeps up 0.05 dB a
        // block, as the voice activity detector's does).
        double norm = 0;
        for (var b = 0; b < _bins; b++)
        {
            var p = _power[b];
            _floor[b] = double.IsNaN(_floor[b]) || p < _floor[b] ? p : _floor[b] * FloorRise;
            var w = p > 0 ? Math.Clamp(1 - (FloorMargin * _floor[b] / p), 0, 1) : 0;
            _weight[b] = w * w;
            norm += _weight[b];
        }

        if (!speech || norm < 1e-6)
        {
            return;
        }

        norm *= mics * (mics - 1);
        var keep = _empty ? 0 : _options.Smoothing;
        var phat = _phat.AsSpan();
        var steer = _steer.AsSpan();
        for (var a = 0; a < _map.Length; a++)
        {
            double power = 0;
            var steerA = steer.Slice(a * mics * _bins, mics * _bins);
            for (var b = 0; b < _bins; b++)
            {
                if (_weight[b] == 0)
                {
                    continue;
                }

                double re = 0, im = 0;
                for (var m = 0; m < mics; m++)
                {
                    var y = phat[(b * mics) + m];
                    var s = steerA[(b * mics) + m];
                    re += (y.Real * s.Real) - (y.Imaginary * s.Imaginary);
                    im += (y.Real * s.Imaginary) + (y.Imaginary * s.Real);
                }

                // |Σ|² minus the M self terms leaves twice the pair sum.
                power += _weight[b] * ((re * re) + (im * im) - mics);
            }

            // A weighted running mean: blocks with more speech bins count for more.
            _sum[a] = (keep * _sum[a]) + power;
        }

        _norm = (keep * _norm) + norm;
        for (var a = 0; a < _map.Length; a++)
        {
            _map[a] = _sum[a] / _norm;
        }

        _empty = false;
        Blocks++;
    }
}
