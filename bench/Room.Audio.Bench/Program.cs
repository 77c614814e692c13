// Mouth-to-ear latency of roomd's own audio stages, stage by stage, p50/p95 (make bench: audio-bench).
//
// Runs the real stages in process and in real time, as roomd's loopback call chains them: a 4-microphone capture in
// 20 ms blocks (AudioDevicePumps), the delay-and-sum beamformer, the speexdsp echo canceller and noise suppressor,
// the Opus encoder, the jitter buffer (its decoder inside), the playback writer and a speaker. The capture and the
// speaker are clock-driven stand-ins for ALSA devices (see Devices.cs; this machine has no sound card): a 10 ms
// period capture, a speaker ring of 4 (now) or 8 (before) 10 ms periods that starts at two periods queued.
//
// Per 20 ms frame it records, for the frame's first sample:
//   capture         spoken -> block handed to roomd (the 20 ms block itself + the device's wake-up)
//   beamformer      CPU time (+ its steering delay, 0 for broadside)
//   echo canceller  CPU time of echo cancellation + noise suppression
//   Opus encode     CPU time + the encoder's look-ahead (OPUS_GET_LOOKAHEAD)
//   jitter buffer   inserted -> taken out to play
//   Opus decode     CPU time of the read (decode, FEC or concealment)
//   playout buffer  taken out -> its first sample plays (queued ahead of it on the device, and, before, the wait
//                   for room with the block in hand)
// and the per-frame sum (mouth to ear). Scenarios: "before" = the code of 330857e (fixed 3-frame prebuffer, 80 ms
// speaker ring, block taken before the device has room), "now" = this tree, and "now + network" = this tree with
// 2 % loss and 0-20 ms of uniform jitter between send and receive (the jitter buffer then has work to do; the
// network's own delay is not counted in any stage).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Room.Devices;
using Room.Media.Audio;
using Room.Media.Rtp;

