using System.Runtime.InteropServices;

namespace Room.Media.Display;

/// <summary>
/// A 32-bit XRGB8888 screen buffer (B, G, R, X bytes: DRM_FORMAT_XRGB8888 on little-endian), rows
/// <see cref="Stride"/> bytes apart, e.g. a mapped KMS dumb buffer. Every drawing call clips to the buffer.
/// </summary>
public readonly ref struct Canvas
{
    private readonly Span<uint> _pixels;
    private readonly int _pitch;

    public Canvas(Span<byte> buffer, int width, int height, int stride)
    {
        if (width <= 0 || height <= 0 || width > VideoPicture.MaxDimension || height > VideoPicture.MaxDimension)
        {
            throw new ArgumentException($"screen {width}x{height} is not a size this compositor draws (1..{VideoPicture.MaxDimension})");
        }

        if (stride < width * 4 || stride % 4 != 0)
        {
            throw new ArgumentException($"stride {stride} for a {width}-pixel-wide XRGB8888 screen (need a multiple of 4, at least {width * 4})");
        }

        var need = ((long)stride * (height - 1)) + (width * 4L);
        if (buffer.Length < need)
        {
            throw new ArgumentException($"screen buffer of {buffer.Length} bytes, a {width}x{height} screen with stride {stride} needs {need}");
        }

        _pixels = MemoryMarshal.Cast<byte, uint>(buffer[..(int)need]); // stride and width are whole pixels
        Width = width;
        Height = height;
        Stride = stride;
        _pitch = stride / 4;
    }

    public int Width { get; }

    public int Height { get; }

    public int Stride { get; }

    public Rect Bounds => new(0, 0, Width, Height);

    /// <summary>One row of pixels (0x00RRGGBB).</summary>
    public Span<uint> Row(int y) => _pixels.Slice(y * _pitch, Width);

    public uint this[int x, int y] => _pixels[(y * _pitch) + x];

    public void Fill(Rect r, uint colour)
    {
        r = r.Intersect(Bounds);
        for (var y = r.Y; y < r.Bottom; y++)
        {
            Row(y).Slice(r.X, r.Width).Fill(colour);
        }
    }

    /// <summary>A frame of <paramref name="thickness"/> pixels just inside <paramref name="r"/>.</summary>
    public void Outline(Rect r, int thickness, uint colour)
    {
        Fill(new Rect(r.X, r.Y, r.Width, thickness), colour);
        Fill(new Rect(r.X, r.Bottom - thickness, r.Width, thickness), colour);
        Fill(new Rect(r.X, r.Y, thickness, r.Height), colour);
        Fill(new Rect(r.Right - thickness, r.Y, thickness, r.Height), colour);
    }

    /// <summary>Draws <paramref name="text"/> with its top-left at (x, y), cut at <paramref name="clip"/>; returns the x after it.</summary>
    public int Text(ReadOnlySpan<char> text, int x, int y, int scale, uint colour, Rect clip)
    {
        clip = clip.Intersect(Bounds);
        foreach (var c in text)
        {
            for (var col = 0; col < BitmapFont.GlyphWidth; col++)
            {
                var bits = BitmapFont.Column(c, col);
                for (var row = 0; bits != 0; row++, bits >>= 1)
                {
                    if ((bits & 1) != 0)
                    {
                        Fill(new Rect(x + (col * scale), y + (row * scale), scale, scale).Intersect(clip), colour);
                    }
                }
            }

            x += BitmapFont.Advance * scale;
        }

        return x;
    }
}
