namespace Room.Media.Display;

/// <summary>
/// Composes the meeting for a room display on the CPU (any DRM device: virtio-gpu, simpledrm, a board without
/// usable overlay planes): the layout's tiles with each person's picture and name, shared content, the self-view
/// picture-in-picture, and an encryption badge that is always drawn last, so nothing covers it. Every input is
/// checked before the first pixel is written (a bad picture leaves the previous frame intact); no allocation per
/// frame. Not thread-safe: one compositor per display.
/// </summary>
public sealed class RoomCompositor
{
    public const uint Background = 0xFF101418;
    public const uint TileBackground = 0xFF2A2F36;
    public const uint LabelBackground = 0xFF000000;
    public const uint TextColour = 0xFFFFFFFF;
    public const uint SpeakerOutline = 0xFFF2B400;
    public const uint SecureColour = 0xFF1E8E3E;
    public const uint TransportColour = 0xFFB06000;
    public const uint InsecureColour = 0xFFC5221F;

    private readonly Tile[] _tiles = new Tile[LayoutPlanner.MaxTiles];
    private readonly PictureScaler _scaler = new();
    private int _tileCount;

    /// <summary>The tiles of the last composed frame (where each person and the content went).</summary>
    public ReadOnlySpan<Tile> Tiles => _tiles.AsSpan(0, _tileCount);

    /// <summary>Where the self-view went in the last frame (empty if none).</summary>
    public Rect SelfViewArea { get; private set; }

    /// <summary>Where the encryption badge went in the last frame.</summary>
    public Rect BadgeArea { get; private set; }

    /// <summary>The text the badge shows for a state.</summary>
    public static string BadgeText(EncryptionState state) => state switch
    {
        EncryptionState.EndToEnd => "END-TO-END ENCRYPTED",
        EncryptionState.TransportOnly => "NOT END-TO-END ENCRYPTED",
        _ => "NOT ENCRYPTED",
    };

    public static uint BadgeColour(EncryptionState state) => state switch
    {
        EncryptionState.EndToEnd => SecureColour,
        EncryptionState.TransportOnly => TransportColour,
        _ => InsecureColour,
    };

    /// <summary>The name label's height for a tile of height <paramref name="tileHeight"/>, and its text scale.</summary>
    public static (int Height, int Scale) Label(int tileHeight)
    {
        var scale = Math.Clamp(tileHeight / 50, 1, 4); // 2 on a 720p screen's strip: readable across the room
        return ((BitmapFont.GlyphHeight + 4) * scale, scale);
    }

    /// <summary>Composes <paramref name="scene"/> into an XRGB8888 buffer (see <see cref="Canvas"/>).</summary>
    /// <exception cref="ArgumentException">The buffer or a picture is not what it claims; nothing was drawn.</exception>
    public void Compose(Span<byte> target, int width, int height, int stride, in RoomScene scene)
    {
        var canvas = new Canvas(target, width, height, stride);
        Check(scene);
        var people = scene.People;
        var content = !scene.Content.IsEmpty;
        var selfView = !scene.SelfView.IsEmpty;
        _tileCount = LayoutPlanner.Plan(scene.Layout, width, height, people.Length, scene.ActiveSpeaker, content, selfView, _tiles);
        var active = scene.ActiveSpeaker >= 0 && scene.ActiveSpeaker < people.Length ? scene.ActiveSpeaker : 0;
        var screen = canvas.Bounds;

        canvas.Fill(screen, Background);
        Span<char> more = stackalloc char[12];
        for (var t = 0; t < _tileCount; t++)
        {
            var tile = _tiles[t];
            switch (tile.Kind)
            {
                case TileKind.Content:
                    canvas.Fill(tile.Area, 0xFF000000);
                    _scaler.Draw(canvas, scene.Content, tile.Area, Fit.Contain, mirror: false, screen);
                    break;
                case TileKind.Overflow:
                    canvas.Fill(tile.Area, TileBackground);
                    more[0] = '+';
                    tile.Hidden.TryFormat(more[1..], out var digits, default, System.Globalization.CultureInfo.InvariantCulture);
                    Centred(canvas, tile.Area, more[..(digits + 1)], Math.Clamp(tile.Area.Height / 40, 1, 8));
                    break;
                default:
                    var p = people[tile.Person];
                    DrawPerson(canvas, tile.Area, p);
                    // The speaker stands out wherever they are not already the big picture.
                    var big = scene.Layout == DisplayLayout.ActiveSpeaker && t == 0;
                    if (tile.Person == active && people.Length > 1 && !big)
                    {
                        canvas.Outline(tile.Area, Math.Max(2, tile.Area.Height / 60), SpeakerOutline);
                    }

                    break;
            }
        }

        if (people.Length == 0 && !content)
        {
            var message = scene.Message ?? "Waiting for others to join";
            Centred(canvas, screen, message, Math.Clamp(width / ((message.Length + 2) * BitmapFont.Advance), 1, 6));
        }

        SelfViewArea = default;
        if (selfView)
        {
            var pip = LayoutPlanner.SelfView(width, height);
            var border = Math.Max(1, height / 360);
            canvas.Fill(pip, TextColour);
            _scaler.Draw(canvas, scene.SelfView, pip.Inset(border), Fit.Cover, scene.MirrorSelfView, pip.Inset(border));
            NameLabel(canvas, pip.Inset(border), "You");
            SelfViewArea = pip;
        }

        BadgeArea = Badge(canvas, scene.Encryption);
    }

