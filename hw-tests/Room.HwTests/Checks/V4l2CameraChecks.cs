using Room.Devices;
using Room.Devices.Camera;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// A plain V4L2 camera through Room.Devices: in the lab vivid's webcam, on a board the first working V4L2 camera.
/// Formats, sizes and frame rates as Room.Devices enumerates them (cross-checked with VIDIOC_ENUM_* straight from
/// the kernel), capture at a chosen size, and a user control (brightness) set, read back and seen in the picture.
/// </summary>
public static class V4l2CameraChecks
{
    private const int Width = 640, Height = 360;

    /// <summary>The pixel formats Room.Devices can use, as V4L2 FourCCs.</summary>
    private static readonly Dictionary<string, PixelFormat> s_known = new(StringComparer.Ordinal)
    {
        ["YU12"] = PixelFormat.I420,
        ["NV12"] = PixelFormat.Nv12,
        ["YUYV"] = PixelFormat.Yuyv,
        ["MJPG"] = PixelFormat.Mjpeg,
        ["RGB3"] = PixelFormat.Rgb24,
    };

    public static async Task RunAsync(Suite suite, Func<IDeviceProvider> provider, bool inLab)
    {
        V4l2Camera Camera() => Pick(provider(), inLab);

        await suite.RunAsync("camera.v4l2.formats", TimeSpan.FromSeconds(60), _ => Task.FromResult(Formats(Camera(), inLab))).ConfigureAwait(false);
        await suite.RunAsync("camera.v4l2.capture", TimeSpan.FromSeconds(90), ct => CaptureAsync(Camera(), inLab, ct)).ConfigureAwait(false);
        await suite.RunAsync("camera.v4l2.user-control", TimeSpan.FromSeconds(90), ct => BrightnessAsync(Camera(), inLab, ct)).ConfigureAwait(false);
    }

    private static V4l2Camera Pick(IDeviceProvider provider, bool inLab)
    {
        var cams = provider.Cameras.OfType<V4l2Camera>().Where(c => c.Describe().Health == DeviceHealth.Ok && c.Formats.Count > 0).ToList();
        if (inLab)
        {
            return cams.FirstOrDefault(c => c.Capability?.Driver == "vivid")
                ?? throw new InvalidOperationException("Room.Devices lists no working vivid camera: " + string.Join(", ", provider.Cameras.Select(c => $"{c.Id} {c.Describe().Health}")));
        }

        return cams.FirstOrDefault() ?? throw new SkipException("no working V4L2 camera on this box");
    }

    /// <summary>Room.Devices' formats against the kernel's own enumeration, format by format, size by size, rate by rate.</summary>
    private static string Formats(V4l2Camera cam, bool inLab)
    {
        using var probe = V4l2Probe.Open(cam.Node.DevicePath);
        var kernel = new HashSet<VideoFormat>();
        // Stepwise ranges: Room.Devices offers common sizes/rates inside them, so those are not compared one by one.
        var ranges = new HashSet<(PixelFormat, int, int)>();
        var rangedPixels = new HashSet<PixelFormat>();
        foreach (var fourcc in probe.Formats())
        {
            if (!s_known.TryGetValue(V4l2Probe.FourCc(fourcc), out var pixel))
            {
                continue;
            }

            if (probe.FrameSizes(fourcc) is not { } sizes)
            {
                rangedPixels.Add(pixel);
                continue;
            }

            foreach (var (w, h) in sizes.Where(s => s.Width is > 0 and <= 16384 && s.Height is > 0 and <= 16384))
            {
                if (probe.FrameRates(fourcc, w, h) is not { } rates)
                {
                    ranges.Add((pixel, w, h));
                    continue;
                }

                rates = [.. rates.Where(r => r is > 0 and <= 240).Distinct()];
                foreach (var fps in rates.Count > 0 ? rates : [30])
                {
                    kernel.Add(new VideoFormat(pixel, w, h, fps));
                }
            }
        }

        bool Compared(VideoFormat f) => !rangedPixels.Contains(f.Pixel) && !ranges.Contains((f.Pixel, f.Width, f.Height));
        var listed = cam.Formats.ToHashSet();
        var missing = kernel.Where(f => !listed.Contains(f)).ToList();
        var extra = listed.Where(f => Compared(f) && !kernel.Contains(f)).ToList();
        Expect.True(missing.Count == 0, $"{missing.Count} format/size/rate combinations the driver offers are not in Room.Devices' list, e.g. {string.Join(", ", missing.Take(4))}");
        Expect.True(extra.Count == 0, $"Room.Devices lists {extra.Count} combinations the driver does not offer, e.g. {string.Join(", ", extra.Take(4))}");
        Expect.True(kernel.Count > 0 || ranges.Count > 0 || rangedPixels.Count > 0, "the driver offers no format Room.Devices can use");

        var pixels = cam.Formats.Select(f => f.Pixel).Distinct().ToList();
        var sizesSeen = cam.Formats.Select(f => (f.Width, f.Height)).Distinct().OrderBy(s => s.Width * s.Height).ToList();
        var ratesAt = cam.Formats.Where(f => f.Pixel == PixelFormat.Yuyv && f.Width == Width && f.Height == Height).Select(f => f.FramesPerSecond).Distinct().OrderDescending().ToList();
        if (inLab)
        {
            // vivid's webcam: many raw formats, sizes 320x180..3840x2160, and several frame intervals per size.
            Expect.True(pixels.Count >= 3, $"vivid offers only {string.Join(",", pixels)} to Room.Devices");
            Expect.True(sizesSeen.Count >= 4, $"vivid offers only {sizesSeen.Count} sizes");
            Expect.True(ratesAt.Count >= 2, $"vivid offers {ratesAt.Count} frame rates at YUYV {Width}x{Height}");
            Expect.True(cam.Formats[0].Width * cam.Formats[0].Height >= cam.Formats[^1].Width * cam.Formats[^1].Height, "formats not ordered best (largest) first");
        }

        return $"{cam.Id}: {cam.Formats.Count} combinations, {kernel.Count} of them discrete and equal to VIDIOC_ENUM_FMT/FRAMESIZES/FRAMEINTERVALS; pixel formats {string.Join(",", pixels)}; "
            + $"sizes {string.Join(" ", sizesSeen.Select(s => $"{s.Width}x{s.Height}"))}; YUYV {Width}x{Height} at {string.Join("/", ratesAt)} fps";
    }

