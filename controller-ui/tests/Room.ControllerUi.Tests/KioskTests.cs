using System.Diagnostics;

namespace Room.ControllerUi.Tests;

/// <summary>The kiosk unit and its launcher (image-build/kiosk), with a stand-in for the browser.</summary>
[Collection(PanelGroup.Name)]
public sealed class KioskTests(PanelFixture fx)
{
    private static string Kiosk => Path.Combine(Repo.Root, "image-build", "kiosk");

    [Fact]
    public void The_kiosk_unit_restarts_the_browser_and_starts_after_the_panel()
    {
        var unit = File.ReadAllLines(Path.Combine(Kiosk, "room-kiosk.service"));
        Assert.Contains("Restart=always", unit);
        Assert.Contains(unit, l => l.StartsWith("After=", StringComparison.Ordinal) && l.Contains("room-panel.service", StringComparison.Ordinal));
        Assert.Contains(unit, l => l.StartsWith("Wants=", StringComparison.Ordinal) && l.Contains("room-panel.service", StringComparison.Ordinal));
        Assert.Contains(unit, l => l.StartsWith("ExecStart=", StringComparison.Ordinal) && l.EndsWith("/usr/lib/room/room-kiosk-launch", StringComparison.Ordinal));
        Assert.DoesNotContain(unit, l => l.StartsWith("User=root", StringComparison.Ordinal));

        var panel = File.ReadAllLines(Path.Combine(Kiosk, "room-panel.service"));
        Assert.Contains("Restart=always", panel);
        Assert.Contains(panel, l => l.StartsWith("ExecStart=", StringComparison.Ordinal) && l.Contains("127.0.0.1:8080", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("room-kiosk.service", new[] { "/usr/bin/cage", "/usr/lib/room/room-kiosk-launch" })]
    [InlineData("room-panel.service", new[] { "/usr/lib/room/controller-ui/Room.ControllerUi" })]
    public async Task The_units_pass_systemd_analyze_verify(string unit, string[] executables)
    {
        var (code, output) = await Room.Testing.SystemdUnits.VerifyAsync(Path.Combine(Kiosk, unit), executables);
        Assert.True(code == 0 && output.Length == 0, $"systemd-analyze verify {unit} ({code}):\n{output}");
    }

    [Fact]
    public async Task The_launcher_waits_for_the_panel_then_starts_the_browser_full_screen_with_a_throwaway_profile()
    {
        var dir = Directory.CreateTempSubdirectory("room-kiosk-test-").FullName;
        try
        {
            var argsFile = Path.Combine(dir, "args");
            var stub = Path.Combine(dir, "browser");
            await File.WriteAllTextAsync(stub, $"#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > '{argsFile}'\nexit 3\n");
            File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            var psi = new ProcessStartInfo("/bin/sh", [Path.Combine(Kiosk, "room-kiosk-launch")]) { UseShellExecute = false };
            psi.Environment["ROOM_PANEL_URL"] = fx.Url;
            psi.Environment["ROOM_BROWSER"] = stub;
            psi.Environment["ROOM_KIOSK_WAIT"] = "30";
            psi.Environment["XDG_RUNTIME_DIR"] = dir;
            using var p = Process.Start(psi)!;
            await p.WaitForExitAsync().WaitAsync(PanelFixture.Patience);

            Assert.Equal(3, p.ExitCode);
            var args = await File.ReadAllLinesAsync(argsFile);
            var kiosk = Array.IndexOf(args, "--kiosk");
            Assert.True(kiosk >= 0, string.Join(' ', args));
            Assert.Equal(fx.Url, args[kiosk + 1]);
            Assert.Contains("--noerrdialogs", args);
            Assert.Contains("--disable-background-networking", args);
            var profile = args.Single(a => a.StartsWith("--user-data-dir=", StringComparison.Ordinal))["--user-data-dir=".Length..];
            Assert.StartsWith(dir, profile, StringComparison.Ordinal);
            Assert.False(Directory.Exists(profile), "the profile outlived the browser");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