    /// <summary>Every picture and name is checked before anything is drawn.</summary>
    private static void Check(in RoomScene scene)
    {
        for (var i = 0; i < scene.People.Length; i++)
        {
            if (scene.People[i].Picture.Problem() is { } why)
            {
                throw new ArgumentException($"person {i} ({scene.People[i].Name}): {why}");
            }
        }

        if (scene.Content.Problem() is { } c)
        {
            throw new ArgumentException($"content: {c}");
        }

        if (scene.SelfView.Problem() is { } s)
        {
            throw new ArgumentException($"self-view: {s}");
        }

        // Not Enum.IsDefined: its reflection cache hangs off a weak handle, so after every collection it allocates again.
        if (scene.Layout is not (DisplayLayout.ActiveSpeaker or DisplayLayout.Gallery or DisplayLayout.ContentAndPeople))
        {
            throw new ArgumentException($"unknown layout {(int)scene.Layout}");
        }
    }

    private void DrawPerson(Canvas canvas, Rect area, in Participant p)
    {
        canvas.Fill(area, TileBackground);
        var name = p.Name ?? "";
        if (p.Picture.IsEmpty)
        {
            // Video off: the name's initial, large.
            var initial = name.Length > 0 ? name.AsSpan(0, 1) : "?";
            Centred(canvas, area, initial, Math.Clamp(area.Height / 20, 1, 16));
        }
        else
        {
            _scaler.Draw(canvas, p.Picture, area, Fit.Cover, mirror: false, area);
        }

        NameLabel(canvas, area, name);
    }

    /// <summary>The name in white on black at the tile's bottom-left, cut to the tile's width.</summary>
    private static void NameLabel(Canvas canvas, Rect area, ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return;
        }

        var (h, s) = Label(area.Height);
        var inset = 2 * s;
        var box = new Rect(area.X + inset, area.Bottom - inset - h, Math.Min(BitmapFont.Measure(name, s) + (4 * s), area.Width - (2 * inset)), h);
        box = box.Intersect(area);
        canvas.Fill(box, LabelBackground);
        canvas.Text(name, box.X + (2 * s), box.Y + (2 * s), s, TextColour, box.Inset(s));
    }

    internal static void Centred(Canvas canvas, Rect area, ReadOnlySpan<char> text, int scale)
    {
        var w = BitmapFont.Measure(text, scale);
        canvas.Text(text, area.X + ((area.Width - w) / 2), area.Y + ((area.Height - (BitmapFont.GlyphHeight * scale)) / 2), scale, TextColour, area);
    }

    /// <summary>Top-left: a padlock and the state in words, on green only when the media is end-to-end encrypted.</summary>
    private static Rect Badge(Canvas canvas, EncryptionState state)
    {
        var s = Math.Clamp(canvas.Height / 270, 1, 4);
        var g = LayoutPlanner.Gap(canvas.Width, canvas.Height);
        var text = BadgeText(state);
        var lockW = 6 * s;
        var h = (BitmapFont.GlyphHeight + 6) * s;
        var box = new Rect(g, g, Math.Min(canvas.Width - (2 * g), lockW + BitmapFont.Measure(text, s) + (9 * s)), h).Intersect(canvas.Bounds);
        canvas.Fill(box, BadgeColour(state));

        // Padlock: a shackle (open when not end-to-end) over a body.
        var x = box.X + (3 * s);
        var y = box.Y + (3 * s);
        canvas.Fill(new Rect(x, y + (3 * s), lockW, 4 * s).Intersect(box), TextColour);
        canvas.Outline(new Rect(x + s, state == EncryptionState.EndToEnd ? y : y - s, lockW - (2 * s), 4 * s).Intersect(box), Math.Max(1, s / 2 + (s & 1)), TextColour);
        canvas.Text(text, x + lockW + (3 * s), y, s, TextColour, box);
        return box;
    }
}
