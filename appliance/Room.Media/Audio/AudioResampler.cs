using System.Runtime.InteropServices;
using Room.Media.Interop;

namespace Room.Media.Audio;

/// <summary>
/// Streaming sample-rate conversion of interleaved 16-bit audio (speexdsp's resampler, quality 5 by default): feeds
/// devices that only run at 44.1, 32, 22.05, 16 or 8 kHz into the 48 kHz Opus/AEC path and back. The filter state
/// carries over from one call to the next, so block boundaries leave no trace in the output. No allocation per call.
/// </summary>
public sealed unsafe class AudioResampler : IDisposable
{
    /// <summary>Lowest device rate accepted (narrowband telephony).</summary>
    public const int MinRate = 8000;

    /// <summary>Highest device rate accepted.</summary>
    public const int MaxRate = 192_000;

    private void* _state;

    /// <exception cref="ArgumentOutOfRangeException">A rate outside <see cref="MinRate"/>..<see cref="MaxRate"/>, or 0 or more than 32 channels.</exception>
    public AudioResampler(int inputRate, int outputRate, int channels, int quality = 5)
    {
        CheckRate(inputRate, nameof(inputRate));
        CheckRate(outputRate, nameof(outputRate));
        if (channels is < 1 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "audio needs 1 to 32 channels");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 10);
        Speex.EnsureLoaded();
        InputRate = inputRate;
        OutputRate = outputRate;
        Channels = channels;
        int err;
        _state = Speex.speex_resampler_init((uint)channels, (uint)inputRate, (uint)outputRate, quality, &err);
        if (_state is null || err != 0)
        {
            throw new MediaException($"speex_resampler_init({inputRate} -> {outputRate} Hz): {Marshal.PtrToStringUTF8((IntPtr)Speex.speex_resampler_strerror(err))}");
        }
    }

    public int InputRate { get; }

    public int OutputRate { get; }

    public int Channels { get; }

    /// <summary>The delay the filter adds, in output frames.</summary>
    public int OutputLatency => Speex.speex_resampler_get_output_latency(_state);

    /// <summary>Throws a clear error unless <paramref name="rate"/> is a sample rate this path accepts.</summary>
    public static void CheckRate(int rate, string paramName)
    {
        if (rate is < MinRate or > MaxRate)
        {
            throw new ArgumentOutOfRangeException(paramName, rate, $"sample rate {rate} Hz is not supported: audio devices must run at {MinRate}..{MaxRate} Hz");
        }
    }

    /// <summary>Output frames needed at most for <paramref name="inputFrames"/> input frames.</summary>
    public int MaxOutputFrames(int inputFrames) => (int)(((long)inputFrames * OutputRate / InputRate) + 2);

    /// <summary>
    /// Converts as much of <paramref name="input"/> (interleaved, whole frames) as fits into <paramref name="output"/>;
    /// returns the frames written and sets <paramref name="consumedFrames"/> to the input frames used.
    /// </summary>
    public int Process(ReadOnlySpan<short> input, Span<short> output, out int consumedFrames)
    {
        ObjectDisposedException.ThrowIf(_state is null, this);
        if (input.Length % Channels != 0 || output.Length < Channels)
        {
            throw new ArgumentException($"interleaved buffers of whole {Channels}-channel frames are needed");
        }

        var inLen = (uint)(input.Length / Channels);
        var outLen = (uint)(output.Length / Channels);
        fixed (short* i = input)
        fixed (short* o = output)
        {
            var r = Speex.speex_resampler_process_interleaved_int(_state, i, &inLen, o, &outLen);
            if (r != 0)
            {
                throw new MediaException("speex_resampler_process: " + Marshal.PtrToStringUTF8((IntPtr)Speex.speex_resampler_strerror(r)));
            }
        }

        consumedFrames = (int)inLen;
        return (int)outLen;
    }

    public void Dispose()
    {
        if (_state is not null)
        {
            Speex.speex_resampler_destroy(_state);
            _state = null;
        }
    }
}

/// <summary>
/// Collects resampled audio until whole 20 ms blocks at 48 kHz are available: device blocks in at the device's rate
/// (any size), 960-frame blocks out. Preallocated; no allocation per block. For any capture path that feeds Opus/AEC
/// from a device not at 48 kHz (AudioSendPipeline uses it; Room.Call's publisher could too).
/// </summary>
public sealed class ResamplingBlocker : IDisposable
{
    private readonly AudioResampler _resampler;
    private readonly short[] _fifo;
    private readonly int _block;
    private int _filled;

    /// <param name="inputRate">The device's rate (8..192 kHz).</param>
    /// <param name="channels">Interleaved channels, kept as they are.</param>
    /// <param name="maxInputFrames">The largest number of frames one <see cref="Push"/> will be given.</param>
    public ResamplingBlocker(int inputRate, int channels, int maxInputFrames)
    {
        _resampler = new AudioResampler(inputRate, AudioFormat.SampleRate, channels);
        _block = AudioFormat.FrameSamples * channels;
        _fifo = new short[_block + (_resampler.MaxOutputFrames(maxInputFrames) * channels) + (16 * channels)];
    }

    public AudioResampler Resampler => _resampler;

    /// <summary>Resamples <paramref name="input"/> and calls <paramref name="onBlock"/> for each complete 48 kHz block.</summary>
    public void Push<TState>(ReadOnlySpan<short> input, Action<ReadOnlySpan<short>, TState> onBlock, TState state)
    {
        var channels = _resampler.Channels;
        while (!input.IsEmpty)
        {
            var produced = _resampler.Process(input, _fifo.AsSpan(_filled), out var consumed);
            _filled += produced * channels;
            input = input[(consumed * channels)..];
            var offset = 0;
            while (_filled - offset >= _block)
            {
                onBlock(_fifo.AsSpan(offset, _block), state);
                offset += _block;
            }

            if (offset > 0)
            {
                _fifo.AsSpan(offset, _filled - offset).CopyTo(_fifo);
                _filled -= offset;
            }

            if (produced == 0 && consumed == 0)
            {
                break; // no room: cannot happen with the FIFO sized for the largest input
            }
        }
    }

    public void Dispose() => _resampler.Dispose();
}
