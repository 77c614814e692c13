namespace Room.Media.Display;

/// <summary>How the meeting is arranged on a room display.</summary>
public enum DisplayLayout
{
    /// <summary>The active speaker large, the others in a strip along the bottom.</summary>
    ActiveSpeaker,

    /// <summary>Everyone in equal tiles, up to 9 (3 x 3); more show as "+N" in the last tile.</summary>
    Gallery,

    /// <summary>Shared content large on the left, a column of people on the right (Gallery when there is no content).</summary>
    ContentAndPeople,
}

/// <summary>One region of a layout: a person (index into the scene's people), the content, or the "+N more" tile.</summary>
public readonly record struct Tile(Rect Area, TileKind Kind, int Person = -1, int Hidden = 0);

public enum TileKind
{
    Person,
    Content,

    /// <summary>Stands for <see cref="Tile.Hidden"/> people who do not fit.</summary>
    Overflow,
}

/// <summary>
/// Where each picture goes on a W x H screen for a layout: pure geometry, no pixels, no allocation (the caller
/// passes the span to fill). Tiles keep 16:9 where the space allows and are centred in their cell.
/// </summary>
public static class LayoutPlanner
{
    /// <summary>A span this long holds every plan.</summary>
    public const int MaxTiles = 10;

    public const int GalleryMax = 9;

    public const int SpeakerStripMax = 5;

    public const int ContentStripMax = 4;

    /// <summary>The gap between tiles and around the screen's edge (none on a screen too small to spare it).</summary>
    public static int Gap(int width, int height) => Math.Min(width, height) < 32 ? 0 : Math.Max(2, Math.Min(width, height) / 120);

    /// <summary>The self-view picture-in-picture: a fifth of the width, 16:9, in the bottom-right corner.</summary>
    public static Rect SelfView(int width, int height)
    {
        var g = Gap(width, height);
        var w = Math.Max(1, width / 5);
        var h = Math.Max(1, Math.Min(height / 3, w * 9 / 16));
        return new Rect(width - g - w, height - g - h, w, h);
    }

    /// <summary>
    /// Fills <paramref name="tiles"/> (at least <see cref="MaxTiles"/> long) and returns how many it used.
    /// <paramref name="activeSpeaker"/> out of range means the first person; the active speaker is always shown.
    /// </summary>
    public static int Plan(DisplayLayout layout, int width, int height, int people, int activeSpeaker, bool content, bool selfView, Span<Tile> tiles)
    {
        var n = Arrange(layout, width, height, people, activeSpeaker, content, selfView, tiles);

        // On a screen too small for the layout (a few pixels), tiles that do not fit are cut or left empty.
        var screen = new Rect(0, 0, width, height);
        for (var i = 0; i < n; i++)
        {
            tiles[i] = tiles[i] with { Area = tiles[i].Area.Intersect(screen) };
        }

        return n;
    }

