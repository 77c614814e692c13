using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Camera;
using Room.Appliance.Framing;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

/// <summary>
/// The auto-framer with the real OpenCV face detector, looking at the simulated camera's room (three people
/// at a table at pan -9, 0 and 8 degrees).
/// </summary>
public sealed class AutoFramerTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-framing-").FullName;
    private readonly SimulatedDeviceProvider _devices = new();
    private readonly FramingSupport _support = new(NullLogger<FramingSupport>.Instance);
    private readonly PresetStore _presets;
    private readonly CameraService _cameras;
    private readonly AutoFramer _framer;

    public AutoFramerTests()
    {
        var options = Options.Create(new RoomOptions { StateDirectory = _dir });
        _presets = new PresetStore(options, NullLogger<PresetStore>.Instance);
        _cameras = new CameraService(_devices, _presets, _support, options, NullLogger<CameraService>.Instance);
        _framer = new AutoFramer(_cameras, _devices, _support, _presets, NullLogger<AutoFramer>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _framer.StopAsync(CancellationToken.None);
        _framer.Dispose();
        _cameras.Dispose();
        _support.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Auto_framing_centres_the_people_and_zooms_in_from_anywhere()
    {
        Assert.NotNull(_support.Detector);
        await _cameras.MoveToAsync(60, 40, 0.7); // looking at the ceiling corner, nobody in view
        await _framer.StartAsync(CancellationToken.None);
        await _cameras.SetAutoFramingAsync(true);

        var settled = await WaitForStableAsync();
        var p = _cameras.Snapshot.Position;
        Assert.True(_framer.Moves > 0, "the framer made no move");
        Assert.InRange(p.Pan, -3, 3);           // the group's centre is at about -0.5 degrees
        Assert.InRange(p.Zoom, 0.02, 0.6);      // tighter than the overview, never a close-up of one face
        var fov = 70.0 / (1 + (9 * p.Zoom));
        Assert.True(p.Pan - (fov / 2) < -11 && p.Pan + (fov / 2) > 10, $"not everyone is in the picture at {p} (fov {fov:0.#})");
        Assert.True(settled, "the framer kept moving (hunting) after framing the group");
        Assert.True(_cameras.Snapshot.AutoFraming);
    }

    [Fact]
    public async Task An_Overview_preset_is_where_framing_starts()
    {
        await _cameras.MoveToAsync(-60, 0, 0);
        await _cameras.StorePresetAsync(AutoFramer.OverviewPreset); // nobody is visible from here
        await _cameras.MoveToAsync(0, 0, 0);
        await _framer.StartAsync(CancellationToken.None);
        await _cameras.SetAutoFramingAsync(true);
        await Task.Delay(1500);
        // From an empty overview at widest there is nothing to frame: the camera stays there.
        Assert.Equal(-60, _cameras.Snapshot.Position.Pan, 3);
    }

    /// <summary>Waits until the position has not changed for two seconds; false if it never settles.</summary>
    private async Task<bool> WaitForStableAsync()
    {
        var last = _cameras.Snapshot.Position;
        var stableSince = DateTime.UtcNow;
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            var now = _cameras.Snapshot.Position;
            if (now != last)
            {
                last = now;
                stableSince = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - stableSince > TimeSpan.FromSeconds(2) && _framer.Moves > 0)
            {
                return true;
            }
        }

        return false;
    }
}
