using Microsoft.Playwright;
using Room.Testing.Network;

namespace Room.ControllerUi.Tests;

/// <summary>
/// Debian's headless Chromium driven by Playwright, launched as every browser test of the panel launches it, and the
/// panel opened in it as on the room's touch screen (touch, German locale) once its live circuit is up.
/// </summary>
public sealed class PanelBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private PanelBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Starts Playwright and Chromium (and sets the expectations' patience for the whole run).</summary>
    public static async Task<PanelBrowser> LaunchAsync()
    {
        Assertions.SetDefaultExpectTimeout((float)PanelFixture.Patience.TotalMilliseconds);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = WebRtcChromium.Executable,
                Headless = true,
                Args =
                [
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--no-first-run",
                ],
            });
            return new PanelBrowser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page on the panel at <paramref name="url"/>, once it is live and interactive.</summary>
    public async Task<IPage> OpenAsync(string url, int width = 1280, int height = 800)
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            HasTouch = true,
            Locale = "de-DE",
        });
        try
        {
            page.SetDefaultTimeout((float)PanelFixture.Patience.TotalMilliseconds);
            await page.GotoAsync(url);

            // Interactive once the circuit is up and the panel has roomd's state.
            // (The prerendered page looks the same but ignores taps: wait for the live circuit.)
            await page.Locator(".panel[data-link='Online'][data-interactive='true']").WaitForAsync();
            return page;
        }
        catch
        {
            await page.CloseAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
