using Room.Media.Display;

namespace Room.Media.Tests.Display;

/// <summary>The test card's pictures and pixel reads that say what they expected.</summary>
internal static class TestPictures
{
    public static readonly TestCard.Colour Red = TestCard.Red;
    public static readonly TestCard.Colour Green = TestCard.Green;
    public static readonly TestCard.Colour Blue = TestCard.Blue;
    public static readonly TestCard.Colour White = TestCard.White;
    public static readonly TestCard.Colour Yellow = TestCard.Yellow;
    public static readonly TestCard.Colour Cyan = TestCard.Cyan;
    public static readonly TestCard.Colour Magenta = TestCard.Magenta;

    public static readonly TestCard.Colour[] Palette = [Red, Green, Blue, White, Yellow, Cyan, Magenta];

    public static VideoPicture Solid(int w, int h, TestCard.Colour c) => TestCard.Solid(w, h, c);

    public static VideoPicture Quadrants(int w, int h, TestCard.Colour tl, TestCard.Colour tr, TestCard.Colour bl, TestCard.Colour br) =>
        TestCard.Quadrants(w, h, tl, tr, bl, br);

    public static uint At(byte[] screen, int stride, int x, int y) => TestCard.At(screen, stride, x, y);

    public static bool Near(uint a, uint b) => TestCard.Near(a, b);

    public static void AssertColour(byte[] screen, int stride, int x, int y, uint want, string what)
    {
        var got = At(screen, stride, x, y);
        Assert.True(Near(got, want), $"{what}: pixel ({x},{y}) is #{got:X6}, expected #{want:X6}");
    }

    /// <summary>The centre of each quadrant of a rectangle.</summary>
    public static (int X, int Y) QuadrantCentre(Rect r, bool right, bool bottom) =>
        (r.X + (r.Width * (right ? 3 : 1) / 4), r.Y + (r.Height * (bottom ? 3 : 1) / 4));

    /// <summary>How many pixels of <paramref name="r"/> have exactly the colour <paramref name="rgb"/>.</summary>
    public static int Count(byte[] screen, int stride, Rect r, uint rgb)
    {
        var n = 0;
        for (var y = r.Y; y < r.Bottom; y++)
        {
            for (var x = r.X; x < r.Right; x++)
            {
                if (At(screen, stride, x, y) == (rgb & 0xFFFFFF))
                {
                    n++;
                }
            }
        }

        return n;
    }
}
