using System.Text;
using Room.Appliance.Administration.Time;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// Time settings through roomd's Admin interface, applied by Debian's real systemd-timedated and systemd-timesyncd
/// (each in a mount namespace of the test's own, without CAP_SYS_TIME: see <see cref="TimeLab"/>) and read back from
/// them. The machine's /etc/localtime must be the same afterwards.
/// </summary>
public sealed class AdminTimeTests
{
    private const int CapSysTime = 25;

    private static Task<RoomdProcess> StartRoomdAsync(TimeLab lab, string unit = TimeLab.TimesyncUnit) =>
        RoomdProcess.StartAsync(lab.BusAddress, Path.Combine(lab.Directory, "state"),
            "--Admin:Time", "systemd", "--Admin:TimeBus", lab.BusAddress, "--Admin:TimeSyncDirectory", lab.SyncDirectory, "--Admin:TimeSyncUnit", unit);

    private static string DropIn(TimeLab lab) => Path.Combine(lab.SyncDirectory, TimesyncdDropIn.FileName);

    /// <summary>The machine's own time zone: /etc/localtime's link and bytes, and /etc/timezone.</summary>
    private static string HostTimeZone() =>
        $"{new FileInfo("/etc/localtime").LinkTarget} {Convert.ToHexString(File.ReadAllBytes("/etc/localtime"))} {(File.Exists("/etc/timezone") ? File.ReadAllText("/etc/timezone") : "-")}";

    [Fact]
    public async Task The_zone_goes_to_timedated_and_the_NTP_servers_to_timesyncd_and_roomd_shows_what_they_report()
    {
        var host = HostTimeZone();
        using (var lab = await TimeLab.StartAsync())
        {
            await using var roomd = await StartRoomdAsync(lab);
            using var client = await RoomBusClient.ConnectAsync(lab.BusAddress);
            var before = (await client.GetStatusAsync()).Admin;
            Assert.False(before.TimeSettingsApplied);
            Assert.StartsWith("not set through Admin", before.TimeStatus, StringComparison.Ordinal);
            var firstTimesyncd = lab.TimesyncdPid;

            await client.SetTimeAsync("Europe/Berlin", ["127.0.0.1", "127.0.0.2"]);

            // timedated linked /etc/localtime in its own view of /etc, and says so.
            Assert.Equal("../usr/share/zoneinfo/Europe/Berlin", new FileInfo(Path.Combine(lab.EtcChanges, "localtime")).LinkTarget);
            Assert.Equal("s \"Europe/Berlin\"", await lab.GetPropertyAsync("org.freedesktop.timedate1", "Timezone"));
            // The drop-in, to the byte; systemd was asked to restart timesyncd, and the new one reads it.
            Assert.Equal($"{TimesyncdDropIn.Marker}\n[Time]\nNTP=127.0.0.1 127.0.0.2\n", await File.ReadAllTextAsync(DropIn(lab), Encoding.UTF8));
            Assert.Equal([$"{TimeLab.TimesyncUnit} replace"], lab.Restarts);
            Assert.NotEqual(firstTimesyncd, lab.TimesyncdPid);
            Assert.Equal("as 2 \"127.0.0.1\" \"127.0.0.2\"", await lab.GetPropertyAsync("org.freedesktop.timesync1", "SystemNTPServers"));

            var set = (await client.GetStatusAsync()).Admin;
            Assert.True(set.TimeSettingsApplied, set.TimeStatus + "\n" + roomd.Log);
            Assert.Equal("Europe/Berlin", set.TimeZone);
            Assert.Equal(["127.0.0.1", "127.0.0.2"], set.NtpServers);
            Assert.StartsWith("applied: systemd-timedated reports Europe/Berlin, systemd-timesyncd NTP servers [127.0.0.1 127.0.0.2]", set.TimeStatus, StringComparison.Ordinal);
            Assert.Contains($"time zone: Europe/Berlin ntp: 127.0.0.1 127.0.0.2 ({set.TimeStatus})", await client.GetDiagnosticsAsync(), StringComparison.Ordinal);

            // No servers: the drop-in goes, timesyncd restarts with the image's (none here); a new zone.
            var shown = await CliProcess.RunAsync(lab.BusAddress, "admin", "time", "Europe/Vienna");
            Assert.True(shown.ExitCode == 0, shown.Output + shown.Error);
            Assert.Contains("(applied: systemd-timedated reports Europe/Vienna", shown.Output, StringComparison.Ordinal);
            Assert.False(File.Exists(DropIn(lab)));
            Assert.Equal(2, lab.Restarts.Count);
            Assert.Equal("as 0", await lab.GetPropertyAsync("org.freedesktop.timesync1", "SystemNTPServers"));
            Assert.Equal("s \"Europe/Vienna\"", await lab.GetPropertyAsync("org.freedesktop.timedate1", "Timezone"));

            // Neither daemon could have set the clock or the kernel's time zone.
            Assert.Equal(0UL, (await lab.EffectiveCapabilitiesAsync("org.freedesktop.timedate1")) & (1UL << CapSysTime));
            Assert.Equal(0UL, (await lab.EffectiveCapabilitiesAsync("org.freedesktop.timesync1")) & (1UL << CapSysTime));
        }

        Assert.Equal(host, HostTimeZone());
    }

