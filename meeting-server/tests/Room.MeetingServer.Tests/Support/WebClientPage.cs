using System.Text.Json;
using Microsoft.Playwright;

namespace Room.MeetingServer.Tests.Support;

/// <summary>The meeting-server's web client in a Playwright page, as a person uses it: open, sign in, read its state.</summary>
public static class WebClientPage
{
    /// <summary>
    /// A fresh browser context (its own storage) at <paramref name="url"/> in <paramref name="locale"/>, with camera and
    /// microphone allowed; what the page logs goes to <paramref name="console"/>.
    /// </summary>
    public static async Task<IPage> OpenAsync(IBrowser browser, Uri url, string locale, TimeSpan patience, List<string> console)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            // The server's certificate is from the organisation CA, which this throwaway browser profile does not know.
            IgnoreHTTPSErrors = true,
            Locale = locale,
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            Permissions = ["camera", "microphone"],
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)patience.TotalMilliseconds);
        page.Console += (_, m) => { lock (console) console.Add($"{m.Type}: {m.Text}"); };
        page.PageError += (_, e) => { lock (console) console.Add("pageerror: " + e); };
        // Why a request failed (net::ERR_...), which the page itself only sees as "Failed to fetch".
        page.RequestFailed += (_, r) => { lock (console) console.Add($"request failed: {r.Method} {r.Url}: {r.Failure}"); };
        await page.GotoAsync(url.ToString());
        await page.Locator("body[data-ready='true']").WaitForAsync();
        return page;
    }

    /// <summary>Signs in with the form; <paramref name="waitForMeetings"/>: until the meetings list shows.</summary>
    public static async Task SignInAsync(IPage page, string name, string password, bool waitForMeetings = true)
    {
        await page.Locator("#signin-name").FillAsync(name);
        await page.Locator("#signin-password").FillAsync(password);
        await page.Locator("#signin-password").PressAsync("Enter");
        if (waitForMeetings)
        {
            await page.Locator("#view-meetings:not([hidden])").WaitForAsync();
        }
    }

    /// <summary>The client's own account of its call (window.roomClient.stats()): phase, error, code, roster, frames.</summary>
    public static async Task<JsonElement> StatsAsync(IPage page) => await page.EvaluateAsync<JsonElement>("() => window.roomClient.stats()");
}
