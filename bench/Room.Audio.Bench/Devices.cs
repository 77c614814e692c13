using System.Diagnostics;
using Room.Devices;

namespace Room.Audio.Bench;

/// <summary>
/// Clock-driven stand-ins for an ALSA capture and playback device (this machine has no sound card): the capture hands
/// out a 20 ms block when its last sample has been "spoken" (as a 10 ms-period capture does once the block's second
/// period completes), the playback holds a ring of a given size that drains at 48 kHz, blocks writers while it is
/// full and restarts after running empty (an xrun). Waits are thread sleeps, so the wake-up lateness of a busy
/// machine is part of what is measured, as it is with a real card.
/// </summary>
internal static class Clock
{
    public static long Now => Stopwatch.GetTimestamp();

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public static long Ticks(double ms) => (long)(ms * Stopwatch.Frequency / 1000.0);

    /// <summary>Sleeps until <paramref name="due"/> (Stopwatch ticks).</summary>
    public static void SleepUntil(long due)
    {
        while (true)
        {
            var left = Ms(due - Now);
            if (left <= 0)
            {
                return;
            }

            Thread.Sleep(TimeSpan.FromMilliseconds(Math.Max(0.05, left)));
        }
    }
}

internal sealed class ClockedCapture(int channels, long start, short[] signal) : IAudioCapture
{
    private long _frames;

    public int Channels => channels;

    public int SampleRate => 48000;

    /// <summary>When the sample <paramref name="frame"/> was spoken.</summary>
    public long SpokenAt(long frame) => start + (long)(frame * (double)Stopwatch.Frequency / 48000);

    public ValueTask<int> ReadAsync(Memory<short> interleaved, CancellationToken cancellationToken = default)
    {
        var count = interleaved.Length / channels;
        Clock.SleepUntil(SpokenAt(_frames + count));
        var span = interleaved.Span;
        for (var i = 0; i < count; i++)
        {
            span.Slice(i * channels, channels).Fill(signal[(int)((_frames + i) % signal.Length)]);
        }

        _frames += count;
        return ValueTask.FromResult(count);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

internal sealed class ClockedPlayback(int ringFrames) : IAudioPlayback
{
    private long _start;
    private long _written;
    private bool _running;

    public int Channels => 1;

    public int SampleRate => 48000;

    public int Xruns { get; private set; }

    public int? QueuedFrames => (int)Queued(Clock.Now);

    private long Queued(long now)
    {
        if (!_running)
        {
            return _written;
        }

        var queued = _written - (long)(Clock.Ms(now - _start) * 48);
        if (queued < 0)
        {
            // Ran empty: the card stops; the next write starts it again.
            Xruns++;
            _running = false;
            _written = 0;
            return 0;
        }

        return queued;
    }

    public ValueTask WaitForRoomAsync(int frames, CancellationToken cancellationToken = default)
    {
        WaitForRoom(frames);
        return ValueTask.CompletedTask;
    }

    private void WaitForRoom(int frames)
    {
        while (true)
        {
            var now = Clock.Now;
            var over = Queued(now) + frames - ringFrames;
            if (over <= 0 || !_running)
            {
                return;
            }

            Clock.SleepUntil(now + Clock.Ticks(over / 48.0));
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default)
    {
        // As snd_pcm_writei: a period at a time, each waiting for room.
        var frames = interleaved.Length;
        var done = 0;
        while (done < frames)
        {
            var chunk = Math.Min(480, frames - done);
            WaitForRoom(chunk);
            _ = Queued(Clock.Now);
            _written += chunk;
            done += chunk;
            if (!_running && _written >= 960)
            {
                // ALSA's start threshold: two periods queued.
                _running = true;
                _start = Clock.Now;
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
