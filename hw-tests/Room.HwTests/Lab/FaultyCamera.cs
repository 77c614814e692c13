using Room.Devices;

namespace Room.HwTests.Lab;

/// <summary>
/// Lab fault injection (HWTEST_FAULT=ptz-offset): a camera driver that converts pan units wrongly, sending
/// every move 10° off. The suite must catch it through the kernel read-back and the picture.
/// </summary>
public sealed class FaultyCamera(ICamera inner) : ICamera
{
    /// <summary>The camera without the fault (checks of other functions than pan use it).</summary>
    public ICamera Inner => inner;

    public string Id => inner.Id;

    public string Name => inner.Name;

    public PtzLimits Limits => inner.Limits;

    public IReadOnlyList<VideoFormat> Formats => inner.Formats;

    public DeviceInfo Describe() => inner.Describe();

    public ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default) => inner.GetPositionAsync(cancellationToken);

    public ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default) =>
        inner.MoveToAsync(position with { Pan = position.Pan + 10 }, cancellationToken);

    public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default) =>
        inner.OpenCaptureAsync(format, cancellationToken);
}
