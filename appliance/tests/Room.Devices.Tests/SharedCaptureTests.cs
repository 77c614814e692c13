using Room.Devices.Sharing;
using Room.Devices.Simulated;

namespace Room.Devices.Tests;

/// <summary>
/// Several consumers on one camera: against the simulated camera (exclusive like a V4L2 device) and, for buffer
/// accounting, a counting camera.
/// </summary>
public sealed class SharedCaptureTests
{
    private static readonly VideoFormat Small = new(PixelFormat.I420, 320, 180, 30);
    private static readonly VideoFormat Medium = new(PixelFormat.I420, 640, 360, 30);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static async Task<VideoFrame> Next(IVideoCapture capture)
    {
        using var cts = new CancellationTokenSource(Patience);
        return await capture.ReadFrameAsync(cts.Token);
    }

    [Fact]
    public async Task The_simulated_camera_like_v4l2_refuses_a_second_capture()
    {
        var camera = new SimulatedCamera("cam", "Cam");
        await using var first = await camera.OpenCaptureAsync(Small);
        var e = await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await camera.OpenCaptureAsync(Small));
        Assert.Contains("busy", e.Message, StringComparison.Ordinal);
        await first.DisposeAsync();
        await using var again = await camera.OpenCaptureAsync(Small); // freed by dispose
        using var frame = await Next(again);
        Assert.Equal(Small, frame.Format);
    }

    [Fact]
    public async Task Two_consumers_read_the_same_frames_from_one_device_stream()
    {
        var shared = new SharedCaptureCamera(new SimulatedCamera("cam", "Cam"));
        await using var encoder = await shared.OpenCaptureAsync(Small);
        await using var detector = await shared.OpenCaptureAsync(Small);
        Assert.Equal(2, shared.SubscriberCount);

        var seenByEncoder = new HashSet<long>();
        var seenByDetector = new HashSet<long>();
        for (int i = 0; i < 6; i++)
        {
            using (var f = await Next(encoder)) seenByEncoder.Add(f.Sequence);
            using (var f = await Next(detector))
            {
                seenByDetector.Add(f.Sequence);
                Assert.Equal(Small.Width * Small.Height * 3 / 2, f.Data.Length);
            }
        }

        Assert.NotEmpty(seenByEncoder.Intersect(seenByDetector));
    }

    [Fact]
    public async Task A_flexible_consumer_joins_the_running_format_and_follows_a_restart_to_another()
    {
        var shared = new SharedCaptureCamera(new SimulatedCamera("cam", "Cam"));
        await using var detector = await shared.OpenAnyCaptureAsync(Medium, _ => true);
        Assert.Equal(Medium, shared.RunningFormat);

        // The call needs 320x180 exactly: only a flexible consumer reads, so the device restarts at it.
        await using var encoder = await shared.OpenCaptureAsync(Small);
        Assert.Equal(Small, shared.RunningFormat);
        using (var f = await Next(encoder)) Assert.Equal(Small, f.Format);
        VideoFormat seen;
        do
        {
            using var f = await Next(detector);
            seen = f.Format;
        }
        while (seen != Small); // frames queued before the restart still carry the old format
        Assert.Equal(Small, detector.Format);

        // Another flexible consumer that accepts it joins without a restart.
        await using var second = await shared.OpenAnyCaptureAsync(Medium, f => f.Width >= 320);
        Assert.Equal(Small, second.Format);
        Assert.Equal(Small, shared.RunningFormat);
    }

    [Fact]
    public async Task Two_exact_consumers_with_different_formats_get_a_clear_error_and_the_first_keeps_streaming()
    {
        var shared = new SharedCaptureCamera(new SimulatedCamera("cam", "Cam"));
        await using var call = await shared.OpenCaptureAsync(Small);
        var e = await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await shared.OpenCaptureAsync(Medium));
        Assert.Contains("busy streaming", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, shared.SubscriberCount);
        using var f = await Next(call);
        Assert.Equal(Small, f.Format);
    }

    [Fact]
    public async Task Unplugging_fails_every_consumer_and_plugging_back_allows_a_new_stream()
    {
        var camera = new SimulatedCamera("cam", "Cam");
        var shared = new SharedCaptureCamera(camera);
        var a = await shared.OpenCaptureAsync(Small);
        var b = await shared.OpenAnyCaptureAsync(Small, _ => true);
        (await Next(a)).Dispose();
        camera.Present = false;
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => { while (true) (await Next(a)).Dispose(); });
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => { while (true) (await Next(b)).Dispose(); });
        Assert.Null(shared.RunningFormat);
        await a.DisposeAsync();
        await b.DisposeAsync();

        camera.Present = true;
        await using var c = await shared.OpenCaptureAsync(Small);
        using var f = await Next(c);
        Assert.Equal(Small, f.Format);
    }

    [Fact]
    public async Task Every_device_buffer_goes_back_once_even_when_a_consumer_never_reads()
    {
        var counting = new CountingCamera();
        var shared = new SharedCaptureCamera(counting);
        var reader = await shared.OpenCaptureAsync(Small);
        var idle = await shared.OpenCaptureAsync(Small);
        for (int i = 0; i < 30; i++)
        {
            (await Next(reader)).Dispose();
        }

        // The idle consumer holds at most its two queued frames; nothing else is outstanding for long.
        Assert.InRange(counting.Outstanding, 0, 4);
        await reader.DisposeAsync();
        await idle.DisposeAsync();
        Assert.Equal(0, counting.Outstanding);
        Assert.Equal(0, counting.DoubleReleases);
        Assert.True(counting.Closed);
    }

    [Fact]
    public async Task The_last_consumer_leaving_frees_the_device()
    {
        var camera = new SimulatedCamera("cam", "Cam");
        var shared = new SharedCaptureCamera(camera);
        var a = await shared.OpenCaptureAsync(Small);
        var b = await shared.OpenCaptureAsync(Small);
        await a.DisposeAsync();
        Assert.Equal(Small, shared.RunningFormat);
        await b.DisposeAsync();
        Assert.Null(shared.RunningFormat);
        await using var direct = await camera.OpenCaptureAsync(Small); // the device is free again
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await a.ReadFrameAsync());
    }

    [Fact]
    public void The_provider_hands_out_one_wrapper_per_camera()
    {
        var provider = new SharedCaptureDeviceProvider(new SimulatedDeviceProvider());
        var first = provider.Cameras;
        Assert.All(first, c => Assert.IsType<SharedCaptureCamera>(c));
        Assert.Same(first[0], provider.Cameras[0]);
        Assert.Equal(((SharedCaptureCamera)first[0]).Inner.Id, first[0].Id);
    }

    /// <summary>A camera that counts frames lent and returned (the buffer accounting a V4L2 queue does).</summary>
    private sealed class CountingCamera : ICamera
    {
        private int _outstanding;
        private int _doubleReleases;

        public int Outstanding => Volatile.Read(ref _outstanding);
        public int DoubleReleases => Volatile.Read(ref _doubleReleases);
        public bool Closed { get; private set; }

        public string Id => "counting";
        public string Name => "Counting";
        public PtzLimits Limits => PtzLimits.Fixed;
        public IReadOnlyList<VideoFormat> Formats { get; } = [Small];

        public DeviceInfo Describe() => new(Id, DeviceKind.Camera, Name, "test", DeviceHealth.Ok, "", new Dictionary<string, string>());
        public ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(default(PtzPosition));
        public ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IVideoCapture>(new Capture(this));

        private sealed class Capture(CountingCamera owner) : IVideoCapture
        {
            private long _sequence;

            public VideoFormat Format => Small;

            public async ValueTask<VideoFrame> ReadFrameAsync(CancellationToken cancellationToken = default)
            {
                await Task.Delay(2, cancellationToken);
                Interlocked.Increment(ref owner._outstanding);
                return new Frame(owner, _sequence++);
            }

            public ValueTask DisposeAsync()
            {
                owner.Closed = true;
                return ValueTask.CompletedTask;
            }
        }

        private sealed class Frame(CountingCamera owner, long sequence) : VideoFrame
        {
            private static readonly byte[] Pixels = new byte[Small.Width * Small.Height * 3 / 2];
            private int _released;

            public override VideoFormat Format => Small;
            public override TimeSpan Timestamp => TimeSpan.Zero;
            public override long Sequence => sequence;
            public override ReadOnlyMemory<byte> Data => Pixels;

            protected override void Release()
            {
                if (Interlocked.Exchange(ref _released, 1) != 0)
                {
                    Interlocked.Increment(ref owner._doubleReleases);
                    return;
                }

                Interlocked.Decrement(ref owner._outstanding);
            }
        }
    }
}
