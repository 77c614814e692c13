using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Room.Bus;
using Room.Bus.Client;
using Room.Call.E2ee;
using Room.Testing;
using Room.Testing.Network;
using Xunit.Abstractions;

namespace Room.Appliance.Tests.Interop;

/// <summary>Interop tests with real peers (Janus, Chromium) in network namespaces: one at a time, beside the other classes.</summary>
[CollectionDefinition("janus-call")]
public sealed class JanusCallGroup;

/// <summary>Headless Debian Chromium (fake camera and microphone) running browser/janus-e2ee.html.</summary>
internal sealed class E2eeBrowser : IAsyncDisposable
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IPage Page { get; private set; } = null!;

    public static bool IsInstalled => WebRtcChromium.IsInstalled;

    public static async Task<E2eeBrowser> StartAsync()
    {
        var b = new E2eeBrowser();
        (b._playwright, b._browser) = await WebRtcChromium.LaunchAsync();
        var context = await b._browser.NewContextAsync();
        b.Page = await context.NewPageAsync();
        var dir = Path.Combine(AppContext.BaseDirectory, "browser");
        var html = await File.ReadAllTextAsync(Path.Combine(dir, "janus-e2ee.html"));
        var script = await File.ReadAllTextAsync(Path.Combine(dir, "room-link-e2ee.js"));
        // Served as http://localhost so the page is a secure context (getUserMedia, WebCrypto) without any server.
        await b.Page.RouteAsync("http://localhost/janus-e2ee.html", r => r.FulfillAsync(new RouteFulfillOptions { Body = html, ContentType = "text/html" }));
        await b.Page.RouteAsync("http://localhost/room-link-e2ee.js", r => r.FulfillAsync(new RouteFulfillOptions { Body = script, ContentType = "text/javascript" }));
        await b.Page.GotoAsync("http://localhost/janus-e2ee.html");
        return b;
    }

    public sealed record Stats(long FramesDecoded, long VideoPackets, long AudioPackets, long AudioSamples, int Width, long FramesSent,
        long Encrypted, long Decrypted, long Rejected, string LastError, string Mode, string Code);

    public async Task<Stats> StatsAsync()
    {
        var j = await Page.EvaluateAsync<JsonElement>("() => window.inboundStats()");
        return new Stats(j.GetProperty("framesDecoded").GetInt64(), j.GetProperty("videoPackets").GetInt64(), j.GetProperty("audioPackets").GetInt64(),
            j.GetProperty("audioSamples").GetInt64(), j.GetProperty("width").GetInt32(), j.GetProperty("framesSent").GetInt64(),
            j.GetProperty("encrypted").GetInt64(), j.GetProperty("decrypted").GetInt64(), j.GetProperty("rejected").GetInt64(),
            j.GetProperty("lastError").GetString() ?? "", j.GetProperty("mode").GetString() ?? "", j.GetProperty("code").GetString() ?? "");
    }

    public Task<long> JoinAsync(Uri janus, string fragment, string display) =>
        Page.EvaluateAsync<long>("([u, r, f, d]) => window.joinAndPublish(u, r, f, d)", new object[] { janus.ToString(), JanusServer.Room, fragment, display });

    public Task SubscribeAsync(long feed) => Page.EvaluateAsync("([r, f]) => window.subscribe(r, f)", new object[] { JanusServer.Room, feed });

    public Task LeaveAsync() => Page.EvaluateAsync("() => window.leave()");

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
    }
}

