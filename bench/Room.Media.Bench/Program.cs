// Room.Media benchmark: software encoding through Room.Media vs the ffmpeg command line doing the same encode,
// capture-to-packet latency and steady-state allocations of the send pipeline. `make bench` runs it.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Room.Devices;
using Room.Media;
using Room.Media.Rtp;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var frames = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 150;
Console.WriteLine("Room.Media bench");
Console.WriteLine(VideoEncoder.Probe(VideoLayer.P720));
Console.WriteLine();

foreach (var layer in new[] { VideoLayer.P720, VideoLayer.P1080 })
{
    Bench.Run(layer, frames);
}

HardwareBench.Run();

internal static partial class Bench
{
    private const int Distinct = 30;

    public static void Run(VideoLayer layer, int frames)
    {
        var inputs = new byte[Distinct][];
        for (var i = 0; i < Distinct; i++)
        {
            inputs[i] = new byte[layer.I420Size];
            Pattern(inputs[i], layer.Width, layer.Height, i);
        }

        var raw = Path.Combine(Path.GetTempPath(), $"room-media-bench-{layer.Width}x{layer.Height}.yuv");
        using (var f = File.Create(raw))
        {
            foreach (var b in inputs)
            {
                f.Write(b);
            }
        }

        try
        {
            var options = new EncoderOptions { X264Preset = "veryfast" };

            // Alternate the two, three rounds each, and keep each one's median: the cores are shared.
            var oursRuns = new List<(double Fps, double CpuMsPerFrame, long Bytes)>();
            var cliRuns = new List<(double Fps, double CpuMsPerFrame)>();
            for (var round = 0; round < 3; round++)
            {
                oursRuns.Add(Ours(layer, inputs, frames, options));
                if (FfmpegCli(layer, raw, frames, options) is { } r)
                {
                    cliRuns.Add(r);
                }
            }

            var ours = (Fps: Median(oursRuns.Select(r => r.Fps)), CpuMsPerFrame: Median(oursRuns.Select(r => r.CpuMsPerFrame)), Bytes: oursRuns[0].Bytes);
            (double Fps, double CpuMsPerFrame)? cli = cliRuns.Count == 0 ? null : (Median(cliRuns.Select(r => r.Fps)), Median(cliRuns.Select(r => r.CpuMsPerFrame)));
            var (latency, allocPerFrame) = Pipeline(layer, inputs, frames);
            Console.WriteLine($"== libx264 {layer} ({frames} frames, preset {options.X264Preset}, zerolatency; median of 3 alternating runs, load {LoadAverage()})");
            Console.WriteLine($"  Room.Media : {ours.Fps,7:F1} fps  {ours.CpuMsPerFrame,6:F2} ms CPU/frame  ({ours.Bytes / frames / 1024.0:F1} KiB/frame)");
            if (cli is { } c)
            {
                Console.WriteLine($"  ffmpeg CLI : {c.Fps,7:F1} fps  {c.CpuMsPerFrame,6:F2} ms CPU/frame");
                Console.WriteLine($"  ratio Room.Media/ffmpeg: CPU per frame {ours.CpuMsPerFrame / c.CpuMsPerFrame:F3} (overhead {((ours.CpuMsPerFrame / c.CpuMsPerFrame) - 1) * 100:+0.0;-0.0}%), fps {ours.Fps / c.Fps:F3} (goal: overhead < 5%)");
            }
            else
            {
                Console.WriteLine("  ffmpeg CLI : not available (install ffmpeg)");
            }

            Console.WriteLine($"  capture-to-packet (send pipeline, encode+packetize): p50 {latency.P50:F2} ms  p95 {latency.P95:F2} ms  max {latency.Max:F2} ms");
            Console.WriteLine($"  allocations per frame in steady state: {allocPerFrame:F1} bytes (goal 0)");
            Console.WriteLine();
        }
        finally
        {
            File.Delete(raw);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v[v.Length / 2];
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private sealed class Counter : IEncodedFrameSink
    {
        public long Bytes { get; private set; }

        public void OnEncodedFrame(in EncodedFrame frame) => Bytes += frame.Data.Length;
    }

    private sealed class NullSink : IRtpPacketSink
    {
        public long Packets { get; private set; }

        public void OnPacket(in RtpPacketView packet) => Packets++;
    }

    private static (double Fps, double CpuMsPerFrame, long Bytes) Ours(VideoLayer layer, byte[][] inputs, int frames, EncoderOptions options)
    {
        using var enc = VideoEncoder.Create(VideoCodec.H264, layer, EncoderPreference.SoftwareOnly, options);
        var sink = new Counter();
        for (var i = 0; i < 10; i++)
        {
            enc.Encode(inputs[i % Distinct], i, sink); // warm up (JIT, encoder start)
        }

        var proc = Process.GetCurrentProcess();
        proc.Refresh();
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var before = sink.Bytes;
        for (var i = 0; i < frames; i++)
        {
            enc.Encode(inputs[i % Distinct], i, sink);
        }

        sw.Stop();
        proc.Refresh();
        var cpu = (proc.TotalProcessorTime - cpu0).TotalMilliseconds;
        return (frames / sw.Elapsed.TotalSeconds, cpu / frames, sink.Bytes - before);
    }

    private static (double Fps, double CpuMsPerFrame)? FfmpegCli(VideoLayer layer, string raw, int frames, EncoderOptions options)
    {
        var b = layer.BitrateBps;
        var psi = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-hide_banner", "-nostdin", "-benchmark", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", $"{layer.Width}x{layer.Height}",
                     "-r", layer.FramesPerSecond.ToString(CultureInfo.InvariantCulture), "-stream_loop", "-1", "-i", raw,
                     "-frames:v", (frames + 10).ToString(CultureInfo.InvariantCulture), "-c:v", "libx264", "-preset", options.X264Preset, "-tune", "zerolatency",
                     "-profile:v", "baseline", "-b:v", b.ToString(CultureInfo.InvariantCulture), "-maxrate", b.ToString(CultureInfo.InvariantCulture),
                     "-bufsize", (b / 2).ToString(CultureInfo.InvariantCulture), "-g", (layer.FramesPerSecond * 10).ToString(CultureInfo.InvariantCulture),
                     "-bf", "0", "-forced-idr", "1", "-x264-params", "repeat-headers=1:aud=0", "-f", "null", "-",
                 })
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            var m = BenchLine().Match(stderr.Result);
            if (!m.Success)
            {
                Console.WriteLine("  ffmpeg said: " + stderr.Result.Split('\n').LastOrDefault(l => l.Length > 0));
                return null;
            }

            var utime = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var stime = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            var rtime = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            var n = frames + 10; // ffmpeg cannot exclude its warm-up frames; count them all
            return (n / rtime, (utime + stime) * 1000 / n);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static ((double P50, double P95, double Max) Latency, double AllocPerFrame) Pipeline(VideoLayer layer, byte[][] inputs, int frames)
    {
        var sink = new NullSink();
        var format = new VideoFormat(PixelFormat.I420, layer.Width, layer.Height, layer.FramesPerSecond);
        using var p = new VideoSendPipeline(format, VideoCodec.H264, [new VideoSendLayer(layer, sink)], EncoderPreference.SoftwareOnly);
        for (var i = 0; i < 10; i++)
        {
            p.ProcessFrame(inputs[i % Distinct], TimeSpan.FromTicks(i * TimeSpan.TicksPerSecond / 30));
        }

        var lat = new double[frames];
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < frames; i++)
        {
            p.ProcessFrame(inputs[i % Distinct], TimeSpan.FromTicks((i + 10) * TimeSpan.TicksPerSecond / 30));
            lat[i] = p.LastCaptureToPacket.TotalMilliseconds;
        }

        var alloc = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)frames;
        Array.Sort(lat);
        return ((lat[frames / 2], lat[(int)(frames * 0.95)], lat[^1]), alloc);
    }

    private static void Pattern(Span<byte> i420, int width, int height, int frame)
    {
        var y = i420[..(width * height)];
        for (var row = 0; row < height; row++)
        {
            for (var col = 0; col < width; col++)
            {
                var v = ((col * 3 / 2) + row + (frame * 2)) & 0xff;
                var bx = (frame * 7) % (width - 64);
                if (col >= bx && col < bx + 64 && row >= height / 3 && row < (height / 3) + 64)
                {
                    v = 30;
                }

                y[(row * width) + col] = (byte)(16 + (v * 219 / 255) + (((row * 7) ^ (col * 13) ^ frame) & 7));
            }
        }

        i420[(width * height)..].Fill(128);
    }

    [GeneratedRegex(@"bench: utime=([\d.]+)s stime=([\d.]+)s rtime=([\d.]+)s")]
    private static partial Regex BenchLine();
}