    /// <summary>N frames at a chosen (non-default) size: the size the driver set, whole frames, increasing sequence and timestamps.</summary>
    public static async Task<string> CaptureAsync(V4l2Camera cam, bool inLab, CancellationToken ct)
    {
        var format = Choose(cam, inLab);
        const int n = 12;
        var capture = await cam.OpenCaptureAsync(format, ct).ConfigureAwait(false);
        await using (capture.ConfigureAwait(false))
        {
            Expect.True(capture.Format.Width == format.Width && capture.Format.Height == format.Height && capture.Format.Pixel == format.Pixel,
                $"asked {format}, the driver set {capture.Format}");
            long firstSeq = -1, lastSeq = -1;
            TimeSpan firstTs = default, lastTs = TimeSpan.MinValue;
            var minBytes = format.Pixel == PixelFormat.Mjpeg ? 2 : CameraFormats.FrameBytes(format);
            var distinct = 0;
            var repeats = 0;
            for (var i = 0; i < n; i++)
            {
                using var frame = await capture.ReadFrameAsync(ct).ConfigureAwait(false);
                Expect.True(frame.Format.Width == format.Width && frame.Format.Height == format.Height, $"frame {i} is {frame.Format}, asked {format}");
                Expect.True(frame.Data.Length >= minBytes, $"frame {i} has {frame.Data.Length} bytes, a {format} frame needs {minBytes}");
                // Monotonic: never backwards. vivid (6.1, vivid-kthread-cap.c) takes the sequence from its frame clock's
                // slot but the timestamp from the clock when it fills the buffer (ktime_get_ns), so under TCG, where
                // its thread can fill two buffers in one slot, a sequence repeats with a later timestamp: counted, reported.
                Expect.True(frame.Sequence >= lastSeq, $"frame {i}: sequence {frame.Sequence} after {lastSeq}");
                Expect.True(frame.Timestamp >= lastTs, $"frame {i}: timestamp {frame.Timestamp} before {lastTs}");
                repeats += frame.Sequence == lastSeq ? 1 : 0;
                if (i == 0)
                {
                    firstSeq = frame.Sequence;
                    firstTs = frame.Timestamp;
                    distinct = frame.Data.Span[..Math.Min(frame.Data.Length, 4096)].ToArray().Distinct().Count();
                }

                lastSeq = frame.Sequence;
                lastTs = frame.Timestamp;
            }

            Expect.True(distinct > 4, $"the first frame is flat ({distinct} distinct byte values): no picture");
            Expect.True(lastSeq > firstSeq && lastTs > firstTs && repeats < n / 2, $"sequence {firstSeq}..{lastSeq}, timestamps {firstTs}..{lastTs}, {repeats} repeated: the stream did not advance");
            return $"{cam.Id}: {n} frames of {capture.Format} ({CameraFormats.FrameBytes(capture.Format)} bytes each), sequence {firstSeq}..{lastSeq}, "
                + $"timestamps monotonic over {(lastTs - firstTs).TotalMilliseconds:0} ms" + (repeats > 0 ? $" ({repeats} frame(s) repeated the previous sequence)" : "");
        }
    }

