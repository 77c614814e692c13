using System.Numerics;

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

    // One output row's Y, U and V samples, gathered before the vectorised conversion.
    private readonly byte[] _y = new byte[VideoPicture.MaxDimension];
    private readonly byte[] _u = new byte[VideoPicture.MaxDimension];
    private readonly byte[] _v = new byte[VideoPicture.MaxDimension];

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
        var previous = -1;
        for (var y = visible.Y; y < visible.Bottom; y++)
        {
            var sy = src.Y + (int)(((2L * (y - dst.Y)) + 1) * src.Height / (2L * dst.Height));
            var row = canvas.Row(y).Slice(visible.X, visible.Width);
            if (sy == previous)
            {
                // Scaling up repeats source rows: copy the row just drawn instead of converting it again.
                canvas.Row(y - 1).Slice(visible.X, visible.Width).CopyTo(row);
                continue;
            }

            previous = sy;
            if (picture.Format == PictureFormat.I420)
            {
                var lumaRow = data.Slice(sy * w, w);
                var uRow = data.Slice(lumaSize + (sy / 2 * chromaW), chromaW);
                var vRow = data.Slice(lumaSize + chromaSize + (sy / 2 * chromaW), chromaW);
                Span<byte> ys = _y.AsSpan(0, row.Length), us = _u.AsSpan(0, row.Length), vs = _v.AsSpan(0, row.Length);
                for (var x = 0; x < row.Length; x++)
                {
                    var sx = columns[x];
                    ys[x] = lumaRow[sx];
                    us[x] = uRow[sx >> 1];
                    vs[x] = vRow[sx >> 1];
                }

                ConvertRow(ys, us, vs, row);
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

    /// <summary>
    /// BT.601 limited-range YUV to XRGB for one row, with the same integer formula as <see cref="Rgb"/>
    /// (so every pixel is identical either way), <see cref="Vector{T}"/> lanes at a time where the CPU has them.
    /// </summary>
    internal static void ConvertRow(ReadOnlySpan<byte> y, ReadOnlySpan<byte> u, ReadOnlySpan<byte> v, Span<uint> dst)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lanes = Vector<int>.Count;
            var max = new Vector<int>(255);
            var alpha = new Vector<int>(unchecked((int)0xFF000000));
            for (; i <= dst.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(y[i..]), out var y0, out var y1);
                Vector.Widen(new Vector<byte>(u[i..]), out var u0, out var u1);
                Vector.Widen(new Vector<byte>(v[i..]), out var v0, out var v1);
                Quarter(y0, u0, v0, dst.Slice(i, 2 * lanes));
                Quarter(y1, u1, v1, dst.Slice(i + (2 * lanes), 2 * lanes));
            }

            void Quarter(Vector<ushort> y16, Vector<ushort> u16, Vector<ushort> v16, Span<uint> out8)
            {
                Vector.Widen(y16, out var ya, out var yb);
                Vector.Widen(u16, out var ua, out var ub);
                Vector.Widen(v16, out var va, out var vb);
                Eight(Vector.AsVectorInt32(ya), Vector.AsVectorInt32(ua), Vector.AsVectorInt32(va), out8[..lanes]);
                Eight(Vector.AsVectorInt32(yb), Vector.AsVectorInt32(ub), Vector.AsVectorInt32(vb), out8[lanes..]);
            }

            void Eight(Vector<int> yi, Vector<int> ui, Vector<int> vi, Span<uint> o)
            {
                var l = ((yi - new Vector<int>(16)) * 298) + new Vector<int>(128);
                var uc = ui - new Vector<int>(128);
                var vc = vi - new Vector<int>(128);
                var r = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(l + (vc * 409), 8), Vector<int>.Zero), max);
                var g = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(l - (uc * 100) - (vc * 208), 8), Vector<int>.Zero), max);
                var b = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(l + (uc * 516), 8), Vector<int>.Zero), max);
                Vector.AsVectorUInt32(alpha | Vector.ShiftLeft(r, 16) | Vector.ShiftLeft(g, 8) | b).CopyTo(o);
            }
        }

        for (; i < dst.Length; i++)
        {
            dst[i] = Rgb(y[i], u[i], v[i]);
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
