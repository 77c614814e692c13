namespace Room.Media.Display;

/// <summary>A rectangle on the screen in pixels (right and bottom exclusive).</summary>
public readonly record struct Rect(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;

    public int Bottom => Y + Height;

    public bool IsEmpty => Width <= 0 || Height <= 0;

    public bool Contains(int x, int y) => x >= X && x < Right && y >= Y && y < Bottom;

    /// <summary>This rectangle clipped to <paramref name="other"/> (empty when they do not meet).</summary>
    public Rect Intersect(Rect other)
    {
        var x = Math.Max(X, other.X);
        var y = Math.Max(Y, other.Y);
        var w = Math.Min(Right, other.Right) - x;
        var h = Math.Min(Bottom, other.Bottom) - y;
        return w <= 0 || h <= 0 ? default : new Rect(x, y, w, h);
    }

    /// <summary>Shrunk by <paramref name="d"/> on every side (never below zero size).</summary>
    public Rect Inset(int d) => new(X + d, Y + d, Math.Max(0, Width - (2 * d)), Math.Max(0, Height - (2 * d)));

    /// <summary>The largest rectangle of aspect <paramref name="aw"/>:<paramref name="ah"/> centred inside this one.</summary>
    public Rect Fit(int aw, int ah)
    {
        if (aw <= 0 || ah <= 0 || IsEmpty)
        {
            return this;
        }

        var w = Width;
        var h = (int)((long)w * ah / aw);
        if (h > Height)
        {
            h = Height;
            w = (int)((long)h * aw / ah);
        }

        return new Rect(X + ((Width - w) / 2), Y + ((Height - h) / 2), Math.Max(1, w), Math.Max(1, h));
    }

    public override string ToString() => $"{Width}x{Height}+{X}+{Y}";
}
