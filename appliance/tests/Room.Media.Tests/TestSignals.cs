namespace Room.Media.Tests;

/// <summary>Deterministic test inputs.</summary>
internal static class TestSignals
{
    /// <summary>A moving test pattern: gradients, bars and a moving box, I420.</summary>
    public static void Pattern(Span<byte> i420, int width, int height, int frame)
    {
        var y = i420[..(width * height)];
        for (var row = 0; row < height; row++)
        {
            for (var col = 0; col < width; col++)
            {
                var v = ((col * 3 / 2) + row + (frame * 2)) & 0xff;
                if (col / (width / 8) % 2 == 0 && row > height * 3 / 4)
                {
                    v = 200;
                }

                var bx = (frame * 7) % (width - 64);
                if (col >= bx && col < bx + 64 && row >= height / 3 && row < (height / 3) + 64)
                {
                    v = 30;
                }

                y[(row * width) + col] = (byte)(16 + (v * 219 / 255));
            }
        }

        int cw = width / 2, ch = height / 2;
        var u = i420.Slice(width * height, cw * ch);
        var vv = i420.Slice((width * height) + (cw * ch), cw * ch);
        for (var row = 0; row < ch; row++)
        {
            for (var col = 0; col < cw; col++)
            {
                u[(row * cw) + col] = (byte)(64 + (col * 128 / cw));
                vv[(row * cw) + col] = (byte)(64 + (row * 128 / ch));
            }
        }
    }

    public static double Psnr(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }

        var mse = sum / a.Length;
        return mse == 0 ? 99 : 10 * Math.Log10(255.0 * 255.0 / mse);
    }
}
