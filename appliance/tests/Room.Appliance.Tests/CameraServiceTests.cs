using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Camera;
using Room.Appliance.Framing;
using Room.Bus;
using Room.Devices;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

public sealed class CameraServiceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-camera-").FullName;
    private readonly SimulatedDeviceProvider _devices = new();
    private readonly CameraService _cameras;
    private readonly FramingSupport _framing = new(NullLogger<FramingSupport>.Instance);

    public CameraServiceTests()
    {
        var options = Options.Create(new RoomOptions { StateDirectory = _dir });
        _cameras = new CameraService(_devices, new PresetStore(options, NullLogger<PresetStore>.Instance), _framing, options, NullLogger<CameraService>.Instance);
    }

    public void Dispose()
    {
        _cameras.Dispose();
        _framing.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task An_absolute_move_is_read_back_from_the_camera()
    {
        await _cameras.MoveToAsync(30, 10, 0.5);
        Assert.Equal(new PtzPosition(30, 10, 0.5), _cameras.Snapshot.Position);
        Assert.Equal(new PtzPosition(30, 10, 0.5), await _devices.Cameras[0].GetPositionAsync());
    }

    [Theory]
    [InlineData(171, 0, 0)]
    [InlineData(0, -31, 0)]
    [InlineData(0, 0, 1.01)]
    [InlineData(double.NaN, 0, 0)]
    [InlineData(0, double.PositiveInfinity, 0)]
    public async Task Moves_outside_the_range_are_refused_and_the_camera_stays_put(double pan, double tilt, double zoom)
    {
        await _cameras.MoveToAsync(5, 5, 0.1);
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _cameras.MoveToAsync(pan, tilt, zoom));
        Assert.Equal(BusErrors.OutOfRange, ex.ErrorName);
        Assert.Equal(new PtzPosition(5, 5, 0.1), await _devices.Cameras[0].GetPositionAsync());
    }

    [Fact]
    public async Task A_relative_move_is_clamped_to_the_range()
    {
        await _cameras.MoveToAsync(160, 0, 0.9);
        await _cameras.MoveByAsync(30, -40, 0.5);
        Assert.Equal(new PtzPosition(170, -30, 1), _cameras.Snapshot.Position);
    }

    [Fact]
    public async Task A_preset_recalls_the_stored_position()
    {
        await _cameras.MoveToAsync(-20, 15, 0.3);
        await _cameras.StorePresetAsync("Lectern");
        await _cameras.MoveToAsync(0, 0, 0);
        await _cameras.RecallPresetAsync("Lectern");
        Assert.Equal(new PtzPosition(-20, 15, 0.3), _cameras.Snapshot.Position);
        Assert.Equal(["Lectern"], _cameras.Snapshot.Presets);
    }

    [Fact]
    public async Task Selecting_an_unknown_camera_is_refused_and_the_selection_stays()
    {
        var before = _cameras.Snapshot.Selected;
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _cameras.SelectAsync("usb:nope"));
        Assert.Equal(BusErrors.UnknownCamera, ex.ErrorName);
        Assert.Equal(before, _cameras.Snapshot.Selected);
    }

    [Fact]
    public async Task Presets_belong_to_the_camera_they_were_stored_on()
    {
        await _cameras.StorePresetAsync("Door");
        await _cameras.SelectAsync("sim:camera-wide");
        Assert.Empty(_cameras.Snapshot.Presets);
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _cameras.RecallPresetAsync("Door"));
        Assert.Equal(BusErrors.UnknownPreset, ex.ErrorName);
    }

    [Fact]
    public async Task An_unplugged_camera_reports_DeviceUnavailable()
    {
        _devices.SetCameraPresent("sim:camera-front", false);
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _cameras.MoveToAsync(1, 1, 0));
        Assert.Equal(BusErrors.DeviceUnavailable, ex.ErrorName);
        _devices.SetCameraPresent("sim:camera-front", true);
        await _cameras.MoveToAsync(1, 1, 0);
        Assert.Equal(new PtzPosition(1, 1, 0), _cameras.Snapshot.Position);
    }

    [Fact]
    public async Task Moving_the_camera_by_hand_turns_auto_framing_off()
    {
        await _cameras.SetAutoFramingAsync(true);
        Assert.True(_cameras.Snapshot.AutoFraming);
        await _cameras.MoveByAsync(5, 0, 0);
        Assert.False(_cameras.Snapshot.AutoFraming);
    }
}

/// <summary>The camera list follows hot-plug: a camera appearing or going away raises Changed with the new list.</summary>
public sealed class CameraHotplugTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-camera-").FullName;
    private readonly PluggableProvider _devices = new();
    private readonly FramingSupport _framing = new(NullLogger<FramingSupport>.Instance);
    private readonly CameraService _cameras;

    public CameraHotplugTests()
    {
        var options = Options.Create(new RoomOptions { StateDirectory = _dir });
        _cameras = new CameraService(_devices, new PresetStore(options, NullLogger<PresetStore>.Instance), _framing, options, NullLogger<CameraService>.Instance);
    }

    public void Dispose()
    {
        _cameras.Dispose();
        _framing.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void A_camera_plugged_in_or_pulled_out_raises_Changed_with_the_new_list()
    {
        var lists = new List<string[]>();
        _cameras.Changed += (_, _) => lists.Add([.. _cameras.Snapshot.Cameras.Select(c => c.Id)]);

        _devices.Plug(new SimulatedCamera("usb:new", "New camera"));
        _devices.Unplug("usb:new");

        Assert.Equal([["sim:a", "usb:new"], ["sim:a"]], lists);
    }

    private sealed class PluggableProvider : IDeviceProvider
    {
        private readonly List<ICamera> _cameras = [new SimulatedCamera("sim:a", "A")];

        public IReadOnlyList<ICamera> Cameras => [.. _cameras];

        public IReadOnlyList<IMicrophone> Microphones => [];

        public IReadOnlyList<ISpeaker> Speakers => [];

        public IReadOnlyList<IDisplay> Displays => [];

        public IRoomControls? Controls => null;

        public event EventHandler? DevicesChanged;

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Plug(ICamera camera)
        {
            _cameras.Add(camera);
            DevicesChanged?.Invoke(this, EventArgs.Empty);
        }

        public void Unplug(string id)
        {
            _cameras.RemoveAll(c => c.Id == id);
            DevicesChanged?.Invoke(this, EventArgs.Empty);
        }
    }
}
