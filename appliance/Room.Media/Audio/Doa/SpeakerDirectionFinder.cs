namespace Room.Media.Audio.Doa;

/// <summary>
/// Per 20 ms block of microphone-array capture: is someone speaking (<see cref="VoiceActivityDetector"/> on the first
/// microphone), and if so from where (<see cref="DirectionFinder"/>). Silence leaves the direction map alone, so a
/// pause does not wash out where the talker was. No allocation per block. Not thread-safe.
/// </summary>
public sealed class SpeakerDirectionFinder
{
    private readonly DirectionFinder _doa;
    private readonly VoiceActivityDetector _vad;

    public SpeakerDirectionFinder(MicrophoneArray array, DoaOptions? doa = null, VoiceActivityOptions? vad = null)
    {
        _doa = new DirectionFinder(array, doa);
        _vad = new VoiceActivityDetector(vad, _doa.Options.BlockFrames, _doa.Options.SampleRate);
    }

    public DirectionFinder Directions => _doa;

    public VoiceActivityDetector VoiceActivity => _vad;

    /// <summary>Takes one block of interleaved 16-bit capture; returns the direction while speech is heard, else null.</summary>
    /// <exception cref="ArgumentException">Not one block for this array's microphone count.</exception>
    public DoaEstimate? Process(ReadOnlySpan<short> interleaved)
    {
        _doa.CheckLength(interleaved.Length);
        DirectionFinder.ToFloat(interleaved, _doa.Interleaved);
        return ProcessChecked(_doa.Interleaved);
    }

    /// <summary>Takes one block of interleaved float capture (±1 full scale).</summary>
    /// <exception cref="ArgumentException">Not one block for this array's microphone count, or a NaN or infinite sample (nothing changes).</exception>
    public DoaEstimate? Process(ReadOnlySpan<float> interleaved)
    {
        _doa.CheckLength(interleaved.Length);
        DirectionFinder.CheckFinite(interleaved);
        return ProcessChecked(interleaved);
    }

    private DoaEstimate? ProcessChecked(ReadOnlySpan<float> interleaved)
    {
        // One transform per microphone per block: the detector reads the first microphone's from the direction finder.
        _doa.Analyse(interleaved);
        var speech = _vad.Decide(_doa.FirstMicrophoneSpectrum);
        _doa.Accumulate(speech);
        return speech ? _doa.Estimate() : null;
    }
}
