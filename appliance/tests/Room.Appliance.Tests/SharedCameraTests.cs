using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Camera;
using Room.Appliance.Framing;
using Room.Appliance.Media;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices.Sharing;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

/// <summary>
/// The call's encoder and auto-framing's detector on the same camera at once, as roomd composes them (the
/// simulated camera refuses a second capture, like a V4L2 device).
/// </summary>
public sealed class SharedCameraTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-shared-").FullName;
    private readonly SharedCaptureDeviceProvider _devices = new(new SimulatedDeviceProvider());
    private readonly FramingSupport _support = new(NullLogger<FramingSupport>.Instance);
    private readonly MeetingService _meeting;
    private readonly CameraService _cameras;
    private readonly AutoFramer _framer;
    private readonly LoopbackMedia _media;

    public SharedCameraTests()
    {
        var options = Options.Create(new RoomOptions { StateDirectory = _dir });
        var presets = new PresetStore(options, NullLogger<PresetStore>.Instance);
        _meeting = new MeetingService(new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.Zero }, _devices, options, TimeProvider.System, NullLogger<MeetingService>.Instance);
        _cameras = new CameraService(_devices, presets, _support, options, NullLogger<CameraService>.Instance);
        _framer = new AutoFramer(_cameras, _devices, _support, presets, NullLogger<AutoFramer>.Instance);
        _media = new LoopbackMedia(_meeting, _cameras, _devices, NullLogger<LoopbackMedia>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _framer.StopAsync(CancellationToken.None);
        await _media.StopAsync(CancellationToken.None);
        _framer.Dispose();
        _media.Dispose();
        await _meeting.DisposeAsync();
        _cameras.Dispose();
        _support.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Auto_framing_during_a_call_moves_the_camera_while_the_call_keeps_its_video()
    {
        Assert.NotNull(_support.Detector);
        await _media.StartAsync(CancellationToken.None);
        await _framer.StartAsync(CancellationToken.None);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitFor(() => _media.Status.Active, "call media never started: " + _media.Status);
        await _cameras.MoveToAsync(60, 40, 0.7); // nobody in view: the framer has work to do

        await _cameras.SetAutoFramingAsync(true);
        var camera = (SharedCaptureCamera)_devices.Cameras.First(c => c.Id == _media.Status.Camera);
        await WaitFor(() => camera.SubscriberCount == 2, "the framer never joined the call's camera stream");
        await WaitFor(() => _framer.Moves > 0, "the framer made no move during the call");

        Assert.True(_media.Status.Active, "the call lost its video: " + _media.Status);
        Assert.Equal("", _media.Status.Error);
        Assert.True(_cameras.Snapshot.AutoFraming);
        Assert.Equal(MeetingStates.InCall, _meeting.Snapshot.State);
        Assert.NotNull(_media.Snapshot()); // the panel's view still decodes the call's picture
    }
}
