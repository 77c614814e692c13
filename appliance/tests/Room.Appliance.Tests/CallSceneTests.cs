using Room.Appliance.Display;
using Room.Appliance.Media;
using Room.Media;
using Room.Media.Display;

namespace Room.Appliance.Tests;

/// <summary>
/// The room display's scene from the call: which picture goes where, names, speaker, self-view and the badge, read
/// back from the real compositor's pixels.
/// </summary>
public sealed class CallSceneTests
{
    private const int W = 1280, H = 720, Stride = W * 4;

    private static LatestPicture Camera(TestCard.Colour colour, int width = 320, int height = 180)
    {
        var p = new LatestPicture();
        Write(p, colour, width, height);
        return p;
    }

    private static void Write(LatestPicture p, TestCard.Colour colour, int width = 320, int height = 180)
    {
        var card = TestCard.Solid(width, height, colour);
        p.Write(card.Data.Span, width, height);
    }

    private static (byte[] Screen, RoomCompositor Compositor) Compose(CallScene scene, DisplayLayout layout, EncryptionState encryption = EncryptionState.EndToEnd)
    {
        var screen = new byte[Stride * H];
        var compositor = new RoomCompositor();
        compositor.Compose(screen, W, H, Stride, scene.Scene(layout, encryption));
        return (screen, compositor);
    }

    private static uint Centre(byte[] screen, Rect r) => TestCard.At(screen, Stride, r.X + (r.Width / 2), r.Y + (r.Height / 3));

    private static Rect TileOf(RoomCompositor c, int person)
    {
        foreach (var t in c.Tiles)
        {
            if (t.Kind == TileKind.Person && t.Person == person)
            {
                return t.Area;
            }
        }

        throw new InvalidOperationException($"person {person} has no tile");
    }

    [Fact]
    public void Each_feed_picture_lands_in_its_own_tile_with_its_roster_name()
    {
        var scene = new CallScene();
        FarEndFeed[] feeds = [new(11, Camera(TestCard.Red), 0), new(22, Camera(TestCard.Blue), 0), new(33, null, 0)];
        var names = new Dictionary<long, string> { [11] = "Alice", [22] = "Boardroom", [33] = "Carol" };

        Assert.True(scene.Update(feeds, names, selfView: null));
        Assert.Equal(new[] { "Alice", "Boardroom", "Carol" }, scene.People.ToArray().Select(p => p.Name));
        var (screen, c) = Compose(scene, DisplayLayout.Gallery);

        Assert.True(TestCard.Near(TestCard.Red.Rgb, Centre(screen, TileOf(c, 0))), $"Alice's tile shows {Centre(screen, TileOf(c, 0)):X6}");
        Assert.True(TestCard.Near(TestCard.Blue.Rgb, Centre(screen, TileOf(c, 1))), $"Boardroom's tile shows {Centre(screen, TileOf(c, 1)):X6}");
        // Carol sends no video: her tile is the tile background with her initial, not someone else's picture.
        Assert.Equal(RoomCompositor.TileBackground & 0xFFFFFF, TestCard.At(screen, Stride, TileOf(c, 2).X + 4, TileOf(c, 2).Y + 4));

        // The name label: black box with white letters at the tile's bottom-left.
        var tile = TileOf(c, 0);
        var (labelHeight, _) = RoomCompositor.Label(tile.Height);
        var label = new Rect(tile.X, tile.Bottom - labelHeight - 8, 120, labelHeight + 8).Intersect(tile);
        Assert.Contains(0x000000u, Pixels(screen, label));
        Assert.Contains(0xFFFFFFu, Pixels(screen, label));
    }

    [Fact]
    public void A_feed_without_a_roster_name_gets_no_label_and_no_one_elses_name()
    {
        var scene = new CallScene();
        scene.Update([new FarEndFeed(5, Camera(TestCard.Green), 0)], new Dictionary<long, string> { [6] = "Someone else" }, null);
        Assert.Equal("", scene.People[0].Name);
        var (screen, c) = Compose(scene, DisplayLayout.Gallery);
        var tile = TileOf(c, 0);
        // The tile's lower quarter, where a label would be (the badge sits at the screen's top-left).
        Assert.DoesNotContain(0xFFFFFFu, Pixels(screen, new Rect(tile.X, tile.Bottom - (tile.Height / 4), tile.Width, tile.Height / 4)));
    }

