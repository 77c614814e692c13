using System.Diagnostics;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>roomd over a real dbus-daemon, called through the typed client (as the touch panel does).</summary>
public sealed class RoomdBusTests(RoomdFixture room) : IClassFixture<RoomdFixture>, IAsyncLifetime
{
    private RoomBusClient Client => room.Client;

    public async Task InitializeAsync()
    {
        // Each test starts from idle; a previous test may have left a call open.
        if ((await Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Joining)
        {
            await Client.LeaveAsync();
        }
    }

    public Task DisposeAsync()
    {
        Assert.False(room.Roomd.HasExited, "roomd must survive every test:\n" + room.Roomd.Log);
        return Task.CompletedTask;
    }

    private async Task<RoomStatus> WaitForAsync(Func<RoomStatus, bool> condition)
    {
        var sw = Stopwatch.StartNew();
        RoomStatus status;
        while (!condition(status = await Client.GetStatusAsync()))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), "condition not reached; last status: " + status);
            await Task.Delay(20);
        }

        return status;
    }

    [Fact]
    public async Task Status_publishes_every_interface()
    {
        var s = await Client.GetStatusAsync();
        Assert.Equal("Ratssaal", s.System.RoomName);
        Assert.Contains(s.Meeting.State, new[] { MeetingStates.Idle, MeetingStates.Error }); // tests before may have failed a join
        Assert.Equal(2, s.Camera.Cameras.Count);
        Assert.Contains(s.Devices, d => d.Kind == "microphone" && d.Health == "ok");
        Assert.Contains(s.Devices, d => d.Kind == "display");
        Assert.Equal("Bauausschuss", Assert.Single(s.Upcoming).Title);
    }

    [Fact]
    public async Task Join_then_leave_round_trips_through_the_bus()
    {
        await Client.JoinAsync("test-loopback://meet.example.org/m/7");
        var inCall = await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall);
        Assert.Equal("test-loopback://meet.example.org/m/7", inCall.Meeting.Uri);
        Assert.Equal(2, inCall.Meeting.Participants.Count);
        Assert.NotEmpty(inCall.Meeting.SecurityCode);
        Assert.NotNull(inCall.Meeting.StartedAt);

        await Client.LeaveAsync();
        var idle = await Client.GetStatusAsync();
        Assert.Equal(MeetingStates.Idle, idle.Meeting.State);
        Assert.Empty(idle.Meeting.Participants);
    }

    [Fact]
    public async Task Every_change_arrives_as_PropertiesChanged()
    {
        var changes = new List<(string Iface, string Name)>();
        var gate = new Lock();
        using var watch = await Client.WatchAsync((iface, changed) =>
        {
            lock (gate)
            {
                changes.AddRange(changed.Keys.Select(k => (iface, k)));
            }
        });
        var muted = (await Client.GetStatusAsync()).Meeting.MicrophoneMuted;
        await Client.SetMicrophoneMutedAsync(!muted);
        await Client.SetVolumeAsync(33);
        await Client.MoveToAsync(12, 3, 0.2);

        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            lock (gate)
            {
                if (changes.Contains((BusNames.Meeting, "MicrophoneMuted")) && changes.Contains((BusNames.Meeting, "Volume")) && changes.Contains((BusNames.Camera, "Pan")))
                {
                    break;
                }
            }

            await Task.Delay(20);
        }

        lock (gate)
        {
            Assert.Contains((BusNames.Meeting, "MicrophoneMuted"), changes);
            Assert.Contains((BusNames.Meeting, "Volume"), changes);
            Assert.Contains((BusNames.Camera, "Pan"), changes);
            // Only what changed is announced: the camera list did not change.
            Assert.DoesNotContain((BusNames.Camera, "Cameras"), changes);
        }
    }

    [Fact]
    public async Task A_failed_join_emits_Failed_and_ends_in_error()
    {
        var reasons = new List<string>();
        using var watch = await Client.WatchAsync((_, _) => { }, r =>
        {
            lock (reasons)
            {
                reasons.Add(r);
            }
        });
        await Client.JoinAsync("test-loopback://nowhere.invalid/m/1");
        var s = await WaitForAsync(s => s.Meeting.State == MeetingStates.Error);
        Assert.Contains("nowhere.invalid", s.Meeting.LastError, StringComparison.Ordinal);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            lock (reasons)
            {
                if (reasons.Count > 0)
                {
                    break;
                }
            }

            await Task.Delay(20);
        }

        lock (reasons)
        {
            Assert.Contains("nowhere.invalid", Assert.Single(reasons), StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, string, string, object[]> BadCalls => new()
    {
        { BusNames.Meeting, "Join", "s", ["ftp://meet.example.org/m/1"] },
        { BusNames.Meeting, "Join", "s", [""] },
        { BusNames.Meeting, "SetVolume", "u", [101u] },
        { BusNames.Camera, "MoveTo", "ddd", [500.0, 0.0, 0.0] },
        { BusNames.Camera, "MoveTo", "ddd", [double.NaN, 0.0, 0.0] },
        { BusNames.Camera, "MoveBy", "ddd", [0.0, 0.0, 7.0] },
        { BusNames.Camera, "Select", "s", ["usb:no-such-camera"] },
        { BusNames.Camera, "RecallPreset", "s", ["no-such-preset"] },
        { BusNames.Camera, "DeletePreset", "s", ["no-such-preset"] },
        { BusNames.Camera, "StorePreset", "s", ["bad/name"] },
        { BusNames.Meeting, "Leave", "", [] },
    };

    [Theory]
    [MemberData(nameof(BadCalls))]
    public async Task Bad_calls_get_a_named_error_and_leave_state_unchanged(string iface, string member, string signature, object[] args)
    {
        var before = await Client.GetStatusAsync();
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => Client.CallAsync(iface, member, signature, args));
        Assert.StartsWith("org.room.Error.", ex.ErrorName, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        var after = await Client.GetStatusAsync();
        Assert.Equal(before.Meeting with { Participants = [] }, after.Meeting with { Participants = [] });
        Assert.Equal((before.Camera.Selected, before.Camera.Pan, before.Camera.Tilt, before.Camera.Zoom), (after.Camera.Selected, after.Camera.Pan, after.Camera.Tilt, after.Camera.Zoom));
        Assert.Equal(before.Camera.Presets, after.Camera.Presets);
    }

    [Theory]
    [InlineData(BusErrors.InvalidUri, "Join", "s")]
    [InlineData(BusErrors.WrongState, "Leave", "")]
    [InlineData(BusErrors.OutOfRange, "SetVolume", "u")]
    public async Task Each_refusal_carries_its_specific_error_name(string expected, string member, string signature)
    {
        object[] args = signature switch
        {
            "s" => ["not a uri"],
            "u" => [1000u],
            _ => [],
        };
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => Client.CallAsync(BusNames.Meeting, member, signature, args));
        Assert.Equal(expected, ex.ErrorName);
    }

    [Fact]
    public async Task Join_during_a_call_is_WrongState()
    {
        await Client.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall);
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => Client.JoinAsync("test-loopback://meet.example.org/m/2"));
        Assert.Equal(BusErrors.WrongState, ex.ErrorName);
        Assert.Equal("test-loopback://meet.example.org/m/1", (await Client.GetStatusAsync()).Meeting.Uri);
    }

    [Theory]
    [InlineData("SetVolume", "s", "loud")]
    [InlineData("SetMicrophoneMuted", "s", "yes")]
    [InlineData("Join", "b", true)]
    public async Task Arguments_of_the_wrong_type_get_InvalidArgs(string member, string signature, object arg)
    {
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => Client.CallAsync(BusNames.Meeting, member, signature, arg));
        Assert.Equal(BusErrors.InvalidArgs, ex.ErrorName);
    }

    [Fact]
    public async Task Properties_cannot_be_written_from_outside()
    {
        var psi = new ProcessStartInfo("gdbus", ["call", "--address", room.Bus.Address, "--dest", BusNames.Service, "--object-path", BusNames.ObjectPath,
            "--method", "org.freedesktop.DBus.Properties.Set", BusNames.Meeting, "Volume", "<uint32 5>"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains("PropertyReadOnly", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Introspection_describes_the_whole_contract_for_gdbus()
    {
        var psi = new ProcessStartInfo("gdbus", ["introspect", "--address", room.Bus.Address, "--dest", BusNames.Service, "--object-path", BusNames.ObjectPath])
        {
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var xml = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        foreach (var (name, iface) in BusContract.Interfaces)
        {
            Assert.Contains($"interface {name}", xml, StringComparison.Ordinal);
            foreach (var method in iface.Methods.Keys)
            {
                Assert.Contains(method + "(", xml, StringComparison.Ordinal);
            }

            foreach (var property in iface.Properties.Keys)
            {
                Assert.Contains(" " + property + " = ", xml, StringComparison.Ordinal);
            }
        }

        Assert.Contains("signal", xml, StringComparison.Ordinal);
        Assert.Contains("Failed(", xml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_pin_is_checked_over_the_bus()
    {
        Assert.True(await Client.CheckAdminPinAsync("4711"));
        Assert.False(await Client.CheckAdminPinAsync("1234"));
    }

    [Fact]
    public async Task A_call_carries_media_whose_decoded_picture_is_available_as_jpeg()
    {
        var outside = await Assert.ThrowsAsync<RoomBusException>(Client.SnapshotAsync);
        Assert.Equal(BusErrors.WrongState, outside.ErrorName);

        await Client.JoinAsync("test-loopback://meet.example.org/m/media");
        var active = await WaitForAsync(s => s.Media.Active);
        Assert.Contains("H264", active.Media.VideoEncoder, StringComparison.Ordinal);
        Assert.Contains("Opus", active.Media.Audio, StringComparison.Ordinal);
        Assert.Contains("SFrame", active.Media.Encryption, StringComparison.Ordinal);

        byte[]? jpeg = null;
        var sw = Stopwatch.StartNew();
        while (jpeg is null && sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                jpeg = await Client.SnapshotAsync();
            }
            catch (RoomBusException ex) when (ex.ErrorName == BusErrors.WrongState)
            {
                await Task.Delay(100);
            }
        }

        Assert.NotNull(jpeg);
        Assert.Equal([0xFF, 0xD8], jpeg.Take(2));   // JPEG start of image
        Assert.Equal([0xFF, 0xD9], jpeg.TakeLast(2));

        await Client.LeaveAsync();
        await WaitForAsync(s => !s.Media.Active);
    }

    [Fact]
    public async Task The_media_report_names_the_chosen_codecs_and_the_skipped_ones()
    {
        var report = await Client.GetMediaReportAsync();
        Assert.Contains("H264", report, StringComparison.Ordinal);
        Assert.Contains("not chosen", report, StringComparison.Ordinal);
        Assert.Contains("Opus", report, StringComparison.Ordinal);
    }
}
