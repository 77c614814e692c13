using Room.HwTests.Gadget;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// The kernel's own view, through raw syscalls: proves the lab (or the board) has the devices the driver
/// checks rely on, and gives the driver checks an independent read-back.
/// </summary>
public static class LabChecks
{
    public const string GadgetCameraName = "Room Lab PTZ Camera";

    public static string? GadgetNode() => V4l2Probe.FindNodes(GadgetCameraName) is [var first, ..] ? first : null;

    public static async Task RunAsync(Suite suite, bool inLab)
    {
        var t = TimeSpan.FromSeconds(30);
        await suite.RunAsync("lab.kernel-modules", t, _ =>
        {
            if (!inLab)
            {
                throw new SkipException("not the QEMU lab");
            }

            var loaded = File.ReadAllText("/proc/modules");
            string[] want = ["vivid", "snd_aloop", "snd_dummy", "dummy_hcd", "gadgetfs", "uvcvideo", "virtio_gpu"];
            var missing = want.Where(m => !loaded.Contains(m + " ", StringComparison.Ordinal)).ToList();
            Expect.True(missing.Count == 0, "modules not loaded: " + string.Join(", ", missing));
            return Task.FromResult(string.Join(" ", want) + " loaded");
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.gadget-camera.enumerated", t, _ =>
        {
            var node = GadgetNode() ?? (inLab ? throw new InvalidOperationException("uvcvideo created no node for the gadget camera") : throw new SkipException("no lab camera on this box"));
            using var v = V4l2Probe.Open(node);
            var (driver, card, caps) = v.Capabilities();
            Expect.True(driver == "uvcvideo", $"driver is {driver}, expected uvcvideo");
            Expect.True((caps & 1) != 0, "node is not a capture device");
            return Task.FromResult($"{node}: {card} via {driver}");
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.gadget-camera.ptz-controls", t, _ =>
        {
            var node = GadgetNode() ?? throw new SkipException("no lab camera");
            using var v = V4l2Probe.Open(node);
            var pan = v.Control(V4l2Probe.CidPanAbsolute) ?? throw new InvalidOperationException("no pan_absolute");
            var tilt = v.Control(V4l2Probe.CidTiltAbsolute) ?? throw new InvalidOperationException("no tilt_absolute");
            var zoom = v.Control(V4l2Probe.CidZoomAbsolute) ?? throw new InvalidOperationException("no zoom_absolute");
            Expect.True(v.Control(V4l2Probe.CidFocusAbsolute) is not null, "no focus_absolute");
            Expect.True(v.Control(V4l2Probe.CidExposureAbsolute) is not null, "no exposure_time_absolute");
            Expect.True(pan.Min == UvcGadget.PanMin && pan.Max == UvcGadget.PanMax, $"pan range {pan.Min}..{pan.Max}");
            Expect.True(tilt.Min == UvcGadget.TiltMin && tilt.Max == UvcGadget.TiltMax, $"tilt range {tilt.Min}..{tilt.Max}");
            Expect.True(zoom.Min == UvcGadget.ZoomMin && zoom.Max == UvcGadget.ZoomMax, $"zoom range {zoom.Min}..{zoom.Max}");
            return Task.FromResult($"pan {pan.Min}..{pan.Max}, tilt {tilt.Min}..{tilt.Max}, zoom {zoom.Min}..{zoom.Max}, focus, exposure");
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.gadget-camera.stream-and-ptz-in-frame", TimeSpan.FromSeconds(60), _ =>
        {
            var node = GadgetNode() ?? throw new SkipException("no lab camera");
            using var v = V4l2Probe.Open(node);
            const int want = 9 * 3600;
            v.Set(V4l2Probe.CidPanAbsolute, want);
            Expect.True(v.Get(V4l2Probe.CidPanAbsolute) == want, "pan did not read back");
            var counters = new List<int>();
            var lastPan = int.MinValue;
            v.Capture(FramePattern.Width, FramePattern.Height, 6, TimeSpan.FromSeconds(40), (frame, _, _) =>
            {
                Expect.True(frame.Length == FramePattern.FrameBytes, $"frame of {frame.Length} bytes");
                counters.Add(FramePattern.Decode(frame, 3));
                lastPan = FramePattern.Decode(frame, 0);
            });
            Expect.True(counters.Zip(counters.Skip(1)).All(p => p.Second > p.First), "frame counters not increasing: " + string.Join(",", counters));
            Expect.True(lastPan == want, $"frame shows pan {lastPan}, commanded {want}");
            v.Set(V4l2Probe.CidPanAbsolute, 0);
            return Task.FromResult($"6 frames, counters {string.Join(",", counters)}, pan {lastPan} seen in frame");
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.vivid.webcam", t, _ =>
        {
            var node = (V4l2Probe.FindNodes("vivid-000-vid-cap") is [var vivid, ..] ? vivid : null) ?? (inLab ? throw new InvalidOperationException("no vivid capture node") : throw new SkipException("no vivid on this box"));
            using var v = V4l2Probe.Open(node);
            var (driver, card, _) = v.Capabilities();
            Expect.True(driver == "vivid", $"driver {driver}");
            return Task.FromResult($"{node}: {card}");
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.cec.adapters", t, _ =>
        {
            var adapters = Directory.GetFiles("/dev", "cec*").Order(StringComparer.Ordinal).ToList();
            if (adapters.Count == 0)
            {
                return inLab ? throw new InvalidOperationException("no CEC adapters") : throw new SkipException("no CEC adapter on this box");
            }

            Expect.True(!inLab || adapters.Count >= 2, $"vivid should give two CEC adapters, found {adapters.Count}");
            return Task.FromResult(string.Join(", ", adapters));
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.alsa.cards", t, _ =>
        {
            var cards = File.Exists("/proc/asound/cards") ? File.ReadAllText("/proc/asound/cards") : "";
            Expect.True(!inLab || cards.Contains("Loopback", StringComparison.Ordinal), "no snd-aloop Loopback card");
            return Task.FromResult(cards.Length == 0 ? throw new SkipException("no sound cards") : cards.Split('\n')[0].Trim());
        }).ConfigureAwait(false);

        await suite.RunAsync("lab.drm.connector-edid", t, _ =>
        {
            var connectors = Directory.Exists("/sys/class/drm") ? Directory.GetDirectories("/sys/class/drm", "card*-*") : [];
            var connected = connectors.FirstOrDefault(c => File.ReadAllText(Path.Combine(c, "status")).Trim() == "connected")
                ?? (inLab ? throw new InvalidOperationException($"no connected DRM connector among {connectors.Length}") : throw new SkipException("no connected display"));
            var modes = File.ReadAllLines(Path.Combine(connected, "modes"));
            var edid = File.ReadAllBytes(Path.Combine(connected, "edid"));
            Expect.True(modes.Length > 0, "connector lists no modes");
            Expect.True(edid.Length >= 128 && edid.AsSpan(0, 8).SequenceEqual(new byte[] { 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0 }), $"EDID of {edid.Length} bytes without header");
            return Task.FromResult($"{Path.GetFileName(connected)}: {modes.Length} modes, first {modes[0]}, EDID {edid.Length} bytes");
        }).ConfigureAwait(false);
    }
}
