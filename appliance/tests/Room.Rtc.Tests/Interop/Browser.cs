using System.Text.Json;
using Microsoft.Playwright;
using Room.Testing.Network;

namespace Room.Rtc.Tests.Interop;

/// <summary>Headless Debian Chromium with fake camera and microphone, running browser/room.html as a Janus participant.</summary>
internal sealed class Browser : IAsyncDisposable
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IPage Page { get; private set; } = null!;

    public static bool IsInstalled => WebRtcChromium.IsInstalled;

    public static async Task<Browser> StartAsync()
    {
        var b = new Browser();
        (b._playwright, b._browser) = await WebRtcChromium.LaunchAsync();
        var context = await b._browser.NewContextAsync();
        b.Page = await context.NewPageAsync();
        var html = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "browser", "room.html"));
        // Served as http://localhost so the page is a secure context (getUserMedia) without any server.
        await b.Page.RouteAsync("http://localhost/room.html", route => route.FulfillAsync(new RouteFulfillOptions { Body = html, ContentType = "text/html" }));
        await b.Page.GotoAsync("http://localhost/room.html");
        return b;
    }

    public sealed record Stats(long FramesDecoded, long VideoPackets, long AudioPackets, long AudioSamples, int Width, long NackCount, long PliCount, long PacketsLost);

    public async Task<Stats> InboundStatsAsync()
    {
        var json = await Page.EvaluateAsync<JsonElement>("() => window.inboundStats()");
        return new Stats(json.GetProperty("framesDecoded").GetInt64(), json.GetProperty("videoPackets").GetInt64(),
            json.GetProperty("audioPackets").GetInt64(), json.GetProperty("audioSamples").GetInt64(), json.GetProperty("width").GetInt32(),
            json.GetProperty("nackCount").GetInt64(), json.GetProperty("pliCount").GetInt64(), json.GetProperty("packetsLost").GetInt64());
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
    }
}
