using Microsoft.Extensions.Options;
using Room.Appliance.Calendar;

namespace Room.Appliance.Tests;

public class ScheduleServiceTests
{
    private readonly ManualTime _time = new();

    private ScheduleService Create(params ScheduledMeeting[] meetings) =>
        new(Options.Create(new RoomOptions { Calendar = [.. meetings] }), _time);

    private ScheduledMeeting At(string title, double startHours, double hours = 1, string uri = "test-loopback://meet.example.org/m/1") => new()
    {
        Title = title,
        Uri = uri,
        Start = _time.GetUtcNow().AddHours(startHours),
        End = _time.GetUtcNow().AddHours(startHours + hours),
    };

    [Fact]
    public void Upcoming_meetings_are_listed_soonest_first_and_past_ones_left_out()
    {
        var schedule = Create(At("Later", 3), At("Past", -2), At("Now", -0.5), At("Soon", 1));
        schedule.Refresh();
        Assert.Equal(["Now", "Soon", "Later"], schedule.Upcoming.Select(m => m.Title));
    }

    [Theory]
    [InlineData("room:nordlicht")]
    [InlineData("ftp://meet.example.org/m/1")]
    [InlineData("not a uri")]
    public void Meetings_that_Join_would_refuse_are_not_offered(string uri)
    {
        var schedule = Create(At("Broken", 1, uri: uri), At("Fine", 2));
        schedule.Refresh();
        Assert.Equal(["Fine"], schedule.Upcoming.Select(m => m.Title));
    }

    [Fact]
    public void Entries_with_end_before_start_or_no_title_are_left_out()
    {
        var backwards = At("Backwards", 2, hours: -1);
        var untitled = At("", 1);
        var schedule = Create(backwards, untitled, At("Fine", 1));
        schedule.Refresh();
        Assert.Equal(["Fine"], schedule.Upcoming.Select(m => m.Title));
    }

    [Fact]
    public void A_meeting_drops_off_once_it_has_ended()
    {
        var schedule = Create(At("Short", 0, hours: 0.25));
        schedule.Refresh();
        Assert.Single(schedule.Upcoming);
        var changed = false;
        schedule.Changed += (_, _) => changed = true;
        _time.Advance(TimeSpan.FromMinutes(20));
        schedule.Refresh();
        Assert.Empty(schedule.Upcoming);
        Assert.True(changed);
    }
}