    [Fact]
    public async Task Refusals_by_timedated_or_systemd_and_bad_input_leave_the_applied_and_stored_settings_as_they_were()
    {
        var host = HostTimeZone();
        using (var lab = await TimeLab.StartAsync(zoneTimedatedLacks: "Antarctica/Troll"))
        {
            await using (var roomd = await StartRoomdAsync(lab))
            {
                using var client = await RoomBusClient.ConnectAsync(lab.BusAddress);
                await client.SetTimeAsync("Europe/Berlin", ["127.0.0.1"]);
                var good = (await client.GetStatusAsync()).Admin;
                Assert.True(good.TimeSettingsApplied, good.TimeStatus + "\n" + roomd.Log + "\n" + lab.Log);
                var dropIn = await File.ReadAllBytesAsync(DropIn(lab));

                // roomd knows the zone, timedated does not: its refusal is the admin's error, nothing is stored.
                var refused = await Assert.ThrowsAsync<RoomBusException>(() => client.SetTimeAsync("Antarctica/Troll", ["127.0.0.2"]));
                Assert.Equal(BusErrors.InvalidArgument, refused.ErrorName);
                Assert.Contains("systemd-timedated does not take the time zone 'Antarctica/Troll'", refused.Message, StringComparison.Ordinal);

                (string Zone, string[] Ntp, string Error)[] bad =
                [
                    ("../../etc/passwd", [], BusErrors.InvalidArgument),
                    ("/etc/passwd", [], BusErrors.InvalidArgument),
                    ("Europe/../../../etc/passwd", [], BusErrors.InvalidArgument),
                    ("Mars/Olympus_Mons", [], BusErrors.InvalidArgument),
                    ("", [], BusErrors.InvalidArgument),
                    ("Europe/Berlin", ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"], BusErrors.OutOfRange),
                    ("Europe/Berlin", ["ntp.example\n[Time]\nFallbackNTP=evil.example"], BusErrors.InvalidArgument),
                    ("Europe/Berlin", ["a b"], BusErrors.InvalidArgument),
                    ("Europe/Berlin", [""], BusErrors.InvalidArgument),
                    ("Europe/Berlin", ["127.0.0.1", "127.0.0.1"], BusErrors.InvalidArgument),
                ];
                foreach (var (zone, ntp, error) in bad)
                {
                    var ex = await Assert.ThrowsAsync<RoomBusException>(() => client.SetTimeAsync(zone, ntp));
                    Assert.True(error == ex.ErrorName, $"'{zone}' [{string.Join(',', ntp)}]: {ex.ErrorName} {ex.Message}");
                }

                await AssertUnchangedAsync(lab, client, good, dropIn, restarts: 1);

                // A caller polkit does not allow (not root; this bus has no polkit): what timedated answers is what roomd maps.
                var (code, _, said) = await ToolRun.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "gdbus", "call", "--address", lab.BusAddress,
                    "--dest", "org.freedesktop.timedate1", "--object-path", "/org/freedesktop/timedate1", "--method", "org.freedesktop.timedate1.SetTimezone", "Europe/Vienna", "false"]);
                Assert.NotEqual(0, code);
                var reply = System.Text.RegularExpressions.Regex.Match(said, @"GDBus\.Error:([A-Za-z0-9_.]+): (.*)");
                Assert.True(reply.Success, said);
                var mapped = TimeRefusals.Timedated("Europe/Vienna", new Tmds.DBus.Protocol.DBusErrorReplyException(reply.Groups[1].Value, reply.Groups[2].Value.Trim()));
                Assert.Equal(Room.Appliance.Administration.AdminRefusalKind.Failed, mapped.Kind);
                Assert.Contains("polkit action org.freedesktop.timedate1.set-timezone", mapped.Message, StringComparison.Ordinal);
                await AssertUnchangedAsync(lab, client, good, dropIn, restarts: 1);
            }

            // systemd has no such unit: the drop-in and the zone already set are put back, nothing is stored.
            await using (var roomd = await StartRoomdAsync(lab, unit: "missing-timesyncd.service"))
            {
                using var client = await RoomBusClient.ConnectAsync(lab.BusAddress);
                var good = await AppliedAsync(client, roomd);
                var dropIn = await File.ReadAllBytesAsync(DropIn(lab));
                var refused = await Assert.ThrowsAsync<RoomBusException>(() => client.SetTimeAsync("Europe/Vienna", ["127.0.0.3"]));
                Assert.Equal(BusErrors.Failed, refused.ErrorName);
                Assert.Contains("systemd has no unit missing-timesyncd.service", refused.Message, StringComparison.Ordinal);
                Assert.Equal("missing-timesyncd.service replace", lab.Restarts[^1]);
                await AssertUnchangedAsync(lab, client, good, dropIn, restarts: 2);
            }
        }

        Assert.Equal(host, HostTimeZone());
    }

    /// <summary>The Admin status once the new roomd has read timedated and timesyncd back (a minute at most).</summary>
    private static async Task<AdminStatus> AppliedAsync(RoomBusClient client, RoomdProcess roomd)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var admin = (await client.GetStatusAsync()).Admin;
            if (admin.TimeSettingsApplied)
            {
                return admin;
            }

            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), admin.TimeStatus + "\n" + roomd.Log);
            await Task.Delay(50);
        }
    }

    private static async Task AssertUnchangedAsync(TimeLab lab, RoomBusClient client, AdminStatus good, byte[] dropIn, int restarts)
    {
        var now = (await client.GetStatusAsync()).Admin;
        Assert.Equal((good.TimeZone, good.TimeSettingsApplied), (now.TimeZone, now.TimeSettingsApplied));
        Assert.Equal(good.NtpServers, now.NtpServers);
        Assert.Equal(dropIn, await File.ReadAllBytesAsync(DropIn(lab)));
        Assert.Equal(restarts, lab.Restarts.Count);
        Assert.Equal("s \"Europe/Berlin\"", await lab.GetPropertyAsync("org.freedesktop.timedate1", "Timezone"));
        Assert.Equal("as 1 \"127.0.0.1\"", await lab.GetPropertyAsync("org.freedesktop.timesync1", "SystemNTPServers"));
    }
}
