namespace Room.Media.Display;

/// <summary>
/// Known pictures for checking a display path end to end: four coloured quadrants show position, orientation,
/// scaling and mirroring at once, and survive nearest-neighbour scaling away from the quadrant borders.
/// </summary>
public static class TestCard
{
    /// <summary>A colour as BT.601 limited-range YUV and the RGB (0xRRGGBB) it displays as.</summary>
    public readonly record struct Colour(byte Y, byte U, byte V, uint Rgb);

    public static readonly Colour Red = new(81, 90, 240, 0xFF0000);
    public static readonly Colour Green = new(145, 54, 34, 0x00FF00);
    public static readonly Colour Blue = new(41, 240, 110, 0x0000FF);
    public static readonly Colour White = new(235, 128, 128, 0xFFFFFF);
    public static readonly Colour Yellow = new(210, 16, 146, 0xFFFF00);
    public static readonly Colour Cyan = new(170, 166, 16, 0x00FFFF);
    public static readonly Colour Magenta = new(106, 202, 222, 0xFF00FF);

    public static VideoPicture Solid(int width, int height, Colour c) => Quadrants(width, height, c, c, c, c);

    /// <summary>A tightly packed I420 picture: top-left, top-right, bottom-left, bottom-right in four colours.</summary>
    public static VideoPicture Quadrants(int width, int height, Colour topLeft, Colour topRight, Colour bottomLeft, Colour bottomRight)
    {
        if (width <= 0 || height <= 0 || width > VideoPicture.MaxDimension || height > VideoPicture.MaxDimension)
        {
            throw new ArgumentException($"{width}x{height} is not a picture size");
        }

        int cw = (width + 1) / 2, ch = (height + 1) / 2;
        var b = new byte[(width * height) + (2 * cw * ch)];
        Colour At(int x, int y) => y < height / 2 ? (x < width / 2 ? topLeft : topRight) : (x < width / 2 ? bottomLeft : bottomRight);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                b[(y * width) + x] = At(x, y).Y;
            }
        }

        for (var y = 0; y < ch; y++)
        {
            for (var x = 0; x < cw; x++)
            {
                var c = At(x * 2, y * 2);
                b[(width * height) + (y * cw) + x] = c.U;
                b[(width * height) + (cw * ch) + (y * cw) + x] = c.V;
            }
        }

        return new VideoPicture(b, width, height);
    }

    /// <summary>The RGB (0xRRGGBB) at (x, y) of an XRGB8888 buffer.</summary>
    public static uint At(ReadOnlySpan<byte> screen, int stride, int x, int y)
    {
        var i = (y * stride) + (x * 4);
        return (uint)((screen[i + 2] << 16) | (screen[i + 1] << 8) | screen[i]);
    }

    /// <summary>Whether two RGB colours differ by at most <paramref name="tolerance"/> in every channel.</summary>
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
}
