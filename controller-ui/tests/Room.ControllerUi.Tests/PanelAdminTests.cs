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

    [Fact]
    public async Task Network_and_proxy_are_set_on_the_panel_and_roomds_refusals_are_shown_in_the_dialog()
    {
        await UnlockAsync();
        await Assertions.Expect(Id("network-mode")).ToContainTextAsync("Werkseinstellung (lan0, systemd-networkd)");
        await Assertions.Expect(Id("network-proxy")).ToHaveTextAsync("keiner");

        // The proxy, typed on the dialog's keyboard.
        await Id("network-edit").TapAsync();
        await Assertions.Expect(Id("network-dialog")).ToBeVisibleAsync();
        await Id("net-proxy").TapAsync();
        await TypeAsync("http://");
        await TypeAsync("proxy.example:3128");
        await Assertions.Expect(Id("net-proxy")).ToHaveValueAsync("http://proxy.example:3128");
        await Id("net-save").TapAsync();
        await fx.WaitForStatusAsync(s => s.Admin.Proxy == "http://proxy.example:3128");
        await Assertions.Expect(Id("network-dialog")).ToBeHiddenAsync();
        await Assertions.Expect(Id("network-proxy")).ToHaveTextAsync("http://proxy.example:3128");

        // A static address with a gateway outside its subnet: roomd refuses by name, the dialog says why, nothing changes.
        await Id("network-edit").TapAsync();
        await Id("net-mode-static").TapAsync();
        await Id("net-address").TapAsync();
        await TypeAsync("192.0.2.10");
        await Id("net-gateway").FillAsync("198.51.100.1");
        await Id("net-dns").FillAsync("192.0.2.53");
        await Id("net-save").TapAsync();
        await Assertions.Expect(Id("net-error")).ToContainTextAsync("Nicht übernommen, nichts geändert");
        await Assertions.Expect(Id("net-error")).ToContainTextAsync("198.51.100.1 is outside the subnet 192.0.2.0/24");
        Assert.Equal("", (await fx.Remote.GetStatusAsync()).Admin.Network.Mode);
        await PanelFixture.ScreenshotAsync(_page, "settings-network-de");
        await PanelFixture.AssertAccessibleAsync(_page, "network dialog with a refusal, German");

        // A valid one goes to the network service; on this bus none runs, and the panel says so (the previous settings stay).
        await Id("net-gateway").FillAsync("192.0.2.1");
        await Id("net-save").TapAsync();
        await Assertions.Expect(Id("net-error")).ToContainTextAsync("Der Netzwerkdienst hat nicht übernommen");
        Assert.Equal("", (await fx.Remote.GetStatusAsync()).Admin.Network.Mode);

        // The dialog is modal (the language switch is behind it): close, switch, and try again in English.
        await Id("net-cancel").TapAsync();
        await Assertions.Expect(Id("network-proxy")).ToHaveTextAsync("http://proxy.example:3128");
        await Id("lang-en").TapAsync();
        await Assertions.Expect(Id("network-mode")).ToContainTextAsync("Factory default (lan0, systemd-networkd)");
        await Id("network-edit").TapAsync();
        await Assertions.Expect(Id("network-title")).ToHaveTextAsync("Network and proxy");
        await Id("net-mode-static").TapAsync();
        await Id("net-address").FillAsync("192.0.2.10");
        await Id("net-prefix").FillAsync("33");
        await Id("net-save").TapAsync();
        await Assertions.Expect(Id("net-error")).ToContainTextAsync("Not applied, nothing changed: An IPv4 prefix length is 1..32, not 33.");
        await PanelFixture.ScreenshotAsync(_page, "settings-network-en");
        await PanelFixture.AssertAccessibleAsync(_page, "network dialog with a refusal, English");
        await Id("net-cancel").TapAsync();
        await Id("lang-de").TapAsync();
        await fx.Remote.SetProxyAsync("");
    }

    /// <summary>Types on the network dialog's on-screen keyboard.</summary>
    private async Task TypeAsync(string text)
    {
        if (text == "http://")
        {
            await _page.GetByRole(AriaRole.Button, new() { Name = "http://", Exact = true }).TapAsync();
            return;
        }

        foreach (var c in text)
        {
            await _page.Locator($"[data-testid=network-dialog] .key[data-key='{c}']").TapAsync();
        }
    }
}
