using System.Diagnostics;
using System.Text.Json;
using Room.Bus;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// roomctl against a real roomd on a private bus: its commands run in-process (a process per command made these tests
/// slow), the executable itself (each exit code, streaming output) as a real process.
/// </summary>
public sealed class RoomctlTests(RoomdFixture room) : IClassFixture<RoomdFixture>
{
    private Task<CliResult> Run(params string[] args) => InProcessRoomctl.RunAsync(room.Bus.Address, args);

    [Fact]
    public async Task The_executable_exits_0_1_and_2_and_prints_to_its_own_streams()
    {
        var status = await CliProcess.RunAsync(room.Bus.Address, "status");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("Ratssaal", status.Output, StringComparison.Ordinal);

        var refused = await CliProcess.RunAsync(room.Bus.Address, "volume", "101");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("org.room.Error.OutOfRange", refused.Error, StringComparison.Ordinal);

        var usage = await CliProcess.RunAsync(room.Bus.Address, "frobnicate");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("usage: roomctl", usage.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_shows_the_room_in_words_and_as_json()
    {
        var text = await Run("status");
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("Ratssaal", text.Output, StringComparison.Ordinal);
        Assert.Contains("meeting", text.Output, StringComparison.Ordinal);

        var json = await Run("--json", "status");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Output);
        Assert.Equal("Ratssaal", doc.RootElement.GetProperty("system").GetProperty("roomName").GetString());
    }

    [Fact]
    public async Task Join_mute_volume_and_leave_work_from_the_command_line()
    {
        Assert.Equal(0, (await Run("join", "test-loopback://meet.example.org/m/cli")).ExitCode);
        var sw = Stopwatch.StartNew();
        while ((await room.Client.GetStatusAsync()).Meeting.State != MeetingStates.InCall)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20));
            await Task.Delay(20);
        }

        Assert.Equal(0, (await Run("mute", "on")).ExitCode);
        Assert.True((await room.Client.GetStatusAsync()).Meeting.MicrophoneMuted);
        Assert.Equal(0, (await Run("mute", "toggle")).ExitCode);
        Assert.False((await room.Client.GetStatusAsync()).Meeting.MicrophoneMuted);
        Assert.Equal(0, (await Run("volume", "42")).ExitCode);
        Assert.Equal(42u, (await room.Client.GetStatusAsync()).Meeting.Volume);
        Assert.Equal(0, (await Run("leave")).ExitCode);
        Assert.Equal(MeetingStates.Idle, (await room.Client.GetStatusAsync()).Meeting.State);
    }

    [Fact]
    public async Task Camera_presets_store_recall_list_and_delete()
    {
        Assert.Equal(0, (await Run("camera", "move", "25", "-5", "0.4")).ExitCode);
        Assert.Equal(0, (await Run("camera", "preset", "store", "Podium")).ExitCode);
        Assert.Equal(0, (await Run("camera", "nudge", "-10", "0", "0")).ExitCode);
        Assert.Equal(15, (await room.Client.GetStatusAsync()).Camera.Pan, 6);

        var recall = await Run("camera", "preset", "recall", "Podium");
        Assert.Equal(0, recall.ExitCode);
        Assert.Contains("pan 25", recall.Output, StringComparison.Ordinal);
        Assert.Contains("Podium", (await Run("camera", "preset", "list")).Output, StringComparison.Ordinal);
        Assert.Equal(0, (await Run("camera", "preset", "delete", "Podium")).ExitCode);
        Assert.DoesNotContain("Podium", (await Run("camera", "preset", "list")).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_lists_every_device_with_health()
    {
        var r = await Run("devices");
        Assert.Equal(0, r.ExitCode);
        foreach (var kind in new[] { "camera", "microphone", "speaker", "display", "gpio" })
        {
            Assert.Contains(kind, r.Output, StringComparison.Ordinal);
        }

        Assert.Contains("ok", r.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("org.room.Error.InvalidUri", "join", "gopher://x/y")]
    [InlineData("org.room.Error.OutOfRange", "volume", "101")]
    [InlineData("org.room.Error.UnknownPreset", "camera", "preset", "recall", "Nowhere")]
    [InlineData("org.room.Error.UnknownCamera", "camera", "select", "usb:9-9")]
    [InlineData("org.room.Error.OutOfRange", "camera", "move", "0", "0", "2")]
    [InlineData("org.room.Error.WrongState", "leave")]
    public async Task Refusals_print_the_error_name_and_exit_1(string error, params string[] args)
    {
        var r = await Run(args);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(error, r.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("volume", "loud")]
    [InlineData("mute", "maybe")]
    [InlineData("camera", "move", "1", "x", "0")]
    [InlineData("frobnicate")]
    [InlineData("join")]
    public async Task Usage_errors_exit_2_with_help(params string[] args)
    {
        var r = await Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("usage: roomctl", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_streams_changes_made_by_someone_else()
    {
        using var watch = CliProcess.Start(room.Bus.Address, "watch");
        try
        {
            Assert.Equal("watching roomd (Ctrl+C to stop)", await ReadLineAsync(watch));
            var before = (await room.Client.GetStatusAsync()).Meeting.Volume;
            var target = before == 17u ? 18u : 17u;
            await room.Client.SetVolumeAsync(target);
            string? line;
            do
            {
                line = await ReadLineAsync(watch);
            }
            while (line is not null && !line.StartsWith("Meeting.Volume", StringComparison.Ordinal));

            Assert.Equal($"Meeting.Volume = {target}", line);
        }
        finally
        {
            watch.Kill();
        }
    }

    [Fact]
    public async Task Watch_with_json_streams_one_object_per_change_for_scripts()
    {
        using var watch = CliProcess.Start(room.Bus.Address, "--json", "watch");
        try
        {
            using (var first = JsonDocument.Parse((await ReadLineAsync(watch))!))
            {
                Assert.True(first.RootElement.GetProperty("watching").GetBoolean());
            }

            var before = (await room.Client.GetStatusAsync()).Meeting.Volume;
            var target = before == 23u ? 24u : 23u;
            await room.Client.SetVolumeAsync(target);
            while (await ReadLineAsync(watch) is { } line)
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("interface", out var iface) && iface.GetString() == BusNames.Meeting
                    && doc.RootElement.GetProperty("changed").TryGetProperty("Volume", out var volume))
                {
                    Assert.Equal(target, volume.GetUInt32());
                    return;
                }
            }

            Assert.Fail("roomctl --json watch ended without the volume change");
        }
        finally
        {
            watch.Kill();
        }
    }

    [Fact]
    public async Task Without_roomd_on_the_bus_roomctl_says_so_and_exits_3()
    {
        using var empty = new PrivateBus();
        var r = await CliProcess.RunAsync(empty.Address, "status");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("not running", r.Error, StringComparison.Ordinal);
    }

    private static async Task<string?> ReadLineAsync(Process p)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await p.StandardOutput.ReadLineAsync(cts.Token);
    }
}
