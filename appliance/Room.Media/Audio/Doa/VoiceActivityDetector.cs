namespace Room.Media.Audio.Doa;

/// <summary>
/// Says whether a 20 ms block holds speech, so directions are only estimated while someone talks. Two cues, both
/// needed: the speech band (300..4000 Hz) stands <see cref="VoiceActivityOptions.MarginDb"/> above a noise floor that
/// follows the mean level of the blocks that are not speech (and creeps up under speech, so a noise that steps up
/// becomes the floor in time),
/// and the band's spectrum is peaky (voiced speech has harmonics: spectral flatness well under that of noise, whose
/// flatness is about 0.56). A few blocks of hangover bridge the gaps between syllables. Block-counted, not timed.
/// </summary>
public sealed class VoiceActivityDetector
{
    private readonly VoiceActivityOptions _options;
    private readonly BlockSpectrum _spectrum;
    private readonly int _lo;
    private readonly int _hi;
    private double _floorDb = double.NaN;
    private int _hang;

    public VoiceActivityDetector(VoiceActivityOptions? options = null, int blockFrames = AudioFormat.FrameSamples, int sampleRate = AudioFormat.SampleRate)
    {
        _options = options ?? new VoiceActivityOptions();
        _spectrum = new BlockSpectrum(blockFrames);
        _lo = _spectrum.Bin(300, sampleRate);
        _hi = _spectrum.Bin(4000, sampleRate);
    }

    /// <summary>The speech band's level in the last block, dB (full scale 0 dB for a ±1 sine's band energy, roughly).</summary>
    public double LevelDb { get; private set; }

    /// <summary>The noise floor the level is compared with, dB.</summary>
    public double FloorDb => _floorDb;

    /// <summary>Spectral flatness of the band in the last block (0: one tone .. 1: flat).</summary>
    public double Flatness { get; private set; }

    /// <summary>Decides on channel <paramref name="channel"/> of an interleaved block of finite samples (±1 full scale).</summary>
    public bool Process(ReadOnlySpan<float> interleaved, int channels, int channel = 0)
    {
        _spectrum.Transform(interleaved, channels, channel);
        return Decide(_spectrum);
    }

    /// <summary>Decides on a block already transformed (by the direction finder, which needs the same spectrum).</summary>
    internal bool Decide(BlockSpectrum spectrum)
    {
        if (spectrum.FftSize != _spectrum.FftSize || spectrum.BlockFrames != _spectrum.BlockFrames)
        {
            throw new ArgumentException($"a {spectrum.BlockFrames}-frame block, not the detector's {_spectrum.BlockFrames}", nameof(spectrum));
        }

        double sum = 0, logSum = 0;
        var bins = spectrum.Bins;
        for (var k = _lo; k <= _hi; k++)
        {
            var p = (bins[k].Real * bins[k].Real) + (bins[k].Imaginary * bins[k].Imaginary) + 1e-20;
            sum += p;
            logSum += Math.Log(p);
        }

        var count = _hi - _lo + 1;
        var mean = sum / count;
        Flatness = Math.Exp(logSum / count) / mean;
        LevelDb = 10 * Math.Log10(mean / spectrum.BlockFrames);
        if (double.IsNaN(_floorDb))
        {
            _floorDb = LevelDb;
        }
        else if (LevelDb < _floorDb + _options.MarginDb)
        {
            // Not speech: the floor follows the noise's mean level (quickly down, slowly up), so the noise's own
            // block-to-block swings (several dB for noise shaped like speech) stay under the margin.
            _floorDb += (LevelDb < _floorDb ? 0.3 : 0.05) * (LevelDb - _floorDb);
        }
        else
        {
            _floorDb += _options.FloorRiseDb;
        }

        var voiced = LevelDb > _floorDb + _options.MarginDb && LevelDb > _options.MinLevelDb && Flatness < _options.MaxFlatness;
        _hang = voiced ? _options.HangoverBlocks : Math.Max(0, _hang - 1);
        return voiced || _hang > 0;
    }

    /// <summary>Forgets the noise floor (a new device or stream).</summary>
    public void Reset()
    {
        _floorDb = double.NaN;
        _hang = 0;
    }
}

/// <summary>Voice activity thresholds.</summary>
public sealed record VoiceActivityOptions
{
    /// <summary>How far above the noise floor the speech band must be, dB.</summary>
    public double MarginDb { get; init; } = 8;

    /// <summary>Below this band level a block is silence whatever the floor (digital silence, a muted mic), dB.</summary>
    public double MinLevelDb { get; init; } = -90;

    /// <summary>Voiced speech is peakier than this (white noise is about 0.56).</summary>
    public double MaxFlatness { get; init; } = 0.35;

    /// <summary>How fast the floor creeps up while the level is above it, dB per block (0.05: 2.5 dB/s).</summary>
    public double FloorRiseDb { get; init; } = 0.05;

    /// <summary>Blocks still called speech after the last voiced one (bridges syllables).</summary>
    public int HangoverBlocks { get; init; } = 4;
}
