using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Room.Calendar.Scheduling;

namespace Room.Calendar.Tests;

/// <summary>The scheduler's decisions with a fake clock and a fake call (unit level; RoomdCalendarTests runs it against roomd).</summary>
public sealed class AutoJoinSchedulerTests : IDisposable
{
    private const string Bau = "https://meet.example.org/meetings/bau";
    private const string Haushalt = "https://meet.example.org/meetings/haushalt";
    private static readonly DateTimeOffset s_start = new(2026, 10, 26, 9, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(s_start.AddMinutes(-10));
    private readonly MemorySource _source = new();
    private readonly FakeRoomCall _call = new();
    private readonly ListLogger<AutoJoinScheduler> _log = new();
    private readonly CalendarService _calendar;
    private readonly AutoJoinScheduler _scheduler;

    public AutoJoinSchedulerTests()
    {
        var options = Options.Create(new CalendarOptions { TimeZone = "Europe/Berlin", MeetingServer = "https://meet.example.org" });
        _calendar = new CalendarService(options, [_source], null, _time, NullLogger<CalendarService>.Instance);
        _scheduler = new AutoJoinScheduler(_calendar, _call, options, _time, _log);
    }

    public void Dispose()
    {
        _scheduler.Dispose();
        _calendar.Dispose();
    }

    private async Task Book(string name, DateTimeOffset start, TimeSpan length, string url, string title)
    {
        _source.Resources[name] = IcsSamples.Single(name, start, start + length, title, url);
        Assert.True(await _calendar.SyncNowAsync(default));
    }

    private async Task At(DateTimeOffset t)
    {
        _time.SetUtcNow(t);
        _calendar.Recompute();
        await _scheduler.EvaluateAsync();
    }

    [Fact]
    public async Task Joins_at_the_lead_time_before_the_start_and_not_earlier()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");

        await At(s_start.AddSeconds(-61));
        Assert.Empty(_call.Actions);

        await At(s_start.AddSeconds(-60));
        Assert.Equal(["join " + Bau], _call.Actions);
        Assert.Contains(_log.Lines, l => l.Contains("joining 'Bauausschuss'", StringComparison.Ordinal) && l.Contains("60 s before its start", StringComparison.Ordinal));
        Assert.Equal("Bauausschuss", _scheduler.Current?.Title);
    }

    [Fact]
    public async Task Leaves_at_the_end_when_nobody_else_is_in_the_call()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        await At(s_start.AddSeconds(-60));

        await At(s_start.AddHours(1).AddSeconds(-1));
        Assert.Equal(["join " + Bau], _call.Actions);

        await At(s_start.AddHours(1));
        Assert.Equal(["join " + Bau, "leave " + Bau], _call.Actions);
        Assert.Contains(_log.Lines, l => l.Contains("leaving 'Bauausschuss'", StringComparison.Ordinal) && l.Contains("nobody else", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_others_still_in_the_call_the_panel_is_asked_and_the_answer_counts()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        await At(s_start.AddSeconds(-60));
        _call.OthersPresent = true;

        await At(s_start.AddHours(1));
        Assert.Equal("Bauausschuss", _scheduler.LeavePrompt?.Title);
        Assert.Equal(["join " + Bau], _call.Actions);
        Assert.Contains(_log.Lines, l => l.Contains("others are still in the call", StringComparison.Ordinal));

        await _scheduler.AnswerLeavePromptAsync(leave: true);
        Assert.Null(_scheduler.LeavePrompt);
        Assert.Equal(["join " + Bau, "leave " + Bau], _call.Actions);
    }

    [Fact]
    public async Task Staying_as_answered_hands_the_call_to_people_and_it_is_not_left_later()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        await At(s_start.AddSeconds(-60));
        _call.OthersPresent = true;
        await At(s_start.AddHours(1));

        await _scheduler.AnswerLeavePromptAsync(leave: false);
        _call.OthersPresent = false;
        await At(s_start.AddHours(2));

        Assert.Equal(["join " + Bau], _call.Actions);
        Assert.Null(_scheduler.Current);
        await Assert.ThrowsAsync<CalendarRequestException>(() => _scheduler.AnswerLeavePromptAsync(true));
    }

