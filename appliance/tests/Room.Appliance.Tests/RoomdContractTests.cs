using System.Diagnostics;
using System.Text.Json;
using Room.Bus;
using Room.Bus.Client;
using Room.Bus.Server;
using Room.Testing;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Tests;

/// <summary>
/// The whole contract against a real roomd on a private bus: every property change announced, introspection and calls
/// through busctl, and roomctl covering every method and property.
/// </summary>
public sealed class RoomdContractTests(RoomdFixture room) : IClassFixture<RoomdFixture>
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Properties this test cannot change through the API, and where their announcement is proved instead.
    /// Everything else in the contract must be seen in a PropertiesChanged.
    /// </summary>
    private static readonly Dictionary<(string Iface, string Name), string> s_notChangedHere = new()
    {
        [(BusNames.System, "Version")] = "fixed for the life of the process",
        [(BusNames.System, "Hostname")] = "RoomdServiceTests.A_host_name_change_is_announced_as_PropertiesChanged (needs a UTS namespace)",
        [(BusNames.System, "UpdateStatus")] = "constant until an update agent exists",
        [(BusNames.System, "Addresses")] = "RoomdServiceTests.Address_changes_are_announced_as_PropertiesChanged (needs a network namespace)",
        [(BusNames.Camera, "Cameras")] = "changes on hot-plug only (RoomdHotplugTests)",
        [(BusNames.Devices, "Devices")] = "changes on hot-plug or health changes only (RoomdHotplugTests)",
        [(BusNames.Calendar, "Upcoming")] = "changes as meetings end (ScheduleServiceTests, minute clock)",
        [(BusNames.Media, "Error")] = "set when a device fails mid-call (RoomdHotplugTests)",
        [(BusNames.Media, "Display")] = "set once at start for this roomd without a display (RoomDisplayTests: a missing card, a call that goes on)",
        [(BusNames.Meeting, "Lobby")] = "needs a meeting server with people waiting (RoomdGuestTests in Room.MeetingServer.Tests)",
        [(BusNames.System, "Branding")] = "changes by roomctl enroll outside roomd (Room.ControllerUi.Tests TenantBrandingPanelTests)",
        [(BusNames.System, "BrandingLogo")] = "changes by roomctl enroll outside roomd (Room.ControllerUi.Tests TenantBrandingPanelTests)",
        [(BusNames.Admin, "EnrolmentStatus")] = "changes by roomctl enroll outside roomd, read on each GetAll (MakeRunTests in Room.MeetingServer.Tests)",
        [(BusNames.Admin, "TimeSettingsApplied")] = "this roomd applies no time settings (Admin:Time none): needs timedated and timesyncd (AdminTimeTests)",
        [(BusNames.Admin, "TimeStatus")] = "changes once, at the first SetTime, with Admin:Time none: the rest needs timedated and timesyncd (AdminTimeTests)",
        [(BusNames.Admin, "SessionSeconds")] = "configuration (Admin:SessionSeconds), fixed for the life of the process",
        [(BusNames.Admin, "PinSet")] = "AdminTests.Factory_reset_forgets_settings_pin_and_presets_and_reboots (this roomd keeps its PIN)",
        [(BusNames.Admin, "NetworkService")] = "configuration (Admin:Network), fixed for the life of the process",
        [(BusNames.Admin, "NetworkInterface")] = "configuration (Admin:NetworkInterface), fixed for the life of the process",
        [(BusNames.Admin, "NetworkMode")] = "needs systemd-networkd in a network namespace (AdminNetworkTests)",
        [(BusNames.Admin, "NetworkAddress")] = "needs systemd-networkd in a network namespace (AdminNetworkTests)",
        [(BusNames.Admin, "NetworkGateway")] = "needs systemd-networkd in a network namespace (AdminNetworkTests)",
        [(BusNames.Admin, "NetworkDns")] = "needs systemd-networkd in a network namespace (AdminNetworkTests)",
        [(BusNames.Admin, "NetworkAddresses")] = "needs systemd-networkd in a network namespace (AdminNetworkTests)",
        [(BusNames.Calendar, "Today")] = "needs a calendar server (Room.Calendar.Tests RoomdCalendarTests, Radicale)",
        [(BusNames.Calendar, "Tomorrow")] = "needs a calendar server (Room.Calendar.Tests RoomdCalendarTests, Radicale)",
        [(BusNames.Calendar, "Next")] = "needs a calendar server (Room.Calendar.Tests RoomdCalendarTests, Radicale)",
        [(BusNames.Calendar, "LastSync")] = "needs a calendar server (Room.Calendar.Tests RoomdCalendarTests, Radicale)",
        [(BusNames.Calendar, "SyncState")] = "needs a calendar server (Room.Calendar.Tests RoomdCalendarTests, Radicale)",
        [(BusNames.Calendar, "SyncError")] = "needs a calendar server (Room.Calendar.Tests RoomdCalendarTests, Radicale)",
        [(BusNames.Calendar, "LeavePrompt")] = "needs a calendar server and a call (Room.Calendar.Tests RoomdCalendarTests)",
        [(BusNames.Update, "State")] = "changes with update jobs only (UpdateInterfaceTests; the agent: Room.Fleet.Tests)",
        [(BusNames.Update, "JobId")] = "changes with update jobs only (UpdateInterfaceTests; the agent: Room.Fleet.Tests)",
        [(BusNames.Update, "Progress")] = "changes with update jobs only (UpdateInterfaceTests; the agent: Room.Fleet.Tests)",
        [(BusNames.Update, "Message")] = "changes with update jobs only (UpdateInterfaceTests; the agent: Room.Fleet.Tests)",
    };

    private RoomBusClient Client => room.Client;

    [Fact]
    public async Task Every_property_change_of_every_interface_arrives_as_PropertiesChanged()
    {
        // A mirror of roomd's state kept only from signals; after each step it must equal what GetAll says now.
        var mirror = new Dictionary<(string, string), VariantValue>();
        var announced = new HashSet<(string, string)>();
        var gate = new Lock();
        using var watch = await Client.WatchAsync((iface, changed) =>
        {
            lock (gate)
            {
                foreach (var (name, value) in changed)
                {
                    mirror[(iface, name)] = value;
                    announced.Add((iface, name));
                }
            }
        });
        await LeaveIfInCallAsync();
        foreach (var iface in BusNames.Interfaces)
        {
            var all = await Client.GetAllAsync(iface);
            lock (gate)
            {
                foreach (var (name, value) in all)
                {
                    mirror[(iface, name)] = value;
                }

                announced.Clear();
            }
        }

        async Task Step(string what, Func<Task> action)
        {
            await action();
            await AssertMirrorAsync(what, mirror, gate);
        }

        var before = await Client.GetStatusAsync();
        await Step("SetVolume", () => Client.SetVolumeAsync(before.Meeting.Volume == 35u ? 36u : 35u));
        await Step("SetMicrophoneMuted", () => Client.SetMicrophoneMutedAsync(!before.Meeting.MicrophoneMuted));
        await Step("MoveTo", () => Client.MoveToAsync(10, 5, 0.3));
        await Step("MoveBy", () => Client.MoveByAsync(-3, 1, 0.1));
        await Step("StorePreset", () => Client.StorePresetAsync("Mirror"));
        await Step("SetAutoFraming on", () => Client.SetAutoFramingAsync(true));
        await Step("SetAutoFraming off", () => Client.SetAutoFramingAsync(false));
        await Step("Select the other camera", () => Client.SelectCameraAsync("sim:camera-wide"));
        await Step("Select back", () => Client.SelectCameraAsync(before.Camera.Selected));
        await Step("Join", async () =>
        {
            await Client.JoinAsync("test-loopback://meet.example.org/m/mirror");
            await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall && s.Media.Active);
        });
        await Step("Leave", () => Client.LeaveAsync());
        await Step("a join that fails", async () =>
        {
            await Client.JoinAsync("test-loopback://nowhere.invalid/m/mirror");
            await WaitForAsync(s => s.Meeting.State == MeetingStates.Error);
        });
        await Step("DeletePreset", () => Client.DeletePresetAsync("Mirror"));
        await Step("SetMicrophoneMuted back", () => Client.SetMicrophoneMutedAsync(before.Meeting.MicrophoneMuted));
        // Admin: this test runs as root, which needs no admin session.
        await Step("SetRoomName", () => Client.SetRoomNameAsync(before.System.RoomName + " Mirror"));
        await Step("SetDefaultCamera", () => Client.SetDefaultCameraAsync("sim:camera-wide", ""));
        await Step("SetDisplayStandby", () => Client.SetDisplayStandbyAsync(before.Admin.DisplayStandbyMinutes + 1));
        await Step("SetDefaultVolume", () => Client.SetDefaultVolumeAsync(before.Admin.DefaultVolume == 20u ? 21u : 20u));
        await Step("SetLanguage", () => Client.SetLanguageAsync(before.Admin.Language == "en" ? "de" : "en"));
        await Step("SetTime", () => before.Admin.TimeZone == "Europe/Berlin"
            ? Client.SetTimeAsync("Europe/Vienna", ["ntp1.example.org"])
            : Client.SetTimeAsync("Europe/Berlin", ["ntp1.example.org", "192.0.2.123"]));
        await Step("SetMaintenanceWindow", () => Client.SetMaintenanceWindowAsync(before.Admin.MaintenanceStart == "02:30" ? "02:45" : "02:30", 90));
        await Step("SetDefaultCamera with a preset", async () =>
        {
            await Client.StorePresetAsync("Mirror2");
            await Client.SetDefaultCameraAsync("", "Mirror2");
        });
        await Step("SetProxy", () => Client.SetProxyAsync(before.Admin.Proxy == "http://proxy.example:3128" ? "http://proxy.example:8080" : "http://proxy.example:3128"));
        await Step("SetRoomName back", () => Client.SetRoomNameAsync(before.System.RoomName));

        var contract = BusContract.Interfaces.Values.SelectMany(i => i.Properties.Keys.Select(p => (i.Name, p))).ToHashSet();
        Assert.Subset(contract, s_notChangedHere.Keys.ToHashSet());
        lock (gate)
        {
            var missing = contract.Except(announced).Except(s_notChangedHere.Keys).Order().ToList();
            Assert.True(missing.Count == 0, "never announced although changed: " + string.Join(", ", missing));
        }
    }

    [Fact]
    public async Task Busctl_introspects_reads_and_calls_roomd()
    {
        var introspect = await Run("busctl", "--address=" + room.Bus.Address, "introspect", BusNames.Service, BusNames.ObjectPath);
        Assert.True(introspect.Code == 0, introspect.Err);
        var lines = introspect.Out.Split('\n');
        foreach (var (name, iface) in BusContract.Interfaces)
        {
            Assert.Contains(lines, l => l.StartsWith(name + " ", StringComparison.Ordinal) && l.Contains("interface", StringComparison.Ordinal));
            foreach (var m in iface.Methods.Values)
            {
                var signature = m.InSignature.Length == 0 ? "-" : m.InSignature;
                Assert.Contains(lines, l => Columns(l) is [var n, "method", var s, ..] && n == "." + m.Name && s == signature);
            }

            foreach (var (p, type) in iface.Properties)
            {
                Assert.Contains(lines, l => Columns(l) is [var n, "property", var t, ..] && n == "." + p && t == type);
            }
        }

        Assert.Contains(lines, l => Columns(l) is [".Failed", "signal", "s", ..]);

        var set = await Run("busctl", "--address=" + room.Bus.Address, "call", BusNames.Service, BusNames.ObjectPath, BusNames.Meeting, "SetVolume", "u", "41");
        Assert.True(set.Code == 0, set.Err);
        var get = await Run("busctl", "--address=" + room.Bus.Address, "get-property", BusNames.Service, BusNames.ObjectPath, BusNames.Meeting, "Volume");
        Assert.Equal("u 41", get.Out.Trim());

        var refused = await Run("busctl", "--address=" + room.Bus.Address, "call", BusNames.Service, BusNames.ObjectPath, BusNames.Meeting, "SetVolume", "u", "400");
        Assert.NotEqual(0, refused.Code);
        Assert.Contains("outside 0..100", refused.Err, StringComparison.Ordinal);
        Assert.Equal(41u, (await Client.GetStatusAsync()).Meeting.Volume);
    }

    [Fact]
    public async Task Roomctl_has_a_command_for_every_method_of_the_contract()
    {
        await LeaveIfInCallAsync();
        var snapshot = Path.Combine(room.Bus.Directory, "snapshot.jpg");
        // In the order they run; each must reach roomd (exit 0, or 1 with roomd's named refusal).
        var commands = new List<((string Iface, string Method) For, string[] Args)>
        {
            ((BusNames.Meeting, "SetVolume"), ["volume", "30"]),
            ((BusNames.Meeting, "SetMicrophoneMuted"), ["mute", "off"]),
            ((BusNames.Camera, "Select"), ["camera", "select", "sim:camera-front"]),
            ((BusNames.Camera, "MoveTo"), ["camera", "move", "4", "2", "0.2"]),
            ((BusNames.Camera, "MoveBy"), ["camera", "nudge", "1", "0", "0"]),
            ((BusNames.Camera, "StorePreset"), ["camera", "preset", "store", "Coverage"]),
            ((BusNames.Camera, "RecallPreset"), ["camera", "preset", "recall", "Coverage"]),
            ((BusNames.Camera, "DeletePreset"), ["camera", "preset", "delete", "Coverage"]),
            ((BusNames.Camera, "SetAutoFraming"), ["camera", "autoframing", "off"]),
            ((BusNames.System, "CheckAdminPin"), ["pin", "check", "4711"]),
            ((BusNames.Admin, "Unlock"), ["admin", "shell"]),
            ((BusNames.Admin, "Lock"), ["admin", "lock"]),
            ((BusNames.Admin, "SetRoomName"), ["admin", "name", "Ratssaal", "Nord"]),
            ((BusNames.Admin, "SetDefaultCamera"), ["admin", "camera", "-"]),
            ((BusNames.Admin, "SetDisplayStandby"), ["admin", "standby", "20"]),
            ((BusNames.Admin, "SetDefaultVolume"), ["admin", "volume", "40"]),
            ((BusNames.Admin, "SetLanguage"), ["admin", "language", "en"]),
            ((BusNames.Admin, "SetTime"), ["admin", "time", "Europe/Berlin", "ntp.example.org"]),
            ((BusNames.Admin, "SetMaintenanceWindow"), ["admin", "maintenance", "03:00", "60"]),
            // No Admin:Network on this roomd: refused as NotSupported after the input was checked.
            ((BusNames.Admin, "SetNetwork"), ["admin", "network", "static", "192.0.2.10/24", "192.0.2.1", "192.0.2.53"]),
            ((BusNames.Admin, "SetProxy"), ["admin", "proxy", "http://proxy.example:3128"]),
            ((BusNames.Admin, "GetDiagnostics"), ["admin", "diagnostics", Path.Combine(room.Bus.Directory, "diagnostics.txt")]),
            // No Admin:Power on this roomd: refused as NotSupported (a test must never reboot the machine it runs on).
            ((BusNames.Admin, "Reboot"), ["admin", "reboot"]),
            ((BusNames.Admin, "FactoryReset"), ["admin", "factory-reset", "--yes"]),
            // stdin holds the new PIN; 4711 (the fixture's, from the days of 4-digit PINs) is refused as too short.
            ((BusNames.Admin, "SetPin"), ["admin", "pin", "set"]),
            ((BusNames.Media, "GetReport"), ["media"]),
            ((BusNames.Calendar, "Sync"), ["calendar", "sync"]),
            ((BusNames.Calendar, "Join"), ["calendar", "join", "no-such-entry"]),
            ((BusNames.Calendar, "AnswerLeavePrompt"), ["calendar", "stay"]),
            // Not in a meeting it hosts: refused as WrongState (RoomdGuestTests in Room.MeetingServer.Tests admit for real).
            ((BusNames.Meeting, "Admit"), ["admit", "guest:nobody"]),
            ((BusNames.Meeting, "Deny"), ["deny", "guest:nobody"]),
            ((BusNames.Meeting, "Join"), ["join", "test-loopback://meet.example.org/m/coverage"]),
            ((BusNames.Media, "Snapshot"), ["media", "snapshot", snapshot]),
            ((BusNames.Meeting, "Leave"), ["leave"]),
        };

        var contract = BusContract.Interfaces.Values.SelectMany(i => i.Methods.Keys.Select(m => (i.Name, m))).ToHashSet();
        Assert.Equal(contract.Order(), commands.Select(c => c.For).Order());

        foreach (var (method, args) in commands)
        {
            if (method.Method == "Snapshot")
            {
                await WaitForAsync(s => s.Meeting.State == MeetingStates.InCall);
            }

            var r = method.Method switch
            {
                "Unlock" => await InProcessRoomctl.RunWithInputAsync(room.Bus.Address, "unlock\n4711\nname Ratssaal\n", args),
                "SetPin" => await InProcessRoomctl.RunWithInputAsync(room.Bus.Address, "4711\n", args),
                _ => await InProcessRoomctl.RunAsync(room.Bus.Address, args),
            };
            if (method.Method == "Unlock")
            {
                Assert.True(r.Output.StartsWith("ok unlocked until", StringComparison.Ordinal), r.Output + r.Error);
            }

            Assert.True(r.ExitCode == 0 || (r.ExitCode == 1 && r.Error.Contains("org.room.Error.", StringComparison.Ordinal)),
                $"roomctl {string.Join(' ', args)} ({method.Iface}.{method.Method}) exited {r.ExitCode}: {r.Error}");
        }
    }

    [Fact]
    public async Task Roomctl_status_shows_every_property_in_json_and_in_words()
    {
        var status = await Client.GetStatusAsync();
        var json = await CliProcess.RunAsync(room.Bus.Address, "--json", "status");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Output);
        foreach (var iface in BusContract.Interfaces.Values)
        {
            foreach (var property in iface.Properties.Keys)
            {
                var path = JsonPath(iface.Name, property);
                var element = doc.RootElement;
                foreach (var part in path)
                {
                    Assert.True(element.TryGetProperty(part, out element), $"{iface.Name}.{property}: no {string.Join('.', path)} in roomctl --json status");
                }
            }
        }

        var text = await CliProcess.RunAsync(room.Bus.Address, "status");
        Assert.Equal(0, text.ExitCode);
        var words = text.Output;
        // The machine's addresses change under parallel tests (their network namespaces' host ends come and go):
        // expect those present both before and after roomctl ran.
        var after = await Client.GetStatusAsync();
        var addresses = status.System.Addresses.Intersect(after.System.Addresses).ToList();
        Assert.NotEmpty(addresses);
        string[] expected =
        [
            status.System.RoomName, status.System.Version, status.System.Hostname, status.System.UpdateStatus,
            .. addresses, .. status.Camera.Cameras.Select(c => c.Id), status.Camera.Selected,
            $"pan {status.Camera.PanMin:0.##}..{status.Camera.PanMax:0.##}", $"tilt {status.Camera.TiltMin:0.##}..{status.Camera.TiltMax:0.##}",
            "meeting", "microphone", "volume", "media", "devices", .. status.Upcoming.Select(u => u.Title),
        ];
        foreach (var e in expected)
        {
            Assert.Contains(e, words, StringComparison.Ordinal);
        }
    }

    private static string[] JsonPath(string iface, string property) => (iface, property) switch
    {
        (BusNames.Camera, "Limits") => ["camera", "panMin"],
        (BusNames.Meeting, "ParticipantKinds") => ["meeting", "participants"], // each participant's kind and invitedBy
        (BusNames.Devices, "Devices") => ["devices"],
        (BusNames.Calendar, "Upcoming") => ["upcoming"],
        (BusNames.Admin, "MaintenanceWindow") => ["admin", "maintenanceStart"],
        (BusNames.Admin, var p) when p.StartsWith("Network", StringComparison.Ordinal) => ["admin", "network", JsonNamingPolicy.CamelCase.ConvertName(p["Network".Length..])],
        _ => [iface[(iface.LastIndexOf('.') + 1)..].ToLowerInvariant(), JsonNamingPolicy.CamelCase.ConvertName(property)],
    };

    private async Task AssertMirrorAsync(string step, Dictionary<(string, string), VariantValue> mirror, Lock gate)
    {
        var sw = Stopwatch.StartNew();
        List<string> stale;
        do
        {
            stale = [];
            foreach (var iface in BusNames.Interfaces)
            {
                var now = await Client.GetAllAsync(iface);
                lock (gate)
                {
                    foreach (var (name, value) in now)
                    {
                        if (!mirror.TryGetValue((iface, name), out var seen) || !VariantComparer.DeepEquals(seen, value))
                        {
                            stale.Add($"{iface}.{name}");
                        }
                    }
                }
            }

            if (stale.Count == 0)
            {
                return;
            }

            await Task.Delay(20);
        }
        while (sw.Elapsed < s_patience);

        Assert.Fail($"after {step} these properties changed without a PropertiesChanged: {string.Join(", ", stale)}");
    }

    private async Task LeaveIfInCallAsync()
    {
        if ((await Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Joining)
        {
            await Client.LeaveAsync();
        }
    }

    private async Task<RoomStatus> WaitForAsync(Func<RoomStatus, bool> condition)
    {
        var sw = Stopwatch.StartNew();
        RoomStatus status;
        while (!condition(status = await Client.GetStatusAsync()))
        {
            Assert.True(sw.Elapsed < s_patience, "condition not reached; last status: " + status);
            await Task.Delay(20);
        }

        return status;
    }

    private static string[] Columns(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    internal static async Task<(int Code, string Out, string Err)> Run(params string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        // busctl would page its output.
        psi.Environment["SYSTEMD_PAGER"] = "";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await o, await e);
    }
}
