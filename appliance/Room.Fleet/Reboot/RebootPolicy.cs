namespace Room.Fleet.Reboot;

/// <summary>The daily maintenance window in the room's local time: from <see cref="Start"/> for <see cref="Length"/> (may pass midnight).</summary>
public sealed record MaintenanceWindow(TimeOnly Start, TimeSpan Length)
{
    public MaintenanceWindow Validated() =>
        Length > TimeSpan.Zero && Length <= TimeSpan.FromHours(24) ? this : throw new ArgumentException($"a maintenance window lasts more than 0 and at most 24 hours, not {Length}");
}

/// <summary>A meeting in the room's calendar.</summary>
public sealed record CalendarMeeting(DateTimeOffset Start, DateTimeOffset End);

/// <summary>Why a reboot must wait.</summary>
public enum RebootBlock
{
    /// <summary>Not inside the maintenance window.</summary>
    OutsideMaintenanceWindow,

    /// <summary>The room is in a call: wait until it ends.</summary>
    InMeeting,

    /// <summary>A calendar meeting is on, or starts or ended less than 10 minutes from now.</summary>
    CalendarMeetingNear,
}

/// <summary>Reboot now, or wait (until <see cref="NotBefore"/>, or with no time known until the call ends).</summary>
public abstract record RebootDecision
{
    public sealed record Now : RebootDecision;

    public sealed record Wait(DateTimeOffset? NotBefore, RebootBlock Reason) : RebootDecision;
}

/// <summary>
/// When the update agent may reboot into a new slot: only inside the maintenance window, never during a call, never
/// within <see cref="MeetingMargin"/> of a calendar meeting (before its start or after its end). Pure: time and the
/// room's state are arguments.
/// </summary>
public sealed class RebootPolicy(MaintenanceWindow window, TimeZoneInfo zone)
{
    public static readonly TimeSpan MeetingMargin = TimeSpan.FromMinutes(10);

    private readonly MaintenanceWindow _window = window.Validated();

    public RebootDecision Decide(DateTimeOffset now, bool inMeeting, IEnumerable<CalendarMeeting> calendar)
    {
        ArgumentNullException.ThrowIfNull(calendar);
        if (inMeeting)
        {
            return new RebootDecision.Wait(null, RebootBlock.InMeeting);
        }

        var blocks = calendar.Select(m => (From: m.Start - MeetingMargin, To: m.End + MeetingMargin)).OrderBy(b => b.From).ToList();
        RebootBlock? first = null;
        var candidate = now;
        // Each pass moves the candidate forward to a window start or past a meeting; a year of passes is plenty.
        for (var pass = 0; pass < 1000; pass++)
        {
            if (!InWindow(candidate))
            {
                first ??= RebootBlock.OutsideMaintenanceWindow;
                candidate = NextWindowStart(candidate);
                continue;
            }

            var block = blocks.FirstOrDefault(b => b.From <= candidate && candidate < b.To);
            if (block != default)
            {
                first ??= RebootBlock.CalendarMeetingNear;
                candidate = block.To;
                continue;
            }

            return candidate == now ? new RebootDecision.Now() : new RebootDecision.Wait(candidate, first!.Value);
        }

        return new RebootDecision.Wait(null, first ?? RebootBlock.CalendarMeetingNear);
    }

    /// <summary>True when <paramref name="t"/> falls inside a window (today's, or yesterday's that runs past midnight).</summary>
    public bool InWindow(DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, zone).DateTime;
        foreach (var day in new[] { local.Date.AddDays(-1), local.Date })
        {
            var start = day + _window.Start.ToTimeSpan();
            if (local >= start && local < start + _window.Length)
            {
                return true;
            }
        }

        return false;
    }

    private DateTimeOffset NextWindowStart(DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, zone);
        var start = local.Date + _window.Start.ToTimeSpan();
        if (start <= local.DateTime)
        {
            start = start.AddDays(1);
        }

        return new DateTimeOffset(start, zone.GetUtcOffset(start));
    }
}

/// <summary>What the scheduler needs of the room: whether it is in a call, its calendar, and a change signal.</summary>
public interface IRoomActivity
{
    bool InMeeting { get; }

    IReadOnlyList<CalendarMeeting> Calendar { get; }

    /// <summary>The call started or ended, or the calendar changed.</summary>
    event EventHandler? Changed;
}

/// <summary>Waits, on a TimeProvider, until <see cref="RebootPolicy"/> allows the reboot; re-decides when the room's activity changes.</summary>
public sealed class RebootScheduler(RebootPolicy policy, IRoomActivity activity, TimeProvider time)
{
    /// <summary>
    /// Returns when a reboot is allowed. <paramref name="onDecision"/> sees each decision to wait, after its timer is
    /// running (so a test's fake clock can be moved at once).
    /// </summary>
    public async Task WaitForSlotAsync(Action<RebootDecision>? onDecision, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnChanged(object? sender, EventArgs e) => changed.TrySetResult();
            activity.Changed += OnChanged;
            try
            {
                var now = time.GetUtcNow();
                var decision = policy.Decide(now, activity.InMeeting, activity.Calendar);
                if (decision is RebootDecision.Now)
                {
                    onDecision?.Invoke(decision);
                    return;
                }

                var wait = (RebootDecision.Wait)decision;
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var timer = wait.NotBefore is { } nb ? Task.Delay(nb - now, time, stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
                onDecision?.Invoke(decision);
                await Task.WhenAny(timer, changed.Task.WaitAsync(cancellationToken)).ConfigureAwait(false);
                await stop.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
            finally
            {
                activity.Changed -= OnChanged;
            }
        }
    }
}