/// <summary>What roomd's Media.GetReport says about the call (its frame counters).</summary>
internal sealed record CallReport(long VideoSent, long VideoDecoded, long AudioDecoded, long Rejected, long Plis, long Nacks, string Text)
{
    /// <summary>Consent checks (RFC 7675) answered on the sending and on the receiving leg; -1 when not reported.</summary>
    public (long Sending, long Receiving) ConsentRefreshes =>
        Regex.Match(Text, @"sending \w+ \(consent refreshed (\d+) times\), receiving \w+ \(consent refreshed (\d+) times\)") is { Success: true } m
            ? (long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))
            : (-1, -1);

    /// <summary>The report's lines on what was received (rejections with their last reason, per stream), for a failure message.</summary>
    public string Received => string.Join(" | ", Text.Split('\n').Where(l => l.StartsWith("call received", StringComparison.Ordinal)
        || l.StartsWith("call video from", StringComparison.Ordinal) || l.StartsWith("call audio from", StringComparison.Ordinal)));

    public static CallReport Parse(string report)
    {
        static long Number(string text, string pattern) => Regex.Match(text, pattern) is { Success: true } m ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
        return new CallReport(Number(report, @"call sent: video (\d+) frames"), Number(report, @"call received: video (\d+) frames decoded"),
            Number(report, @"audio (\d+) frames decoded"), Number(report, @"(\d+) frames rejected by SFrame"), Number(report, @"PLIs (\d+)"), Number(report, @"NACKs (\d+)"), report);
    }
}

