using Room.Testing;
using Room.Media.Display;
using static Room.Media.Tests.Display.TestPictures;

namespace Room.Media.Tests.Display;

public class RoomCompositorTests
{
    private const int W = 1280;
    private const int H = 720;
    private const int Stride = W * 4;

    private static Participant[] People(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new Participant($"Person {i}", Solid(320, 180, Palette[i % Palette.Length])))];

    private static byte[] Compose(RoomCompositor c, in RoomScene scene, int w = W, int h = H)
    {
        var screen = new byte[w * h * 4];
        c.Compose(screen, w, h, w * 4, scene);
        return screen;
    }

    [Fact]
    public void Active_speakers_known_picture_fills_the_big_tile_the_right_way_up()
    {
        var people = People(3);
        people[1] = new Participant("Speaker", Quadrants(640, 360, Red, Green, Blue, White));
        var c = new RoomCompositor();
        var screen = Compose(c, new RoomScene { Layout = DisplayLayout.ActiveSpeaker, People = people, ActiveSpeaker = 1, Encryption = EncryptionState.EndToEnd });

        var big = c.Tiles[0];
        Assert.Equal(1, big.Person);
        Assert.True(big.Area.Width > W / 2, $"speaker tile {big.Area}");
        foreach (var (right, bottom, want) in new[] { (false, false, Red.Rgb), (true, false, Green.Rgb), (false, true, Blue.Rgb), (true, true, White.Rgb) })
        {
            var (x, y) = QuadrantCentre(big.Area, right, bottom);
            AssertColour(screen, Stride, x, y, want, $"speaker quadrant right={right} bottom={bottom}");
        }

        // The other two are in the strip, each in its own colour.
        Assert.Equal(3, c.Tiles.Length);
        foreach (var t in c.Tiles[1..])
        {
            Assert.NotEqual(1, t.Person);
            Assert.True(t.Area.Y > big.Area.Bottom, $"strip tile {t.Area} below the speaker {big.Area}");
            AssertColour(screen, Stride, t.Area.X + (t.Area.Width / 2), t.Area.Y + (t.Area.Height / 3), Palette[t.Person].Rgb, $"strip tile of person {t.Person}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(14)]
    public void Gallery_shows_up_to_nine_people_each_in_their_own_tile(int n)
    {
        var c = new RoomCompositor();
        var screen = Compose(c, new RoomScene { Layout = DisplayLayout.Gallery, People = People(n) });

        Assert.Equal(Math.Min(n, 9), c.Tiles.Length);
        var seen = new HashSet<int>();
        foreach (var t in c.Tiles)
        {
            Assert.True(t.Area.X >= 0 && t.Area.Y >= 0 && t.Area.Right <= W && t.Area.Bottom <= H, $"tile {t.Area} off the screen");
            var (x, y) = (t.Area.X + (t.Area.Width / 2), t.Area.Y + (t.Area.Height / 3));
            if (t.Kind == TileKind.Overflow)
            {
                Assert.Equal(n - 8, t.Hidden);
                AssertColour(screen, Stride, t.Area.X + 2, t.Area.Y + 2, RoomCompositor.TileBackground & 0xFFFFFF, "overflow tile");
                Assert.True(Count(screen, Stride, t.Area, RoomCompositor.TextColour) > 0, "the overflow tile says +N");
                continue;
            }

            Assert.True(seen.Add(t.Person), $"person {t.Person} twice");
            AssertColour(screen, Stride, x, y, Palette[t.Person % Palette.Length].Rgb, $"gallery tile of person {t.Person}");
        }

        foreach (var a in c.Tiles)
        {
            foreach (var b in c.Tiles)
            {
                Assert.True(a == b || a.Area.Intersect(b.Area).IsEmpty, $"tiles {a.Area} and {b.Area} overlap");
            }
        }

        if (n == 0)
        {
            Assert.True(Count(screen, Stride, new Rect(0, H / 3, W, H / 3), RoomCompositor.TextColour) > 0, "an empty call says it waits for others");
        }
    }

    [Fact]
    public void Gallery_of_more_than_nine_still_shows_the_active_speaker()
    {
        var c = new RoomCompositor();
        Compose(c, new RoomScene { Layout = DisplayLayout.Gallery, People = People(14), ActiveSpeaker = 12 });
        Assert.Contains(c.Tiles.ToArray(), t => t.Kind == TileKind.Person && t.Person == 12);
    }

    [Fact]
    public void Content_is_shown_whole_beside_a_column_of_people()
    {
        // A 4:3 BGRX screen share: all of it must be visible (bars, no crop).
        const int cw = 800, ch = 600;
        var bgrx = new byte[cw * ch * 4];
        for (var y = 0; y < ch; y++)
        {
            for (var x = 0; x < cw; x++)
            {
                var rgb = x < 8 ? 0xFF00FFu : y >= ch - 8 ? 0x00FFFFu : 0x204080u; // magenta left edge, cyan bottom edge
                BitConverter.TryWriteBytes(bgrx.AsSpan(((y * cw) + x) * 4), rgb);
            }
        }

        var c = new RoomCompositor();
        var screen = Compose(c, new RoomScene { Layout = DisplayLayout.ContentAndPeople, People = People(2), Content = new VideoPicture(bgrx, cw, ch, PictureFormat.Bgrx32) });

        var content = c.Tiles[0];
        Assert.Equal(TileKind.Content, content.Kind);
        var shown = content.Area.Fit(cw, ch);
        AssertColour(screen, Stride, shown.X + (shown.Width / 2), shown.Y + (shown.Height / 2), 0x204080, "content middle");
        AssertColour(screen, Stride, shown.X + 1, shown.Y + (shown.Height / 2), 0xFF00FF, "content's left edge is on screen");
        AssertColour(screen, Stride, shown.X + (shown.Width / 2), shown.Bottom - 2, 0x00FFFF, "content's bottom edge is on screen");
        Assert.All(c.Tiles[1..].ToArray(), t => Assert.True(t.Area.X >= content.Area.Right, $"person tile {t.Area} right of the content {content.Area}"));
        Assert.Equal(3, c.Tiles.Length);
    }

    [Fact]
    public void Content_layout_without_content_falls_back_to_the_gallery()
    {
        var c = new RoomCompositor();
        Compose(c, new RoomScene { Layout = DisplayLayout.ContentAndPeople, People = People(4) });
        Assert.Equal(4, c.Tiles.Length);
        Assert.All(c.Tiles.ToArray(), t => Assert.Equal(TileKind.Person, t.Kind));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Self_view_is_a_picture_in_picture_mirrored_on_request(bool mirror)
    {
        var c = new RoomCompositor();
        var screen = Compose(c, new RoomScene
        {
            Layout = DisplayLayout.ActiveSpeaker,
            People = People(3),
            SelfView = Quadrants(640, 360, Red, Green, Blue, White),
            MirrorSelfView = mirror,
        });

        var pip = c.SelfViewArea;
        Assert.False(pip.IsEmpty);
        Assert.True(pip.Right <= W && pip.Bottom <= H && pip.X > W / 2 && pip.Y > H / 2, $"self-view {pip} in the bottom-right corner");
        var (x, y) = QuadrantCentre(pip, right: false, bottom: false);
        AssertColour(screen, Stride, x, y, mirror ? Green.Rgb : Red.Rgb, "self-view's top-left quadrant");
        Assert.All(c.Tiles.ToArray(), t => Assert.True(t.Area.Intersect(pip).IsEmpty, $"tile {t.Area} under the self-view {pip}"));
    }

    [Fact]
    public void Names_are_drawn_in_each_tiles_label_and_differ_by_name()
    {
        var c = new RoomCompositor();
        var people = People(4);
        var a = Compose(c, new RoomScene { Layout = DisplayLayout.Gallery, People = people });
        var tile = c.Tiles[0].Area;
        var (h, s) = RoomCompositor.Label(tile.Height);
        var label = new Rect(tile.X, tile.Bottom - h - (2 * s), tile.Width / 2, h);
        Assert.True(Count(a, Stride, label, RoomCompositor.TextColour) > 20, "white text in the name label");
        Assert.True(Count(a, Stride, label, RoomCompositor.LabelBackground) > 20, "the label's black box");

        people[0] = people[0] with { Name = "Someone Else" };
        var b = Compose(c, new RoomScene { Layout = DisplayLayout.Gallery, People = people });
        Assert.NotEqual(Pixels(a, label), Pixels(b, label));

        people[0] = people[0] with { Name = "" };
        var none = Compose(c, new RoomScene { Layout = DisplayLayout.Gallery, People = people });
        Assert.Equal(0, Count(none, Stride, label, RoomCompositor.LabelBackground));
    }

    [Theory]
    [InlineData(EncryptionState.EndToEnd)]
    [InlineData(EncryptionState.TransportOnly)]
    [InlineData(EncryptionState.Unknown)]
    public void Encryption_badge_is_always_on_top_in_its_states_colour(EncryptionState state)
    {
        var c = new RoomCompositor();
        // One person fills the screen with white: the badge must still be there, drawn over them.
        var screen = Compose(c, new RoomScene { Layout = DisplayLayout.ActiveSpeaker, People = [new Participant("A", Solid(1280, 720, White))], Encryption = state });
        var badge = c.BadgeArea;
        Assert.True(badge.X < W / 4 && badge.Y < H / 4 && badge.Width > 50, $"badge {badge} top-left");
        Assert.True(Count(screen, Stride, badge, RoomCompositor.BadgeColour(state)) > badge.Width * badge.Height / 3, "mostly the state's colour");
        Assert.True(Count(screen, Stride, badge, RoomCompositor.TextColour) > 30, "with its words");
        Assert.False(c.Tiles[0].Area.Intersect(badge).IsEmpty, $"badge {badge} over the speaker's picture {c.Tiles[0].Area}");
    }

    [Fact]
    public void Video_off_shows_the_initial()
    {
        var c = new RoomCompositor();
        var screen = Compose(c, new RoomScene { Layout = DisplayLayout.Gallery, People = [new Participant("Zoe", default), new Participant("Al", default)] });
        var t = c.Tiles[0].Area;
        var middle = new Rect(t.X + (t.Width / 3), t.Y + (t.Height / 4), t.Width / 3, t.Height / 2);
        Assert.True(Count(screen, Stride, middle, RoomCompositor.TextColour) > 100, "a large Z");
    }

    [Theory]
    [InlineData(641, 359, 33, 17)]
    [InlineData(17, 11, 1, 1)]
    [InlineData(1, 1, 640, 360)]
    [InlineData(1919, 1081, 5, 3)]
    public void Odd_screen_and_picture_sizes_compose(int w, int h, int pw, int ph)
    {
        var c = new RoomCompositor();
        var people = new[] { new Participant("Odd", Solid(pw, ph, Cyan)), new Participant("B", Solid(pw, ph, Cyan)) };
        foreach (var layout in Enum.GetValues<DisplayLayout>())
        {
            var screen = Compose(c, new RoomScene { Layout = layout, People = people, SelfView = Solid(pw, ph, Magenta), Content = Solid(pw, ph, Yellow) }, w, h);
            foreach (var t in c.Tiles)
            {
                Assert.True(t.Area.X >= 0 && t.Area.Y >= 0 && t.Area.Right <= w && t.Area.Bottom <= h, $"{layout}: tile {t.Area} off a {w}x{h} screen");
            }

            if (w > 600)
            {
                var t0 = c.Tiles[0];
                AssertColour(screen, w * 4, t0.Area.X + (t0.Area.Width / 2), t0.Area.Y + (t0.Area.Height / 3), t0.Kind == TileKind.Content ? Yellow.Rgb : Cyan.Rgb, $"{layout} first tile");
            }
        }
    }

    [Fact]
    public void A_short_picture_is_refused_by_name_and_the_screen_is_left_as_it_was()
    {
        var c = new RoomCompositor();
        var people = People(3);
        people[2] = new Participant("Bob", new VideoPicture(new byte[1000], 640, 360));
        var screen = new byte[W * H * 4];
        Array.Fill(screen, (byte)0x5A);
        var e = Assert.Throws<ArgumentException>(() => c.Compose(screen, W, H, Stride, new RoomScene { People = people }));
        Assert.Contains("person 2 (Bob)", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs 345600 bytes, got 1000", e.Message, StringComparison.Ordinal);
        Assert.All(screen, b => Assert.Equal(0x5A, b));

        Assert.Contains("content", Assert.Throws<ArgumentException>(() => c.Compose(screen, W, H, Stride, new RoomScene { Content = new VideoPicture(new byte[10], 0, 5) })).Message, StringComparison.Ordinal);
        Assert.Contains("self-view", Assert.Throws<ArgumentException>(() => c.Compose(screen, W, H, Stride, new RoomScene { SelfView = new VideoPicture(new byte[100], 8, 8, PictureFormat.Bgrx32, 16) })).Message, StringComparison.Ordinal);
        Assert.Contains("unknown layout 7", Assert.Throws<ArgumentException>(() => c.Compose(screen, W, H, Stride, new RoomScene { Layout = (DisplayLayout)7, People = People(2) })).Message, StringComparison.Ordinal);
        Assert.All(screen, b => Assert.Equal(0x5A, b));
    }

    [Theory]
    [InlineData(1280, 720, 1279 * 4, 1280 * 720 * 4, "stride")]
    [InlineData(1280, 720, 1280 * 4 + 2, 1290 * 720 * 4, "multiple of 4")]
    [InlineData(1280, 720, 1280 * 4, 1280 * 719 * 4, "needs")]
    [InlineData(0, 720, 0, 16, "0x720")]
    [InlineData(9000, 10, 9000 * 4, 9000 * 40, "9000x10")]
    public void A_wrong_screen_buffer_is_refused_clearly(int w, int h, int stride, int bytes, string says)
    {
        var screen = new byte[bytes];
        var e = Assert.Throws<ArgumentException>(() => new RoomCompositor().Compose(screen, w, h, stride, new RoomScene { People = People(1) }));
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Composing_a_frame_allocates_nothing()
    {
        var c = new RoomCompositor();
        var people = People(12);
        var screen = new byte[W * H * 4];
        var self = Solid(640, 360, Red);
        var content = Solid(1280, 720, Blue);
        void Frame(DisplayLayout layout) => c.Compose(screen, W, H, Stride, new RoomScene { Layout = layout, People = people, ActiveSpeaker = 10, SelfView = self, Content = content, Encryption = EncryptionState.EndToEnd });
        var layouts = Enum.GetValues<DisplayLayout>();
        foreach (var layout in layouts)
        {
            Frame(layout);
        }

        var before = ThreadAllocations.Start();
        for (var i = 0; i < 5; i++)
        {
            foreach (var layout in layouts)
            {
                Frame(layout);
            }
        }

        Assert.Equal(0, ThreadAllocations.Since(before));
    }

    [Fact]
    public void Yuv_colours_come_out_as_their_rgb()
    {
        foreach (var c in Palette)
        {
            var got = PictureScaler.Rgb(c.Y, c.U, c.V) & 0xFFFFFF;
            Assert.True(Near(got, c.Rgb), $"YUV {c.Y},{c.U},{c.V} gave #{got:X6}, expected #{c.Rgb:X6}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(64)]
    [InlineData(1921)]
    public void Vectorised_row_conversion_equals_the_per_pixel_formula(int n)
    {
        var rng = new Random(n);
        byte[] y = new byte[n], u = new byte[n], v = new byte[n];
        rng.NextBytes(y);
        rng.NextBytes(u);
        rng.NextBytes(v);
        y[0] = 0;
        u[0] = 255; // the clamps at both ends
        v[^1] = 0;
        var row = new uint[n];
        PictureScaler.ConvertRow(y, u, v, row);
        for (var i = 0; i < n; i++)
        {
            Assert.True(PictureScaler.Rgb(y[i], u[i], v[i]) == row[i], $"pixel {i} of {n}: YUV {y[i]},{u[i]},{v[i]} gave #{row[i]:X8}, expected #{PictureScaler.Rgb(y[i], u[i], v[i]):X8}");
        }
    }

    private static byte[] Pixels(byte[] screen, Rect r)
    {
        var o = new List<byte>();
        for (var y = r.Y; y < r.Bottom; y++)
        {
            o.AddRange(screen.AsSpan((y * Stride) + (r.X * 4), r.Width * 4).ToArray());
        }

        return [.. o];
    }
}
