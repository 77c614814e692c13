using System.Globalization;

namespace Room.Media.Display;

/// <summary>
/// What the room's display shows outside a call: the clock, the room's name and the next meeting, large enough to
/// read across the room. No allocation per frame.
/// </summary>
public static class IdleScreen
{
    /// <summary>The bands (top to bottom) the clock, the room name and the next meeting are centred in.</summary>
    public static (Rect Clock, Rect Name, Rect Next) Bands(int width, int height) =>
        (new Rect(0, height / 8, width, height * 3 / 8), new Rect(0, height / 2, width, height / 6), new Rect(0, height * 2 / 3, width, height / 6));

    /// <summary>The scale the clock is drawn at (it is the largest text).</summary>
    public static int ClockScale(int width, int height) => Math.Clamp(Math.Min(height / 20, width / (5 * BitmapFont.Advance * 2)), 1, 24);

    /// <summary>Draws the idle screen into an XRGB8888 buffer (see <see cref="Canvas"/>); <paramref name="next"/> may be empty.</summary>
    public static void Draw(Span<byte> target, int width, int height, int stride, ReadOnlySpan<char> roomName, DateTimeOffset localNow, ReadOnlySpan<char> next)
    {
        var canvas = new Canvas(target, width, height, stride);
        canvas.Fill(canvas.Bounds, RoomCompositor.Background);
        var (clockBand, nameBand, nextBand) = Bands(width, height);

        Span<char> clock = stackalloc char[8];
        localNow.TryFormat(clock, out var n, "HH:mm", CultureInfo.InvariantCulture);
        RoomCompositor.Centred(canvas, clockBand, clock[..n], ClockScale(width, height));
        RoomCompositor.Centred(canvas, nameBand, roomName, Fitting(roomName, width, Math.Max(1, nameBand.Height / 12)));
        if (!next.IsEmpty)
        {
            RoomCompositor.Centred(canvas, nextBand, next, Fitting(next, width, Math.Max(1, nextBand.Height / 20)));
        }
    }

    /// <summary>The largest scale up to <paramref name="most"/> at which <paramref name="text"/> fits the width with a margin.</summary>
    private static int Fitting(ReadOnlySpan<char> text, int width, int most) =>
        Math.Clamp(width / Math.Max(1, (text.Length + 4) * BitmapFont.Advance), 1, most);
}
