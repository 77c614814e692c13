namespace Room.Media.Audio;

/// <summary>
/// Delay-and-sum beamformer: reduces an interleaved multichannel microphone array to one channel steered at a
/// direction, by delaying each channel so the wanted wavefront lines up, then averaging. Keeps per-channel history
/// across calls, so block boundaries are seamless. No allocation after construction.
/// </summary>
public sealed class DelayAndSumBeamformer
{
    private readonly int _channels;
    private readonly int[] _delays;
    private readonly int _history;
    private readonly short[] _ring; // per channel: _history samples of the previous input
    private int _pos;

    /// <param name="delaysSamples">Per-channel delay in samples (non-negative), at most 1024.</param>
    public DelayAndSumBeamformer(ReadOnlySpan<int> delaysSamples)
    {
        if (delaysSamples.IsEmpty)
        {
            throw new ArgumentException("at least one channel", nameof(delaysSamples));
        }

        _channels = delaysSamples.Length;
        _delays = delaysSamples.ToArray();
        foreach (var d in _delays)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(d, 1024);
        }

        _history = 1025;
        _ring = new short[_channels * _history];
    }

    public int Channels => _channels;

    /// <summary>
    /// Delays for a uniform linear array of <paramref name="channels"/> microphones <paramref name="spacingMetres"/>
    /// apart, steered <paramref name="angleDegrees"/> off broadside (positive towards the last microphone).
    /// </summary>
    public static int[] LinearArrayDelays(int channels, double spacingMetres, double angleDegrees, int sampleRate = AudioFormat.SampleRate)
    {
        const double SpeedOfSound = 343.0;
        var tau = new double[channels];
        for (var m = 0; m < channels; m++)
        {
            // A source towards the last mic reaches it first: delay it most so all line up with mic 0.
            tau[m] = m * spacingMetres * Math.Sin(angleDegrees * Math.PI / 180) / SpeedOfSound * sampleRate;
        }

        var min = tau.Min();
        return [.. tau.Select(t => (int)Math.Round(t - min))];
    }

    /// <summary>Beamforms <paramref name="interleaved"/> (frames x channels) into <paramref name="mono"/>; returns frames.</summary>
    public int Process(ReadOnlySpan<short> interleaved, Span<short> mono)
    {
        var frames = interleaved.Length / _channels;
        if (mono.Length < frames)
        {
            throw new ArgumentException("output too short", nameof(mono));
        }

        for (var i = 0; i < frames; i++)
        {
            var sum = 0;
            for (var c = 0; c < _channels; c++)
            {
                var baseIdx = c * _history;
                _ring[baseIdx + _pos] = interleaved[(i * _channels) + c];
                var idx = _pos - _delays[c];
                if (idx < 0)
                {
                    idx += _history;
                }

                sum += _ring[baseIdx + idx];
            }

            mono[i] = (short)(sum / _channels);
            _pos = _pos + 1 == _history ? 0 : _pos + 1;
        }

        return frames;
    }
}
