// The room display's cost per frame at 1080p (issue 15): Room.Media's CPU compositor for each layout, against the
// floor of touching every pixel once (a 1080p XRGB8888 copy), and compose + page flip through Room.Devices' KMS
// scanout when this machine has a DRM card with a screen (else it says so). `make bench` runs it; the table also goes
// to artifacts/bench-display/compose.md. Stopwatch per frame, p50/p95 over the run; a ratio, not an absolute, is
// what survives a loaded machine.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Room.Devices;
using Room.Devices.Display;
using Room.Media.Display;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var frames = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 60;
const int W = 1920, H = 1080;

// A realistic call: 720p far-end pictures (the simulcast high layer), a 1080p screen share, a 360p self-view.
var people = Enumerable.Range(0, 9)
    .Select(i => new Participant($"Participant {i}", TestCard.Quadrants(1280, 720, TestCard.Red, TestCard.Green, TestCard.Blue, TestCard.White)))
    .ToArray();
var content = TestCard.Quadrants(1920, 1080, TestCard.Cyan, TestCard.Magenta, TestCard.Yellow, TestCard.White);
var self = TestCard.Solid(640, 360, TestCard.Yellow);
var screen = new byte[W * H * 4];
var compositor = new RoomCompositor();
var table = new StringBuilder();
table.AppendLine($"| 1920x1080, {frames} frames | p50 ms | p95 ms | x copy floor |");
table.AppendLine("|---|---|---|---|");

var source = new byte[screen.Length];
var copy = Measure(frames, () => source.AsSpan().CopyTo(screen));
Row("copy 1080p XRGB8888 (floor)", copy, copy.P50);

foreach (var (name, layout, n, withContent) in new[]
{
    ("active speaker, 4 people + self-view", DisplayLayout.ActiveSpeaker, 4, false),
    ("gallery of 9 + self-view", DisplayLayout.Gallery, 9, false),
    ("content + 4 people + self-view", DisplayLayout.ContentAndPeople, 4, true),
})
{
    var stats = Measure(frames, () => compositor.Compose(screen, W, H, W * 4, new RoomScene
    {
        Layout = layout,
        People = people.AsSpan(0, n),
        ActiveSpeaker = 1,
        Content = withContent ? content : default,
        SelfView = self,
        Encryption = EncryptionState.EndToEnd,
    }));
    Row("compose: " + name, stats, copy.P50);
}

var card = Directory.Exists("/dev/dri") ? Directory.GetFiles("/dev/dri", "card*").Order(StringComparer.Ordinal).FirstOrDefault() : null;
string flipNote;
if (card is null)
{
    flipNote = "compose + flip: not measured, no DRM card on this machine (the QEMU lab's display.kms.scanout reports its flips)";
}
else
{
    try
    {
        using var kms = KmsScanout.Open(card, mode: new DisplayMode(W, H, 0));
        var stats = Measure(frames, () =>
        {
            compositor.Compose(kms.BackBuffer, kms.Width, kms.Height, kms.Stride, new RoomScene
            {
                Layout = DisplayLayout.Gallery,
                People = people,
                SelfView = self,
                Encryption = EncryptionState.EndToEnd,
            });
            kms.Present();
        });
        Row($"compose + flip: gallery of 9 on {kms.Description}", stats, copy.P50);
        flipNote = $"compose + flip on {kms.Description} (a flip waits for the next vertical blank: at 60 Hz up to 16.7 ms of it is waiting)";
    }
    catch (Exception e) when (e is DeviceUnavailableException or ArgumentException or InvalidOperationException)
    {
        flipNote = $"compose + flip: not measured on {card}: {e.Message}";
    }
}

Console.WriteLine("Room display bench (issue 15)");
Console.Write(table);
Console.WriteLine(flipNote);
var outDir = Path.Combine(Environment.GetEnvironmentVariable("ROOM_ARTIFACTS") ?? "artifacts", "bench-display");
Directory.CreateDirectory(outDir);
File.WriteAllText(Path.Combine(outDir, "compose.md"), table + Environment.NewLine + flipNote + Environment.NewLine);
return 0;

void Row(string name, (double P50, double P95) s, double floor) =>
    table.AppendLine($"| {name} | {s.P50:0.00} | {s.P95:0.00} | {s.P50 / floor:0.0} |");

static (double P50, double P95) Measure(int frames, Action frame)
{
    for (var i = 0; i < 5; i++)
    {
        frame(); // warm-up: JIT tiers, page faults on the buffers
    }

    var times = new double[frames];
    for (var i = 0; i < frames; i++)
    {
        var t = Stopwatch.GetTimestamp();
        frame();
        times[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
    }

    Array.Sort(times);
    return (times[frames / 2], times[Math.Min(frames - 1, (int)(frames * 0.95))]);
}
