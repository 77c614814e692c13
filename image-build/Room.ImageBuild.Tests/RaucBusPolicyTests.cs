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
    private SystemTypeBus? _bus;
    private Process? _rauc;

    private string Dir => _bus!.Directory;

    private Dictionary<string, string> Env => new() { ["DBUS_SYSTEM_BUS_ADDRESS"] = _bus!.Address };

    public async Task InitializeAsync()
    {
        await SystemTypeBus.EnsureUserAsync("room", "room");
        // The panel's user, which must not reach RAUC (any user but root and room).
        await SystemTypeBus.EnsureUserAsync("room-panel", "room-panel");
        _bus = new SystemTypeBus(Tool.ImageBuild("dbus/de.pengutronix.rauc.conf"));

        var slot = Path.Combine(Dir, "slot-a.img");
        File.WriteAllBytes(slot, new byte[4096]);
        File.WriteAllBytes(Path.Combine(Dir, "slot-b.img"), new byte[4096]);
        var conf = Path.Combine(Dir, "rauc.conf");
        File.WriteAllText(conf, $"""
            [system]
            compatible=room-box-amd64
            bootloader=noop
            mountprefix={Dir}/mnt

            [slot.rootfs.0]
            device={slot}
            type=raw
            bootname=A

            [slot.rootfs.1]
            device={Dir}/slot-b.img
            type=raw
            bootname=B
            """);
        _rauc = Start("rauc", ["--conf", conf, "--override-boot-slot=A", "service"], Env);
        for (var i = 0; (await Tool.RunAsync("rauc", ["status"], Env)).Code != 0; i++)
        {
            if (_rauc.HasExited || i > 600)
            {
                throw new InvalidOperationException("the rauc service did not come up on the system-type bus");
            }

            await Task.Delay(100);
        }
    }

    private static Process Start(string exe, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        var p = Process.Start(psi) ?? throw new InvalidOperationException($"{exe} did not start");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
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

        _bus?.Dispose(); // the daemon and its folder (the slots and RAUC's configuration in it)
        _bus = null;
    }
}
