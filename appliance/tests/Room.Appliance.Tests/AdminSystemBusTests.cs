using System.Diagnostics;
using Room.Bus;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// Administration as roomd enforces it, on a system-type bus with the shipped policy: the test runs as root and calls as
/// the kiosk's kind of user (nobody in the room group) through setpriv. Root is an admin; anyone else only on the bus
/// connection its PIN opened a session on.
/// </summary>
public sealed class AdminSystemBusTests : IAsyncLifetime, IDisposable
{
    private const string Pin = "86420975";
    private SystemTypeBus? _bus;
    private RoomdProcess? _roomd;

    private static bool IsRoot => Environment.UserName == "root";

    public async Task InitializeAsync()
    {
        if (!IsRoot)
        {
            return;
        }

        await SystemTypeBus.EnsureUserAsync("room", "room");
        _bus = new SystemTypeBus();
        _roomd = await RoomdProcess.StartAsync(new RoomdLaunch(null, Path.Combine(_bus.Directory, "state"))
        {
            WaitAddress = _bus.Address,
            Environment = new Dictionary<string, string?> { ["DBUS_SYSTEM_BUS_ADDRESS"] = _bus.Address },
        });
        // Root sets (resets) the PIN without knowing any old one.
        var set = await RoomctlAs(null, Pin + "\n", "admin", "pin", "set");
        Assert.True(set.Code == 0, set.Err + _roomd.Log);
    }

    public async Task DisposeAsync()
    {
        if (_roomd is not null)
        {
            await _roomd.DisposeAsync();
        }
    }

    public void Dispose() => _bus?.Dispose();

