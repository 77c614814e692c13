using System.Globalization;
using System.Text.RegularExpressions;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;
using Room.Testing.Network;

namespace Room.CallQuality.Bench;

/// <summary>What a publisher says of its own sending: encoder target, bandwidth estimate (bit/s), and a note.</summary>
internal sealed record SenderView(double TargetBps, double EstimateBps, string Note);

/// <summary>One side of the comparison: something that publishes into the Janus room and reports on its sending.</summary>
internal interface IBenchPublisher : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Publishes into the room (link-keyed by <paramref name="secret"/>); returns the feed once Janus has it.</summary>
    Task<long> PublishAsync(JanusServer janus, string secret, CancellationToken ct);

    Task<SenderView> ViewAsync();
}

/// <summary>
/// roomd as a box runs it (a real process on a private bus, simulated devices; the front camera playing
/// <c>clip</c> when given), joined to the room as roomctl joins it.
/// </summary>
internal sealed partial class RoomdPublisher(string? clip) : IBenchPublisher
{
    private PrivateBus? _bus;
    private RoomdProcess? _roomd;
    private RoomBusClient? _client;

    public string Name => "Room (roomd)";

    public string Log => _roomd?.Log ?? "";

    public async Task<long> PublishAsync(JanusServer janus, string secret, CancellationToken ct)
    {
        _bus = new PrivateBus();
        _roomd = await RoomdProcess.StartAsync(new RoomdLaunch(_bus.Address, Path.Combine(_bus.Directory, "state"))
        {
            Args = clip is null ? ["--Room:Name", "Room bench"] : ["--Room:Name", "Room bench", "--Devices:Simulated:VideoClip", clip],
        });
        _client = await RoomBusClient.ConnectAsync(_bus.Address, ct);
        var ws = janus.WebSocketUri;
        await _client.JoinAsync($"test-janus-linkkey://{ws.Host}:{ws.Port}/{JanusServer.Room}#k={secret}");
        while (true)
        {
            var meeting = (await _client.GetStatusAsync()).Meeting;
            if (meeting.State == MeetingStates.InCall) return long.Parse(meeting.Participants[0].Id, CultureInfo.InvariantCulture);
            if (meeting.State == MeetingStates.Error) throw new InvalidOperationException($"roomd did not join: {meeting.LastError}\n{Log}");
            await Task.Delay(100, ct);
        }
    }

    public async Task<SenderView> ViewAsync()
    {
        var report = await _client!.GetMediaReportAsync();
        double target = Number(TargetPattern().Match(report)), estimate = Number(EstimatePattern().Match(report));
        string congestion = CongestionPattern().Match(report) is { Success: true } c ? c.Groups[1].Value + "; " : "";
        congestion += SentPattern().Match(report) is { Success: true } f ? $"sent {f.Groups[1].Value}; " : "";
        congestion += PicturePattern().Match(report) is { Success: true } p ? p.Groups[1].Value + "; " : "";
        return new SenderView(target, estimate, congestion + (KeyframePattern().Match(report) is { Success: true } k ? "keyframes " + k.Groups[1].Value : ""));
    }

    private static double Number(Match m) => m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"(\d+) bit/s target")]
    private static partial Regex TargetPattern();

    [GeneratedRegex(@"call congestion: target (\d+) bit/s")]
    private static partial Regex EstimatePattern();

    [GeneratedRegex(@"call sent: video (\d+ frames \(\d+ skipped for the frame rate, last took [\d.]+ ms)")]
    private static partial Regex SentPattern();

    [GeneratedRegex(@"call picture: ([^\n]*)")]
    private static partial Regex PicturePattern();

    [GeneratedRegex(@"call congestion: ([^\n]*)")]
    private static partial Regex CongestionPattern();

    [GeneratedRegex(@"keyframes (\d+: \d+ asked for by PLI/FIR)")]
    private static partial Regex KeyframePattern();

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            try
            {
                await _client.LeaveAsync();
            }
            catch (RoomBusException)
            {
            }

            _client.Dispose();
        }

        if (_roomd is not null) await _roomd.DisposeAsync();
        _bus?.Dispose();
    }
}

/// <summary>Headless Chromium publishing its fake camera (a looped clip when one is given) at the size and rate asked.</summary>
internal sealed class ChromiumPublisher(int width, int height, int fps, string? clip) : IBenchPublisher
{
    private QualityPage? _page;

    public string Name => "Chromium";

    public async Task<long> PublishAsync(JanusServer janus, string secret, CancellationToken ct)
    {
        string[] args = clip is null
            ? [$"--use-fake-device-for-media-stream=fps={fps}"]
            : [$"--use-fake-device-for-media-stream=fps={fps}", "--use-file-for-fake-video-capture=" + clip];
        _page = await QualityPage.OpenAsync(args);
        return await _page.PublishAsync(janus.WebSocketUri, "k=" + secret, width, height, fps).WaitAsync(ct);
    }

    public async Task<SenderView> ViewAsync()
    {
        var (_, sent) = await _page!.StatsAsync();
        return sent is null
            ? new SenderView(0, 0, "")
            : new SenderView(sent.TargetBps, sent.EstimateBps, $"sending {sent.Width}x{sent.Height} {sent.Fps:F0} fps, keyframes {sent.Keyframes}, limited by {sent.Limitation}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_page is not null) await _page.DisposeAsync();
    }
}