    /// <summary>
    /// Brightness through Room.Devices' V4L2 control path (VIDIOC_QUERY_EXT_CTRL / S_CTRL / G_CTRL), read back by the
    /// kernel probe, and seen in the picture: the mean luma at a low setting is below the mean at a high one.
    /// </summary>
    private static async Task<string> BrightnessAsync(V4l2Camera cam, bool inLab, CancellationToken ct)
    {
        using var device = V4l2Device.Open(cam.Node.DevicePath, cam.Id);
        var info = device.Query(V4l2Probe.CidBrightness);
        if (info is not { Writable: true, Readable: true } b)
        {
            return inLab ? throw new InvalidOperationException($"{cam.Id} has no writable brightness control") : throw new SkipException($"{cam.Id} has no writable brightness control");
        }

        Expect.True(device.GetValue(b.Id, out var original) == 0, "VIDIOC_G_CTRL brightness");
        var low = b.Snap(b.Minimum + ((b.Maximum - b.Minimum) * 0.15));
        var high = b.Snap(b.Minimum + ((b.Maximum - b.Minimum) * 0.85));
        using var probe = V4l2Probe.Open(cam.Node.DevicePath);
        try
        {
            var seen = new List<string>();
            foreach (var value in new[] { low, high })
            {
                Expect.True(device.SetValue(b.Id, value) == 0, $"VIDIOC_S_CTRL brightness {value}");
                Expect.True(device.GetValue(b.Id, out var back) == 0 && back == value, $"brightness read back through Room.Devices: {back}, set {value}");
                Expect.True(probe.Get(V4l2Probe.CidBrightness) == value, $"brightness as the kernel holds it: {probe.Get(V4l2Probe.CidBrightness)}, set {value}");
                seen.Add($"{value}");
            }

            if (!(inLab || Choose(cam, inLab).Pixel == PixelFormat.Yuyv))
            {
                return $"{cam.Id}: '{b.Name}' {b.Minimum}..{b.Maximum} (default {b.Default}): set and read back {string.Join(", ", seen)} (picture not checked: no YUYV)";
            }

            var lowLuma = await MeanLumaAsync(cam, device, b.Id, low, ct).ConfigureAwait(false);
            var highLuma = await MeanLumaAsync(cam, device, b.Id, high, ct).ConfigureAwait(false);
            Expect.True(highLuma > lowLuma + 10, $"mean luma {lowLuma:0.0} at brightness {low}, {highLuma:0.0} at {high}: the picture did not follow the control");
            return $"{cam.Id}: '{b.Name}' {b.Minimum}..{b.Maximum} (default {b.Default}): set and read back {string.Join(", ", seen)} through Room.Devices and the kernel; "
                + $"mean luma {lowLuma:0.0} at {low}, {highLuma:0.0} at {high}";
        }
        finally
        {
            device.SetValue(b.Id, original);
        }
    }

    /// <summary>Mean Y of a YUYV frame captured after the control took effect (the first frames may predate it).</summary>
    private static async Task<double> MeanLumaAsync(V4l2Camera cam, V4l2Device device, uint id, int value, CancellationToken ct)
    {
        Expect.True(device.SetValue(id, value) == 0, $"VIDIOC_S_CTRL {value}");
        var format = cam.Formats.Where(f => f.Pixel == PixelFormat.Yuyv).OrderBy(f => f.Width * f.Height).ThenBy(f => Math.Abs(f.FramesPerSecond - 30)).First();
        var capture = await cam.OpenCaptureAsync(format, ct).ConfigureAwait(false);
        await using (capture.ConfigureAwait(false))
        {
            double mean = 0;
            for (var i = 0; i < 4; i++)
            {
                using var frame = await capture.ReadFrameAsync(ct).ConfigureAwait(false);
                var data = frame.Data.Span;
                long sum = 0;
                var count = 0;
                for (var k = 0; k + 1 < data.Length; k += 2)
                {
                    sum += data[k];
                    count++;
                }

                mean = count == 0 ? 0 : (double)sum / count;
            }

            return mean;
        }
    }

    /// <summary>In the lab YUYV 640x360 (not vivid's default size); on a board the smallest YUYV size, else the smallest format.</summary>
    private static VideoFormat Choose(V4l2Camera cam, bool inLab)
    {
        var at = cam.Formats.Where(f => f.Pixel == PixelFormat.Yuyv && f.Width == Width && f.Height == Height).OrderBy(f => Math.Abs(f.FramesPerSecond - 30)).ToList();
        if (inLab)
        {
            return at.Count > 0 ? at[0] : throw new InvalidOperationException($"{cam.Id} offers no YUYV {Width}x{Height}: {string.Join(", ", cam.Formats.Take(12))}");
        }

        return cam.Formats.Where(f => f.Pixel == PixelFormat.Yuyv).OrderBy(f => f.Width * f.Height).ThenBy(f => Math.Abs(f.FramesPerSecond - 30)).FirstOrDefault() is { Width: > 0 } y
            ? y
            : cam.Formats.OrderBy(f => f.Width * f.Height).First();
    }
}
