using System.Text.Json;
using System.Text.RegularExpressions;
using Room.Bus;
using Room.Bus.Client;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;
using Room.Testing.Network;

namespace Room.MeetingServer.Tests;

/// <summary>
/// `make run` as a newcomer meets it: scripts/run-room.sh itself (headless: no panel) starts the bus, Janus, the
/// meeting-server, enrols its roomd with a one-time code and books the demo meeting; the meeting in the room's calendar
/// is a real, MLS-keyed meeting that the room joins, and a second room in it decrypts the demo room's media and shows
/// the same security code, and so does a person signed in as demo in the web client (Chromium). Stopping the script
/// stops everything it started.
/// </summary>
[Collection("roomd-call")]
public sealed class MakeRunTests
{
    [Fact]
    public async Task Make_run_starts_a_meeting_server_and_Janus_its_room_joins_the_demo_meeting_from_its_calendar_and_a_person_joins_from_the_web_client_all_under_MLS_keys()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        var ct = timeout.Token;
        string run = Repo.TempDir("room-make-run");
        var script = new ChildProcess("bash", [Path.Combine(Repo.Root, "scripts", "run-room.sh")], environment: new Dictionary<string, string>
        {
            ["ROOM_RUN_DIR"] = run,
            ["ROOM_RUN_PANEL"] = "0",
            ["CONFIG"] = Repo.Configuration,
        });
        string keyDir = Repo.TempDir("room-make-run-box");
        try
        {
            await script.WaitForLineAsync(l => l.Contains("Ctrl+C stops everything.", StringComparison.Ordinal));
            string log = script.Log;
            string link = Regex.Match(log, @"meeting link:\s+(meeting://127\.0\.0\.1:\d+/[a-z0-9]+)").Groups[1].Value;
            Assert.False(string.IsNullOrEmpty(link), log);
            var server = new Uri(Regex.Match(log, @"web client:\s+(https://127\.0\.0\.1:\d+)/client/").Groups[1].Value + "/");
            string demoPassword = Regex.Match(log, @"sign in as demo / (\S+),").Groups[1].Value;
            Assert.Equal((await File.ReadAllTextAsync(Path.Combine(run, "meeting-server", "demo-password"), ct)).Trim(), demoPassword);
            Assert.True(File.Exists(Path.Combine(run, "meeting-server", "meetings.db")), "the meeting server keeps its SQLite file under the run folder");

            // Janus speaks wss:// only, with a certificate from the organisation CA (roomd and the server check it).
            string wsConfig = await File.ReadAllTextAsync(Path.Combine(run, "janus", "janus.transport.websockets.jcfg"), ct);
            Assert.Contains("ws = false", wsConfig, StringComparison.Ordinal);
            Assert.Contains("wss = true", wsConfig, StringComparison.Ordinal);

            // The demo room was enrolled with a one-time code: its identity folder holds its device certificate.
            using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(
                await File.ReadAllTextAsync(Path.Combine(run, "meeting-server", "ca.pem"), ct));
            using var roomCreds = DeviceCredentials.LoadOrCreate(Path.Combine(run, "identity"));
            Assert.Equal("device:demo-room", roomCreds.Identity);

            // The room's calendar holds the real link of the demo meeting; the room joins it from there (the panel's tap).
            using var demo = await RoomBusClient.ConnectAsync($"unix:path={Path.Combine(run, "bus")}");
            var entry = Assert.Single((await demo.GetStatusAsync()).Upcoming, e => e.Title == "Demo meeting");
            Assert.Equal(link, entry.Uri);
            Assert.StartsWith("enrolled as device:demo-room", (await demo.GetStatusAsync()).Admin.EnrolmentStatus, StringComparison.Ordinal);
            await demo.JoinAsync(entry.Uri);

            // A second room joins the same meeting: enrolled by the administrator's code, invited by the demo person.
            using var admin = new MeetingServerClient(server, ca);
            await admin.LoginAsync("admin", (await File.ReadAllTextAsync(Path.Combine(run, "meeting-server", "admin-password"), ct)).Trim(), ct);
            using var person = new MeetingServerClient(server, ca);
            await person.LoginAsync("demo", demoPassword, ct);
            using var second = DeviceCredentials.LoadOrCreate(keyDir);
            await MeetingServerClient.EnrolAsync(server, await admin.CreateEnrolmentCodeAsync("second-room", ct), second, ct);
            second.Save(keyDir);
            await person.InviteAsync(link.Split('/')[^1], second.Identity!, ct: ct);
            using var bus = new PrivateBus();
            await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
                "--Room:Name", "Second room", "--MeetingServer:IdentityDirectory", keyDir);
            using var other = await RoomBusClient.ConnectAsync(bus.Address);
            await other.JoinAsync(link);

