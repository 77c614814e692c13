using System.Diagnostics;
using Room.Bus;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// The shipped system-bus policy (deploy/org.room.Appliance1.conf) on a dbus-daemon run as a system bus:
/// root and the room group may call roomd, other users may not even introspect it.
/// </summary>
public sealed class SystemBusPolicyTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "room-sysbus-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _daemon;
    private RoomdProcess? _roomd;
    private string _address = "";

    public async Task InitializeAsync()
    {
        if (Environment.UserName != "root")
        {
            return;
        }

        // The policy names the `room` group; the appliance image creates it, a test machine may not have it.
        if ((await Run("getent", "group", "room")).Code != 0)
        {
            await Run("groupadd", "--system", "room");
        }

        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        var policy = Path.Combine(RepoPaths.Root, "appliance/Room.Appliance/deploy/org.room.Appliance1.conf");
        var config = Path.Combine(_dir, "system.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>unix:path={_dir}/system_bus_socket</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <deny own="*"/>
                <deny send_type="method_call"/>
                <allow send_type="signal"/>
                <allow send_requested_reply="true" send_type="method_return"/>
                <allow send_requested_reply="true" send_type="error"/>
                <allow receive_type="method_call"/>
                <allow receive_type="method_return"/>
                <allow receive_type="error"/>
                <allow receive_type="signal"/>
                <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
                <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
              </policy>
              <include>{policy}</include>
            </busconfig>
            """);
        _daemon = Process.Start(new ProcessStartInfo("dbus-daemon", ["--config-file", config, "--nofork", "--print-address"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        _address = (await _daemon.StandardOutput.ReadLineAsync())!.Trim();
        File.SetUnixFileMode(Path.Combine(_dir, "system_bus_socket"), (UnixFileMode)0b111_111_111);
        // No --bus: roomd finds the system bus as in production (DBUS_SYSTEM_BUS_ADDRESS, as libdbus honours it, points
        // it at this one instead of the machine's /run/dbus/system_bus_socket).
        _roomd = await RoomdProcess.StartAsync(new RoomdLaunch(null, Path.Combine(_dir, "state"))
        {
            WaitAddress = _address,
            Environment = new Dictionary<string, string?> { ["DBUS_SYSTEM_BUS_ADDRESS"] = _address },
        });
    }

    public async Task DisposeAsync()
    {
        if (_roomd is not null)
        {
            await _roomd.DisposeAsync();
        }

        _daemon?.Kill();
        _daemon?.Dispose();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private Task<(int Code, string Out, string Err)> CallAs(string? user, string? group, string method, params string[] args)
    {
        var gdbus = new List<string> { "gdbus", "call", "--address", _address, "--dest", BusNames.Service, "--object-path", BusNames.ObjectPath, "--method", method };
        gdbus.AddRange(args);
        if (user is null)
        {
            return Run([.. gdbus]);
        }

        var setpriv = new List<string> { "setpriv", $"--reuid={user}", $"--regid={group ?? user}" };
        setpriv.Add(group is null ? "--clear-groups" : $"--groups={group}");
        setpriv.AddRange(gdbus);
        return Run([.. setpriv]);
    }

    [SkippableFact]
    public async Task Root_may_call_roomd()
    {
        Skip.If(Environment.UserName != "root", "needs root to run a system bus and switch users");
        var r = await CallAs(null, null, "org.freedesktop.DBus.Properties.Get", BusNames.Meeting, "State");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("idle", r.Out, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_member_of_the_room_group_may_call_roomd()
    {
        Skip.If(Environment.UserName != "root", "needs root to run a system bus and switch users");
        var r = await CallAs("nobody", "room", "org.room.Appliance1.Meeting.SetVolume", "30");
        Assert.True(r.Code == 0, r.Err);
    }

    [SkippableFact]
    public async Task Other_users_are_denied_calls_and_introspection()
    {
        Skip.If(Environment.UserName != "root", "needs root to run a system bus and switch users");
        var call = await CallAs("nobody", "nogroup", "org.room.Appliance1.Meeting.Join", "test-loopback://meet.example.org/m/1");
        Assert.NotEqual(0, call.Code);
        Assert.Contains("AccessDenied", call.Err, StringComparison.Ordinal);

        var introspect = await CallAs("nobody", "nogroup", "org.freedesktop.DBus.Introspectable.Introspect");
        Assert.NotEqual(0, introspect.Code);
        Assert.Contains("AccessDenied", introspect.Err, StringComparison.Ordinal);

        var state = await CallAs(null, null, "org.freedesktop.DBus.Properties.Get", BusNames.Meeting, "State");
        Assert.Contains("idle", state.Out, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Only_root_and_roomds_own_user_may_own_the_name()
    {
        Skip.If(Environment.UserName != "root", "needs root to run a system bus and switch users");
        await SystemTypeBus.EnsureUserAsync("room", "room");
        // RequestName with DO_NOT_QUEUE (4): roomd holds the name, so an allowed caller hears 3 (exists); a caller the
        // policy refuses gets AccessDenied before the bus even looks at the owner.
        var stranger = await RequestNameAs("nobody", "nogroup");
        Assert.NotEqual(0, stranger.Code);
        Assert.Contains("AccessDenied", stranger.Err, StringComparison.Ordinal);

        // The kiosk's user is in the room group: it may call roomd, not pose as it.
        var member = await RequestNameAs("nobody", "room");
        Assert.NotEqual(0, member.Code);
        Assert.Contains("AccessDenied", member.Err, StringComparison.Ordinal);

        var roomd = await RequestNameAs("room", "room");
        Assert.True(roomd.Code == 0, roomd.Err);
        Assert.Contains("uint32 3", roomd.Out, StringComparison.Ordinal);
    }

    private Task<(int Code, string Out, string Err)> RequestNameAs(string user, string group) =>
        Run("setpriv", $"--reuid={user}", $"--regid={group}", $"--groups={group}",
            "gdbus", "call", "--address", _address, "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
            "--method", "org.freedesktop.DBus.RequestName", BusNames.Service, "4");

    private static async Task<(int Code, string Out, string Err)> Run(params string[] command)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await o, await e);
    }
}
