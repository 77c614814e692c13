using System.Globalization;

namespace Room.CallQuality.Bench;

/// <summary>The table: one row per figure, Room's and Chromium's, Room / Chromium, and which way is better.</summary>
internal static class Report
{
    public static void Print((string Name, CallFigures Figures, string Note) room, (string Name, CallFigures Figures, string Note) chromium, Schedule schedule)
    {
        var (r, c) = (room.Figures, chromium.Figures);
        var rows = new List<(string Row, double? Room, double? Chromium, string Unit, string Better)>
        {
            ($"time to 90 % of the {schedule.FullMbps} Mbit/s link", r.SecondsTo90PercentOfLink, c.SecondsTo90PercentOfLink, "s", "lower"),
            ("steady rate on the link (last 10 s)", r.SteadyLinkBps / 1e6, c.SteadyLinkBps / 1e6, "Mbit/s", "higher"),
            ("steady video received (last 10 s)", r.SteadyVideoBps / 1e6, c.SteadyVideoBps / 1e6, "Mbit/s", "higher"),
            ("picture received (pixels)", r.Width * r.Height, c.Width * c.Height, "px", "higher"),
            ("frame rate received (median, last 10 s)", r.Fps, c.Fps, "fps", "higher"),
            ("keyframes per minute (clean link)", r.KeyframesPerMinute, c.KeyframesPerMinute, "/min", "lower"),
            ($"{schedule.FullMbps}->{schedule.LowMbps} Mbit/s: time until the queue drops nothing for 2 s", r.SecondsToAdaptDown, c.SecondsToAdaptDown, "s", "lower"),
            ($"{schedule.LowMbps}->{schedule.FullMbps} Mbit/s: time to 90 % of its rate before", r.SecondsToAdaptUp, c.SecondsToAdaptUp, "s", "lower"),
            ($"frozen while at {schedule.LowMbps} Mbit/s", r.FrozenSecondsLow, c.FrozenSecondsLow, "s", "lower"),
            ($"frame rate while at {schedule.LowMbps} Mbit/s", r.FpsLow, c.FpsLow, "fps", "higher"),
        };
        Console.WriteLine($"{"",-62} {"Room",12} {"Chromium",12} {"Room/Chr.",10}  better");
        foreach (var (row, a, b, unit, better) in rows)
        {
            string ratio = a is { } x && b is > 0 ? (x / b.Value).ToString("F2", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine($"{row,-62} {Format(a, unit),12} {Format(b, unit),12} {ratio,10}  {better}");
        }

        Console.WriteLine($"picture: Room {r.Width}x{r.Height}, Chromium {c.Width}x{c.Height}");
        Console.WriteLine($"{room.Name} said at the end of the clean phase: {room.Note}");
        Console.WriteLine($"{chromium.Name} said at the end of the clean phase: {chromium.Note}");
    }

    private static string Format(double? value, string unit) => value switch
    {
        null => "never",
        { } v when unit == "px" => v.ToString("N0", CultureInfo.InvariantCulture),
        { } v => v.ToString(v >= 100 ? "F0" : "F2", CultureInfo.InvariantCulture) + " " + unit,
    };
}