    [Fact]
    public void The_loudest_participant_takes_the_big_picture_and_keeps_it_against_a_slightly_louder_voice()
    {
        var scene = new CallScene();
        var names = new Dictionary<long, string> { [1] = "A", [2] = "B" };
        var a = Camera(TestCard.Red);
        var b = Camera(TestCard.Blue);

        scene.Update([new(1, a, 0), new(2, b, 0.2f)], names, null);
        Assert.Equal(2, scene.SpeakerFeed);
        var (screen, c) = Compose(scene, DisplayLayout.ActiveSpeaker);
        Assert.True(TestCard.Near(TestCard.Blue.Rgb, Centre(screen, c.Tiles[0].Area)), "B speaks: B is the big picture");

        // A is a little louder than B: not enough to take over (no flapping between two voices).
        Assert.False(scene.Update([new(1, a, 0.25f), new(2, b, 0.2f)], names, null));
        Assert.Equal(2, scene.SpeakerFeed);

        // A clearly louder: A speaks now.
        Assert.True(scene.Update([new(1, a, 0.5f), new(2, b, 0.05f)], names, null));
        Assert.Equal(1, scene.SpeakerFeed);
        (screen, c) = Compose(scene, DisplayLayout.ActiveSpeaker);
        Assert.True(TestCard.Near(TestCard.Red.Rgb, Centre(screen, c.Tiles[0].Area)), "A speaks: A is the big picture");

        // Silence below speech level keeps the last speaker.
        scene.Update([new(1, a, 0.001f), new(2, b, 0.005f)], names, null);
        Assert.Equal(1, scene.SpeakerFeed);
    }

    [Fact]
    public void Nobody_speaking_yet_shows_the_first_participant_as_the_speaker()
    {
        var scene = new CallScene();
        scene.Update([new(7, Camera(TestCard.Yellow), 0), new(8, Camera(TestCard.Cyan), 0.001f)], new Dictionary<long, string>(), null);
        Assert.Equal(long.MinValue, scene.SpeakerFeed); // nobody has the floor yet: the first voice takes it at once
        var (screen, c) = Compose(scene, DisplayLayout.ActiveSpeaker);
        Assert.True(TestCard.Near(TestCard.Yellow.Rgb, Centre(screen, c.Tiles[0].Area)));

        scene.Update([new(7, Camera(TestCard.Yellow), 0), new(8, Camera(TestCard.Cyan), 0.02f)], new Dictionary<long, string>(), null);
        Assert.Equal(8, scene.SpeakerFeed);
    }

    [Fact]
    public void Our_camera_is_the_self_view_picture_in_picture()
    {
        var scene = new CallScene();
        scene.Update([new(1, Camera(TestCard.Red), 0)], new Dictionary<long, string> { [1] = "A" }, Camera(TestCard.Magenta, 640, 360));
        var (screen, c) = Compose(scene, DisplayLayout.ActiveSpeaker);
        Assert.False(c.SelfViewArea.IsEmpty);
        Assert.True(TestCard.Near(TestCard.Magenta.Rgb, Centre(screen, c.SelfViewArea)), $"self-view shows {Centre(screen, c.SelfViewArea):X6}");
    }

    [Theory]
    [InlineData(true, true, true, EncryptionState.EndToEnd)]
    [InlineData(true, false, true, EncryptionState.EndToEnd)] // loopback call: SFrame keys from its MLS group
    [InlineData(true, true, false, EncryptionState.TransportOnly)] // Janus with the link's interim key: DTLS-SRTP is all that is guaranteed
    [InlineData(true, false, false, EncryptionState.Unknown)]
    [InlineData(false, true, true, EncryptionState.Unknown)] // no call: nothing is claimed
    public void The_badge_claims_end_to_end_only_for_MLS_keyed_media(bool inCall, bool network, bool mls, EncryptionState expected)
    {
        var state = CallScene.EncryptionOf(inCall, network, mls);
        Assert.Equal(expected, state);

        var scene = new CallScene();
        scene.Update([new(1, Camera(TestCard.Red), 0)], new Dictionary<long, string>(), null);
        var (screen, c) = Compose(scene, DisplayLayout.Gallery, state);
        Assert.Equal(RoomCompositor.BadgeColour(state) & 0xFFFFFF, TestCard.At(screen, Stride, c.BadgeArea.X + 1, c.BadgeArea.Bottom - 2));
    }

