namespace Room.Media.Display;

/// <summary>How a picture fills its tile.</summary>
public enum Fit
{
    /// <summary>Fill the tile, cropping the picture's edges (people: no black bars around a face).</summary>
    Cover,

    /// <summary>Show the whole picture, bars around it (content: every pixel of a shared screen matters).</summary>
    Contain,
}

/// <summary>
/// Nearest-neighbour scaling of an I420 or BGRX picture into a canvas rectangle, with BT.601 limited-range
/// YUV to RGB (what camera encoders and the decoders here produce). Integer tables, no allocation per call: the
/// column map lives in a buffer the owner keeps.
/// </summary>
internal sealed class PictureScaler
{
    private static readonly int[] Luma = Table(i => 298 * (i - 16) + 128);
    private static readonly int[] RedV = Table(i => 409 * (i - 128));
    private static readonly int[] GreenU = Table(i => -100 * (i - 128));
    private static readonly int[] GreenV = Table(i => -208 * (i - 128));
    private static readonly int[] BlueU = Table(i => 516 * (i - 128));

    private readonly int[] _columns = new int[VideoPicture.MaxDimension];

    /// <summary>One BT.601 limited-range pixel as 0xFFRRGGBB.</summary>
    public static uint Rgb(byte y, byte u, byte v)
    {
        var l = Luma[y];
        return 0xFF000000u | (Clamp(l + RedV[v]) << 16) | (Clamp(l + GreenU[u] + GreenV[v]) << 8) | Clamp(l + BlueU[u]);
    }

    /// <summary>Draws <paramref name="picture"/> (valid, not empty) into <paramref name="tile"/>, only inside <paramref name="clip"/>.</summary>
    public void Draw(Canvas canvas, in VideoPicture picture, Rect tile, Fit fit, bool mirror, Rect clip)
    {
        // Which part of the picture shows, and where on the screen.
        Rect src = new(0, 0, picture.Width, picture.Height), dst = tile;
        if (fit == Fit.Contain)
        {
            dst = tile.Fit(picture.Width, picture.Height);
        }
        else
        {
            var crop = src.Fit(tile.Width, tile.Height);
            src = crop.IsEmpty ? src : crop;
        }

        var visible = dst.Intersect(clip).Intersect(canvas.Bounds);
        if (visible.IsEmpty)
        {
            return;
        }

        var columns = _columns.AsSpan(0, visible.Width);
        for (var x = 0; x < columns.Length; x++)
        {
            var along = (int)(((2L * (visible.X + x - dst.X)) + 1) * src.Width / (2L * dst.Width));
            columns[x] = src.X + (mirror ? src.Width - 1 - along : along);
        }

        var data = picture.Data.Span;
        var w = picture.Width;
        var chromaW = (w + 1) / 2;
        var lumaSize = w * picture.Height;
        var chromaSize = chromaW * ((picture.Height + 1) / 2);
        for (var y = visible.Y; y < visible.Bottom; y++)
        {
            var sy = src.Y + (int)(((2L * (y - dst.Y)) + 1) * src.Height / (2L * dst.Height));
            var row = canvas.Row(y).Slice(visible.X, visible.Width);
            if (picture.Format == PictureFormat.I420)
            {
                var lumaRow = data.Slice(sy * w, w);
                var uRow = data.Slice(lumaSize + (sy / 2 * chromaW), chromaW);
                var vRow = data.Slice(lumaSize + chromaSize + (sy / 2 * chromaW), chromaW);
                for (var x = 0; x < row.Length; x++)
                {
                    var sx = columns[x];
                    row[x] = Rgb(lumaRow[sx], uRow[sx >> 1], vRow[sx >> 1]);
                }
            }
            else
            {
                var line = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(data.Slice(sy * picture.RowBytes, w * 4));
                for (var x = 0; x < row.Length; x++)
                {
                    row[x] = line[columns[x]] | 0xFF000000u;
                }
            }
        }
    }

    private static uint Clamp(int v) => (uint)Math.Clamp(v >> 8, 0, 255);

    private static int[] Table(Func<int, int> f)
    {
        var t = new int[256];
        for (var i = 0; i < t.Length; i++)
        {
            t[i] = f(i);
        }

        return t;
    }
}