    [Fact]
    public async Task A_call_started_by_hand_is_never_interrupted()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        _call.StartByHand("test-loopback://ratssaal/ad-hoc");

        await At(s_start.AddSeconds(-60));
        await At(s_start.AddMinutes(30));
        await At(s_start.AddHours(1));

        Assert.Empty(_call.Actions);
        Assert.Single(_log.Lines, l => l.Contains("not joining 'Bauausschuss'", StringComparison.Ordinal) && l.Contains("started by hand", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_meeting_left_by_hand_is_not_joined_again()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        await At(s_start.AddSeconds(-60));
        await _call.LeaveAsync();

        await At(s_start.AddMinutes(5));

        Assert.Equal(["join " + Bau, "leave " + Bau], _call.Actions);
        Assert.Contains(_log.Lines, l => l.Contains("is not joined again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Back_to_back_meetings_at_the_same_address_continue_and_at_another_switch()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        _source.Resources["bau2"] = IcsSamples.Single("bau2", s_start.AddHours(1), s_start.AddHours(2), "Bauausschuss II", Bau);
        await Book("haushalt", s_start.AddHours(2), TimeSpan.FromHours(1), Haushalt, "Haushalt");

        await At(s_start.AddSeconds(-60));
        await At(s_start.AddHours(1));
        Assert.Equal(["join " + Bau], _call.Actions);
        Assert.Equal("Bauausschuss II", _scheduler.Current?.Title);

        await At(s_start.AddHours(2));
        // The next meeting was due (at its lead time) but the room stays until the current one ends, then switches.
        Assert.Equal(["join " + Bau, "leave " + Bau, "join " + Haushalt], _call.Actions);
    }

    [Fact]
    public async Task Moving_the_meeting_on_the_server_moves_the_join()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        await At(s_start.AddMinutes(-5));
        await Book("bau", s_start.AddMinutes(30), TimeSpan.FromHours(1), Bau, "Bauausschuss");

        await At(s_start.AddSeconds(-60));
        Assert.Empty(_call.Actions);

        await At(s_start.AddMinutes(29));
        Assert.Equal(["join " + Bau], _call.Actions);
    }

    [Fact]
    public async Task After_a_jump_past_the_start_the_meeting_is_joined_late_and_after_its_end_not_at_all()
    {
        await Book("bau", s_start, TimeSpan.FromHours(1), Bau, "Bauausschuss");
        await Book("late", s_start.AddHours(3), TimeSpan.FromHours(1), Haushalt, "Haushalt");

        // As after a resume from suspend: the clock is suddenly 20 minutes into the meeting.
        await At(s_start.AddMinutes(20));
        Assert.Equal(["join " + Bau], _call.Actions);
        Assert.Contains(_log.Lines, l => l.Contains("began 1200 s ago", StringComparison.Ordinal));

        await _call.LeaveAsync();
        _call.Actions.Clear();
        // A jump over a whole meeting: nothing to join for it any more.
        await At(s_start.AddHours(4).AddMinutes(1));
        Assert.Empty(_call.Actions);
    }

    [Fact]
    public async Task Meetings_of_other_providers_and_all_day_events_are_never_joined()
    {
        await Book("teams", s_start, TimeSpan.FromHours(1), "https://teams.microsoft.com/l/meetup-join/x", "Teams");
        _source.Resources["allday"] = IcsSamples.AllDay();
        Assert.True(await _calendar.SyncNowAsync(default));

        await At(s_start);

        Assert.Empty(_call.Actions);
        Assert.Contains(_calendar.Snapshot.Today, i => i.Title == "Teams" && i.Link.Provider == Model.MeetingProvider.Teams);
    }
}
