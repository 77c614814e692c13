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
}
