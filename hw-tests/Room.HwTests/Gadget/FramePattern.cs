namespace Room.HwTests.Gadget;

/// <summary>
/// What the lab camera paints into every YUYV frame so a test can read the camera's state back out of the
/// picture: four bands of 32 one-bit blocks (pan, tilt, zoom, frame counter) above a crosshair that moves
/// with pan/tilt and a box that shrinks with zoom.
/// </summary>
public static class FramePattern
{
    public const int Width = 320;
    public const int Height = 240;
    public const int FrameBytes = Width * Height * 2;
    public const int BandHeight = 12;
    public const int BitWidth = 10;
    public const int Bands = 4;
    private const byte One = 235;
    private const byte Zero = 16;

    /// <summary>Paints one frame. Pan/tilt in arc-seconds (UVC units), zoom in the camera's zoom units.</summary>
    public static void Render(Span<byte> yuyv, int pan, int tilt, int zoom, int counter)
    {
        // Background: horizontal luma gradient, neutral chroma.
        for (var y = 0; y < Height; y++)
        {
            var row = yuyv.Slice(y * Width * 2, Width * 2);
            for (var x = 0; x < Width; x += 2)
            {
                var l = (byte)(40 + (x * 100 / Width));
                row[x * 2] = l;
                row[(x * 2) + 1] = 128;
                row[(x * 2) + 2] = l;
                row[(x * 2) + 3] = 128;
            }
        }

        Band(yuyv, 0, pan);
        Band(yuyv, 1, tilt);
        Band(yuyv, 2, zoom);
        Band(yuyv, 3, counter);

        // Crosshair: pan ±180° spans the width, tilt ±90° the lower picture.
        var top = Bands * BandHeight;
        var cx = Math.Clamp((Width / 2) + (int)((long)pan * (Width / 2) / (180 * 3600)), 0, Width - 1);
        var cy = Math.Clamp(top + ((Height - top) / 2) - (int)((long)tilt * ((Height - top) / 2) / (90 * 3600)), top, Height - 1);
        for (var x = 0; x < Width; x++)
        {
            yuyv[((cy * Width) + x) * 2] = One;
        }

        for (var y = top; y < Height; y++)
        {
            yuyv[((y * Width) + cx) * 2] = One;
        }

        // Zoom box: the tighter the zoom, the smaller the box.
        var half = Math.Clamp(80 - (zoom / 8), 4, 80);
        for (var x = Math.Max(0, cx - half); x <= Math.Min(Width - 1, cx + half); x++)
        {
            yuyv[((Math.Max(top, cy - (half / 2)) * Width) + x) * 2] = One;
            yuyv[((Math.Min(Height - 1, cy + (half / 2)) * Width) + x) * 2] = One;
        }
    }

    private static void Band(Span<byte> yuyv, int band, int value)
    {
        for (var y = band * BandHeight; y < (band + 1) * BandHeight; y++)
        {
            for (var bit = 0; bit < 32; bit++)
            {
                var on = ((uint)value >> (31 - bit) & 1) != 0;
                for (var x = bit * BitWidth; x < (bit + 1) * BitWidth; x++)
                {
                    yuyv[((y * Width) + x) * 2] = on ? One : Zero;
                }
            }
        }
    }

    /// <summary>Reads band <paramref name="band"/> (0 pan, 1 tilt, 2 zoom, 3 counter) back out of a YUYV frame.</summary>
    public static int Decode(ReadOnlySpan<byte> yuyv, int band)
    {
        if (yuyv.Length < FrameBytes)
        {
            throw new ArgumentException($"frame has {yuyv.Length} bytes, expected {FrameBytes}", nameof(yuyv));
        }

        var y = (band * BandHeight) + (BandHeight / 2);
        uint v = 0;
        for (var bit = 0; bit < 32; bit++)
        {
            var x = (bit * BitWidth) + (BitWidth / 2);
            v = (v << 1) | (yuyv[((y * Width) + x) * 2] > 128 ? 1u : 0u);
        }

        return (int)v;
    }
}
