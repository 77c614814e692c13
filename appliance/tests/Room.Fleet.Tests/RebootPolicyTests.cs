using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Room.Fleet.Reboot;

namespace Room.Fleet.Tests;

/// <summary>The reboot policy and its scheduler on a fake clock: the maintenance window, calls, and calendar meetings.</summary>
public sealed class RebootPolicyTests
{
    private static DateTimeOffset At(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static readonly RebootPolicy Night = new(new MaintenanceWindow(new TimeOnly(2, 0), TimeSpan.FromHours(2)), TimeZoneInfo.Utc);

    private static CalendarMeeting Meeting(string start, string end) => new(At(start), At(end));

    [Fact]
    public void Inside_the_window_with_nothing_on_it_reboots_now() =>
        Assert.IsType<RebootDecision.Now>(Night.Decide(At("2026-12-07T02:30:00Z"), false, []));

    [Fact]
    public void Outside_the_window_it_waits_for_the_next_window() =>
        Assert.Equal(new RebootDecision.Wait(At("2026-12-08T02:00:00Z"), RebootBlock.OutsideMaintenanceWindow),
            Night.Decide(At("2026-12-07T12:00:00Z"), false, []));

    [Fact]
    public void The_window_ends_before_its_end_time() =>
        Assert.Equal(new RebootDecision.Wait(At("2026-12-08T02:00:00Z"), RebootBlock.OutsideMaintenanceWindow),
            Night.Decide(At("2026-12-07T04:00:00Z"), false, []));

    [Fact]
    public void During_a_call_it_waits_for_the_call_to_end_even_inside_the_window() =>
        Assert.Equal(new RebootDecision.Wait(null, RebootBlock.InMeeting), Night.Decide(At("2026-12-07T02:30:00Z"), true, []));

    [Theory]
    [InlineData("2026-12-07T02:05:00Z", "2026-12-07T02:35:00Z", "2026-12-07T02:45:00Z")] // starts in 5 minutes
    [InlineData("2026-12-07T02:10:00Z", "2026-12-07T02:20:00Z", "2026-12-07T02:30:00Z")] // starts in exactly 10 minutes
    [InlineData("2026-12-07T01:00:00Z", "2026-12-07T01:55:00Z", "2026-12-07T02:05:00Z")] // ended 5 minutes ago
    [InlineData("2026-12-07T01:30:00Z", "2026-12-07T02:30:00Z", "2026-12-07T02:40:00Z")] // on now
    public void Within_ten_minutes_of_a_calendar_meeting_it_waits_until_ten_minutes_after_it(string start, string end, string until) =>
        Assert.Equal(new RebootDecision.Wait(At(until), RebootBlock.CalendarMeetingNear),
            Night.Decide(At("2026-12-07T02:00:00Z"), false, [Meeting(start, end)]));

    [Fact]
    public void A_meeting_eleven_minutes_away_does_not_hold_the_reboot() =>
        Assert.IsType<RebootDecision.Now>(Night.Decide(At("2026-12-07T02:00:00Z"), false, [Meeting("2026-12-07T02:11:00Z", "2026-12-07T03:00:00Z")]));

    [Fact]
    public void Back_to_back_meetings_that_fill_the_window_move_the_reboot_to_the_next_night() =>
        Assert.Equal(new RebootDecision.Wait(At("2026-12-08T02:00:00Z"), RebootBlock.CalendarMeetingNear),
            Night.Decide(At("2026-12-07T02:00:00Z"), false,
                [Meeting("2026-12-07T02:00:00Z", "2026-12-07T03:00:00Z"), Meeting("2026-12-07T03:05:00Z", "2026-12-07T03:55:00Z")]));

    [Fact]
    public void A_window_over_midnight_counts_on_both_days()
    {
        var late = new RebootPolicy(new MaintenanceWindow(new TimeOnly(23, 0), TimeSpan.FromHours(3)), TimeZoneInfo.Utc);
        Assert.IsType<RebootDecision.Now>(late.Decide(At("2026-12-08T01:00:00Z"), false, []));
        Assert.IsType<RebootDecision.Now>(late.Decide(At("2026-12-07T23:30:00Z"), false, []));
        Assert.Equal(new RebootDecision.Wait(At("2026-12-08T23:00:00Z"), RebootBlock.OutsideMaintenanceWindow), late.Decide(At("2026-12-08T02:30:00Z"), false, []));
    }

    [Fact]
    public void The_window_is_in_the_rooms_local_time()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("Room+01", TimeSpan.FromHours(1), "Room+01", "Room+01");
        var policy = new RebootPolicy(new MaintenanceWindow(new TimeOnly(2, 0), TimeSpan.FromHours(1)), zone);
        Assert.IsType<RebootDecision.Now>(policy.Decide(At("2026-12-07T01:30:00Z"), false, [])); // 02:30 local
        Assert.Equal(new RebootDecision.Wait(At("2026-12-08T01:00:00Z"), RebootBlock.OutsideMaintenanceWindow), policy.Decide(At("2026-12-07T02:30:00Z"), false, []));
    }

