using System.Diagnostics;
using Room.Bus;
using Room.Bus.Client;
using Room.Call.E2ee;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>Room administration on a real roomd (private bus; the test is root, so an admin without a session).</summary>
public sealed class AdminRoomdTests : IDisposable
{
    private readonly PrivateBus _bus = new();

    private string State => Path.Combine(_bus.Directory, "state");

    private string PowerLog => Path.Combine(_bus.Directory, "power.log");

    public void Dispose() => _bus.Dispose();

    private Task<RoomdProcess> StartAsync(params string[] args) =>
        RoomdProcess.StartAsync(_bus.Address, State, ["--Admin:Power", "simulated", "--Admin:SimulatedPowerLog", PowerLog, .. args]);

    [Fact]
    public async Task Settings_survive_SIGKILL_at_any_moment_of_a_write_old_or_new_never_broken()
    {
        // Each round: a client writes settings as fast as roomd answers; roomd is killed at a random moment; the restarted
        // roomd must show the last acknowledged value or the one in flight, and never start from a broken file.
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var acknowledged = "";
        for (var round = 0; round < 6; round++)
        {
            await using var roomd = await StartAsync();
            using var client = await RoomBusClient.ConnectAsync(_bus.Address);
            var found = (await client.GetStatusAsync()).Admin.RoomName;
            Assert.True(round == 0 || found == acknowledged || found == Next(acknowledged),
                $"seed {seed} round {round}: roomd came back with '{found}', neither '{acknowledged}' (acknowledged) nor the one in flight\n{roomd.Log}");
            Assert.DoesNotContain("broken", roomd.Log, StringComparison.Ordinal);
            acknowledged = found;

            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                var writes = 0;
                while (!stop.IsCancelled())
                {
                    var next = Next(acknowledged);
                    try
                    {
                        await client.SetRoomNameAsync(next);
                    }
                    catch (Exception ex) when (ex is RoomBusException or Tmds.DBus.Protocol.DBusConnectionException or ObjectDisposedException)
                    {
                        return writes;
                    }

                    acknowledged = next;
                    writes++;
                }

                return writes;
            });
            // Let some writes happen first, then kill at a random moment within the next writes.
            while (Volatile.Read(ref acknowledged) == found)
            {
                await Task.Delay(1);
            }

