using System.Diagnostics;

namespace Room.Testing;

/// <summary>
/// A dbus-daemon run as a system bus (type system, the machine's default-deny rules) with a shipped policy included
/// (roomd's deploy/org.room.Appliance1.conf unless another is named); its socket is open to every local user so that
/// tests (as root) can call it as other users through setpriv.
/// </summary>
public sealed class SystemTypeBus : IDisposable
{
    private readonly Process _daemon;

    /// <param name="policyFile">The policy under test; null: roomd's.</param>
    public SystemTypeBus(string? policyFile = null)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("room-sysbus-").FullName;
        File.SetUnixFileMode(Directory, (UnixFileMode)0b111_101_101);
        var policy = policyFile ?? Path.Combine(RepoPaths.Root, "appliance/Room.Appliance/deploy/org.room.Appliance1.conf");
        var config = Path.Combine(Directory, "system.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>unix:path={Directory}/system_bus_socket</listen>
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
        (_daemon, Address) = PrivateBus.StartDaemon(config);
        File.SetUnixFileMode(Path.Combine(Directory, "system_bus_socket"), (UnixFileMode)0b111_111_111);
    }

    public string Address { get; }

    /// <summary>A scratch folder (world-readable, root-writable) that lives as long as the bus.</summary>
    public string Directory { get; }

    /// <summary>Runs a command and returns its exit code and output (stdin optional).</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string? stdin, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(stdin ?? "");
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await o, await e);
    }

    /// <summary>Makes sure the system group and user exist (the appliance image creates them; a test machine may not have them).</summary>
    public static async Task EnsureUserAsync(string user, string group)
    {
        if ((await RunAsync(null, "getent", "group", group)).Code != 0)
        {
            await RunAsync(null, "groupadd", "--system", group);
        }

        if ((await RunAsync(null, "getent", "passwd", user)).Code != 0)
        {
            await RunAsync(null, "useradd", "--system", "--no-create-home", "--gid", group, "--shell", "/usr/sbin/nologin", user);
        }
    }

    public void Dispose() => ServerProcess.Stop(_daemon, Directory);
}