    [Fact]
    public void An_empty_window_is_refused() =>
        Assert.Throws<ArgumentException>(() => new RebootPolicy(new MaintenanceWindow(new TimeOnly(2, 0), TimeSpan.Zero), TimeZoneInfo.Utc));

    private sealed class Room : IRoomActivity
    {
        private bool _inMeeting;

        public bool InMeeting => _inMeeting;

        public IReadOnlyList<CalendarMeeting> Calendar { get; set; } = [];

        public event EventHandler? Changed;

        public void SetInMeeting(bool value)
        {
            _inMeeting = value;
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    [Fact]
    public async Task A_reboot_asked_for_during_a_call_waits_until_the_call_ends()
    {
        var time = new FakeTimeProvider(At("2026-12-07T02:30:00Z"));
        var room = new Room();
        room.SetInMeeting(true);
        var waiting = new TaskCompletionSource<RebootDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        var slot = new RebootScheduler(Night, room, time).WaitForSlotAsync(d => waiting.TrySetResult(d), CancellationToken.None);

        Assert.Equal(new RebootDecision.Wait(null, RebootBlock.InMeeting), await waiting.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        time.Advance(TimeSpan.FromMinutes(20)); // an hour-long call goes on: time alone changes nothing
        Assert.False(slot.IsCompleted);

        room.SetInMeeting(false);
        await slot.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(slot.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_reboot_asked_for_in_the_afternoon_happens_when_the_window_opens()
    {
        var time = new FakeTimeProvider(At("2026-12-07T15:00:00Z"));
        var decisions = new List<RebootDecision>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slot = new RebootScheduler(Night, new Room(), time).WaitForSlotAsync(d =>
        {
            lock (decisions)
            {
                decisions.Add(d);
            }

            first.TrySetResult();
        }, CancellationToken.None);
        await first.Task.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromHours(10) + TimeSpan.FromMinutes(59));
        Assert.False(slot.IsCompleted);

        time.Advance(TimeSpan.FromMinutes(1));
        await slot.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(At("2026-12-08T02:00:00Z"), time.GetUtcNow());
        lock (decisions)
        {
            Assert.Equal([new RebootDecision.Wait(At("2026-12-08T02:00:00Z"), RebootBlock.OutsideMaintenanceWindow), new RebootDecision.Now()], decisions);
        }
    }

    [Fact]
    public async Task A_meeting_booked_while_waiting_moves_the_reboot()
    {
        var time = new FakeTimeProvider(At("2026-12-07T01:00:00Z"));
        var room = new Room();
        var decisions = new List<RebootDecision>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slot = new RebootScheduler(Night, room, time).WaitForSlotAsync(d =>
        {
            lock (decisions)
            {
                decisions.Add(d);
                (decisions.Count == 1 ? first : second).TrySetResult();
            }
        }, CancellationToken.None);
        await first.Task.WaitAsync(TimeSpan.FromSeconds(30));

        room.Calendar = [Meeting("2026-12-07T02:00:00Z", "2026-12-07T02:30:00Z")];
        room.SetInMeeting(false); // the calendar changed
        await second.Task.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromHours(1)); // 02:00: the meeting is on
        Assert.False(slot.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(40)); // 02:40: ten minutes after it
        await slot.WaitAsync(TimeSpan.FromSeconds(30));
        lock (decisions)
        {
            Assert.Equal(new RebootDecision.Wait(At("2026-12-07T02:40:00Z"), RebootBlock.OutsideMaintenanceWindow), decisions[1]);
        }
    }
}
