using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Room.Devices;
using Room.Devices.Display;
using Room.HwTests.Lab;
using Room.Media.Display;

namespace Room.HwTests.Checks;

/// <summary>
/// The room display through KMS (issue 15): Room.Media's compositor draws a call's layout with a known far-end
/// picture into Room.Devices' dumb-buffer scanout, page-flipped on the first card's connected screen. The mode is
/// changed and changed back (the layout follows), an unsupported mode is refused with the screen left as it was, and
/// the final frame stays on screen until the suite ends: the host compares its QMP screendump with the pixels this
/// check prints (`@@HWTEST-SCANOUT`, checked by host-checks.py as host.display.composed).
/// </summary>
public sealed class ScanoutChecks(Suite suite, bool inLab, IReadOnlyList<LabFault> faults) : IDisposable
{
    public const string Marker = "@@HWTEST-SCANOUT";

    private KmsScanout? _scanout;

    public async Task RunAsync()
    {
        await suite.RunAsync("display.kms.scanout", TimeSpan.FromSeconds(60), _ =>
        {
            var card = Directory.Exists("/dev/dri") ? Directory.GetFiles("/dev/dri", "card*").Order(StringComparer.Ordinal).FirstOrDefault() : null;
            if (card is null)
            {
                throw inLab ? new InvalidOperationException("no /dev/dri/card*: virtio-gpu did not load") : new SkipException("no DRM card on this box");
            }

            // The documented fallback first: legacy SETCRTC and PAGE_FLIP, as on a driver or kernel without atomic.
            var compositor = new RoomCompositor();
            var legacyReport = "";
            try
            {
                using var legacy = KmsScanout.Open(card, allowAtomic: false);
                Expect.True(!legacy.Atomic, $"asked for the legacy path, got {legacy.Description}");
                Show(legacy, compositor);
                legacyReport = $"legacy SETCRTC + PAGE_FLIP {legacy.Mode}: {legacy.Flips} flip, known pixels read back; ";
            }
            catch (DeviceUnavailableException e) when (!inLab)
            {
                throw new SkipException(e.Message);
            }

            try
            {
                _scanout = KmsScanout.Open(card);
            }
            catch (DeviceUnavailableException e) when (!inLab)
            {
                throw new SkipException(e.Message);
            }

            var s = _scanout;
            var first = s.Mode;
            var report = new StringBuilder($"{legacyReport}{s.Description}, {s.Modes.Count} modes");
            Expect.True(!inLab || s.Atomic, "virtio-gpu refused atomic modesetting");
            Show(s, compositor);

            // A mode the screen does not offer is refused by name, and the current one keeps showing.
            var refused = "";
            try
            {
                s.SetMode(new DisplayMode(1234, 567, 0));
            }
            catch (ArgumentException e)
            {
                refused = e.Message;
            }

            Expect.True(refused.Contains("does not offer 1234x567", StringComparison.Ordinal), $"an unsupported mode was not refused clearly: '{refused}'");
            Expect.True(s.Mode == first && s.Present(), $"after a refused mode: {s.Description}");
            report.Append(CultureInfo.InvariantCulture, $"; 1234x567 refused ({refused[..Math.Min(60, refused.Length)]}...), still {s.Mode}");

            // Another mode and back: the layout is planned again for each size.
            var other = s.Modes.Where(m => m.Width != first.Width && m.Width >= 640 && m.Height >= 360)
                .OrderBy(m => Math.Abs((m.Width * m.Height) - (first.Width * first.Height))).FirstOrDefault();
            if (other != default)
            {
                s.SetMode(other);
                Show(s, compositor);
                report.Append(CultureInfo.InvariantCulture, $"; mode {other} composed");
                s.SetMode(first);
            }
            else if (inLab)
            {
                throw new InvalidOperationException("virtio-gpu offers one mode only: " + string.Join(", ", s.Modes));
            }

            // The connector probed again (what a hot-plug uevent triggers): still there, same mode, nothing to redo.
            var change = s.Refresh();
            Expect.True(change == ScanoutChange.Unchanged && s.Connected && s.Mode == first, $"re-probing an unchanged screen gave {change}: {s.Description}");
            // Fault scanout-no-flip: the final frame goes into the buffer on screen and is never flipped.
            var points = Show(s, compositor, noFlip: faults.Any(f => f.Name == "scanout-no-flip"));
            Print(Marker, s.Width, s.Height, points);
            report.Append(CultureInfo.InvariantCulture, $"; back to {s.Mode}: {points.Count} known pixels read back from the front buffer, {s.Flips} flips");
            return Task.FromResult(report.ToString());
        }).ConfigureAwait(false);
    }

