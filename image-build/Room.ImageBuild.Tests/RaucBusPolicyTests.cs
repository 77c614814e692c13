using System.Diagnostics;
using Room.Testing;

namespace Room.ImageBuild.Tests;

/// <summary>
/// The image's D-Bus policy for RAUC (dbus/de.pengutronix.rauc.conf, which replaces Debian's allow-everyone policy) on
/// a real dbus-daemon run as a system bus, with the real RAUC service owning its name: root and roomd's user `room`
/// may ask RAUC (status here; install and mark go the same way), any other user is denied.
/// </summary>
public sealed class RaucBusPolicyTests : IAsyncLifetime, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-raucbus-").FullName;
    private Process? _daemon;
    private Process? _rauc;
    private string _address = "";

    private Dictionary<string, string> Env => new() { ["DBUS_SYSTEM_BUS_ADDRESS"] = _address };

    public async Task InitializeAsync()
    {
        await SystemTypeBus.EnsureUserAsync("room", "room");
        // The panel's user, which must not reach RAUC (any user but root and room).
        await SystemTypeBus.EnsureUserAsync("room-panel", "room-panel");
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        var policy = Tool.ImageBuild("dbus/de.pengutronix.rauc.conf");
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
        _daemon = Start("dbus-daemon", ["--config-file", config, "--nofork", "--print-address"], null, readAddress: true);
        File.SetUnixFileMode(Path.Combine(_dir, "system_bus_socket"), (UnixFileMode)0b111_111_111);

        var slot = Path.Combine(_dir, "slot-a.img");
        File.WriteAllBytes(slot, new byte[4096]);
        File.WriteAllBytes(Path.Combine(_dir, "slot-b.img"), new byte[4096]);
        var conf = Path.Combine(_dir, "rauc.conf");
        File.WriteAllText(conf, $"""
            [system]
            compatible=room-box-amd64
            bootloader=noop
            mountprefix={_dir}/mnt

            [slot.rootfs.0]
            device={slot}
            type=raw
            bootname=A

            [slot.rootfs.1]
            device={_dir}/slot-b.img
            type=raw
            bootname=B
            """);
        _rauc = Start("rauc", ["--conf", conf, "--override-boot-slot=A", "service"], Env, readAddress: false);
        for (var i = 0; (await Tool.RunAsync("rauc", ["status"], Env)).Code != 0; i++)
        {
            if (_rauc.HasExited || i > 600)
            {
                throw new InvalidOperationException("the rauc service did not come up on the system-type bus");
            }

            await Task.Delay(100);
        }
    }

    private Process Start(string exe, string[] args, Dictionary<string, string>? env, bool readAddress)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in env ?? [])
        {
            psi.Environment[k] = v;
        }

        var p = Process.Start(psi) ?? throw new InvalidOperationException($"{exe} did not start");
        if (readAddress)
        {
            _address = p.StandardOutput.ReadLine()?.Trim() ?? throw new InvalidOperationException("dbus-daemon printed no address");
        }

        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        if (!readAddress)
        {
            p.BeginOutputReadLine();
        }

        p.BeginErrorReadLine();
        return p;
    }

    private Task<(int Code, string Out, string Err)> StatusAs(string user) =>
        Tool.RunAsync("setpriv", [$"--reuid={user}", $"--regid={user}", "--clear-groups", "rauc", "status"], Env);

    [Fact]
    public async Task Roomds_user_may_ask_rauc()
    {
        var (code, o, e) = await StatusAs("room");
        Assert.True(code == 0, $"room was refused: {o}{e}");
        Assert.Contains("rootfs.0", o, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Root_may_ask_rauc()
    {
        var (code, o, e) = await Tool.RunAsync("rauc", ["status"], Env);
        Assert.True(code == 0, $"root was refused: {o}{e}");
    }

    [Fact]
    public async Task Any_other_user_such_as_the_panels_is_denied()
    {
        var (code, o, e) = await StatusAs("room-panel");
        Assert.NotEqual(0, code);
        Assert.True((o + e).Contains("Rejected send message", StringComparison.Ordinal), $"room-panel was not denied by the bus policy: {o}{e}");
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (_rauc is not null)
        {
            ServerProcess.Stop(_rauc);
            _rauc = null;
        }

        if (_daemon is not null)
        {
            ServerProcess.Stop(_daemon);
            _daemon = null;
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
