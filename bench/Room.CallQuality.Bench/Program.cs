using System.Diagnostics;
using System.Globalization;
using Room.CallQuality.Bench;
using Room.Call.E2ee;
using Room.Testing;
using Room.Testing.Network;

// call-quality-bench (issue 21): roomd and Chromium each publish into a real Janus VideoRoom over the same shaped link
// (tc tbf in a network namespace), one after the other in one run: 5 Mbit/s, then 1 Mbit/s, then 5 again. Measured
// at the link (tc's counters of the bottleneck: all that crossed it, drops) and at a Chromium subscriber behind Janus
// (getStats: bytes, resolution, frame rate, keyframes, freezes). Prints the figures side by side and their ratios;
// nothing is asserted (a loaded 2-core machine moves them).
var culture = CultureInfo.InvariantCulture;
double Arg(string name, double fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], culture) : fallback;
var schedule = new Schedule(FullMbps: Arg("--full", 5), LowMbps: Arg("--low", 1), Clean: Arg("--clean-seconds", 40), Low: Arg("--low-seconds", 20), Recover: Arg("--recover-seconds", 30));

if (Environment.UserName != "root" || !JanusServer.IsInstalled || !WebRtcChromium.IsInstalled)
{
    Console.Error.WriteLine("call-quality-bench needs root (network namespaces, tc), Janus and Chromium (make deps)");
    return 2;
}

var output = RepoPaths.Artifacts("bench-call-quality");
var clip = Clip.Make(output, 1280, 720, 30);
Console.WriteLine($"call-quality-bench: Room vs Chromium through Janus over one tbf link ({schedule.FullMbps} Mbit/s {schedule.Clean} s, {schedule.LowMbps} Mbit/s " +
    $"{schedule.Low} s, {schedule.FullMbps} Mbit/s {schedule.Recover} s; queue {ShapedLink.QueueMs} ms); both cameras play {(clip ?? "their own pattern (no ffmpeg for a clip)")}");

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(schedule.End * 2 + 300));
var ct = timeout.Token;
using var ns = NetNs.Create();
// No REMB cap below the link (Janus's room bitrate) and no periodic PLI from Janus: the senders' own choices show.
using var janus = await JanusServer.StartAsync(ns, ct, new JanusRoomSettings(BitrateBps: 20_000_000, PliIntervalSeconds: 0));
// Publishers and the subscriber run in this namespace: what they send to Janus leaves through the veth's host end.
using var link = new ShapedLink(ns.HostInterface, schedule.FullMbps);

var results = new List<(string Name, CallFigures Figures, string Note)>();
// --only room|chromium: one side alone (a look at one sender; no table).
string only = Array.IndexOf(args, "--only") is var o and >= 0 && o + 1 < args.Length ? args[o + 1] : "";
IBenchPublisher[] publishers = [.. new IBenchPublisher[] { new RoomdPublisher(clip), new ChromiumPublisher(1280, 720, 30, clip) }
    .Where(p => only.Length == 0 || p.Name.StartsWith(only, StringComparison.OrdinalIgnoreCase))];
foreach (var publisher in publishers)
{
    await using var _ = publisher;
    var samples = await RunAsync(publisher);
    var note = samples.LastOrDefault(s => s.T <= schedule.DropAt)?.SenderNote ?? "";
    await File.WriteAllLinesAsync(Path.Combine(output, publisher.Name.Split(' ')[0].ToLowerInvariant() + ".csv"),
        ["t,link_mbps,link_bytes,link_dropped,backlog_bytes,rx_bytes,frames,keyframes,width,height,fps,freeze_s,lost,sender_target,sender_estimate,sender_note",
         .. samples.Select(s => string.Create(culture, $"{s.T:F2},{s.LinkMbps},{s.Link.SentBytes},{s.Link.Dropped},{s.Link.BacklogBytes},{s.Received?.Bytes},{s.Received?.Frames},{s.Received?.Keyframes},{s.Received?.Width},{s.Received?.Height},{s.Received?.Fps},{s.Received?.FreezeSeconds},{s.Received?.Lost},{s.SenderTargetBps},{s.SenderEstimateBps},\"{s.SenderNote}\""))], ct);
    results.Add((publisher.Name, CallFigures.From(samples, schedule), note));
}

if (results.Count == 2) Report.Print(results[0], results[1], schedule);
Console.WriteLine($"samples: {output}/*.csv");
return 0;

async Task<List<Sample>> RunAsync(IBenchPublisher publisher)
{
    link.SetRate(schedule.FullMbps);
    var secret = LinkKey.NewSecretText();
    await using var subscriber = await QualityPage.OpenAsync();
    await subscriber.ConnectAsync(janus.WebSocketUri, "k=" + secret).WaitAsync(ct);
    long feed = await publisher.PublishAsync(janus, secret, ct);
    var clock = Stopwatch.StartNew();
    // A feed whose publisher has only just been answered may have no media yet: Janus then makes no offer; ask again.
    for (int attempt = 1; ; attempt++)
    {
        try
        {
            await subscriber.SubscribeAsync(feed).WaitAsync(ct);
            break;
        }
        catch (Microsoft.Playwright.PlaywrightException e) when (attempt < 20 && e.Message.Contains("Janus made no offer", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"{publisher.Name}: {e.Message.Split('\n')[0]}; again in 250 ms");
            await Task.Delay(250, ct);
        }
    }

    var samples = new List<Sample>();
    for (int tick = 0; ; tick++)
    {
        double t = clock.Elapsed.TotalSeconds;
        if (t > schedule.End) break;
        if (schedule.RateAt(t) != link.Mbps) link.SetRate(schedule.RateAt(t));
        var counters = link.Read();
        var (received, _) = await subscriber.StatsAsync();
        var view = await publisher.ViewAsync();
        samples.Add(new Sample(t, link.Mbps, counters, received, view.TargetBps, view.EstimateBps, view.Note));
        var next = TimeSpan.FromSeconds((tick + 1) * 0.5) - clock.Elapsed;
        if (next > TimeSpan.Zero) await Task.Delay(next, ct);
    }

    return samples;
}
