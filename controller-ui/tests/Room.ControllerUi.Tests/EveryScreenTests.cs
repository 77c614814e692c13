using Microsoft.Playwright;
using Room.Bus;

namespace Room.ControllerUi.Tests;

/// <summary>
/// Every screen (home, address keyboard, PIN gate, settings, call, leave confirmation, offline) in German and English,
/// in normal and high contrast, on both panel sizes: axe-core finds no serious or critical violation, every control is a
/// touch target of at least 48 px, nothing scrolls sideways, and each is saved as artifacts/screenshots/NAME-WxH.png.
/// </summary>
[Collection(ScreensGroup.Name)]
public sealed class EveryScreenTests(PanelFixture fx)
{
    public static TheoryData<int, int> Sizes => new() { { 1280, 800 }, { 1920, 1080 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Every_screen_in_both_languages_and_both_contrasts_passes_axe_fits_touch_and_is_saved(int width, int height)
    {
        await fx.ResetAsync();
        var page = await fx.OpenAsync(width, height);
        try
        {
            // Screens reached by tapping are visited in each look in turn; the call and the offline banner, which take a
            // call and a roomd restart to reach, are reached once and shown in every look there.
            foreach (var (language, highContrast) in Looks)
            {
                await SetLookAsync(page, language, highContrast);
                await CheckTappedScreensAsync(page, LookName(language, highContrast));
            }

            await CheckCallScreensAsync(page);
            await CheckOfflineScreenAsync(page);
        }
        finally
        {
            await SetLookAsync(page, "de", false);
            await page.CloseAsync();
        }
    }

    private static readonly (string Language, bool HighContrast)[] Looks = [("de", false), ("de", true), ("en", false), ("en", true)];

    private static string LookName(string language, bool highContrast) => $"{language}{(highContrast ? "-hc" : "")}";

    [Fact]
    public async Task Nothing_on_the_panel_depends_on_hover()
    {
        await fx.ResetAsync();
        var page = await fx.OpenAsync();
        try
        {
            // Every style rule of the page, nested ones included: none may react to hover (a finger cannot hover).
            var hover = await page.EvaluateAsync<string[]>("""
                () => {
                  const walk = r => r.cssRules ? [...r.cssRules].flatMap(walk) : [r];
                  const sheets = [...document.styleSheets];
                  if (sheets.length === 0) return ['no style sheets found'];
                  return sheets.flatMap(s => { try { return [...s.cssRules].flatMap(walk); } catch { return []; } })
                    .map(r => r.selectorText || r.conditionText || '')
                    .filter(t => t.includes(':hover') || t.includes('hover:') || t.includes('(hover'));
                }
                """);
            Assert.Empty(hover);
            Assert.True(await page.EvaluateAsync<int>("() => [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0)") > 20,
                "the panel's style sheet was not examined");
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task The_accessibility_check_catches_a_serious_violation()
    {
        var page = await fx.Browser.NewPageAsync();
        try
        {
            await page.SetContentAsync("<html lang='en'><head><title>t</title></head><body><main><button></button><img src='x.png'></main></body></html>");
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => PanelFixture.AssertAccessibleAsync(page, "a broken page"));
            Assert.Contains("button-name", ex.Message, StringComparison.Ordinal);
            Assert.Contains("image-alt", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    private static async Task CheckAsync(IPage page, string screen, string look)
    {
        await PanelFixture.ScreenshotAsync(page, $"{screen}-{look}");
        await PanelFixture.AssertAccessibleAsync(page, $"{screen} ({look}, {page.ViewportSize!.Width}x{page.ViewportSize.Height})");
    }

    /// <summary>Home, the address keyboard, the PIN gate and the settings, in the look that is set.</summary>
    private static async Task CheckTappedScreensAsync(IPage page, string look)
    {
        ILocator Id(string id) => page.GetByTestId(id);

        await Assertions.Expect(Id("join-featured")).ToBeVisibleAsync();
        await CheckAsync(page, "home", look);

        await Id("open-address").TapAsync();
        await Assertions.Expect(Id("address-dialog")).ToBeVisibleAsync();
        await CheckAsync(page, "address", look);
        await Id("address-cancel").TapAsync();

        await Id("nav-settings").TapAsync();
        await Assertions.Expect(Id("pin-gate")).ToBeVisibleAsync();
        await CheckAsync(page, "settings-pin", look);
        foreach (var d in RoomdProcess.AdminPin)
        {
            await Id($"pin-{d}").TapAsync();
        }

        await Id("pin-ok").TapAsync();
        await Assertions.Expect(Id("settings")).ToBeVisibleAsync();
        await CheckAsync(page, "settings", look);
        await Id("settings-lock").TapAsync();
        await Id("nav-home").TapAsync();
    }

    /// <summary>One call: its screen and the leave question in every look.</summary>
    private async Task CheckCallScreensAsync(IPage page)
    {
        ILocator Id(string id) => page.GetByTestId(id);

        await fx.Remote.JoinAsync("test-loopback://meet.nordwind.example/screens");
        await Assertions.Expect(Id("call-screen")).ToHaveAttributeAsync("data-state", MeetingStates.InCall);
        await Assertions.Expect(Id("security-code")).ToBeVisibleAsync();
        await fx.WaitForRemotePictureAsync(page); // the call screen as it stays (the picture comes a moment after InCall)
        foreach (var (language, highContrast) in Looks)
        {
            await SetLookAsync(page, language, highContrast);
            await Assertions.Expect(Id("call-screen")).ToHaveAttributeAsync("data-state", MeetingStates.InCall);
            await CheckAsync(page, "call", LookName(language, highContrast));
            await Id("leave").TapAsync();
            await Assertions.Expect(Id("leave-dialog")).ToBeVisibleAsync();
            await CheckAsync(page, "call-leave", LookName(language, highContrast));
            await Id("leave-no").TapAsync();
            await Assertions.Expect(Id("leave-dialog")).ToHaveCountAsync(0);
        }

        await fx.Remote.LeaveAsync();
        await Assertions.Expect(Id("join-featured")).ToBeVisibleAsync();
    }

    /// <summary>roomd gone: the panel's offline banner in every look, and the panel back when roomd is.</summary>
    private async Task CheckOfflineScreenAsync(IPage page)
    {
        ILocator Id(string id) => page.GetByTestId(id);

        fx.Roomd.Kill();
        await Assertions.Expect(Id("offline")).ToBeVisibleAsync();
        foreach (var (language, highContrast) in Looks)
        {
            await SetLookAsync(page, language, highContrast);
            await Assertions.Expect(Id("offline")).ToBeVisibleAsync();
            await CheckAsync(page, "offline", LookName(language, highContrast));
        }

        fx.Roomd.Start();
        await fx.WaitForRoomdAsync();
        await Assertions.Expect(Id("offline")).ToHaveCountAsync(0);
    }

    private static async Task SetLookAsync(IPage page, string language, bool highContrast)
    {
        await page.GetByTestId("lang-" + language).TapAsync();
        await page.Locator($".panel[lang={language}]").WaitForAsync();
        if (await page.Locator(".panel.hc").CountAsync() > 0 != highContrast)
        {
            await page.GetByTestId("contrast").TapAsync();
        }

        await page.Locator(highContrast ? ".panel.hc" : ".panel:not(.hc)").WaitForAsync();
    }
}
