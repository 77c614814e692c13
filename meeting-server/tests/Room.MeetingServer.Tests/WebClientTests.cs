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
public sealed partial class WebClientTests(JanusServerFixture fx, ITestOutputHelper output) : IClassFixture<JanusServerFixture>, IAsyncLifetime
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
    private async Task<IPage> OpenAsync(string locale = "de-DE", string path = "client/")
    {
        var console = new List<string>();
        var page = await WebClientPage.OpenAsync(_browser!, new Uri(fx.Server.Url, path), locale, Patience, console);
        _consoles[page] = console;
        return page;
    }

    private readonly Dictionary<IPage, List<string>> _consoles = [];

    private string ConsoleOf(IPage page)
    {
        lock (_consoles[page]) return string.Join("\n", _consoles[page]);
    }

    private static Task SignInAsync(IPage page, string name, string password) => WebClientPage.SignInAsync(page, name, password);

    private static Task<JsonElement> ClientStatsAsync(IPage page) => WebClientPage.StatsAsync(page);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<Task<string>> context, CancellationToken ct,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        while (!await condition())
        {
            if (ct.IsCancellationRequested) throw new TimeoutException($"timed out waiting for {what}\n{await context()}");
            await Task.Delay(200, CancellationToken.None);
        }
    }

    /// <summary>Saves the page as artifacts/screenshots/NAME.png (beside the panel's screenshots).</summary>
    private static async Task ScreenshotAsync(IPage page, string name)
    {
        string dir = Path.Combine(Repo.Root, "artifacts", "screenshots");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, name + ".png"), FullPage = true });
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

    private async Task<(HttpStatusCode Status, string Body)> RawAsync(HttpMethod method, string path, string? bearer, string? json = null)
    {
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, errors) => cert is not null && MeetingServerClient.ChainsTo(cert, fx.Server.Ca, errors) };
        using var http = new HttpClient(handler) { BaseAddress = fx.Server.Url };
        using var req = new HttpRequestMessage(method, path);
        if (bearer is not null) req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bearer);
        if (json is not null) req.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
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
    public async Task A_person_certificate_is_issued_only_to_a_signed_in_person_for_a_well_formed_P256_request()
    {
        string name = ServerFixture.NewName("pc");
        var (creds, client) = await fx.PersonAsync(name);
        using var d1 = creds;
        using var d2 = client;
        Assert.Equal("person:" + name, creds.Identity);
        string token = client.Token!;
        static string Csr(byte[] der) => JsonSerializer.Serialize(new { csr = der });
        using var p256 = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        byte[] good = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=x", p256, System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSigningRequest();
        using var p384 = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        byte[] wrongCurve = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=x", p384, System.Security.Cryptography.HashAlgorithmName.SHA384).CreateSigningRequest();
        byte[] badSignature = (byte[])good.Clone();
        badSignature[^1] ^= 1;

        var (ok, body) = await RawAsync(HttpMethod.Post, "api/person/certificate", token, Csr(good));
        Assert.True(ok == HttpStatusCode.OK, body);

        foreach (var (what, bearer, json, status, error) in new (string, string?, string, HttpStatusCode, string)[]
        {
            ("not signed in", null, Csr(good), HttpStatusCode.Unauthorized, "unauthenticated"),
            ("a forged token", "forged", Csr(good), HttpStatusCode.Unauthorized, "unauthenticated"),
            ("an empty request", token, Csr([]), HttpStatusCode.BadRequest, "malformed"),
            ("garbage", token, Csr([1, 2, 3, 4]), HttpStatusCode.BadRequest, "malformed"),
            ("trailing bytes", token, Csr([.. good, 0]), HttpStatusCode.BadRequest, "malformed"),
            ("a bad signature", token, Csr(badSignature), HttpStatusCode.BadRequest, "malformed"),
            ("a P-384 key", token, Csr(wrongCurve), HttpStatusCode.BadRequest, "malformed"),
            ("not base64", token, "{\"csr\":\"***\"}", HttpStatusCode.BadRequest, "malformed"),
            ("not JSON", token, "{csr:", HttpStatusCode.BadRequest, "malformed"),
        })
        {
            var (got, text) = await RawAsync(HttpMethod.Post, "api/person/certificate", bearer, json);
            Assert.True(got == status, $"{what}: {got} {text}");
            Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("error").GetString() == error, $"{what}: {text}");
        }

        // A device may not get a person certificate.
        var (deviceCreds, deviceClient, _) = await fx.EnrolDeviceAsync(ServerFixture.NewName("dv"));
        using var d3 = deviceCreds;
        using var d4 = deviceClient;
        var refused = await Assert.ThrowsAsync<MeetingServerException>(() => deviceClient.RequestPersonCertificateAsync(DeviceCredentials.CreateEphemeral()));
        Assert.Equal("forbidden", refused.Error);
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
        await ScreenshotAsync(page, "web-client-signin-de");
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
        await ScreenshotAsync(page, "web-client-meetings-en");

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

        // The host removes the person (the server cuts them off, the room commits the removal): the browser says so,
        // shows no code, and the meeting is gone from its list.
        await client.RemoveAsync(meeting.Id, "person:" + person);
        await host.RemoveAsync("person:" + person, ct);
        await Assertions.Expect(page.Locator("#call-status")).ToContainTextAsync("Sie wurden aus der Besprechung entfernt");
        await Assertions.Expect(page.Locator("#security-code")).Not.ToHaveAttributeAsync("data-code", new System.Text.RegularExpressions.Regex("."));
        Assert.Single(host.Roster);
        await page.Locator("#leave").ClickAsync();
        await page.Locator("#view-meetings:not([hidden])").WaitForAsync();
        await Assertions.Expect(page.Locator($"#meetings-list li[data-meeting='{meeting.Id}']")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_host_in_the_browser_creates_the_group_and_follows_a_rooms_external_commit_to_the_same_code()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        string room = ServerFixture.NewName("rh"), person = ServerFixture.NewName("ph");
        const string password = "web-password-3";
        await fx.Server.AddUserAsync(person, password);
        var (creds, client, _) = await fx.EnrolDeviceAsync(room);
        using var d1 = creds;
        using var d2 = client;
        using var personClient = await fx.Server.SignInAsync(person, password);
        var meeting = await personClient.CreateMeetingAsync("Bauausschuss", ["device:" + room]);

        // The room cannot start the meeting: its host (the person) has not made the group yet.
        using var member = new MeetingMember(client, creds, meeting.Id, meeting.CipherSuite);
        var early = await Assert.ThrowsAsync<MeetingServerException>(() => member.JoinExternalAsync(createIfMissing: false, ct));
        Assert.Equal("group-missing", early.Error);

        var page = await OpenAsync("en-GB");
        await SignInAsync(page, person, password);
        var item = page.Locator($"#meetings-list li[data-meeting='{meeting.Id}']");
        await Assertions.Expect(item).ToContainTextAsync("Host");
        await Assertions.Expect(item).ToContainTextAsync("not started yet");
        await item.Locator("button.join").ClickAsync();
        await WaitUntilAsync(async () => (await ClientStatsAsync(page)).GetProperty("securityCode").GetString() is { Length: > 0 } || (await ClientStatsAsync(page)).GetProperty("error").GetString() is { Length: > 0 },
            async () => ConsoleOf(page) + "\n" + await ClientStatsAsync(page), ct);
        var stats = await ClientStatsAsync(page);
        Assert.True(stats.GetProperty("error").GetString() is "" && stats.GetProperty("epoch").GetInt32() == 0, stats.ToString() + "\n" + ConsoleOf(page));

        // The room joins by external commit from the GroupInfo the browser gave the server; the browser processes it.
        Assert.False(await member.JoinExternalAsync(createIfMissing: false, ct));
        await Assertions.Expect(page.Locator("#security-code")).ToHaveAttributeAsync("data-code", member.SecurityCode);
        await Assertions.Expect(page.Locator($"#roster li[data-identity='device:{room}']")).ToContainTextAsync("Room");
        Assert.Equal(2, member.Roster.Count);
        await page.Locator("#leave").ClickAsync();
        await page.Context.CloseAsync();
    }

    /// <summary>
    /// Guests, end to end in two browsers: the host (in the call) invites a guest by name and gets a one-time link; the
    /// guest opens it, waits in the lobby, the host admits them from the lobby; the guest joins the MLS group with a
    /// guest CA certificate, both see one security code and each other's media, and both rosters mark the guest
    /// "Guest, invited by HOST". The used link is refused in a third browser; revoking the invitation removes the guest.
    /// </summary>
    [Fact]
    public async Task A_host_invites_a_guest_who_is_admitted_from_the_lobby_and_appears_as_a_guest_on_both_rosters()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var ct = timeout.Token;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
        string host = ServerFixture.NewName("gh");
        const string password = "web-password-4";
        await fx.Server.AddUserAsync(host, password);
        using var hostClient = await fx.Server.SignInAsync(host, password);
        var meeting = await hostClient.CreateMeetingAsync("Bürgersprechstunde", []);

        var page = await OpenAsync("en-GB");
        await SignInAsync(page, host, password);
        await page.Locator($"#meetings-list li[data-meeting='{meeting.Id}'] button.join").ClickAsync();
        await WaitUntilAsync(async () => (await ClientStatsAsync(page)).GetProperty("phase").GetString() is "in-call" or "failed", async () => ConsoleOf(page), ct);
        Assert.True((await ClientStatsAsync(page)).GetProperty("phase").GetString() == "in-call", $"{await ClientStatsAsync(page)}\n{ConsoleOf(page)}");
        await Assertions.Expect(page.Locator("#guests-panel")).ToBeVisibleAsync();
        Step("host in the call");

        // The host invites by name (keyboard: type, Enter); the link shows, with the token in its fragment only.
        await page.Locator("#guest-name").FillAsync("Erika Mustermann");
        await page.Locator("#guest-name").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#guest-link-box")).ToBeVisibleAsync();
        string link = await page.Locator("#guest-link").InputValueAsync();
        Assert.Matches(@"^https://[^/]+/client/#guest=[A-Za-z0-9_-]{43}$", link);
        await Assertions.Expect(page.Locator("#guest-invite-status")).ToContainTextAsync("Erika Mustermann");

        // The guest opens the link: the token leaves the address bar; the guest waits for a host.
        var guest = await OpenAsync("de-DE");
        await guest.GotoAsync(link);
        await Assertions.Expect(guest.Locator("#guest-status")).ToContainTextAsync("Erika Mustermann, " + host + " hat Sie zu „Bürgersprechstunde“ eingeladen");
        Assert.DoesNotContain("#guest=", guest.Url, StringComparison.Ordinal);
        await CheckAxeAsync(guest, "guest lobby (de)");
        Step("guest waits in the lobby");

        // The host sees the guest waiting, by name and who invited them, and admits them.
        var waiting = page.Locator("#lobby li[data-identity^='guest:']");
        await Assertions.Expect(waiting).ToContainTextAsync("Erika Mustermann");
        await Assertions.Expect(waiting).ToContainTextAsync("Guest, invited by " + host);
        string guestIdentity = (await waiting.GetAttributeAsync("data-identity"))!;
        await CheckAxeAsync(page, "host call with lobby (en)");
        await waiting.Locator("button.admit").ClickAsync();
        Step("admitted");

        // The guest joins by external commit with a guest CA certificate: one code, and the guest on both rosters as a guest.
        async Task<string> Context() => $"--- host ---\n{await ClientStatsAsync(page)}\n{ConsoleOf(page)}\n--- guest ---\n{await ClientStatsAsync(guest)}\n{ConsoleOf(guest)}";
        await WaitUntilAsync(async () => (await ClientStatsAsync(guest)).GetProperty("roster").GetArrayLength() == 2
            && (await ClientStatsAsync(page)).GetProperty("roster").GetArrayLength() == 2, Context, ct);
        string code = (await ClientStatsAsync(guest)).GetProperty("securityCode").GetString()!;
        await Assertions.Expect(page.Locator("#security-code")).ToHaveAttributeAsync("data-code", code);
        var onHost = page.Locator($"#roster li[data-identity='{guestIdentity}']");
        await Assertions.Expect(onHost).ToContainTextAsync("Erika Mustermann");
        await Assertions.Expect(onHost).ToContainTextAsync("Guest, invited by " + host);
        var onGuest = guest.Locator($"#roster li[data-identity='{guestIdentity}']");
        await Assertions.Expect(onGuest).ToContainTextAsync("Erika Mustermann (Sie)");
        await Assertions.Expect(onGuest).ToContainTextAsync("Gast, eingeladen von " + host);
        await Assertions.Expect(guest.Locator($"#roster li[data-identity='person:{host}']")).ToContainTextAsync("Person");
        await Assertions.Expect(page.Locator("#lobby li")).ToHaveCountAsync(0);
        Step("one code, guest on both rosters");

        // They meet: each decodes the other's picture and sound (SFrame under the group's keys).
        static bool OneFeedDecodes(JsonElement s) =>
            s.TryGetProperty("perFeed", out var f) && f.GetArrayLength() == 1 && f.EnumerateArray().All(x => x.GetProperty("framesDecoded").GetInt32() > 10 && x.GetProperty("audioSamples").GetInt32() > 0);
        await WaitUntilAsync(async () => OneFeedDecodes(await ClientStatsAsync(page)) && OneFeedDecodes(await ClientStatsAsync(guest)), Context, ct);
        await ScreenshotAsync(page, "web-client-guest-host");
        await ScreenshotAsync(guest, "web-client-guest");
        Step("media both ways");

        // The link worked once: opened again (another browser), it is refused with a clear reason.
        var again = await OpenAsync("en-GB");
        await again.GotoAsync(link);
        await Assertions.Expect(again.Locator("#guest-status")).ToHaveTextAsync("This invitation link was used already. Ask the host for a new one.");
        await Assertions.Expect(again.Locator("#view-call")).ToBeHiddenAsync();
        await again.Context.CloseAsync();

        // The host revokes the invitation: the guest's page says it was removed, and the host's browser commits the
        // server's Remove: the guest is off its roster and the code is new (keys the guest never gets).
        var invitation = Assert.Single(await hostClient.GuestInvitationsAsync(meeting.Id));
        await hostClient.RevokeGuestAsync(meeting.Id, invitation.Id);
        await Assertions.Expect(guest.Locator("#call-status")).ToHaveTextAsync("Sie wurden aus der Besprechung entfernt.");
        await Assertions.Expect(page.Locator($"#roster li[data-identity='{guestIdentity}']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#roster li")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#security-code")).Not.ToHaveAttributeAsync("data-code", code);
        var (epochAfter, _) = await hostClient.GroupInfoAsync(meeting.Id);
        Assert.Equal((await ClientStatsAsync(page)).GetProperty("epoch").GetInt32(), (int)epochAfter);
        Step("revoked: the guest is out of the group");
        await page.Locator("#leave").ClickAsync();
        await page.Context.CloseAsync();
        await guest.Context.CloseAsync();
    }

    [Fact]
    public async Task A_browser_person_and_a_roomd_room_decrypt_each_others_video_and_audio_under_MLS_SFrame_keys_and_show_one_security_code()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        var ct = timeout.Token;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Step(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {what}");
        string room = ServerFixture.NewName("rm"), person = ServerFixture.NewName("pm");
        const string password = "web-password-2";
        await fx.Server.AddUserAsync(person, password);
        var (creds, client, dir) = await fx.EnrolDeviceAsync(room);
        using var d1 = creds;
        using var d2 = client;
        var meeting = await client.CreateMeetingAsync("Media", ["person:" + person]);

        await using var box = await RoomdBox.StartAsync("Ratssaal", dir);
        var roomd = box.Roomd;
        await box.Client.JoinAsync($"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}");
        await WaitUntilAsync(async () => (await box.Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Error, () => Task.FromResult(roomd.Log), ct);
        Assert.Equal(MeetingStates.InCall, (await box.Client.GetStatusAsync()).Meeting.State);
        Step("roomd in call");

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
        Step("browser 1 decodes roomd");

        // The room decodes the browser's video and audio, decrypted under the browser's MLS key.
        await WaitUntilAsync(async () =>
        {
            string r = await box.Client.GetMediaReportAsync();
            return System.Text.RegularExpressions.Regex.Match(r, @"video (\d+) frames decoded") is { Success: true } mv && long.Parse(mv.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 10
                && System.Text.RegularExpressions.Regex.Match(r, @"audio (\d+) frames decoded") is { Success: true } ma && long.Parse(ma.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 10;
        }, Context, ct);
        Step("roomd decodes browser 1");

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
        Assert.True(stats.GetProperty("error").GetString() is "", await Context());
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
        Step("browser 2 joining");
        async Task<string> Context3() => $"{await Context()}\n--- browser 2 ---\n{await ClientStatsAsync(page2)}\n{ConsoleOf(page2)}";
        static bool BothFeedsDecode(JsonElement s) =>
            s.TryGetProperty("perFeed", out var f) && f.GetArrayLength() == 2 && f.EnumerateArray().All(x => x.GetProperty("framesDecoded").GetInt32() > 10 && x.GetProperty("audioSamples").GetInt32() > 0);
        await WaitUntilAsync(async () => BothFeedsDecode(await ClientStatsAsync(page)) && BothFeedsDecode(await ClientStatsAsync(page2)), Context3, ct);
        Step("both browsers decode both feeds");

        // What the person sees: both others' pictures on screen, not black (the room's test pattern, the browser's fake camera).
        const string NonBlack = """
            () => [...document.querySelectorAll('.tile.remote video')].map(v => {
              if (!v.videoWidth) return 0;
              const c = document.createElement('canvas');
              c.width = v.videoWidth; c.height = v.videoHeight;
              const g = c.getContext('2d');
              g.drawImage(v, 0, 0);
              const d = g.getImageData(0, 0, c.width, c.height).data;
              let lit = 0;
              for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) lit++;
              return lit / (d.length / 4);
            })
            """;
        foreach (var p in new[] { page, page2 })
        {
            await WaitUntilAsync(async () => await p.EvaluateAsync<double[]>(NonBlack) is { Length: 2 } lit && lit.All(x => x > 0.2), Context3, ct);
        }

        await ScreenshotAsync(page, "web-client-call-en");
        await ScreenshotAsync(page2, "web-client-call-de");
        await CheckAxeAsync(page, "call with two pictures (en)");
        await CheckAxeAsync(page2, "call with two pictures (de)");
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

/// <summary>
/// The browser's SFrame (WebClient/sframe.js) against roomd's (Room.Call.E2ee) byte for byte, per
/// meeting-server/docs/frame-format.md, and its refusals: a non-member's key, a replay, a tampered clear prefix, a
/// removed member's old key. Also the client's DER reader on malformed certificates.
/// </summary>
[Collection("roomd-call")]
public sealed class WebClientFrameFormatTests(JanusServerFixture fx) : IClassFixture<JanusServerFixture>, IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        (_playwright, _browser) = await WebRtcChromium.LaunchAsync();
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
        _page = await context.NewPageAsync();
        await _page.GotoAsync(new Uri(fx.Server.Url, "client/").ToString());
        await _page.Locator("body[data-ready='true']").WaitForAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private static readonly byte[] BaseKey1 = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly byte[] BaseKey2 = [.. Enumerable.Range(101, 32).Select(i => (byte)i)];
    private static readonly byte[] Vp8Key = [0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, .. Enumerable.Range(0, 200).Select(i => (byte)(i * 7))];
    private static readonly byte[] Vp8Delta = [0x31, 0x10, 0x00, .. Enumerable.Range(0, 90).Select(i => (byte)(i * 13))];
    private static readonly byte[] Opus = [0x78, .. Enumerable.Range(0, 60).Select(i => (byte)(i * 3))];

    private sealed class Keys(ulong epoch, params (uint Leaf, byte[] Base)[] members) : Room.Call.E2ee.ISFrameKeySource
    {
        public int BaseKey(ulong keyId, Span<byte> baseKey)
        {
            foreach (var (leaf, b) in members)
            {
                for (uint stream = 0; stream < 2; stream++)
                {
                    if (Room.Call.E2ee.MlsCallKeys.KeyId(epoch, leaf, stream) == keyId)
                    {
                        b.CopyTo(baseKey);
                        return b.Length;
                    }
                }
            }

            return 0;
        }
    }

    private static byte[] RoomdEncrypt(Room.Call.E2ee.FrameKind kind, ulong kid, byte[] baseKey, byte[] frame, int count = 1)
    {
        using var enc = new Room.Call.E2ee.SFrameEncryptor(kind, kid, baseKey);
        var output = new byte[frame.Length + enc.MaxExpansion];
        int n = 0;
        for (int i = 0; i < count; i++) n = enc.Transform(frame, false, output);
        Assert.True(n > 0);
        return output[..n];
    }

    private Task<JsonElement> RunAsync(string body, object? arg = null) => _page.EvaluateAsync<JsonElement>(
        "async (arg) => { const S = await import('./sframe.js'); const D = await import('./der.js'); const hex = (b) => Array.from(b, x => x.toString(16).padStart(2, '0')).join(''); const unhex = (h) => Uint8Array.from(h.match(/../g) || [], x => parseInt(x, 16));\n" + body + "\n}", arg);

    private const string Ring = """
        const ring = new S.KeyRing();
        ring.install(5n, arg.myLeaf, new Map([[1, unhex(arg.base1)], [3, unhex(arg.base2)]]));
        """;

    [Fact]
    public async Task The_browser_opens_roomd_frames_and_roomd_opens_the_browsers_with_the_same_KIDs_keys_and_clear_prefix()
    {
        var arg = new Dictionary<string, object>
        {
            ["myLeaf"] = 3,
            ["base1"] = Convert.ToHexString(BaseKey1),
            ["base2"] = Convert.ToHexString(BaseKey2),
            ["vp8Key"] = Convert.ToHexString(RoomdEncrypt(Room.Call.E2ee.FrameKind.Vp8, Room.Call.E2ee.MlsCallKeys.KeyId(5, 1, 0), BaseKey1, Vp8Key)),
            ["vp8Delta"] = Convert.ToHexString(RoomdEncrypt(Room.Call.E2ee.FrameKind.Vp8, Room.Call.E2ee.MlsCallKeys.KeyId(5, 1, 0), BaseKey1, Vp8Delta, count: 9)),
            ["opus"] = Convert.ToHexString(RoomdEncrypt(Room.Call.E2ee.FrameKind.Audio, Room.Call.E2ee.MlsCallKeys.KeyId(5, 1, 1), BaseKey1, Opus)),
            ["plainKey"] = Convert.ToHexString(Vp8Key),
            ["plainOpus"] = Convert.ToHexString(Opus),
        };

        // roomd -> browser: the browser's decryptor opens roomd's frames (leaf 1 is a member).
        var opened = await RunAsync(Ring + """
            const v = new S.Decryptor(ring, 'video'), a = new S.Decryptor(ring, 'audio');
            const k = await v.decrypt(unhex(arg.vp8Key)), d = await v.decrypt(unhex(arg.vp8Delta)), o = await a.decrypt(unhex(arg.opus));
            // The browser encrypts as leaf 3 for roomd to open.
            const ev = new S.Encryptor(ring, 'video'), ea = new S.Encryptor(ring, 'audio');
            const bk = await ev.encrypt(unhex(arg.plainKey)), bo = await ea.encrypt(unhex(arg.plainOpus));
            return { k: k && hex(k), d: d && hex(d), o: o && hex(o), rejected: v.rejected + a.rejected, err: v.lastError + a.lastError,
                     bk: hex(bk), bo: hex(bo), kid: S.keyId(5n, 3, 0).toString() };
            """, arg);
        Assert.True(opened.GetProperty("rejected").GetInt32() == 0, opened.ToString());
        Assert.Equal(Convert.ToHexString(Vp8Key), opened.GetProperty("k").GetString(), ignoreCase: true);
        Assert.Equal(Convert.ToHexString(Vp8Delta), opened.GetProperty("d").GetString(), ignoreCase: true);
        Assert.Equal(Convert.ToHexString(Opus), opened.GetProperty("o").GetString(), ignoreCase: true);
        Assert.Equal(Room.Call.E2ee.MlsCallKeys.KeyId(5, 3, 0).ToString(System.Globalization.CultureInfo.InvariantCulture), opened.GetProperty("kid").GetString());

        // browser -> roomd: roomd's decryptor opens them; the keyframe's first 10 bytes went in clear.
        var keys = new Keys(5, (1, BaseKey1), (3, BaseKey2));
        byte[] bk = Convert.FromHexString(opened.GetProperty("bk").GetString()!), bo = Convert.FromHexString(opened.GetProperty("bo").GetString()!);
        Assert.Equal(Vp8Key[..10], bk[..10]);
        Assert.NotEqual(Vp8Key[10..20], bk[10..20]);
        using var dv = new Room.Call.E2ee.SFrameDecryptor(Room.Call.E2ee.FrameKind.Vp8, keys);
        using var da = new Room.Call.E2ee.SFrameDecryptor(Room.Call.E2ee.FrameKind.Audio, keys);
        var outV = new byte[bk.Length];
        var outA = new byte[bo.Length];
        int nv = dv.Transform(bk, true, outV), na = da.Transform(bo, false, outA);
        Assert.True(nv > 0, dv.LastError);
        Assert.True(na > 0, da.LastError);
        Assert.Equal(Vp8Key, outV[..nv]);
        Assert.Equal(Opus, outA[..na]);
    }

    [Fact]
    public async Task The_browser_drops_a_non_members_frames_replays_tampered_prefixes_and_a_removed_members_old_key()
    {
        byte[] strangerBase = [.. Enumerable.Range(7, 32).Select(i => (byte)i)];
        var arg = new Dictionary<string, object>
        {
            ["myLeaf"] = 3,
            ["base1"] = Convert.ToHexString(BaseKey1),
            ["base2"] = Convert.ToHexString(BaseKey2),
            // Leaf 2 is not a member of epoch 5 (its key is well formed, just nobody's in this group).
            ["stranger"] = Convert.ToHexString(RoomdEncrypt(Room.Call.E2ee.FrameKind.Vp8, Room.Call.E2ee.MlsCallKeys.KeyId(5, 2, 0), strangerBase, Vp8Delta)),
            // A member's key with the wrong stream (7): no key either.
            ["stream7"] = Convert.ToHexString(RoomdEncrypt(Room.Call.E2ee.FrameKind.Vp8, Room.Call.E2ee.MlsCallKeys.KeyId(5, 1, 7), BaseKey1, Vp8Delta)),
            ["good"] = Convert.ToHexString(RoomdEncrypt(Room.Call.E2ee.FrameKind.Vp8, Room.Call.E2ee.MlsCallKeys.KeyId(5, 1, 0), BaseKey1, Vp8Delta)),
        };
        var r = await RunAsync(Ring + """
            const v = new S.Decryptor(ring, 'video');
            const out = {};
            const tryOpen = async (name, bytes) => { const before = v.rejected; const o = await v.decrypt(bytes); out[name] = o ? 'opened' : v.lastError; };
            await tryOpen('stranger', unhex(arg.stranger));
            await tryOpen('stream7', unhex(arg.stream7));
            const good = unhex(arg.good);
            const tampered = good.slice(); tampered[1] ^= 1; // the clear VP8 prefix is authenticated
            await tryOpen('tampered', tampered);
            await tryOpen('good', good);
            await tryOpen('replay', good);
            await tryOpen('short', good.subarray(0, 10));
            await tryOpen('garbage', Uint8Array.from({ length: 40 }, (_, i) => 0xff));
            // Epoch 6 without anyone leaving: epoch 5's keys still open (frames in flight).
            ring.install(6n, 3, new Map([[1, unhex(arg.base1).map(x => x ^ 0x55)], [3, unhex(arg.base2).map(x => x ^ 0x55)]]));
            const late = await (new S.Decryptor(ring, 'video')).decrypt(good);
            out.previousEpochKept = late ? 'opened' : 'refused';
            // Epoch 7 removes leaf 1: every older key goes at once.
            ring.install(7n, 3, new Map([[3, unhex(arg.base2).map(x => x ^ 0x66)]]));
            const fresh = new S.Decryptor(ring, 'video');
            out.afterRemoval = (await fresh.decrypt(good)) ? 'opened' : fresh.lastError;
            out.senderAfterRemoval = ring.sendKey(0) ? 'has key' : 'none';
            ring.install(8n, 3, new Map(), true);
            out.removedSelf = ring.sendKey(0) ? 'has key' : 'none';
            out.rejected = v.rejected;
            return out;
            """, arg);
        Assert.Contains("not a member", r.GetProperty("stranger").GetString(), StringComparison.Ordinal);
        Assert.Contains("not a member", r.GetProperty("stream7").GetString(), StringComparison.Ordinal);
        Assert.Equal("SFrame authentication failed", r.GetProperty("tampered").GetString());
        Assert.Equal("opened", r.GetProperty("good").GetString());
        Assert.Equal("SFrame counter replayed or too old", r.GetProperty("replay").GetString());
        Assert.Equal("frame too short for SFrame", r.GetProperty("short").GetString());
        Assert.NotEqual("opened", r.GetProperty("garbage").GetString());
        Assert.Equal(6, r.GetProperty("rejected").GetInt32());
        Assert.Equal("opened", r.GetProperty("previousEpochKept").GetString());
        Assert.Contains("not a member", r.GetProperty("afterRemoval").GetString(), StringComparison.Ordinal);
        Assert.Equal("has key", r.GetProperty("senderAfterRemoval").GetString());
        Assert.Equal("none", r.GetProperty("removedSelf").GetString());
    }

    [Fact]
    public async Task German_and_English_have_every_text_of_the_client_and_the_page_uses_only_known_texts()
    {
        var r = await _page.EvaluateAsync<JsonElement>("""
            async () => {
              const { TEXTS } = await import('./i18n.js');
              const de = Object.keys(TEXTS.de).sort(), en = Object.keys(TEXTS.en).sort();
              const used = [...document.querySelectorAll('[data-t]')].map(e => e.dataset.t);
              return { onlyDe: de.filter(k => !en.includes(k)), onlyEn: en.filter(k => !de.includes(k)),
                       unknown: used.filter(k => !de.includes(k)), empty: [...de.filter(k => !TEXTS.de[k]), ...en.filter(k => !TEXTS.en[k])] };
            }
            """);
        foreach (var part in new[] { "onlyDe", "onlyEn", "unknown", "empty" })
        {
            Assert.True(r.GetProperty(part).GetArrayLength() == 0, $"{part}: {r.GetProperty(part)}");
        }
    }

    [Fact]
    public async Task The_clients_certificate_reader_refuses_malformed_certificates_and_reads_the_organisation_CA()
    {
        var r = await RunAsync("""
            const ca = D.pemToDer(arg.caPem);
            const c = D.parseCertificate(ca);
            const out = { cn: c.commonName, isCa: c.isCa, key: c.publicKey.length };
            const bad = {
              empty: new Uint8Array(0),
              truncated: ca.subarray(0, ca.length - 1),
              trailing: Uint8Array.of(...ca, 0),
              wrongTag: Uint8Array.of(0x31, ...ca.subarray(1)),
              hugeLength: Uint8Array.of(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00),
              garbage: Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff),
            };
            out.refused = {};
            for (const [name, bytes] of Object.entries(bad)) {
              try { D.parseCertificate(bytes); out.refused[name] = 'accepted'; } catch (e) { out.refused[name] = e instanceof D.DerError ? 'DerError' : 'other: ' + e; }
            }
            try { D.pemToDer('not pem'); out.pem = 'accepted'; } catch (e) { out.pem = e instanceof D.DerError ? 'DerError' : 'other'; }
            return out;
            """, new Dictionary<string, object> { ["caPem"] = fx.Server.Ca.ExportCertificatePem() });
        Assert.True(r.GetProperty("isCa").GetBoolean());
        Assert.Equal(65, r.GetProperty("key").GetInt32());
        foreach (var p in r.GetProperty("refused").EnumerateObject().Where(p => !p.Name.StartsWith('$')))
        {
            Assert.True(p.Value.GetString() == "DerError", $"{p.Name}: {p.Value}");
        }

        Assert.Equal("DerError", r.GetProperty("pem").GetString());
    }
}
