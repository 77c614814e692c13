using Microsoft.Extensions.Logging.Abstractions;
using Room.Appliance.Inventory;
using Room.Devices;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

/// <summary>The device inventory behind the Devices D-Bus interface and `roomctl devices`.</summary>
public sealed class DeviceInventoryTests : IAsyncDisposable
{
    private readonly ThrowingRoom _room = new();
    private readonly DeviceInventory _inventory;
    private int _changes;

    public DeviceInventoryTests()
    {
        _inventory = new DeviceInventory(_room, NullLogger<DeviceInventory>.Instance, TimeProvider.System);
        _inventory.Changed += (_, _) => Interlocked.Increment(ref _changes);
    }

    public async ValueTask DisposeAsync()
    {
        await _inventory.StopAsync(CancellationToken.None);
        _inventory.Dispose();
    }

    [Fact]
    public async Task A_device_that_cannot_describe_itself_is_failed_and_every_other_device_is_listed()
    {
        await _inventory.StartAsync(CancellationToken.None);

        var broken = _inventory.Devices.Single(d => d.Id == "v4l2:video9");
        Assert.Equal(DeviceHealth.Failed, broken.Health);
        Assert.Equal(DeviceKind.Camera, broken.Kind);
        Assert.Contains("garbage", broken.HealthDetail, StringComparison.Ordinal);
        Assert.Contains(_inventory.Devices, d => d.Id == "sim:camera-front" && d.Health == DeviceHealth.Ok);
        Assert.Contains(_inventory.Devices, d => d.Kind == DeviceKind.Gpio);
    }

    [Fact]
    public async Task The_occupancy_sensor_changing_republishes_the_gpio_entry_at_once()
    {
        await _inventory.StartAsync(CancellationToken.None);
        var before = _changes;
        Assert.Equal("no", _inventory.Devices.Single(d => d.Kind == DeviceKind.Gpio).Capabilities["occupied"]);

        _room.SimControls.SetOccupied(true);

        Assert.Equal(before + 1, _changes);
        Assert.Equal("yes", _inventory.Devices.Single(d => d.Kind == DeviceKind.Gpio).Capabilities["occupied"]);
    }

    [Fact]
    public async Task Unplugging_marks_the_device_missing_on_the_change_event()
    {
        await _inventory.StartAsync(CancellationToken.None);

        _room.Simulated.SetCameraPresent("sim:camera-wide", false);

        Assert.Equal(DeviceHealth.Missing, _inventory.Devices.Single(d => d.Id == "sim:camera-wide").Health);
    }

    /// <summary>The simulated room plus a camera whose driver throws from Describe.</summary>
    private sealed class ThrowingRoom : IDeviceProvider
    {
        public SimulatedDeviceProvider Simulated { get; } = new();

        public SimulatedRoomControls SimControls => (SimulatedRoomControls)Simulated.Controls!;

        public IReadOnlyList<ICamera> Cameras => [new GarbageCamera(), .. Simulated.Cameras];

        public IReadOnlyList<IMicrophone> Microphones => Simulated.Microphones;

        public IReadOnlyList<ISpeaker> Speakers => Simulated.Speakers;

        public IReadOnlyList<IDisplay> Displays => Simulated.Displays;

        public IRoomControls? Controls => Simulated.Controls;

        public event EventHandler? DevicesChanged
        {
            add => Simulated.DevicesChanged += value;
            remove => Simulated.DevicesChanged -= value;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class GarbageCamera : ICamera
    {
        public string Id => "v4l2:video9";

        public string Name => "broken";

        public PtzLimits Limits => PtzLimits.Fixed;

        public IReadOnlyList<VideoFormat> Formats => [];

        public DeviceInfo Describe() => throw new InvalidOperationException("driver returned garbage");

        public ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