    [Fact]
    public void Pictures_are_copied_only_when_new_and_follow_a_size_change()
    {
        var scene = new CallScene();
        var cam = Camera(TestCard.Red);
        var names = new Dictionary<long, string> { [1] = "A" };
        Assert.True(scene.Update([new(1, cam, 0)], names, null));
        Assert.False(scene.Update([new(1, cam, 0)], names, null)); // nothing new: nothing to compose

        Write(cam, TestCard.Green, 640, 360);
        Assert.True(scene.Update([new(1, cam, 0)], names, null));
        Assert.Equal((640, 360), (scene.People[0].Picture.Width, scene.People[0].Picture.Height));
        var (screen, c) = Compose(scene, DisplayLayout.Gallery);
        Assert.True(TestCard.Near(TestCard.Green.Rgb, Centre(screen, TileOf(c, 0))));

        // Someone leaves: the scene follows, and the call's end forgets everyone.
        Assert.True(scene.Update([], names, null));
        Assert.Equal(0, scene.People.Length);
        scene.Update([new(1, cam, 0)], names, cam);
        scene.Clear();
        Assert.Equal(0, scene.People.Length);
        Assert.True(scene.SelfView.IsEmpty);
    }

    [Fact]
    public void A_steady_call_builds_and_composes_frames_without_allocating()
    {
        var scene = new CallScene();
        LatestPicture[] cams = [Camera(TestCard.Red), Camera(TestCard.Blue), Camera(TestCard.Green)];
        var self = Camera(TestCard.White);
        var names = new Dictionary<long, string> { [1] = "A", [2] = "B", [3] = "C" };
        var feeds = new FarEndFeed[] { new(1, cams[0], 0.1f), new(2, cams[1], 0), new(3, cams[2], 0) };
        var pictures = cams.Select(c => TestCard.Solid(320, 180, TestCard.Yellow).Data.ToArray()).ToArray();
        var screen = new byte[Stride * H];
        var compositor = new RoomCompositor();

        void Frame()
        {
            for (var i = 0; i < cams.Length; i++)
            {
                cams[i].Write(pictures[i], 320, 180);
            }

            scene.Update(feeds, names, self);
            compositor.Compose(screen, W, H, Stride, scene.Scene(DisplayLayout.Gallery, EncryptionState.EndToEnd));
        }

        Frame(); // buffers sized, code paths run once
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 5; i++)
        {
            Frame();
        }

        Assert.Equal(0L, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(TestCard.Near(TestCard.Yellow.Rgb, Centre(screen, TileOf(compositor, 1))));
    }

    [Fact]
    public void The_idle_screen_names_the_next_meeting_that_has_not_ended()
    {
        var now = new DateTimeOffset(2026, 12, 7, 9, 30, 0, TimeSpan.Zero);
        var done = new ScheduledMeeting { Title = "Standup", Start = now.AddHours(-1), End = now.AddMinutes(-5) };
        var running = new ScheduledMeeting { Title = "Review", Start = now.AddMinutes(-10), End = now.AddMinutes(20) };
        var later = new ScheduledMeeting { Title = "Bauausschuss", Start = now.AddHours(2), End = now.AddHours(3) };

        Assert.Equal("Next: 11:30 Bauausschuss", RoomDisplay.NextMeeting([done, later], now, TimeZoneInfo.Utc));
        Assert.Equal("Now: 09:20 Review", RoomDisplay.NextMeeting([done, running, later], now, TimeZoneInfo.Utc));
        Assert.Equal("", RoomDisplay.NextMeeting([done], now, TimeZoneInfo.Utc));

        var screen = new byte[Stride * H];
        IdleScreen.Draw(screen, W, H, Stride, "Ratssaal", now, "Next: 11:30 Bauausschuss");
        var (clock, name, next) = IdleScreen.Bands(W, H);
        Assert.Contains(0xFFFFFFu, Pixels(screen, clock));
        Assert.Contains(0xFFFFFFu, Pixels(screen, name));
        Assert.Contains(0xFFFFFFu, Pixels(screen, next));
        Assert.Equal(RoomCompositor.Background & 0xFFFFFF, TestCard.At(screen, Stride, 2, 2));
    }

    private static HashSet<uint> Pixels(byte[] screen, Rect r)
    {
        var set = new HashSet<uint>();
        for (var y = r.Y; y < r.Bottom; y++)
        {
            for (var x = r.X; x < r.Right; x++)
            {
                set.Add(TestCard.At(screen, Stride, x, y));
            }
        }

        return set;
    }
}
