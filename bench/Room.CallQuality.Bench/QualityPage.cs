using System.Text.Json;
using Microsoft.Playwright;
using Room.Testing.Network;

namespace Room.CallQuality.Bench;

/// <summary>What a receiver decoded so far (getStats inbound-rtp, video): cumulative counters and the current picture.</summary>
internal sealed record ReceiverStats(long Bytes, long Frames, long Keyframes, int Width, int Height, double Fps, long Freezes, double FreezeSeconds, long Lost);

/// <summary>What a publishing page sends (getStats outbound-rtp and the candidate pair's estimate).</summary>
internal sealed record SenderStats(double TargetBps, double EstimateBps, int Width, int Height, double Fps, long Keyframes, string Limitation);

/// <summary>
/// One headless Chromium page running the interop tests' browser participant (browser/janus-e2ee.html): a link-keyed
/// Janus participant that publishes (fake camera) and/or subscribes, with SFrame in encoded transforms.
/// </summary>
internal sealed class QualityPage : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IPage _page;

    private QualityPage(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        _page = page;
    }

    public static async Task<QualityPage> OpenAsync(params string[] chromiumArgs)
    {
        var (playwright, browser) = await WebRtcChromium.LaunchAsync(chromiumArgs);
        try
        {
            var page = await (await browser.NewContextAsync()).NewPageAsync();
            var dir = Path.Combine(AppContext.BaseDirectory, "browser");
            // Served as http://localhost so the page is a secure context (getUserMedia, WebCrypto) without any server.
            foreach (var (file, type) in new[] { ("janus-e2ee.html", "text/html"), ("room-link-e2ee.js", "text/javascript") })
            {
                var body = await File.ReadAllTextAsync(Path.Combine(dir, file));
                await page.RouteAsync("http://localhost/" + file, r => r.FulfillAsync(new RouteFulfillOptions { Body = body, ContentType = type }));
            }

            await page.GotoAsync("http://localhost/janus-e2ee.html");
            return new QualityPage(playwright, browser, page);
        }
        catch
        {
            await browser.CloseAsync();
            playwright.Dispose();
            throw;
        }
    }

    public Task ConnectAsync(Uri janus, string fragment) => _page.EvaluateAsync("([u, f]) => window.connect(u, f)", new object[] { janus.ToString(), fragment });

    /// <summary>Joins and publishes the fake camera at width x height and fps; returns the feed id.</summary>
    public Task<long> PublishAsync(Uri janus, string fragment, int width, int height, int fps) =>
        _page.EvaluateAsync<long>("([u, r, f, w, h, fps]) => window.joinAndPublish(u, r, f, 'chromium', { width: w, height: h, frameRate: fps })",
            new object[] { janus.ToString(), JanusServer.Room, fragment, width, height, fps });

    public Task SubscribeAsync(long feed) => _page.EvaluateAsync("([r, f]) => window.subscribe(r, f)", new object[] { JanusServer.Room, feed });

    public async Task<(ReceiverStats? Received, SenderStats? Sent)> StatsAsync()
    {
        var j = await _page.EvaluateAsync<JsonElement>("() => window.qualityStats()");
        ReceiverStats? rx = j.GetProperty("rx") is { ValueKind: JsonValueKind.Object } r
            ? new ReceiverStats(r.GetProperty("bytes").GetInt64(), r.GetProperty("frames").GetInt64(), r.GetProperty("keyframes").GetInt64(),
                r.GetProperty("width").GetInt32(), r.GetProperty("height").GetInt32(), r.GetProperty("fps").GetDouble(), r.GetProperty("freezes").GetInt64(),
                r.GetProperty("freezeSeconds").GetDouble(), r.GetProperty("lost").GetInt64())
            : null;
        SenderStats? tx = j.GetProperty("tx") is { ValueKind: JsonValueKind.Object } t
            ? new SenderStats(Number(t, "target"), Number(t, "estimate"), (int)Number(t, "width"), (int)Number(t, "height"), Number(t, "fps"),
                (long)Number(t, "keyframes"), t.TryGetProperty("limitation", out var l) ? l.GetString() ?? "" : "")
            : null;
        return (rx, tx);
    }

    private static double Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