    /// <summary>Composes the lab call into the back buffer, flips it, and checks the known pixels in the front buffer.</summary>
    private static List<(int X, int Y, uint Rgb, string What)> Show(KmsScanout s, RoomCompositor compositor, bool noFlip = false)
    {
        Participant[] people =
        [
            new("Lab North", TestCard.Solid(320, 180, TestCard.Cyan)),
            new("Far End", TestCard.Quadrants(640, 360, TestCard.Red, TestCard.Green, TestCard.Blue, TestCard.White)),
            new("Lab South", TestCard.Solid(320, 180, TestCard.Magenta)),
        ];
        var scene = new RoomScene
        {
            Layout = DisplayLayout.ActiveSpeaker,
            People = people,
            ActiveSpeaker = 1,
            SelfView = TestCard.Solid(320, 180, TestCard.Yellow),
            Encryption = EncryptionState.EndToEnd,
        };
        if (noFlip)
        {
            var front = s.FrontBuffer;
            compositor.Compose(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(front), front.Length), s.Width, s.Height, s.Stride, scene);
        }
        else
        {
            compositor.Compose(s.BackBuffer, s.Width, s.Height, s.Stride, scene);
            Expect.True(s.Present(), $"flip refused: {s.Description}");
        }

        var screen = s.FrontBuffer;
        var points = new List<(int X, int Y, uint Rgb, string What)>();
        var big = compositor.Tiles[0];
        Expect.True(big.Person == 1, $"the speaker is not in the big tile: {big}");
        foreach (var (right, bottom, c, q) in new[] { (false, false, TestCard.Red, "tl"), (true, false, TestCard.Green, "tr"), (false, true, TestCard.Blue, "bl"), (true, true, TestCard.White, "br") })
        {
            points.Add((big.Area.X + (big.Area.Width * (right ? 3 : 1) / 4), big.Area.Y + (big.Area.Height * (bottom ? 3 : 1) / 4), c.Rgb, "speaker-" + q));
        }

        foreach (var t in compositor.Tiles[1..])
        {
            points.Add((t.Area.X + (t.Area.Width / 2), t.Area.Y + (t.Area.Height / 3), people[t.Person].Picture.Data.Span[0] == TestCard.Cyan.Y ? TestCard.Cyan.Rgb : TestCard.Magenta.Rgb, "strip-" + t.Person));
        }

        var pip = compositor.SelfViewArea;
        points.Add((pip.X + (pip.Width / 2), pip.Y + (pip.Height / 3), TestCard.Yellow.Rgb, "self-view"));
        points.Add(Find(screen, s.Stride, compositor.BadgeArea, RoomCompositor.SecureColour & 0xFFFFFF, "badge"));
        points.Add(Find(screen, s.Stride, compositor.BadgeArea, RoomCompositor.TextColour & 0xFFFFFF, "badge-text"));
        var (h, _) = RoomCompositor.Label(big.Area.Height);
        var label = new Rect(big.Area.X, big.Area.Bottom - (2 * h), big.Area.Width / 2, 2 * h);
        points.Add(Find(screen, s.Stride, label, RoomCompositor.TextColour & 0xFFFFFF, "name-text"));
        points.Add(Find(screen, s.Stride, label, RoomCompositor.LabelBackground & 0xFFFFFF, "name-label"));

        foreach (var p in points)
        {
            var got = TestCard.At(screen, s.Stride, p.X, p.Y);
            Expect.True(TestCard.Near(got, p.Rgb), $"{s.Mode}: {p.What} at ({p.X},{p.Y}) is #{got:X6} in the front buffer, expected #{p.Rgb:X6}");
        }

        return points;
    }

    /// <summary>Lists pixels the host must find in its screendump: "MARKER|WxH|x,y,RRGGBB,what;..." (host-checks.py composed).</summary>
    internal static void Print(string marker, int width, int height, IEnumerable<(int X, int Y, uint Rgb, string What)> points)
    {
        Console.WriteLine($"{marker}|{width}x{height}|{string.Join(';', points.Select(p => $"{p.X},{p.Y},{p.Rgb:X6},{p.What}"))}");
        Console.Out.Flush();
    }

    /// <summary>The suite lets go of the card (roomd drives it next); its last frame is no longer needed on screen.</summary>
    public void Release()
    {
        _scanout?.Dispose();
        _scanout = null;
    }

    /// <summary>The first pixel of colour <paramref name="rgb"/> inside <paramref name="r"/> (a check fails if there is none).</summary>
    internal static (int X, int Y, uint Rgb, string What) Find(ReadOnlySpan<byte> screen, int stride, Rect r, uint rgb, string what)
    {
        for (var y = r.Y; y < r.Bottom; y++)
        {
            for (var x = r.X; x < r.Right; x++)
            {
                if (TestCard.At(screen, stride, x, y) == rgb)
                {
                    return (x, y, rgb, what);
                }
            }
        }

        throw new InvalidOperationException($"no #{rgb:X6} pixel ({what}) in {r}");
    }

    public void Dispose() => _scanout?.Dispose();
}
