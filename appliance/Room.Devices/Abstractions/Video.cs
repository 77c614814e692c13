namespace Room.Devices;

public enum PixelFormat
{
    /// <summary>Planar YUV 4:2:0, Y then U then V (what encoders want).</summary>
    I420,
    /// <summary>Semi-planar YUV 4:2:0 (hardware encoders).</summary>
    Nv12,
    /// <summary>Packed YUV 4:2:2 (most UVC webcams uncompressed).</summary>
    Yuyv,
    /// <summary>Motion JPEG (UVC cameras at high resolutions).</summary>
    Mjpeg,
    Rgb24,
}

public readonly record struct VideoFormat(PixelFormat Pixel, int Width, int Height, int FramesPerSecond)
{
    public override string ToString() => $"{Pixel} {Width}x{Height}@{FramesPerSecond}";
}

/// <summary>
/// A captured frame lent out by an <see cref="IVideoCapture"/>. The memory stays valid until
/// <see cref="Dispose"/> hands the buffer back to the driver, so the media path never copies or allocates.
/// </summary>
public abstract class VideoFrame : IDisposable
{
    public abstract VideoFormat Format { get; }

    /// <summary>Capture time on the monotonic clock (kernel timestamp where the driver gives one).</summary>
    public abstract TimeSpan Timestamp { get; }

    public abstract long Sequence { get; }

    public abstract ReadOnlyMemory<byte> Data { get; }

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    protected abstract void Release();
}

public interface IVideoCapture : IAsyncDisposable
{
    VideoFormat Format { get; }

    /// <summary>Waits for the next frame. Dispose the frame when done with it.</summary>
    ValueTask<VideoFrame> ReadFrameAsync(CancellationToken cancellationToken = default);
}
