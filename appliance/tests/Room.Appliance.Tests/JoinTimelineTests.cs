using Microsoft.Extensions.Time.Testing;
using Room.Appliance.Meeting;

namespace Room.Appliance.Tests;

public sealed class JoinTimelineTests
{
    [Fact]
    public void Steps_are_counted_from_the_start_of_the_join_and_listed_in_the_order_they_were_reached()
    {
        var time = new FakeTimeProvider();
        var timeline = new JoinTimeline(time);
        time.Advance(TimeSpan.FromMilliseconds(120));
        timeline.Mark(JoinSteps.MlsGroup);
        time.Advance(TimeSpan.FromMilliseconds(400));
        timeline.Mark(JoinSteps.Sending);
        // The first picture was seen 30 ms ago on another clock: it lands before the step marked just now.
        timeline.MarkAgo(JoinSteps.FirstPicture, TimeSpan.FromMilliseconds(30));

        Assert.Equal(TimeSpan.FromMilliseconds(120), timeline.At(JoinSteps.MlsGroup));
        Assert.Equal(TimeSpan.FromMilliseconds(490), timeline.At(JoinSteps.FirstPicture));
        Assert.Null(timeline.At(JoinSteps.MediaServer));
        Assert.Equal($"{JoinSteps.MlsGroup} 120 ms, {JoinSteps.FirstPicture} 490 ms, {JoinSteps.Sending} 520 ms", timeline.ToString());
    }

    [Fact]
    public void A_step_keeps_the_time_it_was_first_reached()
    {
        var time = new FakeTimeProvider();
        var timeline = new JoinTimeline(time);
        time.Advance(TimeSpan.FromMilliseconds(50));
        timeline.Mark(JoinSteps.FirstPicture);
        time.Advance(TimeSpan.FromSeconds(5));
        timeline.Mark(JoinSteps.FirstPicture);
        timeline.MarkAgo(JoinSteps.FirstPicture, TimeSpan.FromSeconds(1));

        Assert.Equal(TimeSpan.FromMilliseconds(50), timeline.At(JoinSteps.FirstPicture));
    }

    [Fact]
    public void An_event_from_before_the_join_counts_as_its_start_and_an_unnamed_step_is_refused()
    {
        var time = new FakeTimeProvider();
        var timeline = new JoinTimeline(time);
        timeline.MarkAgo(JoinSteps.FirstPicture, TimeSpan.FromSeconds(3));

        Assert.Equal(TimeSpan.Zero, timeline.At(JoinSteps.FirstPicture));
        Assert.Throws<ArgumentException>(() => timeline.Mark(""));
        Assert.Equal($"{JoinSteps.FirstPicture} 0 ms", timeline.ToString());
    }
}
