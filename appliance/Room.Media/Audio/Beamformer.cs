namespace Room.Media.Audio;

/// <summary>
/// Delay-and-sum beamformer: reduces an interleaved multichannel microphone array to one channel steered at a
/// direction, by delaying each channel so the wanted wavefront lines up, then averaging. Keeps per-channel history
/// across calls, so block boundaries are seamless. <see cref="Steer"/> retargets it: the old and the new beam are
/// crossfaded over <see cref="FadeSamples"/>, so a move makes no click. No allocation after construction.
/// Not thread-safe: steer between blocks, on the thread that processes them.
/// </summary>
public sealed class DelayAndSumBeamformer
{
    /// <summary>A retarget crossfades over this many samples (10 ms at 48 kHz).</summary>
    public const int FadeSamples = 480;

    private const int MaxDelay = 1024;
    private readonly int _channels;
    private int[] _delays;
    private int[] _next;            // the beam being faded in
    private readonly int[] _pending; // a retarget asked for during a fade, applied after it
    private readonly int _history;
    private readonly short[] _ring; // per channel: _history samples of the previous input
    private int _pos;
    private int _fade = -1;         // samples into the crossfade; -1: none
    private bool _hasPending;

    /// <param name="delaysSamples">Per-channel delay in samples (non-negative), at most 1024.</param>
    public DelayAndSumBeamformer(ReadOnlySpan<int> delaysSamples)
    {
        if (delaysSamples.IsEmpty)
        {
            throw new ArgumentException("at least one channel", nameof(delaysSamples));
        }

        _channels = delaysSamples.Length;
        CheckDelays(delaysSamples);
        _delays = delaysSamples.ToArray();
        _next = new int[_channels];
        _pending = new int[_channels];
        _history = MaxDelay + 1;
        _ring = new short[_channels * _history];
    }

    public int Channels => _channels;

    /// <summary>The delays of the beam in use (the one being faded in, during a crossfade).</summary>
    public ReadOnlySpan<int> Delays => _fade >= 0 ? _next : _delays;

    /// <summary>
    /// Retargets to <paramref name="delaysSamples"/> (one per channel, 0..1024): the next <see cref="FadeSamples"/>
    /// output samples crossfade from the old beam to the new. Asked during a fade, it starts when that one ends.
    /// </summary>
    /// <exception cref="ArgumentException">Not one delay per channel, or one out of range (the beam is left as it was).</exception>
    public void Steer(ReadOnlySpan<int> delaysSamples)
    {
        CheckDelays(delaysSamples);
        if (delaysSamples.Length != _channels)
        {
            throw new ArgumentException($"one delay per channel ({_channels}); got {delaysSamples.Length}", nameof(delaysSamples));
        }

        if (_fade >= 0)
        {
            delaysSamples.CopyTo(_pending);
            _hasPending = true;
        }
        else if (!delaysSamples.SequenceEqual(_delays))
        {
            delaysSamples.CopyTo(_next);
            _fade = 0;
        }
    }

    private static void CheckDelays(ReadOnlySpan<int> delays)
    {
        foreach (var d in delays)
        {
            if (d is < 0 or > MaxDelay)
            {
                throw new ArgumentOutOfRangeException(nameof(delays), d, $"a delay is 0..{MaxDelay} samples");
            }
        }
    }

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
            for (var c = 0; c < _channels; c++)
            {
                _ring[(c * _history) + _pos] = interleaved[(i * _channels) + c];
            }

            var sum = Sum(_delays);
            if (_fade >= 0)
            {
                // Linear crossfade of the two beams' outputs: both are the same talker's signal, differently delayed.
                var g = (_fade + 1) / (double)(FadeSamples + 1);
                sum = (int)Math.Round(((1 - g) * sum) + (g * Sum(_next)));
                if (++_fade == FadeSamples)
                {
                    (_delays, _next) = (_next, _delays);
                    _fade = -1;
                    if (_hasPending)
                    {
                        _hasPending = false;
                        Steer(_pending);
                    }
                }
            }

            mono[i] = (short)(sum / _channels);
            _pos = _pos + 1 == _history ? 0 : _pos + 1;
        }

        return frames;
    }

    private int Sum(int[] delays)
    {
        var sum = 0;
        for (var c = 0; c < _channels; c++)
        {
            var idx = _pos - delays[c];
            if (idx < 0)
            {
                idx += _history;
            }

            sum += _ring[(c * _history) + idx];
        }

        return sum;
    }
}
