// make soak MINUTES=30 (soak-ci: 2 minutes in make test): two roomd processes in one end-to-end encrypted Janus
// VideoRoom call, started as the interop tests start them (Room.Testing: Debian's Janus in a network namespace of its
// own, each roomd on a private bus with its simulated camera and microphones), under 2 % UDP loss both ways inside the
// namespace. Every 10 s it samples each roomd's resident memory, threads and open file descriptors (/proc) and its
// media report (frames sent, decoded, audio concealed); per minute it prints a row, at the end the least-squares
// slope of each and a verdict. Exit 0: both calls stayed up, media kept flowing every minute and nothing grew
// clearly; 1: a dropped call, stalled media or a clear leak; 2: cannot run here (not root, no Janus).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Room.Bus;
using Room.Bus.Client;
using Room.Call.E2ee;
using Room.Testing;
using Room.Testing.Network;

namespace Room.Soak;

internal static partial class Program
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(10);

    private static async Task<int> Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        double minutes = 30;
        var lossPercent = 2;
        string? outDir = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--minutes" when i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var m) && m is >= 1 and <= 24 * 60:
                    minutes = m;
                    i++;
                    break;
                case "--loss" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var l) && l is >= 0 and <= 50:
                    lossPercent = l;
                    i++;
                    break;
                case "--out" when i + 1 < args.Length:
                    outDir = args[++i];
                    break;
                default:
                    Console.Error.WriteLine("usage: Room.Soak [--minutes 1..1440] [--loss 0..50] [--out DIR]");
                    return 2;
            }
        }

        if (Environment.UserName != "root")
        {
            Console.Error.WriteLine("soak: needs root (network namespace, nftables)");
            return 2;
        }

        if (!JanusServer.IsInstalled)
        {
            Console.Error.WriteLine("soak: janus is not installed (make deps)");
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        var log = new StringBuilder();
        void Say(string line)
        {
            Console.WriteLine(line);
            log.AppendLine(line);
        }

        using var ns = NetNs.Create();
        using var janus = await JanusServer.StartAsync(ns, stop.Token);
        using var busA = new PrivateBus();
        using var busB = new PrivateBus();
        await using var roomA = await RoomdProcess.StartAsync(busA.Address, Path.Combine(busA.Directory, "state"), "--Room:Name", "Soak A");
        await using var roomB = await RoomdProcess.StartAsync(busB.Address, Path.Combine(busB.Directory, "state"), "--Room:Name", "Soak B");
        using var a = await RoomBusClient.ConnectAsync(busA.Address, stop.Token);
        using var b = await RoomBusClient.ConnectAsync(busB.Address, stop.Token);
        var parties = new[] { new Party("A", roomA, a), new Party("B", roomB, b) };
        var link = $"test-janus-linkkey://{ns.NsAddress}:8188/{JanusServer.Room}#k={LinkKey.NewSecretText()}";
        var failures = new List<string>();
        try
        {
            await a.JoinAsync(link);
            await b.JoinAsync(link);
            using (var joinTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token))
            {
                joinTimeout.CancelAfter(TimeSpan.FromMinutes(2));
                foreach (var p in parties)
                {
                    while (true)
                    {
                        var m = (await p.Client.GetStatusAsync()).Meeting;
                        if (m.State == MeetingStates.InCall && m.Participants.Count == 2)
                        {
                            break;
                        }

                        if (m.State == MeetingStates.Error)
                        {
                            throw new InvalidOperationException($"roomd {p.Name} could not join: {m.LastError}");
                        }

                        await Task.Delay(250, joinTimeout.Token);
                    }
                }
            }

            // Media flowing both ways before the loss starts.
            foreach (var p in parties)
            {
                using var flowing = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                flowing.CancelAfter(TimeSpan.FromMinutes(1));
                while ((await p.ReportAsync()).AudioDecoded < 50)
                {
                    await Task.Delay(250, flowing.Token);
                }
            }

            // The kernel here has no sch_netem (tc netem: "Specified qdisc kind is unknown"); where it has, netem
            // would do the same. nftables drops the share both ways inside Janus's namespace: every media leg.
            var lossHow = "";
            if (lossPercent > 0)
            {
                ns.AddUdpLoss(lossPercent);
                lossHow = $"{lossPercent} % of UDP dropped both ways in Janus's namespace (nftables numgen; no netem in this kernel)";
            }

            Say($"# roomd soak: two roomd in one Janus call for {minutes:F0} min, {(lossPercent > 0 ? lossHow : "no loss")}");
            Say($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, roomd A pid {roomA.Pid}, B pid {roomB.Pid}");
            Say("");
            Say("| min | RSS A MB | RSS B MB | threads A | threads B | fds A | fds B | audio concealed/min A | B | video lost/min A | B | audio decoded/min A | B |");
            Say("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var start = Stopwatch.StartNew();
            var samples = new List<Sample>[] { [], [] };
            var lastMinute = new Sample?[2];
            var firstSample = new Sample?[2];
            var minute = 0;
            while (start.Elapsed < TimeSpan.FromMinutes(minutes) && !stop.IsCancellationRequested)
            {
                await Task.Delay(SampleEvery, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                for (var i = 0; i < 2; i++)
                {
                    var p = parties[i];
                    if (p.Process.HasExited)
                    {
                        failures.Add($"roomd {p.Name} exited with {p.Process.ExitCode} at {start.Elapsed.TotalMinutes:F1} min");
                        continue;
                    }

                    var meeting = (await p.Client.GetStatusAsync()).Meeting;
                    if (meeting.State != MeetingStates.InCall)
                    {
                        failures.Add($"roomd {p.Name}'s call dropped at {start.Elapsed.TotalMinutes:F1} min: {meeting.State} {meeting.LastError}");
                    }
                    else if (meeting.Participants.Count != 2)
                    {
                        failures.Add($"roomd {p.Name} lost its peer at {start.Elapsed.TotalMinutes:F1} min ({meeting.Participants.Count} participants)");
                    }

                    var s = Sample.Take(start.Elapsed, p.Process.Pid, await p.ReportAsync());
                    samples[i].Add(s);
                    firstSample[i] ??= s;
                }

                if (failures.Count > 0)
                {
                    break;
                }

                if (start.Elapsed >= TimeSpan.FromMinutes(minute + 1) || start.Elapsed >= TimeSpan.FromMinutes(minutes))
                {
                    minute++;
                    var row = new StringBuilder($"| {minute} |");
                    var now = new[] { samples[0][^1], samples[1][^1] };
                    var prev = new[] { lastMinute[0] ?? firstSample[0]!, lastMinute[1] ?? firstSample[1]! };
                    double PerMin(Sample n, Sample o, Func<Sample, long> f) => (f(n) - f(o)) / Math.Max(1e-9, (n.At - o.At).TotalMinutes);
                    row.Append($" {now[0].RssMb:F1} | {now[1].RssMb:F1} | {now[0].Threads} | {now[1].Threads} | {now[0].Fds} | {now[1].Fds} |");
                    row.Append($" {PerMin(now[0], prev[0], s => s.Report.AudioConcealed):F0} | {PerMin(now[1], prev[1], s => s.Report.AudioConcealed):F0} |");
                    // Video frames the other roomd sent that this one did not decode.
                    row.Append($" {PerMin(now[1], prev[1], s => s.Report.VideoSent) - PerMin(now[0], prev[0], s => s.Report.VideoDecoded):F0} |" +
                        $" {PerMin(now[0], prev[0], s => s.Report.VideoSent) - PerMin(now[1], prev[1], s => s.Report.VideoDecoded):F0} |");
                    var decodedA = PerMin(now[0], prev[0], s => s.Report.AudioDecoded);
                    var decodedB = PerMin(now[1], prev[1], s => s.Report.AudioDecoded);
                    row.Append($" {decodedA:F0} | {decodedB:F0} |");
                    Say(row.ToString());
                    if (decodedA < 1 || decodedB < 1)
                    {
                        failures.Add($"audio stopped in minute {minute}: decoded/min A {decodedA:F0}, B {decodedB:F0}");
                    }

                    lastMinute[0] = now[0];
                    lastMinute[1] = now[1];
                }
            }

            Say("");
            for (var i = 0; i < 2; i++)
            {
                failures.AddRange(Verdict(parties[i].Name, samples[i], Say));
            }

            Say("");
            Say($"roomd A: {(await a.GetMediaReportAsync()).Split('\n').FirstOrDefault(l => l.StartsWith("call audio from", StringComparison.Ordinal)) ?? "no audio line"}");
            Say($"roomd B: {(await b.GetMediaReportAsync()).Split('\n').FirstOrDefault(l => l.StartsWith("call audio from", StringComparison.Ordinal)) ?? "no audio line"}");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or OperationCanceledException or RoomBusException)
        {
            failures.Add(e.Message);
        }

        if (failures.Count > 0)
        {
            Say("");
            Say("FAIL:");
            foreach (var f in failures.Distinct())
            {
                Say("- " + f);
            }

            foreach (var p in parties)
            {
                // speexdsp's echo-canceller complaints (capture and playback out of step) would bury everything else.
                Say($"--- roomd {p.Name} log (last 40 lines; speexdsp's playback-frame warnings left out) ---");
                foreach (var line in p.Process.Log.Split('\n').Where(l => !l.StartsWith("warning: ", StringComparison.Ordinal)).TakeLast(40))
                {
                    Say(line);
                }
            }
        }
        else
        {
            Say("");
            Say("PASS: both calls stayed up, media flowed every minute, memory, threads and handles flat");
        }

        outDir ??= RepoPaths.Artifacts("soak");
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, $"soak-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
        await File.WriteAllTextAsync(path, log.ToString());
        Console.WriteLine($"written to {path}");
        return failures.Count > 0 ? 1 : 0;
    }

    /// <summary>
    /// Slopes (least squares, per minute) of RSS, threads and descriptors after the first minute's warm-up (JIT,
    /// pools, codec buffers), and whether any is a clear leak: it must rise both in slope and in total, so a GC's
    /// sawtooth in a short run is not called a leak, and a steady climb is.
    /// </summary>
    private static IEnumerable<string> Verdict(string name, List<Sample> all, Action<string> say)
    {
        var warm = all.Where(s => s.At >= TimeSpan.FromMinutes(1)).ToList();
        if (warm.Count < 3)
        {
            warm = all.Skip(all.Count / 3).ToList();
        }

        if (warm.Count < 3)
        {
            yield return $"roomd {name}: too few samples for a slope ({all.Count})";
            yield break;
        }

        var span = (warm[^1].At - warm[0].At).TotalMinutes;
        var checks = new (string What, Func<Sample, double> Value, double SlopeLimit, double GrowthLimit, string Unit)[]
        {
            ("RSS", s => s.RssMb, 2.0, 24, "MB"),
            ("threads", s => s.Threads, 0.5, 8, ""),
            ("file descriptors", s => s.Fds, 1.0, 16, ""),
        };
        foreach (var (what, value, slopeLimit, growthLimit, unit) in checks)
        {
            var slope = Slope(warm, value);
            var growth = value(warm[^1]) - value(warm[0]);
            var leak = slope > slopeLimit && growth > growthLimit;
            say($"roomd {name} {what}: {value(warm[0]):F1} -> {value(warm[^1]):F1}{unit} over {span:F1} min, slope {slope:+0.00;-0.00} {unit}/min " +
                $"(clear leak above {slopeLimit} {unit}/min and {growthLimit}{unit} grown): {(leak ? "GROWING" : "flat")}");
            if (leak)
            {
                yield return $"roomd {name}: {what} grows {slope:F2} {unit}/min ({growth:F1}{unit} in {span:F1} min)";
            }
        }
    }

    private static double Slope(List<Sample> samples, Func<Sample, double> y)
    {
        double n = samples.Count, sx = 0, sy = 0, sxx = 0, sxy = 0;
        foreach (var s in samples)
        {
            var x = s.At.TotalMinutes;
            var v = y(s);
            sx += x;
            sy += v;
            sxx += x * x;
            sxy += x * v;
        }

        var d = (n * sxx) - (sx * sx);
        return d == 0 ? 0 : ((n * sxy) - (sx * sy)) / d;
    }

    private sealed record Party(string Name, RoomdProcess Process, RoomBusClient Client)
    {
        public async Task<CallCounters> ReportAsync() => CallCounters.Parse(await Client.GetMediaReportAsync());
    }

    private sealed record Sample(TimeSpan At, double RssMb, int Threads, int Fds, CallCounters Report)
    {
        public static Sample Take(TimeSpan at, int pid, CallCounters report)
        {
            double rss = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }

            var fds = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
            return new Sample(at, rss, threads, fds, report);
        }
    }

    /// <summary>The frame counters of roomd's Media.GetReport for a Janus call.</summary>
    private sealed partial record CallCounters(long VideoSent, long VideoDecoded, long AudioDecoded, long AudioConcealed)
    {
        public static CallCounters Parse(string report)
        {
            static long Number(Regex pattern, string text) =>
                pattern.Match(text) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            long concealed = 0;
            foreach (Match m in Concealed().Matches(report))
            {
                concealed += long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            return new CallCounters(Number(VideoSentPattern(), report), Number(VideoDecodedPattern(), report), Number(AudioDecodedPattern(), report), concealed);
        }

        [GeneratedRegex(@"call sent: video (\d+) frames")]
        private static partial Regex VideoSentPattern();

        [GeneratedRegex(@"call received: video (\d+) frames decoded")]
        private static partial Regex VideoDecodedPattern();

        [GeneratedRegex(@"audio (\d+) frames decoded")]
        private static partial Regex AudioDecodedPattern();

        [GeneratedRegex(@"call audio from feed \d+: \d+ packets, \d+ decoded, \d+ by FEC, (\d+) concealed")]
        private static partial Regex Concealed();
    }
}