    private static int Arrange(DisplayLayout layout, int width, int height, int people, int activeSpeaker, bool content, bool selfView, Span<Tile> tiles)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"screen {width}x{height}");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(people);
        if (tiles.Length < MaxTiles)
        {
            throw new ArgumentException($"need room for {MaxTiles} tiles", nameof(tiles));
        }

        if (activeSpeaker < 0 || activeSpeaker >= people)
        {
            activeSpeaker = 0;
        }

        var g = Gap(width, height);
        var screen = new Rect(g, g, width - (2 * g), height - (2 * g));
        var pip = selfView ? SelfView(width, height) : default;
        if (layout == DisplayLayout.ContentAndPeople && content)
        {
            if (people == 0)
            {
                tiles[0] = new Tile(screen, TileKind.Content);
                return 1;
            }

            var columnW = Math.Max(1, (screen.Width - g) / 4);
            tiles[0] = new Tile(new Rect(screen.X, screen.Y, screen.Width - columnW - g, screen.Height), TileKind.Content);
            var bottom = selfView ? pip.Y - g : screen.Bottom;
            var column = new Rect(screen.Right - columnW, screen.Y, columnW, Math.Max(1, bottom - screen.Y));
            return 1 + Strip(column, vertical: true, people, activeSpeaker, skip: -1, ContentStripMax, g, tiles[1..]);
        }

        if (layout == DisplayLayout.ActiveSpeaker && people > 1)
        {
            var stripH = Math.Max(1, (screen.Height - g) / 5);
            tiles[0] = new Tile(new Rect(screen.X, screen.Y, screen.Width, screen.Height - stripH - g).Fit(16, 9), TileKind.Person, activeSpeaker);
            var right = selfView ? pip.X - g : screen.Right;
            var strip = new Rect(screen.X, screen.Bottom - stripH, Math.Max(1, right - screen.X), stripH);
            return 1 + Strip(strip, vertical: false, people - 1, activeSpeaker, skip: activeSpeaker, SpeakerStripMax, g, tiles[1..]);
        }

        return Grid(screen, people, activeSpeaker, g, tiles);
    }

    /// <summary>Up to 9 people in a grid (1, 2, 2x2, 3x2, 3x3); the last rows centred; more than 9: 8 and "+N".</summary>
    private static int Grid(Rect area, int people, int active, int g, Span<Tile> tiles)
    {
        if (people == 0)
        {
            return 0;
        }

        var shown = Math.Min(people, GalleryMax);
        var cols = shown switch { 1 => 1, 2 => 2, <= 4 => 2, _ => 3 };
        var rows = (shown + cols - 1) / cols;
        var cellW = Math.Max(1, (area.Width - ((cols - 1) * g)) / cols);
        var cellH = Math.Max(1, (area.Height - ((rows - 1) * g)) / rows);
        var people8 = people > GalleryMax ? GalleryMax - 1 : shown;
        for (var i = 0; i < shown; i++)
        {
            var row = i / cols;
            var inRow = Math.Min(cols, shown - (row * cols));
            var rowW = (inRow * cellW) + ((inRow - 1) * g);
            var x = area.X + ((area.Width - rowW) / 2) + (i % cols * (cellW + g));
            var y = area.Y + (row * (cellH + g));
            var cell = new Rect(x, y, cellW, cellH).Fit(16, 9);
            tiles[i] = i < people8
                ? new Tile(cell, TileKind.Person, Pick(i, people8, active))
                : new Tile(cell, TileKind.Overflow, Hidden: people - people8);
        }

        return shown;
    }

    /// <summary>
    /// A row or column of up to <paramref name="max"/> equal 16:9 tiles for <paramref name="count"/> people (the
    /// people in order, leaving out <paramref name="skip"/>); more than fit: the last tile says "+N".
    /// </summary>
    private static int Strip(Rect area, bool vertical, int count, int active, int skip, int max, int g, Span<Tile> tiles)
    {
        if (count <= 0)
        {
            return 0;
        }

        var shown = Math.Min(count, max);
        var listed = count > max ? max - 1 : shown;
        int tileW, tileH;
        if (vertical)
        {
            tileW = area.Width;
            tileH = Math.Max(1, Math.Min(tileW * 9 / 16, (area.Height - ((max - 1) * g)) / max));
            tileW = Math.Max(1, Math.Min(area.Width, tileH * 16 / 9));
        }
        else
        {
            tileH = area.Height;
            tileW = Math.Max(1, Math.Min(tileH * 16 / 9, (area.Width - ((max - 1) * g)) / max));
            tileH = Math.Max(1, Math.Min(area.Height, tileW * 9 / 16));
        }

        var total = vertical ? (shown * tileH) + ((shown - 1) * g) : (shown * tileW) + ((shown - 1) * g);
        var start = vertical ? area.Y : area.X + Math.Max(0, (area.Width - total) / 2);
        var person = 0;
        for (var i = 0; i < shown; i++)
        {
            var r = vertical
                ? new Rect(area.X + ((area.Width - tileW) / 2), start + (i * (tileH + g)), tileW, tileH)
                : new Rect(start + (i * (tileW + g)), area.Y + ((area.Height - tileH) / 2), tileW, tileH);
            if (i < listed)
            {
                if (person == skip)
                {
                    person++;
                }

                tiles[i] = new Tile(r, TileKind.Person, skip < 0 ? Pick(i, listed, active) : person);
                person++;
            }
            else
            {
                tiles[i] = new Tile(r, TileKind.Overflow, Hidden: count - listed);
            }
        }

        return shown;
    }

    /// <summary>The person for slot <paramref name="i"/> of <paramref name="slots"/>: in order, but the active speaker takes the last slot if it would not be shown.</summary>
    private static int Pick(int i, int slots, int active) => i == slots - 1 && active >= slots ? active : i;
}