    [SkippableFact]
    public async Task Root_may_administer_without_a_pin()
    {
        Skip.IfNot(IsRoot, "needs root to run a system bus and switch users");
        var r = await RoomctlAs(null, null, "admin", "name", "Ratssaal", "Root");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("Ratssaal Root", (await RoomctlAs(null, null, "admin")).Out, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Every_admin_method_is_refused_to_a_room_group_member_without_a_session()
    {
        Skip.IfNot(IsRoot, "needs root to run a system bus and switch users");
        var before = (await RoomctlAs(null, null, "--json", "admin")).Out;
        string[][] commands =
        [
            ["admin", "name", "Übernommen"],
            ["admin", "camera", "-"],
            ["admin", "standby", "5"],
            ["admin", "volume", "10"],
            ["admin", "language", "en"],
            ["admin", "time", "Europe/Berlin"],
            ["admin", "maintenance", "01:00", "30"],
            ["admin", "network", "static", "192.0.2.10/24", "192.0.2.1"],
            ["admin", "proxy", "http://proxy.example:3128"],
            ["admin", "diagnostics"],
            ["admin", "reboot"],
            ["admin", "factory-reset", "--yes"],
        ];
        foreach (var c in commands)
        {
            var r = await RoomctlAs("nobody", null, c);
            Assert.True(r.Code == 1, $"{string.Join(' ', c)}: {r.Code} {r.Out} {r.Err}");
            Assert.Contains(BusErrors.NotAuthorized, r.Err, StringComparison.Ordinal);
            Assert.Contains("admin session", r.Err, StringComparison.Ordinal);
        }

        var pin = await RoomctlAs("nobody", "123456789\n", "admin", "pin", "set");
        Assert.Contains(BusErrors.NotAuthorized, pin.Err, StringComparison.Ordinal);
        Assert.Equal(before, (await RoomctlAs(null, null, "--json", "admin")).Out);

        // The contract lists the methods; every one except Unlock and Lock was refused above (SetPin too).
        var refused = new[] { "SetRoomName", "SetDefaultCamera", "SetDisplayStandby", "SetDefaultVolume", "SetLanguage", "SetTime", "SetMaintenanceWindow", "SetNetwork", "SetProxy", "GetDiagnostics", "Reboot", "FactoryReset", "SetPin" };
        Assert.Equal(BusContract.Interfaces[BusNames.Admin].Methods.Keys.Except(["Unlock", "Lock"]).Order(), refused.Order());
    }

    [SkippableFact]
    public async Task The_right_pin_opens_a_session_for_that_connection_and_a_wrong_one_does_not()
    {
        Skip.IfNot(IsRoot, "needs root to run a system bus and switch users");
        var ok = await RoomctlAs("nobody", Pin + "\n", "--pin-stdin", "admin", "volume", "33");
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("volume      33", (await RoomctlAs(null, null, "admin")).Out, StringComparison.Ordinal);

        var wrong = await RoomctlAs("nobody", "000000\n", "--pin-stdin", "admin", "volume", "44");
        Assert.Equal(1, wrong.Code);
        Assert.Contains(BusErrors.NotAuthorized + ": Wrong PIN", wrong.Err, StringComparison.Ordinal);
        Assert.Contains("volume      33", (await RoomctlAs(null, null, "admin")).Out, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_session_belongs_to_one_connection_a_second_client_of_the_same_user_cannot_use_it()
    {
        Skip.IfNot(IsRoot, "needs root to run a system bus and switch users");
        // One roomctl (one bus connection) unlocks and keeps its connection open.
        using var shell = StartRoomctlAs("nobody", "admin", "shell");
        await shell.StandardInput.WriteLineAsync("unlock");
        await shell.StandardInput.WriteLineAsync(Pin);
        await shell.StandardInput.FlushAsync();
        var unlocked = await shell.StandardOutput.ReadLineAsync();
        Assert.StartsWith("ok unlocked until", unlocked, StringComparison.Ordinal);

        // While it is open, the same Unix user on another connection is refused.
        var other = await RoomctlAs("nobody", null, "admin", "name", "Zweiter");
        Assert.Contains(BusErrors.NotAuthorized, other.Err, StringComparison.Ordinal);

        await shell.StandardInput.WriteLineAsync("name Erster");
        await shell.StandardInput.FlushAsync();
        Assert.StartsWith("ok ", await shell.StandardOutput.ReadLineAsync(), StringComparison.Ordinal);

        await shell.StandardInput.WriteLineAsync("lock");
        await shell.StandardInput.WriteLineAsync("name Nach dem Sperren");
        await shell.StandardInput.FlushAsync();
        Assert.StartsWith("ok ", await shell.StandardOutput.ReadLineAsync(), StringComparison.Ordinal);
        Assert.StartsWith("error " + BusErrors.NotAuthorized, await shell.StandardOutput.ReadLineAsync(), StringComparison.Ordinal);
        shell.StandardInput.Close();
        await shell.WaitForExitAsync();

        Assert.Contains("room name   Erster", (await RoomctlAs(null, null, "admin")).Out, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_pin_never_appears_in_properties_diagnostics_or_the_log()
    {
        Skip.IfNot(IsRoot, "needs root to run a system bus and switch users");
        Assert.Equal(0, (await RoomctlAs("nobody", Pin + "\n", "--pin-stdin", "admin", "language", "de")).Code);
        var status = await RoomctlAs(null, null, "--json", "status");
        var diagnostics = await RoomctlAs(null, null, "admin", "diagnostics");
        Assert.Equal(0, diagnostics.Code);
        Assert.Contains("## devices", diagnostics.Out, StringComparison.Ordinal);
        var hash = File.ReadAllText(Path.Combine(_bus!.Directory, "state", "admin-pin"));
        var hashValue = hash[(hash.IndexOf("\"hash\":\"", StringComparison.Ordinal) + 8)..].Split('"')[0];
        foreach (var text in new[] { status.Out, diagnostics.Out, _roomd!.Log })
        {
            Assert.DoesNotContain(Pin, text, StringComparison.Ordinal);
            Assert.DoesNotContain(hashValue, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Pin, hash, StringComparison.Ordinal);
    }

    private Task<(int Code, string Out, string Err)> RoomctlAs(string? user, string? stdin, params string[] args)
    {
        var command = new List<string>();
        if (user is not null)
        {
            command.AddRange(["setpriv", $"--reuid={user}", "--regid=nogroup", "--groups=room", "env", "HOME=/tmp", "DOTNET_CLI_TELEMETRY_OPTOUT=1"]);
        }

        command.AddRange(["dotnet", RepoPaths.Output("appliance/Room.Cli", "roomctl.dll"), "--bus", _bus!.Address]);
        command.AddRange(args);
        return SystemTypeBus.RunAsync(stdin, [.. command]);
    }

    private Process StartRoomctlAs(string user, params string[] args)
    {
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { $"--reuid={user}", "--regid=nogroup", "--groups=room", "env", "HOME=/tmp", "dotnet", RepoPaths.Output("appliance/Room.Cli", "roomctl.dll"), "--bus", _bus!.Address })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }
}
