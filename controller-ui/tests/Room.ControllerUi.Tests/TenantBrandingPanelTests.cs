using System.Text.Json;
using Microsoft.Playwright;
using Room.Testing;

namespace Room.ControllerUi.Tests;

/// <summary>
/// The enrolled tenant's branding on the panel (issue 14, operators): roomd offers what <c>roomctl enroll</c> kept beside
/// the box's key (System.Branding, System.BrandingLogo), and the panel shows that name, colour and logo in place of its
/// configured ones, changing while it runs when the box is enrolled with another tenant (screenshots of two tenants,
/// axe clean), and back to its own when there is none.
/// </summary>
[Collection(PanelGroup.Name)]
public sealed class TenantBrandingPanelTests(PanelFixture fx) : IAsyncLifetime
{
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        await fx.ResetAsync();
        _page = await fx.OpenAsync();
    }

    public async Task DisposeAsync()
    {
        Write(null, null);
        await fx.WaitForStatusAsync(s => s.System.Branding is null);
        await _page.CloseAsync();
    }

    /// <summary>The files as roomctl enroll writes them (Room.MeetingClient.TenantBranding): whole files renamed into place.</summary>
    private void Write(object? branding, byte[]? logo)
    {
        string dir = fx.Roomd.IdentityDirectory;
        foreach (var (name, data) in new[] { ("branding-logo", logo), ("branding.json", branding is null ? null : JsonSerializer.SerializeToUtf8Bytes(branding)) })
        {
            string path = Path.Combine(dir, name);
            if (data is null)
            {
                File.Delete(path);
                continue;
            }

            File.WriteAllBytes(path + ".new", data);
            File.Move(path + ".new", path, overwrite: true);
        }
    }

    private async Task ExpectLookAsync(string name, string background)
    {
        await Assertions.Expect(_page.GetByTestId("brand-name")).ToHaveTextAsync(name);
        await Assertions.Expect(_page.Locator(".topbar")).ToHaveCSSAsync("background-color", background);
        await Assertions.Expect(_page.GetByTestId("logo")).ToBeVisibleAsync();
        await _page.WaitForFunctionAsync("() => { const i = document.querySelector('[data-testid=logo]'); return i && i.complete && i.naturalWidth > 0; }");
    }

    [Fact]
    public async Task The_panel_shows_the_enrolled_tenants_branding_and_changes_it_without_restarting()
    {
        await Assertions.Expect(_page.GetByTestId("brand-name")).ToHaveTextAsync("Nordwind Meeting");

        byte[] logoA = TestPng.Make(64, 64, (27, 94, 32), (255, 255, 255));
        Write(new { tenant = "stadt-aheim", displayName = "Stadt Aheim", primaryColor = "#1b5e20", accentColor = "#2e7d32", logoType = "image/png" }, logoA);
        var status = await fx.WaitForStatusAsync(s => s.System.Branding?.Name == "Stadt Aheim");
        Assert.Equal(("#1b5e20", "#2e7d32", "image/png"), (status.System.Branding!.PrimaryColor, status.System.Branding.AccentColor, status.System.Branding.LogoType));
        Assert.Equal(logoA, status.System.BrandingLogo);
        await ExpectLookAsync("Stadt Aheim", "rgb(27, 94, 32)");
        await PanelFixture.ScreenshotAsync(_page, "home-tenant-a");
        await PanelFixture.AssertAccessibleAsync(_page, "home, tenant A");

        // Enrolled again, with another tenant: the running panel changes.
        byte[] logoB = TestPng.Make(64, 64, (255, 193, 7), (106, 27, 154));
        Write(new { tenant = "gemeinde-bedorf", displayName = "Gemeinde Bedorf", primaryColor = "#6a1b9a", accentColor = "#8e24aa", logoType = "image/png" }, logoB);
        await fx.WaitForStatusAsync(s => s.System.Branding?.Name == "Gemeinde Bedorf");
        await ExpectLookAsync("Gemeinde Bedorf", "rgb(106, 27, 154)");
        await PanelFixture.ScreenshotAsync(_page, "home-tenant-b");
        await PanelFixture.AssertAccessibleAsync(_page, "home, tenant B");

        // A broken file (not the box's own writing, a colour that is none) is not shown: the panel's own branding is.
        Write(new { tenant = "x", displayName = "Broken", primaryColor = "red; background: url(x)", accentColor = "#000000", logoType = "image/png" }, logoB);
        await fx.WaitForStatusAsync(s => s.System.Branding is null);
        await Assertions.Expect(_page.GetByTestId("brand-name")).ToHaveTextAsync("Nordwind Meeting");
        Assert.Equal("rgb(11, 92, 173)", await _page.Locator(".topbar").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
    }
}