namespace Room.Audio.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var seconds = 20;
        string? outDir = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds" when i + 1 < args.Length && int.TryParse(args[i + 1], out var s) && s is >= 2 and <= 3600:
                    seconds = s;
                    i++;
                    break;
                case "--out" when i + 1 < args.Length:
                    outDir = args[++i];
                    break;
                default:
                    Console.Error.WriteLine("usage: Room.Audio.Bench [--seconds 2..3600] [--out DIR]");
                    return 2;
            }
        }

        using (var probe = new OpusAudioEncoder())
        {
            Console.WriteLine($"Room audio mouth-to-ear bench: {seconds} s per scenario, Opus {probe.Backend}, look-ahead {probe.Lookahead} samples, {Environment.ProcessorCount} CPUs");
        }

        var scenarios = new[]
        {
            new Scenario("before (330857e)", Legacy: true, RingPeriods: 8, WaitForRoom: false, LossPercent: 0, JitterMs: 0),
            new Scenario("now", Legacy: false, RingPeriods: 4, WaitForRoom: true, LossPercent: 0, JitterMs: 0),
            new Scenario("now + network (2 % loss, 0-20 ms jitter)", Legacy: false, RingPeriods: 4, WaitForRoom: true, LossPercent: 2, JitterMs: 20),
        };
        var results = scenarios.Select(s => Runner.Run(s, seconds)).ToArray();
        var table = Report.Table(results);
        Console.WriteLine();
        Console.WriteLine(table);
        outDir ??= Path.Combine(RepoRoot(), "artifacts", "bench-audio");
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, "mouth-to-ear.md");
        File.WriteAllText(path, table);
        Console.WriteLine($"written to {path}");
        var now = results[1];
        var p95 = Report.Percentile(now.Total, 0.95);
        Console.WriteLine(p95 < 60 ? $"goal met: roomd's stages p95 {p95:F1} ms < 60 ms" : $"goal NOT met: roomd's stages p95 {p95:F1} ms >= 60 ms");
        return 0;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Room.sln")))
            {
                return d.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

internal sealed record Scenario(string Name, bool Legacy, int RingPeriods, bool WaitForRoom, int LossPercent, double JitterMs);

internal sealed record Result(Scenario Scenario, Dictionary<string, List<double>> Stages, List<double> Total, string Notes);

/// <summary>One jitter buffer or the other, behind one face.</summary>
internal interface IJitter : IDisposable
{
    long FramesDecoded { get; }

    uint PlayingTimestamp { get; }

    string Describe();

    void Insert(uint ts, ReadOnlySpan<byte> payload);

    bool ReadFrame(Span<short> pcm);
}

internal sealed class Adaptive(AudioJitterBuffer jb) : IJitter
{
    public long FramesDecoded => jb.FramesDecoded;

    public uint PlayingTimestamp => jb.PlayingTimestamp;

    public string Describe() => $"adaptive: target {jb.TargetDelay.TotalMilliseconds:F0} ms at the end, RFC 3550 jitter {jb.Jitter.TotalMilliseconds:F1} ms, " +
        $"late {jb.LatePackets}, dropped {jb.FramesDropped}, stretched {jb.FramesStretched}, concealed {jb.FramesConcealed}, FEC {jb.FramesRecoveredByFec}, underruns {jb.Underruns}";

    public void Insert(uint ts, ReadOnlySpan<byte> payload) => jb.Insert(ts, payload);

    public bool ReadFrame(Span<short> pcm) => jb.ReadFrame(pcm);

    public void Dispose() => jb.Dispose();
}

internal sealed class Legacy(LegacyAudioJitterBuffer jb) : IJitter
{
    public long FramesDecoded => jb.FramesDecoded;

    public uint PlayingTimestamp => jb.PlayingTimestamp;

    public string Describe() => $"fixed 3 frames: late {jb.LatePackets}, concealed {jb.FramesConcealed}, FEC {jb.FramesRecoveredByFec}, underruns {jb.Underruns}";

    public void Insert(uint ts, ReadOnlySpan<byte> payload) => jb.Insert(ts, payload);

    public bool ReadFrame(Span<short> pcm) => jb.ReadFrame(pcm);

    public void Dispose() => jb.Dispose();
}

/// <summary>
/// Between send and receive: straight through (roomd's loopback call), or a delay line with loss and uniform
/// jitter run by its own thread (preallocated slots, no allocation per packet).
/// </summary>
internal sealed class Wire : IDisposable
{
    private const int Slots = 256;
    private readonly IJitter _jb;
    private readonly double _jitterMs;
    private readonly int _loss;
    private readonly Random _rng = new(1234);
    private readonly byte[][] _data = Enumerable.Range(0, Slots).Select(_ => new byte[1500]).ToArray();
    private readonly int[] _length = new int[Slots];
    private readonly uint[] _ts = new uint[Slots];
    private readonly long[] _due = new long[Slots];
    private readonly bool[] _used = new bool[Slots];
    private readonly Lock _gate = new();
    private readonly Thread? _thread;
    private volatile bool _stop;

    public Wire(IJitter jb, int lossPercent, double jitterMs)
    {
        _jb = jb;
        _loss = lossPercent;
        _jitterMs = jitterMs;
        if (jitterMs > 0 || lossPercent > 0)
        {
            _thread = new Thread(Deliver) { IsBackground = true, Name = "wire" };
            _thread.Start();
        }
    }

    /// <summary>When each frame reached the jitter buffer (index: frame number).</summary>
    public required long[] InsertedAt { get; init; }

    public required uint FirstTs { get; init; }

    public void Send(uint ts, ReadOnlySpan<byte> packet)
    {
        if (_thread is null)
        {
            _jb.Insert(ts, packet);
            InsertedAt[(int)((ts - FirstTs) / AudioFormat.FrameSamples)] = Clock.Now;
            return;
        }

        lock (_gate)
        {
            if (_rng.Next(100) < _loss)
            {
                return;
            }

            var slot = Array.IndexOf(_used, false);
            if (slot < 0)
            {
                return;
            }

            _used[slot] = true;
            _ts[slot] = ts;
            _length[slot] = packet.Length;
            packet.CopyTo(_data[slot]);
            _due[slot] = Clock.Now + Clock.Ticks(_rng.NextDouble() * _jitterMs);
        }
    }

    private void Deliver()
    {
        while (!_stop)
        {
            lock (_gate)
            {
                var now = Clock.Now;
                for (var s = 0; s < Slots; s++)
                {
                    if (_used[s] && _due[s] <= now)
                    {
                        _jb.Insert(_ts[s], _data[s].AsSpan(0, _length[s]));
                        InsertedAt[(int)((_ts[s] - FirstTs) / AudioFormat.FrameSamples)] = Clock.Now;
                        _used[s] = false;
                    }
                }
            }

            Thread.Sleep(1);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread?.Join();
    }
}

internal static class Runner
{
    private const int Mics = 4;
    private const int Frame = AudioFormat.FrameSamples;

    public static Result Run(Scenario scenario, int seconds)
    {
        var frames = (seconds * 50) + 50;
        double[] capture = new double[frames], beam = new double[frames], aec = new double[frames], encode = new double[frames];
        double[] jbWait = new double[frames], decode = new double[frames], playout = new double[frames];
        var played = new bool[frames];
        var inserted = new long[frames];
        var sentAt = new long[frames];

        var speech = Speech(48000 * 3);
        using var processor = new AudioProcessor();
        using var encoder = new OpusAudioEncoder(32000, dtx: false);
        var lookaheadMs = encoder.Lookahead / 48.0;
        var delays = DelayAndSumBeamformer.LinearArrayDelays(Mics, 0.04, 0);
        var beamformer = new DelayAndSumBeamformer(delays);
        var steeringMs = delays.Max() / 48.0;
        using IJitter jb = scenario.Legacy ? new Legacy(new LegacyAudioJitterBuffer(3)) : new Adaptive(new AudioJitterBuffer());
        const uint FirstTs = 1_000_000;
        using var wire = new Wire(jb, scenario.LossPercent, scenario.JitterMs) { InsertedAt = inserted, FirstTs = FirstTs };
        var start = Clock.Now + Clock.Ticks(50);
        var mic = new ClockedCapture(Mics, start, speech);
        var speaker = new ClockedPlayback(scenario.RingPeriods * 480);
        var stopAt = start + Clock.Ticks(seconds * 1000.0);

        var mono = new short[Frame];
        var clean = new short[Frame];
        var packet = new byte[AudioFormat.MaxPacketSize];
        var sent = 0;
        using var stopCapture = new CancellationTokenSource();
        var sender = new Thread(() =>
        {
            AudioDevicePumps.CaptureBlocksAsync(mic, (block, _) =>
            {
                var k = sent;
                if (k >= frames - 1 || Clock.Now > stopAt)
                {
                    stopCapture.Cancel();
                    return;
                }

                var t0 = Clock.Now;
                capture[k] = Clock.Ms(t0 - mic.SpokenAt((long)k * Frame));
                beamformer.Process(block, mono);
                var t1 = Clock.Now;
                processor.ProcessCapture(mono, clean);
                var t2 = Clock.Now;
                var n = encoder.Encode(clean, packet);
                var t3 = Clock.Now;
                beam[k] = Clock.Ms(t1 - t0) + steeringMs;
                aec[k] = Clock.Ms(t2 - t1);
                encode[k] = Clock.Ms(t3 - t2) + lookaheadMs;
                sentAt[k] = t3;
                sent = k + 1;
                wire.Send(FirstTs + (uint)(k * Frame), packet.AsSpan(0, n));
            }, 0, stopCapture.Token).GetAwaiter().GetResult();
        }) { Name = "capture", Priority = ThreadPriority.AboveNormal };

        var receiver = new Thread(() =>
        {
            using var writer = AudioDevicePumps.CreateWriter(speaker);
            var pcm = new short[Frame];
            while (Clock.Now < stopAt + Clock.Ticks(300))
            {
                if (scenario.WaitForRoom)
                {
                    writer.WaitForRoomAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }

                var decodedBefore = jb.FramesDecoded;
                var r0 = Clock.Now;
                jb.ReadFrame(pcm);
                var r1 = Clock.Now;
                processor.OnPlayback(pcm);
                writer.WriteAsync(pcm, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                var w = Clock.Now;
                var queued = speaker.QueuedFrames ?? 0;
                if (jb.FramesDecoded > decodedBefore)
                {
                    var k = (int)((jb.PlayingTimestamp - FirstTs) / Frame);
                    if (k >= 0 && k < frames && inserted[k] != 0)
                    {
                        jbWait[k] = Clock.Ms(r0 - inserted[k]);
                        decode[k] = Clock.Ms(r1 - r0);
                        playout[k] = Clock.Ms(w - r1) + (Math.Max(0, queued - Frame) / 48.0);
                        played[k] = true;
                    }
                }
            }
        }) { Name = "playback", Priority = ThreadPriority.AboveNormal };

        Console.WriteLine($"{scenario.Name}: running {seconds} s ...");
        sender.Start();
        receiver.Start();
        sender.Join();
        receiver.Join();

        var stages = new Dictionary<string, List<double>>
        {
            ["capture (20 ms block + wake-up)"] = [], ["beamformer"] = [], ["echo canceller + noise suppression"] = [],
            [$"Opus encode (+ {lookaheadMs:F1} ms look-ahead)"] = [], ["jitter buffer"] = [], ["Opus decode"] = [], ["playout buffer"] = [],
        };
        var lists = stages.Values.ToArray();
        var total = new List<double>();
        var skip = 50; // the first second: start-up
        for (var k = skip; k < sent; k++)
        {
            if (!played[k])
            {
                continue;
            }

            double[] v = [capture[k], beam[k], aec[k], encode[k], jbWait[k], decode[k], playout[k]];
            for (var i = 0; i < v.Length; i++)
            {
                lists[i].Add(v[i]);
            }

            total.Add(v.Sum());
        }

        var notes = $"{scenario.Name}: {sent} frames sent, {total.Count} measured (first second skipped); speaker ring {scenario.RingPeriods} x 10 ms, " +
            $"{(scenario.WaitForRoom ? "block taken when the speaker has room" : "block taken, then the write waits for room")}, speaker xruns {speaker.Xruns}; jitter buffer {jb.Describe()}";
        Console.WriteLine(notes);
        return new Result(scenario, stages, total, notes);
    }

    /// <summary>Speech-like: harmonics of a gliding 110-210 Hz fundamental in syllables with pauses.</summary>
    private static short[] Speech(int samples)
    {
        var s = new short[samples];
        var phase = 0.0;
        for (var i = 0; i < samples; i++)
        {
            var t = i / 48000.0;
            var f0 = 160 + (50 * Math.Sin(2 * Math.PI * 0.7 * t));
            phase += 2 * Math.PI * f0 / 48000;
            var envelope = Math.Max(0, Math.Sin(2 * Math.PI * 2.2 * t));
            var v = 0.0;
            for (var h = 1; h <= 8; h++)
            {
                v += Math.Sin(h * phase) / h;
            }

            s[i] = (short)(6000 * envelope * v);
        }

        return s;
    }
}

internal static class Report
{
    public static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }

    public static string Table(Result[] results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# roomd audio, mouth to ear, per stage (ms)");
        sb.AppendLine();
        sb.AppendLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, {Environment.MachineName}. Each row: p50 / p95 over 20 ms frames; " +
            "the total is per frame (not the sum of the column), the stages of roomd's loopback call, network excluded.");
        sb.AppendLine();
        sb.Append("| stage |");
        foreach (var r in results)
        {
            sb.Append($" {r.Scenario.Name} p50 | p95 |");
        }

        sb.AppendLine();
        sb.Append("|---|");
        foreach (var _ in results)
        {
            sb.Append("---:|---:|");
        }

        sb.AppendLine();
        foreach (var stage in results[0].Stages.Keys)
        {
            sb.Append($"| {stage} |");
            foreach (var r in results)
            {
                var values = r.Stages[stage];
                sb.Append($" {Percentile(values, 0.5):F2} | {Percentile(values, 0.95):F2} |");
            }

            sb.AppendLine();
        }

        sb.Append("| **mouth to ear** |");
        foreach (var r in results)
        {
            sb.Append($" **{Percentile(r.Total, 0.5):F1}** | **{Percentile(r.Total, 0.95):F1}** |");
        }

        sb.AppendLine();
        sb.AppendLine();
        foreach (var r in results)
        {
            sb.AppendLine("- " + r.Notes);
        }

        return sb.ToString();
    }
}