            string Logs() => $"--- make run ---\n{script.Log}\n--- second roomd ---\n{roomd.Log}";
            MeetingStatus m = MeetingStatus.Empty, o = MeetingStatus.Empty;
            string report = "";
            while (!(m.State == MeetingStates.InCall && o.State == MeetingStates.InCall && m.SecurityCode.Length > 0 && m.SecurityCode == o.SecurityCode
                && m.Participants.Count == 2 && Decoded(report, "video") > 0 && Decoded(report, "audio") > 0))
            {
                Assert.False(ct.IsCancellationRequested, $"not in one call: {m.State} {m.LastError} / {o.State} {o.LastError}\n{report}\n{Logs()}");
                Assert.False(m.State == MeetingStates.Error || o.State == MeetingStates.Error, $"{m.LastError} / {o.LastError}\n{Logs()}");
                await Task.Delay(200, CancellationToken.None);
                (m, o, report) = ((await demo.GetStatusAsync()).Meeting, (await other.GetStatusAsync()).Meeting, await demo.GetMediaReportAsync());
            }

            Assert.Equal(link, m.Uri);
            Assert.Matches(@"^(\d{5} ){11}\d{5}$", m.SecurityCode);
            Assert.Contains("MLS exporter", report, StringComparison.Ordinal);
            Assert.Contains(m.Participants, p => p.Name == "second-room");

            // A person joins from the web client the banner names, signed in as demo: the browser decrypts the rooms'
            // media under the meeting's MLS keys and shows the code the rooms show.
            var (playwright, browser) = await WebRtcChromium.LaunchAsync();
            try
            {
                var console = new List<string>();
                var page = await WebClientPage.OpenAsync(browser, new Uri(server, "client/"), "en-GB", TimeSpan.FromSeconds(90), console);
                await WebClientPage.SignInAsync(page, "demo", demoPassword);
                await page.Locator($"#meetings-list li[data-meeting='{link.Split('/')[^1]}'] button.join").ClickAsync();
                JsonElement stats = await WebClientPage.StatsAsync(page);
                string BrowserSide()
                {
                    lock (console) return $"--- browser ---\n{stats}\n{string.Join("\n", console)}";
                }

                while (!(stats.GetProperty("error").GetString() is "" && stats.TryGetProperty("videoDecrypted", out var v) && v.GetInt32() > 30
                    && stats.GetProperty("framesDecoded").GetInt32() > 10 && m.Participants.Count == 3 && stats.GetProperty("securityCode").GetString() == m.SecurityCode))
                {
                    Assert.False(ct.IsCancellationRequested, $"the browser is not in the call: room {m.State}, {m.Participants.Count} participants, code {m.SecurityCode}\n{BrowserSide()}\n{Logs()}");
                    Assert.False(stats.GetProperty("phase").GetString() == "failed", $"the browser's join failed\n{BrowserSide()}\n{Logs()}");
                    await Task.Delay(200, CancellationToken.None);
                    (stats, m) = (await WebClientPage.StatsAsync(page), (await demo.GetStatusAsync()).Meeting);
                }

                Assert.Contains(m.Participants, p => p.Kind == "person" && p.Name.Contains("demo", StringComparison.Ordinal));
                await page.Locator("#leave").ClickAsync();
            }
            finally
            {
                await browser.DisposeAsync();
                playwright.Dispose();
            }

            await other.LeaveAsync();

            // Ctrl+C (SIGTERM here): the script stops everything it started and removes its bus.
            Assert.Equal(0, (await ChildProcess.RunAsync("kill", ["-TERM", script.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])).Code);
            await script.WaitForExitAsync();
            Assert.False(File.Exists(Path.Combine(run, "bus")), "the bus socket is removed");
            var left = Directory.GetDirectories("/proc").Select(d => (Dir: d, Cmd: ReadCmdline(d))).Where(p => p.Cmd.Contains(run, StringComparison.Ordinal)).ToList();
            Assert.True(left.Count == 0, "left running: " + string.Join("; ", left.Select(p => p.Cmd)));
        }
        finally
        {
            script.Dispose();
            Directory.Delete(keyDir, true);
            Directory.Delete(run, true);
        }
    }

    private static string ReadCmdline(string procDir)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procDir, "cmdline")).Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static long Decoded(string report, string kind) =>
        Regex.Match(report, $@"{kind} (\d+) frames decoded") is { Success: true } x ? long.Parse(x.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
}
