using Room.Media.Display;

namespace Room.Media.Tests.Display;

/// <summary>Known pictures and a screen to compose into, with pixel reads that say what they expected.</summary>
internal static class TestPictures
{
    // BT.601 limited-range YUV of saturated colours, and the RGB each should come back as.
    public static readonly (byte Y, byte U, byte V, uint Rgb) Red = (81, 90, 240, 0xFF0000);
    public static readonly (byte Y, byte U, byte V, uint Rgb) Green = (145, 54, 34, 0x00FF00);
    public static readonly (byte Y, byte U, byte V, uint Rgb) Blue = (41, 240, 110, 0x0000FF);
    public static readonly (byte Y, byte U, byte V, uint Rgb) White = (235, 128, 128, 0xFFFFFF);
    public static readonly (byte Y, byte U, byte V, uint Rgb) Yellow = (210, 16, 146, 0xFFFF00);
    public static readonly (byte Y, byte U, byte V, uint Rgb) Cyan = (170, 166, 16, 0x00FFFF);
    public static readonly (byte Y, byte U, byte V, uint Rgb) Magenta = (106, 202, 222, 0xFF00FF);

    public static readonly (byte Y, byte U, byte V, uint Rgb)[] Palette = [Red, Green, Blue, White, Yellow, Cyan, Magenta];

    public static VideoPicture Solid(int w, int h, (byte Y, byte U, byte V, uint Rgb) c) =>
        Quadrants(w, h, c, c, c, c);

    /// <summary>Top-left, top-right, bottom-left, bottom-right in four colours: shows position, orientation and mirroring.</summary>
    public static VideoPicture Quadrants(int w, int h, (byte Y, byte U, byte V, uint Rgb) tl, (byte Y, byte U, byte V, uint Rgb) tr,
        (byte Y, byte U, byte V, uint Rgb) bl, (byte Y, byte U, byte V, uint Rgb) br)
    {
        int cw = (w + 1) / 2, ch = (h + 1) / 2;
        var b = new byte[(w * h) + (2 * cw * ch)];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                b[(y * w) + x] = Pick(x, y, w, h, tl, tr, bl, br).Y;
            }
        }

        for (var y = 0; y < ch; y++)
        {
            for (var x = 0; x < cw; x++)
            {
                var c = Pick(x * 2, y * 2, w, h, tl, tr, bl, br);
                b[(w * h) + (y * cw) + x] = c.U;
                b[(w * h) + (cw * ch) + (y * cw) + x] = c.V;
            }
        }

        return new VideoPicture(b, w, h);
    }

    private static (byte Y, byte U, byte V, uint Rgb) Pick(int x, int y, int w, int h, (byte, byte, byte, uint) tl, (byte, byte, byte, uint) tr, (byte, byte, byte, uint) bl, (byte, byte, byte, uint) br) =>
        y < h / 2 ? (x < w / 2 ? tl : tr) : (x < w / 2 ? bl : br);

    /// <summary>The RGB at (x, y) of a composed XRGB8888 buffer.</summary>
    public static uint At(byte[] screen, int stride, int x, int y)
    {
        var i = (y * stride) + (x * 4);
        return (uint)((screen[i + 2] << 16) | (screen[i + 1] << 8) | screen[i]);
    }

    public static bool Near(uint a, uint b, int tolerance = 6)
    {
        for (var shift = 0; shift < 24; shift += 8)
        {
            if (Math.Abs((int)((a >> shift) & 0xFF) - (int)((b >> shift) & 0xFF)) > tolerance)
            {
                return false;
            }
        }

        return true;
    }

    public static void AssertColour(byte[] screen, int stride, int x, int y, uint want, string what)
    {
        var got = At(screen, stride, x, y);
        Assert.True(Near(got, want), $"{what}: pixel ({x},{y}) is #{got:X6}, expected #{want:X6}");
    }

    /// <summary>The centre of each quadrant of a rectangle (inset by an eighth, away from crop and rounding edges).</summary>
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
