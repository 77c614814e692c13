using Room.Devices;

namespace Room.Media.Audio;

/// <summary>
/// The two ends where devices meet the 48 kHz, 20 ms audio path (Opus, AEC): capture read into whole 48 kHz blocks
/// and playback written out at the device's rate and channel count, resampling only when the device runs at
/// another rate (a card that offers 44.1 or 16 kHz only). Every call pipeline uses these, so a device at any
/// supported rate works everywhere. Buffers are made once; nothing is allocated per block.
/// </summary>
public static class AudioDevicePumps
{
    /// <summary>
    /// Reads <paramref name="capture"/> until cancelled and calls <paramref name="onBlock"/> with each 20 ms block of
    /// interleaved 48 kHz audio (<see cref="IAudioCapture.Channels"/> channels). Returns when cancelled.
    /// </summary>
    /// <exception cref="NotSupportedException">The capture's rate is outside 8..192 kHz.</exception>
    public static async Task CaptureBlocksAsync<TState>(IAudioCapture capture, Action<ReadOnlySpan<short>, TState> onBlock, TState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(onBlock);
        var channels = capture.Channels;
        ResamplingBlocker? blocker = null;
        short[] input;
        if (capture.SampleRate == AudioFormat.SampleRate)
        {
            input = new short[AudioFormat.FrameSamples * channels];
        }
        else
        {
            CheckRate(capture.SampleRate, "capture");
            var blockFrames = (capture.SampleRate + 49) / 50; // about 20 ms at the device's rate
            input = new short[blockFrames * channels];
            blocker = new ResamplingBlocker(capture.SampleRate, channels, blockFrames);
        }

        using var owned = blocker;
        var filled = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            int frames;
            try
            {
                frames = await capture.ReadAsync(input.AsMemory(blocker is null ? filled : 0), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (blocker is not null)
            {
                blocker.Push(input.AsSpan(0, frames * channels), onBlock, state);
                continue;
            }

            filled += frames * channels;
            if (filled == input.Length)
            {
                onBlock(input, state);
                filled = 0;
            }
        }
    }

    private static void CheckRate(int rate, string what)
    {
        try
        {
            AudioResampler.CheckRate(rate, what);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new NotSupportedException($"{what} at {rate} Hz cannot be used: {e.Message}", e);
        }
    }

    /// <summary>Creates the writer that plays 20 ms mono 48 kHz blocks on <paramref name="playback"/>.</summary>
    /// <exception cref="NotSupportedException">The playback's rate is outside 8..192 kHz.</exception>
    public static PlaybackWriter CreateWriter(IAudioPlayback playback)
    {
        ArgumentNullException.ThrowIfNull(playback);
        if (playback.SampleRate != AudioFormat.SampleRate)
        {
            CheckRate(playback.SampleRate, "playback");
        }

        return new PlaybackWriter(playback);
    }
}

/// <summary>
/// Plays 20 ms mono 48 kHz blocks on a device: copied to each of its channels, resampled to its rate when it is
/// not 48 kHz. The device's blocking write paces the caller.
/// </summary>
public sealed class PlaybackWriter : IDisposable
{
    private readonly IAudioPlayback _playback;
    private readonly AudioResampler? _resampler;
    private readonly short[] _converted;
    private readonly short[] _device;

    internal PlaybackWriter(IAudioPlayback playback)
    {
        _playback = playback;
        var frames = AudioFormat.FrameSamples;
        if (playback.SampleRate != AudioFormat.SampleRate)
        {
            _resampler = new AudioResampler(AudioFormat.SampleRate, playback.SampleRate, 1);
            frames = _resampler.MaxOutputFrames(AudioFormat.FrameSamples);
            _converted = new short[frames];
        }
        else
        {
            _converted = [];
        }

        _device = new short[frames * playback.Channels];
    }

    /// <summary>Frames one block occupies on the device (at its rate).</summary>
    public int BlockFrames => _device.Length / _playback.Channels;

    /// <summary>
    /// Waits until the device can take one block without blocking. Call it before taking the block from the jitter
    /// buffer: the block then waits in the device's queue only as long as the queue is, not a further block.
    /// </summary>
    public ValueTask WaitForRoomAsync(CancellationToken cancellationToken) => _playback.WaitForRoomAsync(BlockFrames, cancellationToken);

    /// <summary>Frames queued on the device ahead of the next write, when it can say.</summary>
    public int? QueuedFrames => _playback.QueuedFrames;

    /// <summary>Writes one block of <see cref="AudioFormat.FrameSamples"/> mono samples.</summary>
    public ValueTask WriteAsync(ReadOnlySpan<short> mono, CancellationToken cancellationToken)
    {
        if (mono.Length != AudioFormat.FrameSamples)
        {
            throw new ArgumentException("one 20 ms mono block at 48 kHz", nameof(mono));
        }

        var source = mono;
        if (_resampler is not null)
        {
            var n = _resampler.Process(mono, _converted, out _);
            source = _converted.AsSpan(0, n);
        }

        var channels = _playback.Channels;
        for (var i = 0; i < source.Length; i++)
        {
            _device.AsSpan(i * channels, channels).Fill(source[i]);
        }

        return _playback.WriteAsync(_device.AsMemory(0, source.Length * channels), cancellationToken);
    }

    public void Dispose() => _resampler?.Dispose();
}
