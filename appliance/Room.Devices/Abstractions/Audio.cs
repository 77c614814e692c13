namespace Room.Devices;

/// <summary>A microphone or microphone array.</summary>
public interface IMicrophone : IDevice
{
    string Name { get; }

    int Channels { get; }

    int SampleRate { get; }

    /// <summary>Opens capture: interleaved signed 16-bit samples, <see cref="Channels"/> per frame.</summary>
    ValueTask<IAudioCapture> OpenCaptureAsync(CancellationToken cancellationToken = default);
}

public interface IAudioCapture : IAsyncDisposable
{
    int Channels { get; }

    int SampleRate { get; }

    /// <summary>Fills <paramref name="interleaved"/> with whole frames and returns the number of frames read.</summary>
    ValueTask<int> ReadAsync(Memory<short> interleaved, CancellationToken cancellationToken = default);
}

/// <summary>A loudspeaker output with its own hardware volume.</summary>
public interface ISpeaker : IDevice
{
    string Name { get; }

    int Channels { get; }

    int SampleRate { get; }

    /// <summary>Hardware (mixer) volume 0..100.</summary>
    ValueTask SetVolumeAsync(int percent, CancellationToken cancellationToken = default);

    ValueTask<IAudioPlayback> OpenPlaybackAsync(CancellationToken cancellationToken = default);
}

public interface IAudioPlayback : IAsyncDisposable
{
    int Channels { get; }

    int SampleRate { get; }

    /// <summary>Queues interleaved frames for playback; waits while the device buffer is full.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until <paramref name="frames"/> frames can be written without blocking, so a player takes its audio
    /// from the jitter buffer as late as it can (what it writes then waits in the device's queue the least).
    /// Devices that cannot tell return at once.
    /// </summary>
    ValueTask WaitForRoomAsync(int frames, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <summary>Frames queued in the device ahead of the next one written (its play-out delay); null when it cannot tell.</summary>
    int? QueuedFrames => null;
}
