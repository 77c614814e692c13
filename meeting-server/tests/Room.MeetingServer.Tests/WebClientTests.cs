using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using Room.Bus;
using Room.Bus.Client;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;
using Room.Testing.Network;
using Xunit.Abstractions;

namespace Room.MeetingServer.Tests;

/// <summary>
/// The web client served by meeting-server (issue 14), in Debian's Chromium through Playwright (fake camera and
/// microphone), against the real server and Janus: sign-in, my meetings, joining the MLS group by external commit in the
/// browser's worker, and the Janus call under SFrame keys from the MLS exporter beside a real roomd. Runs in the roomd
/// call collection (Janus, roomd and Chromium beside the parallel classes would starve each other on two cores).
/// </summary>
[Collection("roomd-call")]
public sealed class WebClientTests(JanusServerFixture fx, ITestOutputHelper output) : IClassFixture<JanusServerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout((float)Patience.TotalMilliseconds);
        (_playwright, _browser) = await WebRtcChromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private static string AxeScript => Path.Combine(Repo.Root, "meeting-server", "web-client", "node_modules", "axe-core", "axe.min.js");

    /// <summary>A fresh browser context (its own storage) on the client, in <paramref name="locale"/>.</summary>
    private async Task<IPage> OpenAsync(string locale = "de-DE")
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
        {
            // The server's certificate is from the organisation CA, which this throwaway browser profile does not know.
            IgnoreHTTPSErrors = true,
            Locale = locale,
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            Permissions = ["camera", "microphone"],
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        var console = new List<string>();
        page.Console += (_, m) => { lock (console) console.Add($"{m.Type}: {m.Text}"); };
        page.PageError += (_, e) => { lock (console) console.Add("pageerror: " + e); };
        _consoles[page] = console;
        await page.GotoAsync(new Uri(fx.Server.Url, "client/").ToString());
        await page.Locator("body[data-ready='true']").WaitForAsync();
        return page;
    }

    private readonly Dictionary<IPage, List<string>> _consoles = [];

    private string ConsoleOf(IPage page)
    {
        lock (_consoles[page]) return string.Join("\n", _consoles[page]);
    }

    private static async Task SignInAsync(IPage page, string name, string password)
    {
        await page.Locator("#signin-name").FillAsync(name);
        await page.Locator("#signin-password").FillAsync(password);
        await page.Locator("#signin-password").PressAsync("Enter");
        await page.Locator("#view-meetings:not([hidden])").WaitForAsync();
    }

    private static async Task<JsonElement> ClientStatsAsync(IPage page) => await page.EvaluateAsync<JsonElement>("() => window.roomClient.stats()");

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<Task<string>> context, CancellationToken ct,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        while (!await condition())
        {
            if (ct.IsCancellationRequested) throw new TimeoutException($"timed out waiting for {what}\n{await context()}");
            await Task.Delay(200, CancellationToken.None);
        }
    }

    private static async Task CheckAxeAsync(IPage page, string screen)
    {
        Assert.True(File.Exists(AxeScript), $"{AxeScript} is missing: run `npm ci` in meeting-server/web-client (make deps does)");
        // Evaluated through the debugging protocol: the client's CSP (script-src 'self') rightly refuses an injected script tag.
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe === 'object'")) await page.EvaluateAsync(await File.ReadAllTextAsync(AxeScript) + "\n;true");
        var result = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const r = await axe.run(document, { resultTypes: ['violations'] });
              return { rules: r.passes.length + r.violations.length + r.incomplete.length,
                       bad: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                                        .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', ')) };
            }
            """);
        Assert.True(result.GetProperty("rules").GetInt32() > 0, $"axe ran no rule on {screen}");
        var bad = result.GetProperty("bad").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(bad.Count == 0, $"axe on {screen}:\n" + string.Join("\n", bad));
    }

    private async Task<(HttpStatusCode Status, string Body)> RawAsync(HttpMethod method, string path, string? bearer)
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, errors) => cert is not null && MeetingServerClient.ChainsTo(cert, fx.Server.Ca, errors) };
        using var http = new HttpClient(handler) { BaseAddress = fx.Server.Url };
        using var req = new HttpRequestMessage(method, path);
        if (bearer is not null) req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bearer);
        using var resp = await http.SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task My_meetings_lists_only_the_callers_meetings_and_refuses_without_or_with_a_bad_token()
    {
        string alice = ServerFixture.NewName("alice"), bob = ServerFixture.NewName("bob");
        var (ca, clientA) = await fx.PersonAsync(alice);
        var (cb, clientB) = await fx.PersonAsync(bob);
        using var d1 = ca;
        using var d2 = cb;
        using var d3 = clientA;
        using var d4 = clientB;
        var shared = await clientA.CreateMeetingAsync("shared", ["person:" + bob]);
        var own = await clientA.CreateMeetingAsync("alice only", []);

        var a = await clientA.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null);
        var b = await clientB.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null);
        Assert.Equal(new[] { own.Id, shared.Id }.Order(), a.Select(m => m.GetProperty("id").GetString()).Order());
        Assert.Equal([shared.Id], b.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal("participant", b[0].GetProperty("role").GetString());
        Assert.Equal("shared", b[0].GetProperty("title").GetString());
        Assert.False(b[0].GetProperty("started").GetBoolean());
        Assert.Equal("host", a.Single(m => m.GetProperty("id").GetString() == own.Id).GetProperty("role").GetString());

        // Removed from a meeting: it is no longer listed.
        await clientA.RemoveAsync(shared.Id, "person:" + bob);
        Assert.Empty(await clientB.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null));

        // No token, a forged token, a garbage header: clear 401s with the error shape.
        foreach (var bearer in new string?[] { null, "not-a-token", "eyJ.forged.sig", new string('A', 5000) })
        {
            var (status, body) = await RawAsync(HttpMethod.Get, "api/meetings", bearer);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("unauthenticated", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task The_client_is_served_with_a_content_security_policy_and_the_bundled_MLS_library()
    {
        var (status, html) = await RawAsync(HttpMethod.Get, "client/", null);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("mls-worker", (await RawAsync(HttpMethod.Get, "client/app.js", null)).Body, StringComparison.Ordinal);
        Assert.Contains("<script type=\"module\" src=\"app.js\">", html, StringComparison.Ordinal);
        var (libStatus, lib) = await RawAsync(HttpMethod.Get, "client/vendor/mls.js", null);
        Assert.Equal(HttpStatusCode.OK, libStatus);
        Assert.Contains("joinGroupExternal", lib, StringComparison.Ordinal);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler) { BaseAddress = fx.Server.Url };
        using var resp = await http.GetAsync(new Uri("client/index.html", UriKind.Relative));
        Assert.Contains("script-src 'self'", resp.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_person_signs_in_sees_their_meetings_and_joins_by_external_commit_with_the_members_security_code_and_roster_in_both_languages_axe_clean()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        string room = ServerFixture.NewName("rw"), person = ServerFixture.NewName("pw");
        const string password = "web-password-1";
        await fx.Server.AddUserAsync(person, password);
        var (creds, client, _) = await fx.EnrolDeviceAsync(room);
        using var d1 = creds;
        using var d2 = client;
        var meeting = await client.CreateMeetingAsync("Ratssitzung", ["person:" + person]);
        using var host = new MeetingMember(client, creds, meeting.Id, meeting.CipherSuite);
        Assert.True(await host.JoinExternalAsync(createIfMissing: true, ct));

        var page = await OpenAsync("de-DE");
        Assert.Equal("de", await page.EvaluateAsync<string>("() => document.documentElement.lang"));
        await CheckAxeAsync(page, "sign-in (de)");
        // A wrong password: a clear refusal on the page, still on the sign-in screen.
        await page.Locator("#signin-name").FillAsync(person);
        await page.Locator("#signin-password").FillAsync("wrong-password");
        await page.Locator("#signin-submit").ClickAsync();
        await Assertions.Expect(page.Locator("#signin-status")).ToContainTextAsync("Anmeldung fehlgeschlagen");
        Assert.False(await page.Locator("#view-signin").IsHiddenAsync());

        await SignInAsync(page, person, password);
        var item = page.Locator($"#meetings-list li[data-meeting='{meeting.Id}']");
        await Assertions.Expect(item).ToContainTextAsync("Ratssitzung");
        await Assertions.Expect(item).ToContainTextAsync("läuft");
        await CheckAxeAsync(page, "meetings (de)");
        await page.Locator("#lang").SelectOptionAsync("en");
        await Assertions.Expect(item).ToContainTextAsync("in progress");
        await CheckAxeAsync(page, "meetings (en)");

        // Keyboard: Tab to the meeting's join button and press Enter.
        await item.Locator("button.join").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("#view-call:not([hidden])").WaitForAsync();

        // The browser's external commit gives epoch 1; the room's member processes it: one code, both in both rosters.
        await WaitUntilAsync(async () => (await ClientStatsAsync(page)).GetProperty("epoch").GetInt32() >= 1 || (await ClientStatsAsync(page)).GetProperty("error").GetString() is { Length: > 0 },
            async () => ConsoleOf(page) + "\n" + (await ClientStatsAsync(page)), ct);
        var stats = await ClientStatsAsync(page);
        Assert.True(stats.GetProperty("error").GetString() is "", stats.ToString() + "\n" + ConsoleOf(page) + "\n" + fx.Server.Log);
        await host.SyncAsync(ct);
        string code = host.SecurityCode;
        await Assertions.Expect(page.Locator("#security-code")).ToHaveAttributeAsync("data-code", code);
        Assert.Equal(2, host.Roster.Count);
        Assert.Contains("person:" + person, host.Roster);
        await Assertions.Expect(page.Locator($"#roster li[data-identity='device:{room}']")).ToContainTextAsync("Room");
        await Assertions.Expect(page.Locator($"#roster li[data-identity='person:{person}']")).ToContainTextAsync("(you)");
        await CheckAxeAsync(page, "call (en)");
        await page.Locator("#lang").SelectOptionAsync("de");
        await Assertions.Expect(page.Locator($"#roster li[data-identity='device:{room}']")).ToContainTextAsync("Raum");
        await CheckAxeAsync(page, "call (de)");

        // The room commits an update: the browser follows the delivery service to the new epoch and code.
        await host.UpdateAsync(ct);
        await Assertions.Expect(page.Locator("#security-code")).ToHaveAttributeAsync("data-code", host.SecurityCode);
        Assert.NotEqual(code, host.SecurityCode);

        // Mute is a toggle button that says its state.
        await page.Locator("#mute").ClickAsync();
        await Assertions.Expect(page.Locator("#mute")).ToHaveAttributeAsync("aria-pressed", "true");
        await page.Locator("#leave").ClickAsync();
        await page.Locator("#view-meetings:not([hidden])").WaitForAsync();
        await page.Context.CloseAsync();
    }

    private sealed class Box : IAsyncDisposable
    {
        public required PrivateBus Bus { get; init; }
        public required RoomdProcess Roomd { get; init; }
        public required RoomBusClient Client { get; init; }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Roomd.DisposeAsync();
            Bus.Dispose();
        }
    }

    [Fact]
    public async Task A_browser_person_and_a_roomd_room_decrypt_each_others_video_and_audio_under_MLS_SFrame_keys_and_show_one_security_code()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        var ct = timeout.Token;
        string room = ServerFixture.NewName("rm"), person = ServerFixture.NewName("pm");
        const string password = "web-password-2";
        await fx.Server.AddUserAsync(person, password);
        var (creds, client, dir) = await fx.EnrolDeviceAsync(room);
        using var d1 = creds;
        using var d2 = client;
        var meeting = await client.CreateMeetingAsync("Media", ["person:" + person]);

        var bus = new PrivateBus();
        RoomdProcess roomd;
        try
        {
            roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
                "--Room:Name", "Ratssaal", "--MeetingServer:IdentityDirectory", dir, "--MeetingServer:PollMilliseconds", "200");
        }
        catch
        {
            bus.Dispose();
            throw;
        }

        await using var box = new Box { Bus = bus, Roomd = roomd, Client = await RoomBusClient.ConnectAsync(bus.Address) };
        await box.Client.JoinAsync($"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}");
        await WaitUntilAsync(async () => (await box.Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Error, () => Task.FromResult(roomd.Log), ct);
        Assert.Equal(MeetingStates.InCall, (await box.Client.GetStatusAsync()).Meeting.State);

        var page = await OpenAsync("en-GB");
        await SignInAsync(page, person, password);
        await page.Locator($"#meetings-list li[data-meeting='{meeting.Id}'] button.join").ClickAsync();
        async Task<string> Context() => $"--- browser ---\n{await ClientStatsAsync(page)}\n{ConsoleOf(page)}\n--- roomd ---\n{roomd.Log}\n{await box.Client.GetMediaReportAsync()}";

        // The browser decrypts and decodes the room's video and audio; nothing it received failed to open.
        await WaitUntilAsync(async () =>
        {
            var s = await ClientStatsAsync(page);
            return s.GetProperty("error").GetString() is { Length: > 0 }
                || (s.TryGetProperty("videoDecrypted", out var v) && v.GetInt32() > 30 && s.GetProperty("audioDecrypted").GetInt32() > 30 && s.GetProperty("framesDecoded").GetInt32() > 10);
        }, Context, ct);
        var stats = await ClientStatsAsync(page);
        Assert.True(stats.GetProperty("error").GetString() is "", await Context());
        Assert.True(stats.GetProperty("width").GetInt32() > 0, await Context());

        // The room decodes the browser's video and audio, decrypted under the browser's MLS key.
        await WaitUntilAsync(async () =>
        {
            string r = await box.Client.GetMediaReportAsync();
            return System.Text.RegularExpressions.Regex.Match(r, @"video (\d+) frames decoded") is { Success: true } mv && long.Parse(mv.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 10
                && System.Text.RegularExpressions.Regex.Match(r, @"audio (\d+) frames decoded") is { Success: true } ma && long.Parse(ma.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 10;
        }, Context, ct);

        // One security code on both; each in the other's roster.
        await WaitUntilAsync(async () =>
        {
            var m = (await box.Client.GetStatusAsync()).Meeting;
            return m.SecurityCode.Length > 0 && m.SecurityCode == (await ClientStatsAsync(page)).GetProperty("securityCode").GetString();
        }, Context, ct);
        await Assertions.Expect(page.Locator($"#roster li[data-identity='device:{room}']")).ToBeVisibleAsync();
        await WaitUntilAsync(async () => (await box.Client.GetStatusAsync()).Meeting.Participants.Any(p => p.Name.Contains(person, StringComparison.Ordinal)), Context, ct);

        // Once both are in one epoch, every frame the browser receives opens: none is dropped as unknown, tampered or
        // replayed. (Frames the room sent under the epoch before the browser's own commit are dropped as unknown: the
        // browser never had that epoch's keys.)
        stats = await ClientStatsAsync(page);
        int rejected = stats.GetProperty("rejected").GetInt32(), decrypted = stats.GetProperty("decrypted").GetInt32();
        await WaitUntilAsync(async () => (await ClientStatsAsync(page)).GetProperty("decrypted").GetInt32() > decrypted + 100, Context, ct);
        stats = await ClientStatsAsync(page);
        Assert.True(stats.GetProperty("rejected").GetInt32() == rejected, await Context());
        Assert.True(stats.GetProperty("encrypted").GetInt32() > 10, await Context());

        // A second person joins from another browser: a new epoch and one new code on all three; each browser decodes
        // both others' video and hears both (one feed each), and the room decodes two streams.
        string code1 = (await box.Client.GetStatusAsync()).Meeting.SecurityCode;
        string second = ServerFixture.NewName("pn");
        await fx.Server.AddUserAsync(second, password);
        await client.InviteAsync(meeting.Id, "person:" + second);
        var page2 = await OpenAsync("de-DE");
        await SignInAsync(page2, second, password);
        await page2.Locator($"#meetings-list li[data-meeting='{meeting.Id}'] button.join").ClickAsync();
        async Task<string> Context3() => $"{await Context()}\n--- browser 2 ---\n{await ClientStatsAsync(page2)}\n{ConsoleOf(page2)}";
        static bool BothFeedsDecode(JsonElement s) =>
            s.TryGetProperty("perFeed", out var f) && f.GetArrayLength() == 2 && f.EnumerateArray().All(x => x.GetProperty("framesDecoded").GetInt32() > 10 && x.GetProperty("audioSamples").GetInt32() > 0);
        await WaitUntilAsync(async () => BothFeedsDecode(await ClientStatsAsync(page)) && BothFeedsDecode(await ClientStatsAsync(page2)), Context3, ct);
        await WaitUntilAsync(async () =>
        {
            string c = (await box.Client.GetStatusAsync()).Meeting.SecurityCode;
            return c.Length > 0 && c != code1 && c == (await ClientStatsAsync(page)).GetProperty("securityCode").GetString() && c == (await ClientStatsAsync(page2)).GetProperty("securityCode").GetString();
        }, Context3, ct);
        await WaitUntilAsync(async () => (await box.Client.GetMediaReportAsync()).Contains("frames decoded from 2 streams", StringComparison.Ordinal), Context3, ct);
        output.WriteLine($"browser 1: {await ClientStatsAsync(page)}\nbrowser 2: {await ClientStatsAsync(page2)}\nroomd: {await box.Client.GetMediaReportAsync()}");

        await page.Locator("#leave").ClickAsync();
        await page.Locator("#view-meetings:not([hidden])").WaitForAsync();
        await page2.Locator("#leave").ClickAsync();
        await box.Client.LeaveAsync();
        await page.Context.CloseAsync();
        await page2.Context.CloseAsync();
    }
}
