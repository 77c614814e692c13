using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Camera;
using Room.Appliance.Framing;
using Room.Devices;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

/// <summary>Camera selection and position across hot-plug.</summary>
public sealed class CameraReplugTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-replug-").FullName;
    private readonly EmptyRoom _devices = new();
    private readonly FramingSupport _framing = new(NullLogger<FramingSupport>.Instance);
    private readonly CameraService _cameras;

    public CameraReplugTests()
    {
        var options = Options.Create(new RoomOptions { StateDirectory = _dir, DefaultCamera = "usb:046d:0853:B" });
        _cameras = new CameraService(_devices, new PresetStore(options, NullLogger<PresetStore>.Instance), _framing, options, NullLogger<CameraService>.Instance);
    }

    public void Dispose()
    {
        _cameras.Dispose();
        _framing.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<CameraSnapshot> WaitForAsync(Func<CameraSnapshot, bool> condition)
    {
        for (var i = 0; i < 3000 && !condition(_cameras.Snapshot); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(_cameras.Snapshot), "not reached; last " + _cameras.Snapshot);
        return _cameras.Snapshot;
    }

    [Fact]
    public async Task A_room_started_without_cameras_selects_the_first_one_plugged_in_and_can_move_it()
    {
        Assert.Equal("", _cameras.Snapshot.Selected);

        _devices.Plug(new SimulatedCamera("usb:046d:0853:A", "A"));

        Assert.Equal("usb:046d:0853:A", _cameras.Snapshot.Selected);
        await _cameras.MoveToAsync(10, 5, 0.5);
        Assert.Equal(new PtzPosition(10, 5, 0.5), _cameras.Snapshot.Position);
    }

    [Fact]
    public void The_configured_default_wins_when_it_arrives_with_others()
    {
        _devices.Plug(new SimulatedCamera("usb:046d:0853:A", "A"), new SimulatedCamera("usb:046d:0853:B", "B"));

        Assert.Equal("usb:046d:0853:B", _cameras.Snapshot.Selected);
    }

    [Fact]
    public async Task A_selected_camera_plugged_back_has_its_position_read_again()
    {
        var camera = new SimulatedCamera("usb:046d:0853:A", "A");
        _devices.Plug(camera);
        await WaitForAsync(s => s.Selected == camera.Id);
        await _cameras.MoveToAsync(20, 0, 0);

        camera.Present = false;
        _devices.Changed();
        camera.Present = true;
        await camera.MoveToAsync(new PtzPosition(-30, 10, 0.25)); // moved by hand (or by its own remote) while away
        _devices.Changed();

        var back = await WaitForAsync(s => s.Position == new PtzPosition(-30, 10, 0.25));
        Assert.Equal(camera.Id, back.Selected);
    }

    private sealed class EmptyRoom : IDeviceProvider
    {
        private readonly List<ICamera> _cameras = [];

        public IReadOnlyList<ICamera> Cameras => [.. _cameras];

        public IReadOnlyList<IMicrophone> Microphones => [];

        public IReadOnlyList<ISpeaker> Speakers => [];

        public IReadOnlyList<IDisplay> Displays => [];

        public IRoomControls? Controls => null;

        public event EventHandler? DevicesChanged;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Plug(params ICamera[] cameras)
        {
            _cameras.AddRange(cameras);
            Changed();
        }

        public void Changed() => DevicesChanged?.Invoke(this, EventArgs.Empty);
    }
}