/// <summary>
/// roomd (a real process on a private bus, simulated camera and microphones) in a bare Janus VideoRoom with a real
/// Chromium participant, both end-to-end encrypted with the key in the meeting link.
/// </summary>
[Collection("janus-call")]
[Trait("Category", "Interop")]
public sealed class JanusCallTests(ITestOutputHelper output)
{
    private static Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "") =>
        JanusRig.WaitUntilAsync(condition, ct, what);

    [SkippableFact]
    public async Task Roomd_and_chromium_decode_each_others_end_to_end_encrypted_video_and_audio_through_janus()
    {
        Skip.IfNot(Environment.UserName == "root", "network namespaces need root");
        Assert.True(JanusServer.IsInstalled && E2eeBrowser.IsInstalled, "janus/chromium not installed (make deps)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var ct = timeout.Token;
        await using var rig = await JanusRig.StartAsync(ct);
        var secret = LinkKey.NewSecretText();
        var link = rig.Link(secret);
        try
        {
            // Without the key: refused with a clear error, nothing changes.
            var bare = link.Split('#')[0];
            var refused = await Assert.ThrowsAsync<RoomBusException>(() => rig.Client.JoinAsync(bare));
            Assert.Equal(BusErrors.InvalidUri, refused.ErrorName);
            Assert.Contains("key", refused.Message, StringComparison.Ordinal);
            var idle = (await rig.Client.GetStatusAsync()).Meeting;
            Assert.Equal(MeetingStates.Idle, idle.State);
            Assert.Equal("", idle.Uri);

            // roomctl joins with the full link; roomd never shows the fragment.
            var joined = await CliProcess.RunAsync(rig.Bus.Address, "join", link);
            Assert.True(joined.ExitCode == 0, joined.Error);
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Error, ct);
            var meeting = (await rig.Client.GetStatusAsync()).Meeting;
            Assert.True(meeting.State == MeetingStates.InCall, $"{meeting.State}: {meeting.LastError}\n{rig.Roomd.Log}");
            Assert.Equal(bare, meeting.Uri);
            var roomdFeed = long.Parse(meeting.Participants[0].Id, System.Globalization.CultureInfo.InvariantCulture);

            // Participants changes arrive as PropertiesChanged (the panel never polls).
            var participantCounts = new System.Collections.Concurrent.ConcurrentQueue<int>();
            using var watch = await rig.Client.WatchAsync((iface, changed) =>
            {
                if (iface == BusNames.Meeting && changed.TryGetValue("Participants", out var v)) participantCounts.Enqueue(v.Count);
            });

            // Chromium joins the same room with the same link key and publishes; roomd subscribes to it by itself.
            long chromeFeed = await rig.Browser.JoinAsync(rig.Janus.WebSocketUri, "k=" + secret, "chromium");
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.Participants.Any(p => p.Id == chromeFeed.ToString(System.Globalization.CultureInfo.InvariantCulture)), ct);
            var participants = (await rig.Client.GetStatusAsync()).Meeting.Participants;
            Assert.Equal(2, participants.Count);
            Assert.Equal("chromium", participants[1].Name);
            await rig.Browser.SubscribeAsync(roomdFeed);

            // Both decode the other: Chromium through getStats, roomd through its media report on the bus.
            E2eeBrowser.Stats stats = await rig.Browser.StatsAsync();
            CallReport report = await rig.ReportAsync();
            long audioSamplesAt = 0;
            await WaitUntilAsync(async () =>
            {
                stats = await rig.Browser.StatsAsync();
                report = await rig.ReportAsync();
                if (audioSamplesAt == 0 && stats.AudioSamples > 0) audioSamplesAt = stats.AudioSamples;
                return stats.FramesDecoded >= 30 && audioSamplesAt > 0 && stats.AudioSamples > audioSamplesAt + 48000
                    && report.VideoDecoded >= 30 && report.AudioDecoded >= 50;
            }, ct);
            output.WriteLine($"browser ({stats.Mode}): decoded {stats.FramesDecoded} frames of roomd's ({stats.Width} wide), {stats.AudioSamples} audio samples, " +
                $"{stats.Decrypted} frames decrypted, {stats.Encrypted} encrypted, {stats.Rejected} rejected");
            output.WriteLine(report.Text[report.Text.IndexOf("call:", StringComparison.Ordinal)..]);
            Assert.Equal(640, stats.Width);
            Assert.True(stats.Decrypted > 0 && stats.Encrypted > 0);
            Assert.True(report.Rejected == 0, report.Received);

            // Same link, same security code on the panel and in the browser.
            meeting = (await rig.Client.GetStatusAsync()).Meeting;
            Assert.Matches(@"^(\d{5} ){11}\d{5}$", meeting.SecurityCode);
            Assert.Equal(meeting.SecurityCode, stats.Code);

            // The Media properties name the real transport and encryption.
            var media = (await rig.Client.GetStatusAsync()).Media;
            Assert.True(media.Active);
            Assert.StartsWith($"Janus VideoRoom {JanusServer.Room} at ws://", media.Transport, StringComparison.Ordinal);
            Assert.Contains("SFrame", media.Encryption, StringComparison.Ordinal);

            // The room's picture of the browser is there for the panel.
            var jpeg = await rig.Client.SnapshotAsync();
            Assert.True(jpeg.Length > 100 && jpeg[0] == 0xFF && jpeg[1] == 0xD8);

            // Muting shows on the room's own participant entry.
            await rig.Client.SetMicrophoneMutedAsync(true);
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.Participants[0].Muted, ct);

            // The browser leaves: roomd's participants follow, signalled.
            await rig.Browser.LeaveAsync();
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.Participants.Count == 1, ct);
            await WaitUntilAsync(() => Task.FromResult(participantCounts.Contains(2) && participantCounts.Last() == 1), ct);
            Assert.Equal(MeetingStates.InCall, (await rig.Client.GetStatusAsync()).Meeting.State);

            // It comes back as a new publisher: roomd renegotiates its subscription and decodes it again.
            long decodedBefore = (await rig.ReportAsync()).VideoDecoded;
            long again = await rig.Browser.JoinAsync(rig.Janus.WebSocketUri, "k=" + secret, "chromium again");
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.Participants.Any(p => p.Name == "chromium again"), ct);
            await WaitUntilAsync(async () => (await rig.ReportAsync()).VideoDecoded >= decodedBefore + 20, ct);
            output.WriteLine($"rejoined as feed {again}: roomd decoded {(await rig.ReportAsync()).VideoDecoded - decodedBefore} more frames");
            output.WriteLine(string.Join('\n', rig.Roomd.Log.Split('\n').Where(l => l.Contains("Subscription", StringComparison.Ordinal))));
            Assert.DoesNotContain("Subscription not updated", rig.Roomd.Log, StringComparison.Ordinal);

            await rig.Client.LeaveAsync();
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State == MeetingStates.Idle, ct);

            // Leaving cleaned up: the room joins again.
            await rig.Client.JoinAsync(link);
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Error, ct);
            Assert.Equal(MeetingStates.InCall, (await rig.Client.GetStatusAsync()).Meeting.State);
            await rig.Client.LeaveAsync();
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State == MeetingStates.Idle, ct);
            Assert.DoesNotContain(secret, rig.Roomd.Log, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine(rig.Roomd.Log);
            output.WriteLine(string.Join('\n', File.ReadLines(rig.Janus.LogFile).TakeLast(40)));
            throw;
        }
    }

    [SkippableFact]
    public async Task A_browser_with_another_key_receives_roomds_media_but_decodes_nothing()
    {
        Skip.IfNot(Environment.UserName == "root", "network namespaces need root");
        Assert.True(JanusServer.IsInstalled && E2eeBrowser.IsInstalled, "janus/chromium not installed (make deps)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var ct = timeout.Token;
        await using var rig = await JanusRig.StartAsync(ct);
        try
        {
            await rig.Client.JoinAsync(rig.Link(LinkKey.NewSecretText()));
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Error, ct);
            var meeting = (await rig.Client.GetStatusAsync()).Meeting;
            Assert.Equal(MeetingStates.InCall, meeting.State);
            var roomdFeed = long.Parse(meeting.Participants[0].Id, System.Globalization.CultureInfo.InvariantCulture);

            await rig.Browser.JoinAsync(rig.Janus.WebSocketUri, "k=" + LinkKey.NewSecretText(), "eavesdropper");
            await rig.Browser.SubscribeAsync(roomdFeed);

            // The SFU carries roomd's media to the browser (packets arrive), but with the wrong key nothing
            // authenticates, so nothing reaches the decoder; the same the other way round.
            E2eeBrowser.Stats stats = await rig.Browser.StatsAsync();
            CallReport report = await rig.ReportAsync();
            await WaitUntilAsync(async () =>
            {
                stats = await rig.Browser.StatsAsync();
                report = await rig.ReportAsync();
                return stats.VideoPackets >= 100 && stats.AudioPackets >= 100 && stats.Rejected >= 50 && report.Rejected >= 50;
            }, ct);
            // Consent freshness (RFC 7675): Janus answers roomd's consent checks on both legs again and again (the
            // sending leg's once went unanswered and the call expired after 30 s), so consent cannot expire: the call
            // stays up. Four answers each is about 20 s of consent; its 30 s expiry itself is tested on a clock
            // (ConsentFreshnessTests, IceAgentClockTests).
            await WaitUntilAsync(async () => (await rig.ReportAsync()).ConsentRefreshes is { Sending: >= 4, Receiving: >= 4 }, ct);
            report = await rig.ReportAsync();
            output.WriteLine(report.Text[report.Text.IndexOf("call:", StringComparison.Ordinal)..]);
            Assert.Equal(MeetingStates.InCall, (await rig.Client.GetStatusAsync()).Meeting.State);
            output.WriteLine($"browser: {stats.VideoPackets} video / {stats.AudioPackets} audio packets, {stats.Rejected} frames rejected ({stats.LastError}), " +
                $"{stats.FramesDecoded} decoded; roomd: {report.Rejected} rejected, {report.VideoDecoded} video decoded");
            Assert.Equal(0, stats.FramesDecoded);
            Assert.Equal(0, stats.Decrypted);
            Assert.Equal(0, report.VideoDecoded);
            Assert.NotEqual(meeting.SecurityCode, stats.Code);

            // Janus goes away: the room says why and keeps rejoining (JanusReconnectTests brings Janus back).
            rig.Janus.Dispose();
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State == MeetingStates.Reconnecting, ct);
            meeting = (await rig.Client.GetStatusAsync()).Meeting;
            output.WriteLine($"after Janus stopped: {meeting.State}, {meeting.LastError}");
            Assert.Contains("Janus", meeting.LastError, StringComparison.Ordinal);
            Assert.Empty(meeting.Participants);
            Assert.Equal("", meeting.SecurityCode);
        }
        catch
        {
            output.WriteLine(rig.Roomd.Log);
            throw;
        }
    }
    [SkippableFact]
    public async Task Under_5_percent_loss_and_100_ms_round_trip_roomd_and_chromium_keep_decoding_each_other_and_recover_when_it_stops()
    {
        Skip.IfNot(Environment.UserName == "root", "network namespaces need root");
        Assert.True(JanusServer.IsInstalled && E2eeBrowser.IsInstalled, "janus/chromium not installed (make deps)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var ct = timeout.Token;
        // Media to and from Janus goes over a relay that holds every packet 50 ms each way (signalling stays direct).
        await using var rig = await JanusRig.StartAsync(ct, TimeSpan.FromMilliseconds(50));
        var secret = LinkKey.NewSecretText();
        try
        {
            await rig.Client.JoinAsync(rig.Link(secret));
            await WaitUntilAsync(async () => (await rig.Client.GetStatusAsync()).Meeting.State is MeetingStates.InCall or MeetingStates.Error, ct);
            var meeting = (await rig.Client.GetStatusAsync()).Meeting;
            Assert.Equal(MeetingStates.InCall, meeting.State);
            await rig.Browser.JoinAsync(rig.Janus.WebSocketUri, "k=" + secret, "chromium");
            await rig.Browser.SubscribeAsync(long.Parse(meeting.Participants[0].Id, System.Globalization.CultureInfo.InvariantCulture));
            await WaitUntilAsync(async () => (await rig.Browser.StatsAsync()).FramesDecoded >= 20 && (await rig.ReportAsync()).VideoDecoded >= 20, ct);

            async Task<(long Browser, long Roomd)> Decoded() => ((await rig.Browser.StatsAsync()).FramesDecoded, (await rig.ReportAsync()).VideoDecoded);
            var clean0 = await Decoded();
            await Task.Delay(TimeSpan.FromSeconds(8), ct);
            var clean1 = await Decoded();

            // 5 % of UDP dropped both ways inside Janus's namespace (nftables; this kernel has no netem), on top of the
            // 100 ms round trip: every media
            // leg, roomd -> Janus -> Chromium and back, loses packets and must repair them (NACK/RTX, PLI).
            rig.Ns.AddUdpLoss(5);
            var lossy0 = await Decoded();
            long nacksBefore = (await rig.ReportAsync()).Nacks;
            await Task.Delay(TimeSpan.FromSeconds(12), ct);
            var lossy1 = await Decoded();
            // Both keep decoding under loss, however slowly a loaded machine runs: 30 more frames each way.
            await WaitUntilAsync(async () => await Decoded() is var d && d.Browser >= lossy1.Browser + 30 && d.Roomd >= lossy1.Roomd + 30, ct);
            long nacksUnderLoss = (await rig.ReportAsync()).Nacks - nacksBefore;
            rig.Ns.RemoveUdpLoss();
            var stopped = System.Diagnostics.Stopwatch.StartNew();
            var at = await Decoded();
            long browserBack = -1, roomdBack = -1;
            await WaitUntilAsync(async () =>
            {
                var now = await Decoded();
                if (browserBack < 0 && now.Browser >= at.Browser + 3) browserBack = stopped.ElapsedMilliseconds;
                if (roomdBack < 0 && now.Roomd >= at.Roomd + 3) roomdBack = stopped.ElapsedMilliseconds;
                return browserBack >= 0 && roomdBack >= 0;
            }, ct);

            double cleanBrowser = (clean1.Browser - clean0.Browser) / 8.0, cleanRoomd = (clean1.Roomd - clean0.Roomd) / 8.0;
            double lossyBrowser = (lossy1.Browser - lossy0.Browser) / 12.0, lossyRoomd = (lossy1.Roomd - lossy0.Roomd) / 12.0;
            var report = await rig.ReportAsync();
            var measured = $"frames/s clean: browser {cleanBrowser:F1} (roomd's video), roomd {cleanRoomd:F1} (browser's video); " +
                $"under 5 % loss: browser {lossyBrowser:F1}, roomd {lossyRoomd:F1}, roomd sent {nacksUnderLoss} NACKs; " +
                $"after the loss stopped 3 more frames: browser {browserBack} ms, roomd {roomdBack} ms";
            output.WriteLine(measured);
            MeasurementReport.Add("janus-call", measured);
            output.WriteLine(report.Text[report.Text.IndexOf("call:", StringComparison.Ordinal)..]);
            // Rates and recovery times are reported above, not asserted (a loaded machine changes them); what must hold:
            // roomd repaired what was lost (NACKs), decrypted everything it got, and the call stayed up.
            Assert.True(nacksUnderLoss > 0, "roomd sent no NACK under 5 % loss");
            Assert.True(report.Rejected == 0, report.Received);
            Assert.Equal(MeetingStates.InCall, (await rig.Client.GetStatusAsync()).Meeting.State);
        }
        catch
        {
            output.WriteLine(rig.Roomd.Log);
            throw;
        }
    }
}
