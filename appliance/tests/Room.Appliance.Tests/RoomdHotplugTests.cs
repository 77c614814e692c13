using System.Diagnostics;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// Hot-plug mid-call at roomd level: a real roomd process on a private dbus-daemon, in a loopback call, whose
/// simulated devices are unplugged and plugged back through its hot-plug file (Devices:Simulated:HotplugFile, which
/// roomd follows while it runs as the Linux provider follows udev). Everything is checked over the bus and through
/// roomctl, and roomd is the same process from start to end.
/// </summary>
public sealed class RoomdHotplugTests : IAsyncLifetime, IDisposable
{
    private PrivateBus _bus = null!;
    private RoomdProcess _roomd = null!;
    private RoomBusClient _client = null!;
    private int _pid;

    private string HotplugFile => Path.Combine(_bus.Directory, "unplugged");

    public async Task InitializeAsync()
    {
        _bus = new PrivateBus();
        _roomd = await RoomdProcess.StartAsync(_bus.Address, Path.Combine(_bus.Directory, "state"),
            "--Room:Name", "Hotplug", "--Devices:Simulated:HotplugFile", HotplugFile);
        _pid = _roomd.Pid;
        _client = await RoomBusClient.ConnectAsync(_bus.Address);
    }

    public async Task DisposeAsync()
    {
        var alive = !_roomd.HasExited;
        _client.Dispose();
        await _roomd.DisposeAsync();
        Assert.True(alive, "roomd must survive hot-plug:\n" + _roomd.Log);
    }

    /// <summary>The bus goes after roomd (xunit calls this after <see cref="DisposeAsync"/>).</summary>
    public void Dispose() => _bus.Dispose();

    /// <summary>Writes the list of unplugged devices atomically (roomd never reads half a file).</summary>
    private void Unplugged(params string[] ids)
    {
        var temp = HotplugFile + ".tmp";
        File.WriteAllLines(temp, ids);
        File.Move(temp, HotplugFile, overwrite: true);
    }

    private async Task<RoomStatus> WaitForAsync(string what, Func<RoomStatus, bool> condition)
    {
        var sw = Stopwatch.StartNew();
        RoomStatus status;
        while (!condition(status = await _client.GetStatusAsync()))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"{what}: not reached; last media {status.Media}, devices "
                + string.Join(", ", status.Devices.Select(d => $"{d.Id}={d.Health}")) + "\n" + _roomd.Log);
            await Task.Delay(50);
        }

        return status;
    }

    private static string Health(RoomStatus s, string id) => s.Devices.Single(d => d.Id == id).Health;

    private async Task JoinAsync()
    {
        await _client.JoinAsync("test-loopback://meet.example.org/m/hotplug");
        await WaitForAsync("call with camera and sound", s => s.Meeting.State == MeetingStates.InCall && s.Media.Active
            && s.Media.Camera == "sim:camera-front" && s.Media.Audio.StartsWith("Opus", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unplugging_the_camera_mid_call_switches_to_another_and_plugging_it_back_returns_to_it()
    {
        await JoinAsync();

        Unplugged("sim:camera-front");
        var switched = await WaitForAsync("switch to the wide camera", s => Health(s, "sim:camera-front") == "missing"
            && s.Media.Active && s.Media.Camera == "sim:camera-wide");
        Assert.Equal(MeetingStates.InCall, switched.Meeting.State);
        Assert.Equal("", switched.Media.Error);
        var devices = await CliProcess.RunAsync(_bus.Address, "devices");
        Assert.True(devices.ExitCode == 0, $"roomctl devices exited {devices.ExitCode}: {devices.Error}");
        Assert.Contains("missing", devices.Output, StringComparison.Ordinal);

        Unplugged();
        var back = await WaitForAsync("back to the front camera", s => Health(s, "sim:camera-front") == "ok"
            && s.Media.Active && s.Media.Camera == "sim:camera-front");
        Assert.Equal(MeetingStates.InCall, back.Meeting.State);
        Assert.Equal(_pid, _roomd.Pid);
    }

    [Fact]
    public async Task With_every_camera_unplugged_the_call_goes_on_audio_only_and_video_returns_when_one_is_plugged_back()
    {
        await JoinAsync();

        Unplugged("sim:camera-front", "sim:camera-wide");
        var audioOnly = await WaitForAsync("audio-only call with a reason", s => s.Media.Active && s.Media.Camera == "" && s.Media.Error.Length > 0);
        Assert.Contains("camera", audioOnly.Media.Error, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("none (audio only)", audioOnly.Media.VideoEncoder, StringComparison.Ordinal);
        Assert.StartsWith("Opus", audioOnly.Media.Audio, StringComparison.Ordinal);
        Assert.Equal(MeetingStates.InCall, audioOnly.Meeting.State);

        Unplugged("sim:camera-front");
        var back = await WaitForAsync("video back on the wide camera", s => s.Media.Active && s.Media.Camera == "sim:camera-wide");
        Assert.Equal("", back.Media.Error);
        Assert.StartsWith("Opus", back.Media.Audio, StringComparison.Ordinal);
        Assert.Equal(MeetingStates.InCall, back.Meeting.State);
        Assert.Equal(_pid, _roomd.Pid);
    }

    [Fact]
    public async Task Unplugging_the_microphone_mid_call_reports_the_call_degraded_and_plugging_it_back_restores_sound()
    {
        await JoinAsync();

        Unplugged("sim:mic-array");
        var degraded = await WaitForAsync("call degraded without sound", s => Health(s, "sim:mic-array") == "missing"
            && s.Media.Active && s.Media.Audio.StartsWith("degraded", StringComparison.Ordinal));
        Assert.Contains("sim:mic-array missing", degraded.Media.Audio, StringComparison.Ordinal);
        Assert.Equal("sim:camera-front", degraded.Media.Camera);
        Assert.Equal(MeetingStates.InCall, degraded.Meeting.State);

        Unplugged();
        var back = await WaitForAsync("sound back", s => Health(s, "sim:mic-array") == "ok"
            && s.Media.Active && s.Media.Audio.StartsWith("Opus", StringComparison.Ordinal));
        Assert.Contains("Ceiling microphone array", back.Media.Audio, StringComparison.Ordinal);
        Assert.Equal(MeetingStates.InCall, back.Meeting.State);
        Assert.Equal(_pid, _roomd.Pid);
    }
}
