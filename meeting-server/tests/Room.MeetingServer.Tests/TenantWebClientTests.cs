using System.Text.Json;
using Microsoft.Playwright;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;
using Room.Testing.Network;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Two tenants' web clients in Debian's Chromium through Playwright, against the real server (SQLite, and again
/// PostgreSQL): each shows its tenant's name, logo and colours (screenshots in artifacts/screenshots/tenant-*.png, axe
/// clean), and a person of one tenant neither signs in at the other nor sees its meetings there, even with a session
/// carried over from the first.
/// </summary>
public abstract class TenantWebClientScenarios(ServerFixture fx, string storage) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
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

    private async Task<IPage> OpenAsync(Uri client)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,
            Locale = "de-DE",
            ViewportSize = new ViewportSize { Width = 1100, Height = 700 },
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        await page.GotoAsync(client.ToString());
        await page.Locator("body[data-ready='true']").WaitForAsync();
        return page;
    }

    private async Task ScreenshotAsync(IPage page, string name)
    {
        string dir = Path.Combine(Repo.Root, "artifacts", "screenshots");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, $"{name}-{storage}.png"), FullPage = true });
    }

    private static async Task CheckAxeAsync(IPage page, string screen)
    {
        Assert.True(File.Exists(AxeScript), $"{AxeScript} is missing: run `npm ci` in meeting-server/web-client (make deps does)");
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

    /// <summary>The header's name, the bar's colour, the primary button's colour and whether the logo is a loaded image.</summary>
    private static async Task<(string Name, string Title, string Bar, string Button, bool Logo)> LookAsync(IPage page)
    {
        // The logo's image loads after the page is ready (CI once read it mid-load); wait until it has loaded or failed.
        await page.WaitForFunctionAsync("() => { const l = document.getElementById('brand-logo'); return l.hidden || l.complete; }");
        var e = await page.EvaluateAsync<JsonElement>("""
            () => {
              const logo = document.getElementById('brand-logo');
              return { name: document.getElementById('app-title').textContent, title: document.title,
                       bar: getComputedStyle(document.querySelector('.bar')).backgroundColor,
                       button: getComputedStyle(document.getElementById('signin-submit')).backgroundColor,
                       logo: !logo.hidden && logo.complete && logo.naturalWidth > 0 };
            }
            """);
        return (e.GetProperty("name").GetString()!, e.GetProperty("title").GetString()!, e.GetProperty("bar").GetString()!, e.GetProperty("button").GetString()!,
            e.GetProperty("logo").GetBoolean());
    }

    private static Task SignInAsync(IPage page, string name, string password) => WebClientPage.SignInAsync(page, name, password, waitForMeetings: false);

    private static async Task SetLogoAsync(Tenant t, byte[] png)
    {
        using var content = new ByteArrayContent(png);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
        await t.Admin.SendAsync<JsonElement>(HttpMethod.Put, "api/admin/branding/logo", content);
    }

    [Fact]
    public async Task Two_tenants_clients_show_their_own_branding_and_a_person_of_one_sees_nothing_of_the_other()
    {
        using var op = await TenantOperator.AddAsync(fx.Server);
        using var a = await op.CreateAsync(ServerFixture.NewName("wa"), "Stadt Aheim", "#1b5e20", "#2e7d32");
        using var b = await op.CreateAsync(ServerFixture.NewName("wb"), "Gemeinde Bedorf", "#6a1b9a", "#8e24aa");
        await SetLogoAsync(a, TestPng.Make(96, 96, (27, 94, 32), (255, 255, 255)));
        await SetLogoAsync(b, TestPng.Make(96, 96, (255, 193, 7), (106, 27, 154)));
        var (aliceCreds, alice) = await a.PersonAsync("alice");
        var (bobCreds, bob) = await b.PersonAsync("bob");
        using var _1 = aliceCreds; using var _2 = alice; using var _3 = bobCreds; using var _4 = bob;
        // A's meeting invites "person:bob", a name only B has: B's bob still sees nothing of it.
        var meeting = await alice.CreateMeetingAsync("Ratssitzung Aheim", ["person:bob"]);

        // Tenant A's client: its name, logo and colours; alice signs in and sees her meeting.
        var pa = await OpenAsync(new Uri(a.Url, "client/"));
        Assert.Equal(("Stadt Aheim", "Stadt Aheim", "rgb(27, 94, 32)", "rgb(46, 125, 50)", true), await LookAsync(pa));
        await ScreenshotAsync(pa, "tenant-a-signin");
        await CheckAxeAsync(pa, "tenant A sign-in");
        await SignInAsync(pa, "alice", "person-password-1");
        await Assertions.Expect(pa.Locator("#meetings-list")).ToContainTextAsync("Ratssitzung Aheim");
        await ScreenshotAsync(pa, "tenant-a-meetings");
        await CheckAxeAsync(pa, "tenant A meetings");

        // Tenant B's client: its own look; alice's A password does not sign her in there; bob sees no meeting of A.
        var pb = await OpenAsync(new Uri(b.Url, "client/"));
        Assert.Equal(("Gemeinde Bedorf", "Gemeinde Bedorf", "rgb(106, 27, 154)", "rgb(142, 36, 170)", true), await LookAsync(pb));
        await ScreenshotAsync(pb, "tenant-b-signin");
        await CheckAxeAsync(pb, "tenant B sign-in");
        await SignInAsync(pb, "alice", "person-password-1");
        await Assertions.Expect(pb.Locator("#signin-status")).Not.ToBeEmptyAsync();
        Assert.True(await pb.Locator("#view-meetings").IsHiddenAsync());
        await SignInAsync(pb, "bob", "person-password-1");
        await pb.Locator("#view-meetings:not([hidden])").WaitForAsync();
        await Assertions.Expect(pb.Locator("#meetings-status")).Not.ToBeEmptyAsync();
        Assert.Equal(0, await pb.Locator("#meetings-list li").CountAsync());
        Assert.DoesNotContain("Ratssitzung", await pb.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await ScreenshotAsync(pb, "tenant-b-meetings");
        await CheckAxeAsync(pb, "tenant B meetings");

        // From B's signed-in page, A's meeting by its id is refused like any unknown meeting (nothing about it comes back).
        var probe = await pb.EvaluateAsync<JsonElement>("""
            async (id) => {
              const token = sessionStorage.getItem('room.token');
              const r = await fetch(new URL('../api/meetings/' + id + '/participants', location.href), { headers: { Authorization: 'Bearer ' + token } });
              const k = await fetch(new URL('../api/meetings/' + id + '/lobby', location.href), { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
              return { status: r.status, body: await r.text(), knock: k.status };
            }
            """, meeting.Id);
        Assert.Equal(403, probe.GetProperty("status").GetInt32());
        Assert.DoesNotContain("alice", probe.GetProperty("body").GetString()!, StringComparison.Ordinal);
        Assert.Equal(404, probe.GetProperty("knock").GetInt32());

        // alice's signed-in tab goes to B's client: her A session is refused there, she is shown B's sign-in and nothing else.
        await pa.GotoAsync(new Uri(b.Url, "client/").ToString());
        await pa.Locator("body[data-ready='true']").WaitForAsync();
        await pa.Locator("#view-signin:not([hidden])").WaitForAsync();
        Assert.Equal("Gemeinde Bedorf", (await LookAsync(pa)).Name);
        Assert.DoesNotContain("Ratssitzung", await pa.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Null(await pa.EvaluateAsync<string?>("() => sessionStorage.getItem('room.token')"));

        // A's meeting is unchanged: bob of B never knocked.
        Assert.Equal(["person:alice", "person:bob"], (await alice.ParticipantsAsync(meeting.Id)).Where(p => p.State == "invited").Select(p => p.Identity).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(await alice.ParticipantsAsync(meeting.Id), p => p.State == "waiting");
    }
}

[Collection("roomd-call")]
public sealed class SqliteTenantWebClientTests(SqliteServerFixture f) : TenantWebClientScenarios(f, "sqlite"), IClassFixture<SqliteServerFixture>;

[Collection("roomd-call")]
public sealed class PostgresTenantWebClientTests(PostgresServerFixture f) : TenantWebClientScenarios(f, "postgres"), IClassFixture<PostgresServerFixture>;