            await Task.Delay(random.Next(0, 60));
            roomd.Kill();
            stop.Cancel();
            Assert.True(await writer > 0);
        }
    }

    private static string Next(string name) =>
        name.StartsWith("Runde ", StringComparison.Ordinal) && int.TryParse(name[6..], out var n) ? $"Runde {n + 1}" : "Runde 1";

    [Fact]
    public async Task Stored_settings_apply_when_roomd_starts_again()
    {
        await using (var roomd = await StartAsync("--Room:Name", "Aus room.json"))
        {
            using var client = await RoomBusClient.ConnectAsync(_bus.Address);
            await client.SetRoomNameAsync("Bürgersaal");
            await client.SetDefaultVolumeAsync(23);
            await client.SetDefaultCameraAsync("sim:camera-wide", "");
            Assert.Equal("Bürgersaal", (await client.GetStatusAsync()).System.RoomName);
        }

        await using var again = await StartAsync("--Room:Name", "Aus room.json");
        using var c = await RoomBusClient.ConnectAsync(_bus.Address);
        var status = await c.GetStatusAsync();
        Assert.Equal("Bürgersaal", status.System.RoomName);
        Assert.Equal("Bürgersaal", status.Admin.RoomName);
        Assert.Equal(23u, status.Meeting.Volume);
        Assert.Equal("sim:camera-wide", status.Camera.Selected);
    }

    [Fact]
    public async Task Out_of_range_and_malformed_settings_are_refused_by_name_and_change_nothing()
    {
        await using var roomd = await StartAsync();
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        var before = (await client.GetStatusAsync()).Admin;
        var settingsFile = Path.Combine(State, "settings.json");
        var fileBefore = File.Exists(settingsFile) ? await File.ReadAllBytesAsync(settingsFile) : null;
        (Func<Task> Call, string Error)[] cases =
        [
            (() => client.SetRoomNameAsync(""), BusErrors.OutOfRange),
            (() => client.SetRoomNameAsync(new string('x', 81)), BusErrors.OutOfRange),
            (() => client.SetRoomNameAsync("a\nb"), BusErrors.InvalidArgument),
            (() => client.SetDefaultCameraAsync("usb:nothing-here", ""), BusErrors.UnknownCamera),
            (() => client.SetDefaultCameraAsync("", "Nowhere"), BusErrors.UnknownPreset),
            (() => client.SetDisplayStandbyAsync(1441), BusErrors.OutOfRange),
            (() => client.SetDefaultVolumeAsync(101), BusErrors.OutOfRange),
            (() => client.SetLanguageAsync("klingon"), BusErrors.InvalidArgument),
            (() => client.SetTimeAsync("Mars/Olympus", []), BusErrors.InvalidArgument),
            (() => client.SetTimeAsync("Europe/Berlin", ["not a host"]), BusErrors.InvalidArgument),
            (() => client.SetTimeAsync("Europe/Berlin", ["a", "b", "c", "d", "e", "f"]), BusErrors.OutOfRange),
            (() => client.SetMaintenanceWindowAsync("25:00", 60), BusErrors.InvalidArgument),
            (() => client.SetMaintenanceWindowAsync("02:00", 721), BusErrors.OutOfRange),
            (() => client.SetPinAsync("12345"), BusErrors.InvalidArgument),
            (() => client.SetPinAsync("12345678901234"), BusErrors.InvalidArgument),
            (() => client.SetPinAsync("abcdef"), BusErrors.InvalidArgument),
        ];
        foreach (var (call, error) in cases)
        {
            var ex = await Assert.ThrowsAsync<RoomBusException>(call);
            Assert.Equal(error, ex.ErrorName);
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        }

        Assert.Equal(before with { NtpServers = [] }, (await client.GetStatusAsync()).Admin with { NtpServers = [] });
        Assert.Equal(before.NtpServers, (await client.GetStatusAsync()).Admin.NtpServers);
        Assert.Equal(fileBefore, File.Exists(settingsFile) ? await File.ReadAllBytesAsync(settingsFile) : null);
        Assert.False((await client.GetStatusAsync()).Admin.PinSet);
    }

    [Fact]
    public async Task Diagnostics_hold_versions_devices_and_log_but_no_meeting_key_pin_or_hash()
    {
        await using var roomd = await StartAsync();
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        const string pin = "97531086";
        await client.SetPinAsync(pin);
        var key = LinkKey.NewSecretText();
        // Port 9 (discard) on loopback: nothing listens, the join fails and is logged, the key with it if anything leaked.
        await client.JoinAsync($"test-janus-linkkey://127.0.0.1:9/4242#k={key}");
        var until = Stopwatch.StartNew();
        while ((await client.GetStatusAsync()).Meeting is { State: not MeetingStates.Error, LastError.Length: 0 })
        {
            Assert.True(until.Elapsed < TimeSpan.FromSeconds(60), "the join to nowhere never failed");
            await Task.Delay(20);
        }

        var bundle = await client.GetDiagnosticsAsync();
        Assert.Contains("roomd: ", bundle, StringComparison.Ordinal);
        Assert.Contains(".NET: ", bundle, StringComparison.Ordinal);
        Assert.Contains("sim:camera-wide", bundle, StringComparison.Ordinal);
        Assert.Contains("Admin PIN changed", bundle, StringComparison.Ordinal);
        Assert.Contains("4242", bundle, StringComparison.Ordinal);
        var hashFile = await File.ReadAllTextAsync(Path.Combine(State, "admin-pin"));
        var hash = hashFile[(hashFile.IndexOf("\"hash\":\"", StringComparison.Ordinal) + 8)..].Split('"')[0];
        var salt = hashFile[(hashFile.IndexOf("\"salt\":\"", StringComparison.Ordinal) + 8)..].Split('"')[0];
        foreach (var secret in new[] { key, pin, hash, salt })
        {
            Assert.DoesNotContain(secret, bundle, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, roomd.Log, StringComparison.Ordinal);
        }

        var status = await CliProcess.RunAsync(_bus.Address, "--json", "status");
        Assert.DoesNotContain(key, status.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(pin, status.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reboot_goes_through_the_system_power_and_is_refused_when_there_is_none()
    {
        await using (var roomd = await StartAsync())
        {
            using var client = await RoomBusClient.ConnectAsync(_bus.Address);
            await client.RebootAsync();
            Assert.Equal("reboot\n", await File.ReadAllTextAsync(PowerLog));
        }

        await using var unpowered = await RoomdProcess.StartAsync(_bus.Address, State);
        using var c = await RoomBusClient.ConnectAsync(_bus.Address);
        await c.SetPinAsync("123456");
        var reboot = await Assert.ThrowsAsync<RoomBusException>(c.RebootAsync);
        Assert.Equal(BusErrors.NotSupported, reboot.ErrorName);
        var reset = await Assert.ThrowsAsync<RoomBusException>(c.FactoryResetAsync);
        Assert.Equal(BusErrors.NotSupported, reset.ErrorName);
        // Refused before anything was forgotten.
        Assert.True((await c.GetStatusAsync()).Admin.PinSet);
        Assert.Equal("reboot\n", await File.ReadAllTextAsync(PowerLog));
    }

    [Fact]
    public async Task Factory_reset_forgets_settings_pin_and_presets_and_reboots()
    {
        await using var roomd = await StartAsync("--Room:Name", "Installiert");
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        await client.SetPinAsync("123456");
        await client.SetRoomNameAsync("Umbenannt");
        await client.StorePresetAsync("Tafel");
        var seen = new List<(string, string)>();
        var gate = new Lock();
        using var watch = await client.WatchAsync((iface, changed) =>
        {
            lock (gate)
            {
                seen.AddRange(changed.Keys.Select(k => (iface, k)));
            }
        });
        Assert.True((await client.GetStatusAsync()).Admin.PinSet);

        await client.FactoryResetAsync();

        var status = await client.GetStatusAsync();
        Assert.False(status.Admin.PinSet);
        Assert.Equal("Installiert", status.Admin.RoomName);
        Assert.Equal("reboot\n", await File.ReadAllTextAsync(PowerLog));
        Assert.False(File.Exists(Path.Combine(State, "settings.json")));
        Assert.False(File.Exists(Path.Combine(State, "admin-pin")));
        Assert.False(File.Exists(Path.Combine(State, "presets.json")));
        var until = Stopwatch.StartNew();
        while (true)
        {
            lock (gate)
            {
                if (seen.Contains((BusNames.Admin, "PinSet")))
                {
                    break;
                }
            }

            Assert.True(until.Elapsed < TimeSpan.FromSeconds(30), "PinSet's change was never announced");
            await Task.Delay(20);
        }
    }
}

internal static class CancellationExtensions
{
    public static bool IsCancelled(this CancellationTokenSource cts) => cts.IsCancellationRequested;
}
