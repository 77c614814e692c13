using Room.Devices.Simulated;

namespace Room.Devices.Tests;

/// <summary>The simulated room's hot-plug file (what roomd's hot-plug tests and `make run` unplug devices with).</summary>
public sealed class SimulatedHotplugTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-simhotplug-").FullName;
    private readonly SimulatedDeviceProvider _provider;
    private int _changes;

    public SimulatedHotplugTests()
    {
        _provider = new SimulatedDeviceProvider(new SimulatedDeviceOptions { HotplugFile = File });
        _provider.DevicesChanged += (_, _) => Interlocked.Increment(ref _changes);
    }

    private string File => Path.Combine(_dir, "unplugged");

    public void Dispose()
    {
        _provider.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private DeviceHealth Health(string id) =>
        _provider.Cameras.Concat<IDevice>(_provider.Microphones).Single(d => d.Id == id).Describe().Health;

    [Fact]
    public async Task Listed_devices_are_missing_and_refuse_to_open_others_stay_ok()
    {
        System.IO.File.WriteAllLines(File, ["sim:camera-front", "sim:mic-array"]);
        await _provider.StartAsync(CancellationToken.None);

        Assert.Equal(DeviceHealth.Missing, Health("sim:camera-front"));
        Assert.Equal(DeviceHealth.Missing, Health("sim:mic-array"));
        Assert.Equal(DeviceHealth.Ok, Health("sim:camera-wide"));
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await _provider.Microphones[0].OpenCaptureAsync());
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () =>
            await _provider.Cameras[0].OpenCaptureAsync(_provider.Cameras[0].Formats[0]));
        Assert.Equal(1, _changes);
    }

    [Fact]
    public async Task A_running_microphone_capture_fails_when_unplugged_and_a_new_one_works_when_plugged_back()
    {
        await _provider.StartAsync(CancellationToken.None);
        var mic = _provider.Microphones[0];
        var buffer = new short[mic.Channels * 48];
        await using (var capture = await mic.OpenCaptureAsync())
        {
            Assert.Equal(48, await capture.ReadAsync(buffer));
            System.IO.File.WriteAllText(File, "sim:mic-array\n");
            _provider.ApplyHotplugFile();
            await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await capture.ReadAsync(buffer));
        }

        System.IO.File.Delete(File);
        _provider.ApplyHotplugFile();
        Assert.Equal(DeviceHealth.Ok, Health("sim:mic-array"));
        await using var again = await mic.OpenCaptureAsync();
        Assert.Equal(48, await again.ReadAsync(buffer));
    }

    [Fact]
    public async Task Unknown_ids_comments_and_blank_lines_change_nothing_and_raise_nothing()
    {
        await _provider.StartAsync(CancellationToken.None);
        System.IO.File.WriteAllText(File, "# nothing unplugged\n\n   \nsim:no-such-device\n\u0000\u00ff garbage\n");
        _provider.ApplyHotplugFile();

        Assert.Equal(0, _changes);
        Assert.All(_provider.Cameras.Concat<IDevice>(_provider.Microphones), d => Assert.Equal(DeviceHealth.Ok, d.Describe().Health));
    }

    [Fact]
    public async Task The_provider_follows_the_file_while_it_runs()
    {
        await _provider.StartAsync(CancellationToken.None);
        var changed = new SemaphoreSlim(0);
        _provider.DevicesChanged += (_, _) => changed.Release();

        var temp = File + ".tmp";
        System.IO.File.WriteAllText(temp, "sim:camera-wide\n");
        System.IO.File.Move(temp, File, overwrite: true);
        Assert.True(await changed.WaitAsync(TimeSpan.FromSeconds(30)), "no DevicesChanged after the file was written");
        Assert.Equal(DeviceHealth.Missing, Health("sim:camera-wide"));

        System.IO.File.Delete(File);
        Assert.True(await changed.WaitAsync(TimeSpan.FromSeconds(30)), "no DevicesChanged after the file was deleted");
        Assert.Equal(DeviceHealth.Ok, Health("sim:camera-wide"));
    }
}
