using Room.Media.Interop;

namespace Room.Media.Audio;

/// <summary>Settings for the <see cref="AudioProcessor"/>.</summary>
public sealed record AudioProcessorOptions
{
    public int SampleRate { get; init; } = AudioFormat.SampleRate;

    /// <summary>Samples per processing block (10 ms at 48 kHz).</summary>
    public int BlockSamples { get; init; } = 480;

    /// <summary>Echo tail the adaptive filter covers.</summary>
    public TimeSpan EchoTail { get; init; } = TimeSpan.FromMilliseconds(100);

    public bool NoiseSuppression { get; init; } = true;

    /// <summary>Noise attenuation in dB (negative).</summary>
    public int NoiseSuppressDb { get; init; } = -25;

    public bool AutomaticGainControl { get; init; }

    /// <summary>AGC target level (speexdsp units, 0..32768 peak).</summary>
    public float AgcLevel { get; init; } = 8000;
}

/// <summary>
/// Acoustic echo cancellation (speexdsp MDF), then noise suppression, residual-echo suppression and optional
/// automatic gain control (speexdsp preprocessor), on 16-bit mono. The far-end signal (what the speaker plays)
/// is the echo reference. Two ways to use it: <see cref="Process"/> with aligned near/far blocks, or
/// <see cref="OnPlayback"/> from the playback path plus <see cref="ProcessCapture"/> from the capture path
/// (speexdsp buffers the reference in between; both calls are serialised here).
/// </summary>
public sealed unsafe class AudioProcessor : IDisposable
{
    private readonly Lock _gate = new();
    private readonly int _block;
    private void* _echo;
    private void* _pre;

    public AudioProcessor(AudioProcessorOptions? options = null)
    {
        Options = options ?? new AudioProcessorOptions();
        _block = Options.BlockSamples;
        ArgumentOutOfRangeException.ThrowIfLessThan(_block, 64);
        Speex.EnsureLoaded();
        var tail = (int)(Options.EchoTail.TotalSeconds * Options.SampleRate);
        _echo = Speex.speex_echo_state_init(_block, tail);
        _pre = Speex.speex_preprocess_state_init(_block, Options.SampleRate);
        if (_echo is null || _pre is null)
        {
            Dispose();
            throw new MediaException("speexdsp state allocation failed");
        }

        var rate = Options.SampleRate;
        var failed = Speex.speex_echo_ctl(_echo, Speex.SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
        var on = Options.NoiseSuppression ? 1 : 0;
        failed |= Speex.speex_preprocess_ctl(_pre, Speex.SPEEX_PREPROCESS_SET_DENOISE, &on);
        var ns = Options.NoiseSuppressDb;
        failed |= Speex.speex_preprocess_ctl(_pre, Speex.SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &ns);
        var agc = Options.AutomaticGainControl ? 1 : 0;
        failed |= Speex.speex_preprocess_ctl(_pre, Speex.SPEEX_PREPROCESS_SET_AGC, &agc);
        var level = Options.AgcLevel;
        failed |= Speex.speex_preprocess_ctl(_pre, Speex.SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
        failed |= Speex.speex_preprocess_ctl(_pre, Speex.SPEEX_PREPROCESS_SET_ECHO_STATE, _echo);
        if (failed != 0)
        {
            Dispose();
            throw new MediaException("speexdsp rejected a setting");
        }
    }

    public AudioProcessorOptions Options { get; }

    /// <summary>
    /// Cancels the echo of <paramref name="farEnd"/> from <paramref name="mic"/> into <paramref name="output"/>.
    /// All three hold the same whole number of blocks; far-end sample i is what the speaker played at mic sample i.
    /// </summary>
    public void Process(ReadOnlySpan<short> mic, ReadOnlySpan<short> farEnd, Span<short> output)
    {
        CheckLengths(mic.Length, farEnd.Length, output.Length);
        lock (_gate)
        {
            fixed (short* m = mic, f = farEnd, o = output)
            {
                for (var off = 0; off < mic.Length; off += _block)
                {
                    Speex.speex_echo_cancellation(_echo, m + off, f + off, o + off);
                    _ = Speex.speex_preprocess_run(_pre, o + off); // returns the VAD decision, not an error
                }
            }
        }
    }

    /// <summary>Hands the block just sent to the speaker to the canceller (playback thread).</summary>
    public void OnPlayback(ReadOnlySpan<short> played)
    {
        CheckLengths(played.Length, played.Length, played.Length);
        lock (_gate)
        {
            fixed (short* p = played)
            {
                for (var off = 0; off < played.Length; off += _block)
                {
                    Speex.speex_echo_playback(_echo, p + off);
                }
            }
        }
    }

    /// <summary>Cleans one captured block using the buffered playback reference (capture thread).</summary>
    public void ProcessCapture(ReadOnlySpan<short> mic, Span<short> output)
    {
        CheckLengths(mic.Length, mic.Length, output.Length);
        lock (_gate)
        {
            fixed (short* m = mic, o = output)
            {
                for (var off = 0; off < mic.Length; off += _block)
                {
                    Speex.speex_echo_capture(_echo, m + off, o + off);
                    _ = Speex.speex_preprocess_run(_pre, o + off); // returns the VAD decision, not an error
                }
            }
        }
    }

    private void CheckLengths(int a, int b, int c)
    {
        ObjectDisposedException.ThrowIf(_echo is null, this);
        if (a != b || a > c || a % _block != 0)
        {
            throw new ArgumentException($"buffers must be the same whole number of {_block}-sample blocks");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_pre is not null)
            {
                Speex.speex_preprocess_state_destroy(_pre);
                _pre = null;
            }

            if (_echo is not null)
            {
                Speex.speex_echo_state_destroy(_echo);
                _echo = null;
            }
        }
    }
}
