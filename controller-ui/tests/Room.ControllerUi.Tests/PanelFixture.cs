using System.Text.Json;
using Microsoft.Playwright;
using Room.Bus;
using Room.Bus.Client;

namespace Room.ControllerUi.Tests;

/// <summary>
/// One private bus, one real roomd, one real panel process and one Chromium for all browser tests
/// (each test gets a fresh page).
/// </summary>
public sealed class PanelFixture : IAsyncLifetime, IDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A hang guard for a process to come up (roomd on the bus, the panel answering), as RoomdProcess's: how fast a
    /// .NET process starts is no behaviour under test, and on a loaded 2-core machine it took over 30 s.
    /// </summary>
    public static readonly TimeSpan StartHangGuard = TimeSpan.FromMinutes(2);

    private ChildProcess? _panel;
    private string[] _panelArgs = [];
    private PanelBrowser? _chromium;

    public TestBus Bus { get; } = new();

    public RoomdProcess Roomd { get; private set; } = null!;

    /// <summary>Stands for roomctl: a second client on the bus, not the panel.</summary>
    public RoomBusClient Remote { get; private set; } = null!;

    public IBrowser Browser => _chromium!.Browser;

    public string Url { get; private set; } = "";

    public string PanelOutput => _panel?.Output ?? "";

    public async Task InitializeAsync()
    {
        Roomd = new RoomdProcess(Bus.Address, Path.Combine(Bus.Directory, "state"));
        Roomd.Start();
        Remote = await RoomBusClient.ConnectAsync(Bus.Address);
        await WaitForRoomdAsync();

        // The operator's logo, as an operator would configure it.
        var logo = Path.Combine(Bus.Directory, "logo.svg");
        await File.WriteAllTextAsync(logo, """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#ffffff"/>
            <path d="M14 46 32 14l18 32H40L32 31l-8 15z" fill="#0b5cad"/><circle cx="32" cy="48" r="4" fill="#f5a400"/></svg>
            """);
        var port = Repo.FreePort();
        Url = $"http://127.0.0.1:{port}/";
        _panelArgs =
        [
            "--bus", Bus.Address,
            "--ControllerUi:Brand:Name", "Nordwind Meeting",
            "--ControllerUi:Brand:PrimaryColor", "#0b5cad",
            "--ControllerUi:Brand:LogoPath", logo,
            "--Logging:LogLevel:Default", "Warning",
        ];
        await StartPanelAsync();
        _chromium = await PanelBrowser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        _panel?.Dispose();
        Remote?.Dispose();
        Roomd?.Dispose();
        Bus.Dispose();
    }

    public void Dispose()
    {
        _panel?.Dispose();
        Remote?.Dispose();
        Roomd?.Dispose();
        Bus.Dispose();
    }

    public async Task<IPage> OpenAsync(int width = 1280, int height = 800)
    {
        var page = await _chromium!.OpenAsync(Url, width, height);
        await page.WaitForFunctionAsync("() => window.Blazor && document.querySelector('.panel') && !document.querySelector('[data-testid=link-state].bad')");

        // Language and contrast belong to the panel, not the page: put them back to the defaults.
        if (await page.Locator(".panel.hc").CountAsync() > 0)
        {
            await page.GetByTestId("contrast").ClickAsync();
            await page.Locator(".panel:not(.hc)").WaitForAsync();
        }

        if (await page.GetByTestId("lang-de").GetAttributeAsync("aria-pressed") != "true")
        {
            await page.GetByTestId("lang-de").ClickAsync();
            await page.Locator(".panel[lang=de]").WaitForAsync();
        }

        return page;
    }

    /// <summary>The panel service restarting (as systemd would after a crash), on the same address.</summary>
    public async Task RestartPanelAsync()
    {
        _panel?.Dispose();
        await StartPanelAsync();
    }

    private async Task StartPanelAsync() => _panel = await PanelProcess.StartAsync(Url, _panelArgs);

    public async Task WaitForRoomdAsync()
    {
        var until = DateTime.UtcNow + StartHangGuard;
        while (DateTime.UtcNow < until)
        {
            if (await Remote.IsRoomdPresentAsync())
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("roomd did not appear on the bus:\n" + Roomd.Output);
    }

    /// <summary>Waits until roomd's state (read over the bus, as roomctl would) satisfies the condition.</summary>
    public async Task<RoomStatus> WaitForStatusAsync(Func<RoomStatus, bool> condition)
    {
        var until = DateTime.UtcNow + Patience;
        RoomStatus status;
        do
        {
            status = await Remote.GetStatusAsync();
            if (condition(status))
            {
                return status;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < until);

        throw new TimeoutException("roomd never reached the expected state; last: " + status);
    }

    /// <summary>
    /// Back to a known state between tests: roomd running, no call and the last call's media stopped, microphone on.
    /// (A call's media stops a moment after the meeting is left: a test joining again before it has would see the
    /// old call's media end and the new one's start on its page.)
    /// </summary>
    public async Task ResetAsync()
    {
        if (!Roomd.IsRunning)
        {
            Roomd.Start(); // a test that stopped roomd failed before starting it again
        }

        await WaitForRoomdAsync();
        var s = await Remote.GetStatusAsync();
        if (s.Meeting.State is MeetingStates.InCall or MeetingStates.Joining)
        {
            await Remote.LeaveAsync();
        }

        await WaitForStatusAsync(x => x.Meeting.State is MeetingStates.Idle or MeetingStates.Error && !x.Media.Active);
        if (s.Meeting.MicrophoneMuted)
        {
            await Remote.SetMicrophoneMutedAsync(false);
        }
    }

    /// <summary>
    /// Waits until roomd's call media runs and the page shows its first decoded picture (the loopback of the room's
    /// own camera, 640x360) on the remote view, whose stream the page opened when the media started.
    /// </summary>
    public async Task WaitForRemotePictureAsync(IPage page)
    {
        await WaitForStatusAsync(s => s.Media.Active);
        await Assertions.Expect(page.GetByTestId("remote-video")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync(
            "() => { const i = document.querySelector('[data-testid=remote-video]'); return i && i.naturalWidth === 640; }",
            null, new() { Timeout = (float)Patience.TotalMilliseconds });
    }

    /// <summary>Saves artifacts/screenshots/NAME-WxH.png, after checking the screen is usable by touch.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        await AssertTouchFriendlyAsync(page, name);
        var size = page.ViewportSize!;
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(Repo.Screenshots, $"{name}-{size.Width}x{size.Height}.png"),
            Animations = ScreenshotAnimations.Disabled,
        });
    }

    /// <summary>Every visible control is at least 48x48 px, and nothing needs sideways scrolling.</summary>
    public static async Task AssertTouchFriendlyAsync(IPage page, string screen)
    {
        var small = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('button, a[href], input, [role=switch]')]
              .filter(e => e.type !== 'checkbox')
              .map(e => e.closest('label') ?? e)
              .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && (r.width < 48 || r.height < 48); })
              .map(e => e.outerHTML.slice(0, 100))
            """);
        Assert.True(small.Length == 0, $"touch targets under 48 px on {screen}:\n" + string.Join("\n", small));
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > document.documentElement.clientWidth");
        Assert.False(overflow, $"{screen} scrolls sideways");
    }

    /// <summary>axe-core from npm (controller-ui/tests/axe, `npm ci` by make deps), injected into the page.</summary>
    public static string AxeScript { get; } = Path.Combine(Repo.Root, "controller-ui", "tests", "axe", "node_modules", "axe-core", "axe.min.js");

    /// <summary>axe-core on the page as it is now: no serious or critical violations.</summary>
    public static async Task AssertAccessibleAsync(IPage page, string screen)
    {
        Assert.True(File.Exists(AxeScript), $"{AxeScript} is missing: run `npm ci` in controller-ui/tests/axe (make deps does)");
        if (!await page.EvaluateAsync<bool>("() => typeof window.axe === 'object'"))
        {
            await page.AddScriptTagAsync(new PageAddScriptTagOptions { Path = AxeScript });
        }

        var json = await page.EvaluateAsync<string>("""
            async () => {
              const r = await axe.run(document, { resultTypes: ['violations'] });
              return JSON.stringify({
                rules: r.passes.length + r.violations.length + r.incomplete.length,
                bad: r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => `${v.impact} ${v.id}: ${v.help} -> ${v.nodes.map(n => n.target.join(' ') + ' ' + n.html).join(' | ')}`)
              });
            }
            """);
        using var result = JsonDocument.Parse(json);
        Assert.True(result.RootElement.GetProperty("rules").GetInt32() > 0, $"axe ran no rule on {screen}");
        var bad = result.RootElement.GetProperty("bad").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.True(bad.Count == 0, $"axe on {screen}:\n" + string.Join("\n", bad));
    }
}

[CollectionDefinition(Name)]
public sealed class PanelGroup : ICollectionFixture<PanelFixture>
{
    public const string Name = "panel in a browser";
}

/// <summary>The screen-by-screen check has a panel of its own: it is the longest, and runs beside the other panel tests.</summary>
[CollectionDefinition(Name)]
public sealed class ScreensGroup : ICollectionFixture<PanelFixture>
{
    public const string Name = "every screen of the panel";
}
