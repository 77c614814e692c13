using Microsoft.Playwright;

namespace Room.ControllerUi.Tests;

/// <summary>
/// The settings screen's room settings: changed on the panel, stored by the real roomd through the admin session the PIN
/// opened for the panel's bus connection; German and English, axe-checked, with screenshots.
/// </summary>
[Collection(PanelGroup.Name)]
public sealed class PanelAdminTests(PanelFixture fx) : IAsyncLifetime
{
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        await fx.ResetAsync();
        _page = await fx.OpenAsync();
    }

    public async Task DisposeAsync() => await _page.CloseAsync();

    private ILocator Id(string testId) => _page.GetByTestId(testId);

    private async Task UnlockAsync()
    {
        await Id("nav-settings").TapAsync();
        await Assertions.Expect(Id("pin-gate")).ToBeVisibleAsync();
        foreach (var d in RoomdProcess.AdminPin)
        {
            await Id($"pin-{d}").TapAsync();
        }

        await Id("pin-ok").TapAsync();
        await Assertions.Expect(Id("admin")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Room_settings_changed_on_the_panel_are_stored_by_roomd()
    {
        await UnlockAsync();
        var before = (await fx.Remote.GetStatusAsync()).Admin;
        await Assertions.Expect(Id("admin-volume")).ToHaveTextAsync(before.DefaultVolume.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(Id("admin-enrolment")).ToHaveTextAsync("nicht angemeldet");

        var louder = before.DefaultVolume >= 100 ? 100u : Math.Min(100u, before.DefaultVolume + 10);
        await Id("admin-volume-up").TapAsync();
        await fx.WaitForStatusAsync(s => s.Admin.DefaultVolume == louder);
        await Assertions.Expect(Id("admin-volume")).ToHaveTextAsync(louder.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var standby = before.DisplayStandbyMinutes == 30 ? 60u : 30u;
        await Id($"admin-standby-{standby}").TapAsync();
        await fx.WaitForStatusAsync(s => s.Admin.DisplayStandbyMinutes == standby);
        await Assertions.Expect(Id($"admin-standby-{standby}")).ToHaveAttributeAsync("aria-pressed", "true");

        await Id("admin-language-en").TapAsync();
        await fx.WaitForStatusAsync(s => s.Admin.Language == "en");
        await Id("admin-language-de").TapAsync();
        await fx.WaitForStatusAsync(s => s.Admin.Language == "de");

        await PanelFixture.ScreenshotAsync(_page, "settings-admin-de");
        await PanelFixture.AssertAccessibleAsync(_page, "settings with room settings, German");
        await Id("lang-en").TapAsync();
        await Assertions.Expect(Id("admin-enrolment")).ToHaveTextAsync("not enrolled");
        await PanelFixture.ScreenshotAsync(_page, "settings-admin-en");
        await PanelFixture.AssertAccessibleAsync(_page, "settings with room settings, English");
        await Id("lang-de").TapAsync();
    }
}
