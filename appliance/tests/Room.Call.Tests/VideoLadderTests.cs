using Microsoft.Extensions.Time.Testing;

namespace Room.Call.Tests;

public sealed class VideoLadderTests
{
    private readonly FakeTimeProvider _clock = new();

    // 720p30 from a 720p camera: 360p15, 360p30, 540p30, 720p30.
    private static readonly VideoRung[] s_hd = VideoLadder.For(1280, 720, 1280, 720, 30);

    private VideoLadder Ladder(int startBps, VideoRung[]? rungs = null) => new(rungs ?? s_hd, startBps, _clock, TimeSpan.FromSeconds(3));

    [Fact]
    public void A_720p_camera_within_720p30_gets_360p_at_half_and_full_rate_then_540p_and_720p()
    {
        Assert.Equal(
            [new VideoRung(640, 360, 15, 0), new VideoRung(640, 360, 30, 250_000), new VideoRung(960, 540, 30, 600_000), new VideoRung(1280, 720, 30, 1_500_000)],
            s_hd);
    }

    [Fact]
    public void A_1080p_camera_allowed_1080p_tops_at_1080p_from_3_Mbit_s()
    {
        var rungs = VideoLadder.For(1920, 1080, 1920, 1080, 30);
        Assert.Equal(new VideoRung(1920, 1080, 30, 3_000_000), rungs[^1]);
        Assert.Equal(5, rungs.Length);
    }

    [Fact]
    public void A_larger_or_4_by_3_camera_is_fitted_into_the_maximum_with_its_aspect()
    {
        Assert.Equal(new VideoRung(1280, 720, 30, 1_500_000), VideoLadder.For(1920, 1080, 1280, 720, 30)[^1]);
        var fourByThree = VideoLadder.For(1024, 768, 1280, 720, 30);
        Assert.Equal(new VideoRung(960, 720, 30, 1_500_000), fourByThree[^1]);
        Assert.Equal(new VideoRung(480, 360, 30, 250_000), fourByThree[1]);
    }

    [Fact]
    public void A_camera_at_or_below_360p_only_changes_its_frame_rate()
    {
        Assert.Equal([new VideoRung(320, 180, 7, 0), new VideoRung(320, 180, 15, 250_000)], VideoLadder.For(320, 180, 1280, 720, 15));
    }

    [Fact]
    public void The_ladder_starts_on_the_rung_the_first_bitrate_earns()
    {
        Assert.Equal(new VideoRung(960, 540, 30, 600_000), Ladder(900_000).Current);
        Assert.Equal(new VideoRung(640, 360, 15, 0), Ladder(100_000).Current);
        Assert.Equal(s_hd[^1], Ladder(10_000_000).Current);
    }

    [Fact]
    public void It_goes_up_only_after_the_higher_rung_was_earned_for_the_whole_hold()
    {
        var ladder = Ladder(900_000);
        Assert.False(ladder.Update(1_600_000));
        _clock.Advance(TimeSpan.FromSeconds(2.9));
        Assert.False(ladder.Update(1_600_000));
        Assert.Equal(960, ladder.Current.Width);

        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(ladder.Update(1_600_000));
        Assert.Equal(1280, ladder.Current.Width);
        Assert.Equal((1, 0), (ladder.Ups, ladder.Downs));
        var change = ladder.LastChange!.Value;
        Assert.True(change.Up);
        Assert.Equal(TimeSpan.FromSeconds(3), change.Held);
        Assert.Contains("960x540@30 -> 1280x720@30: up, 1600 kbit/s held 3.0 s", change.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_dip_below_the_higher_rung_during_the_hold_starts_it_again()
    {
        var ladder = Ladder(900_000);
        ladder.Update(1_600_000);
        _clock.Advance(TimeSpan.FromSeconds(2));
        ladder.Update(1_400_000); // still keeps 540p, no longer earns 720p
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(ladder.Update(1_600_000));
        _clock.Advance(TimeSpan.FromSeconds(2.9));
        Assert.False(ladder.Update(1_600_000));
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(ladder.Update(1_600_000));
    }

    [Fact]
    public void Going_up_takes_the_highest_rung_earned_throughout_the_hold_not_a_late_peak()
    {
        var ladder = Ladder(100_000); // 360p15
        ladder.Update(800_000); // earns 540p
        _clock.Advance(TimeSpan.FromSeconds(1));
        ladder.Update(5_000_000); // a peak earning 720p
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(ladder.Update(5_000_000));
        Assert.Equal(960, ladder.Current.Width);
    }

    [Fact]
    public void It_goes_down_at_once_below_the_kept_fraction_and_straight_to_the_rung_the_bitrate_keeps()
    {
        var ladder = Ladder(2_000_000); // 720p
        Assert.False(ladder.Update(1_250_000)); // above 80 % of 1.5 Mbit/s: 720p is kept
        Assert.Equal(1280, ladder.Current.Width);

        Assert.True(ladder.Update(1_150_000)); // below 1.2 Mbit/s: down without waiting
        Assert.Equal(960, ladder.Current.Width);
        Assert.True(ladder.Update(150_000)); // a collapse: past 360p30 to 360p15 in one step
        Assert.Equal(new VideoRung(640, 360, 15, 0), ladder.Current);
        Assert.Equal((0, 2), (ladder.Ups, ladder.Downs));
        Assert.Equal("960x540@30 -> 640x360@15: down, 150 kbit/s (below 480)", ladder.LastChange.ToString());
    }

    [Fact]
    public void An_estimate_wandering_around_a_threshold_makes_no_change()
    {
        var ladder = Ladder(1_600_000); // 720p
        foreach (int bps in new[] { 1_450_000, 1_550_000, 1_300_000, 1_500_000, 1_250_000, 1_600_000 })
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            Assert.False(ladder.Update(bps));
        }

        Assert.Equal((0, 0), (ladder.Ups, ladder.Downs));
    }

    [Fact]
    public void Rungs_out_of_order_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new VideoLadder([new VideoRung(640, 360, 30, 0), new VideoRung(320, 180, 30, 0)], 0, _clock));
        Assert.Throws<ArgumentException>(() => new VideoLadder([], 0, _clock));
    }
}
