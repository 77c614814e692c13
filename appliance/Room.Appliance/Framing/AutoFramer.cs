using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Room.Appliance.Camera;
using Room.Devices;
using Room.Devices.Sharing;
using Room.Framing;

namespace Room.Appliance.Framing;

/// <summary>
/// While auto-framing is on: start from the room overview (the "Overview" preset, else the centre at widest),
/// then a few times a second find the people and move the camera to frame them, with a deadband so it does
/// not hunt. Turning it off, selecting another camera or moving it by hand ends the loop.
/// </summary>
public sealed class AutoFramer(
    CameraService cameras,
    IDeviceProvider devices,
    FramingSupport support,
    PresetStore presets,
    ILogger<AutoFramer> logger) : BackgroundService
{
    public const string OverviewPreset = "Overview";
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(400);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly FramingPlanner _planner = new(new FramingOptions());

    /// <summary>Number of framing moves made (for tests and diagnostics).</summary>
    public int Moves { get; private set; }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        cameras.Changed += OnCameraChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!cameras.Snapshot.AutoFraming || support.Detector is null)
                {
                    await _wake.WaitAsync(stoppingToken);
                    continue;
                }

                try
                {
                    await FrameAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is DeviceUnavailableException or Room.Bus.RoomBusException or IOException or NotSupportedException)
                {
                    logger.LogWarning("Auto-framing paused: {Message}", ex.Message);
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            cameras.Changed -= OnCameraChanged;
        }
    }

    private void OnCameraChanged(object? sender, EventArgs e) => _wake.Release();

    private async Task FrameAsync(CancellationToken stoppingToken)
    {
        var snapshot = cameras.Snapshot;
        var camera = devices.Cameras.FirstOrDefault(c => c.Id == snapshot.Selected)
            ?? throw new DeviceUnavailableException(snapshot.Selected, "not connected");
        var format = PickFormat(camera);
        logger.LogInformation("Auto-framing {Camera} at {Format}", camera.Id, format);

        var overview = presets.Names(camera.Id).Contains(OverviewPreset)
            ? presets.Get(camera.Id, OverviewPreset)
            : camera.Limits.Clamp(new PtzPosition(0, 0, 0));
        await cameras.FrameAsync(overview);

        // Join the call's stream when one runs (any luma-first format will do for detection).
        await using var capture = camera is SharedCaptureCamera shared
            ? await shared.OpenAnyCaptureAsync(format, IsDetectable, stoppingToken)
            : await camera.OpenCaptureAsync(format, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = cameras.Snapshot;
            if (!now.AutoFraming || now.Selected != camera.Id)
            {
                return;
            }

            await Task.Delay(s_interval, stoppingToken);
            PtzPosition seenFrom;
            IReadOnlyList<Room.Framing.Detection.HeadBox> heads;
            using (var frame = await capture.ReadFrameAsync(stoppingToken))
            {
                // The frame shows the position the camera held when it was taken: read it back first.
                seenFrom = await camera.GetPositionAsync(stoppingToken);
                var seen = frame.Format; // the shared stream may change format when a call starts
                heads = support.Detector!.Detect(frame.Data.Span, seen.Width, seen.Height, seen.Width);
            }

            if (_planner.Plan(seenFrom, heads, camera.Limits) is { } target)
            {
                logger.LogDebug("Framing {Count} people: {From} -> {To}", heads.Count, seenFrom, target);
                await cameras.FrameAsync(target);
                Moves++;
            }
        }
    }

    private static bool IsDetectable(VideoFormat f) => f.Pixel is PixelFormat.I420 or PixelFormat.Nv12 && f.Width >= 320;

    /// <summary>The smallest luma-first format of at least 640 wide: detection needs little, the CPU is shared.</summary>
    private static VideoFormat PickFormat(ICamera camera)
    {
        var usable = camera.Formats.Where(f => f.Pixel is PixelFormat.I420 or PixelFormat.Nv12).OrderBy(f => f.Width).ToList();
        return usable.FirstOrDefault(f => f.Width >= 640) is { Width: > 0 } ok ? ok
            : usable.Count > 0 ? usable[^1]
            : throw new NotSupportedException($"Camera {camera.Id} offers no I420/NV12 format to detect people in.");
    }
}
