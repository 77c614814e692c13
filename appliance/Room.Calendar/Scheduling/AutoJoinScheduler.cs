using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Calendar.Model;

namespace Room.Calendar.Scheduling;

/// <summary>
/// Joins the room's meetings by itself: a joinable meeting is joined <see cref="CalendarOptions.JoinLeadSeconds"/>
/// before its start, and left at its end, unless others are still in the call (then the panel is asked,
/// <see cref="LeavePrompt"/>). A call somebody started by hand is never interrupted; a meeting somebody left by hand
/// is not joined again. Back-to-back meetings at the same address continue in the same call; at another address the
/// room leaves and joins the next. Times are re-read from the wall clock at every decision, so clock changes and
/// suspend/resume only move the decisions (and are logged). Every decision is logged with its reason.
/// </summary>
public sealed class AutoJoinScheduler : BackgroundService
{
    /// <summary>The scheduler never sleeps longer than this, so a changed wall clock is noticed soon.</summary>
    private static readonly TimeSpan s_maxSleep = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_jumpTolerance = TimeSpan.FromSeconds(5);

    private readonly CalendarService _calendar;
    private readonly IRoomCall _call;
    private readonly TimeProvider _time;
    private readonly ILogger<AutoJoinScheduler> _logger;
    private readonly TimeSpan _lead;
    private readonly bool _enabled;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<string> _handled = new(StringComparer.Ordinal);
    private readonly HashSet<string> _notedHandCall = new(StringComparer.Ordinal);
    private readonly Lock _stateGate = new();
    private ITimer? _timer;
    private AgendaItem? _ours;
    private AgendaItem? _prompt;
    private DateTimeOffset _lastWall;
    private long _lastMonotonic;
    private int _pending;

    public AutoJoinScheduler(CalendarService calendar, IRoomCall call, IOptions<CalendarOptions> options, TimeProvider time, ILogger<AutoJoinScheduler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _calendar = calendar;
        _call = call;
        _time = time;
        _logger = logger;
        _lead = TimeSpan.FromSeconds(options.Value.JoinLeadSeconds);
        _enabled = options.Value.AutoJoin;
    }

    /// <summary>The leave prompt or the meeting the scheduler is in changed.</summary>
    public event EventHandler? Changed;

    /// <summary>A decision round has finished; the argument is the time it decided at.</summary>
    public event EventHandler<DateTimeOffset>? Evaluated;

    /// <summary>The meeting that has ended while others are still in the call: the panel asks whether to leave.</summary>
    public AgendaItem? LeavePrompt
    {
        get
        {
            lock (_stateGate)
            {
                return _prompt;
            }
        }
    }

    /// <summary>The meeting the scheduler joined and will leave at its end, if any.</summary>
    public AgendaItem? Current
    {
        get
        {
            lock (_stateGate)
            {
                return _ours;
            }
        }
    }

    /// <summary>The panel's answer to <see cref="LeavePrompt"/>: leave now, or stay (the call is then left to people).</summary>
    public async Task AnswerLeavePromptAsync(bool leave)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var prompt = LeavePrompt ?? throw new CalendarRequestException(CalendarRefusal.NothingAsked, "There is no question about leaving open.");
            SetPrompt(null);
            if (leave)
            {
                _logger.LogInformation("Calendar: leaving '{Title}' as answered on the panel", prompt.Title);
                await LeaveAsync().ConfigureAwait(false);
            }
            else
            {
                _logger.LogInformation("Calendar: staying in the call after '{Title}' as answered on the panel; it is now left to people", prompt.Title);
                SetOurs(null);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Joins an agenda entry now, as a person asked (one tap on the panel); it is then a call started by hand.</summary>
    public async Task JoinNowAsync(string id)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var item = _calendar.Window.FirstOrDefault(i => i.Id == id)
                ?? throw new CalendarRequestException(CalendarRefusal.UnknownEntry, "This meeting is not in today's or tomorrow's agenda.");
            if (!item.Joinable)
            {
                throw new CalendarRequestException(CalendarRefusal.NotJoinable, item.Link.Provider == MeetingProvider.None
                    ? "This meeting has no address the room can join."
                    : $"This is a {item.Link.Provider} meeting, which the room cannot join.");
            }

            _handled.Add(item.Id);
            _logger.LogInformation("Calendar: joining '{Title}' as asked on the panel", item.Title);
            await _call.JoinAsync(item.Link.Uri).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Decides what to do now. Runs on every timer, agenda and call change; tests call it directly.</summary>
    public async Task EvaluateAsync()
    {
        Interlocked.Exchange(ref _pending, 0);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            NoticeClockJump(now);
            var wake = await DecideAsync(now).ConfigureAwait(false);
            var delay = wake - now;
            delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay > s_maxSleep ? s_maxSleep : delay;
            _timer?.Change(delay, Timeout.InfiniteTimeSpan);
            Evaluated?.Invoke(this, now);
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_enabled)
        {
            _logger.LogInformation("Calendar: auto-join is off (Calendar:AutoJoin)");
            return;
        }

        _lastWall = _time.GetUtcNow();
        _lastMonotonic = _time.GetTimestamp();
        _timer = _time.CreateTimer(_ => Trigger(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _calendar.Changed += OnChanged;
        _call.Changed += OnChanged;
        try
        {
            await EvaluateAsync().ConfigureAwait(false);
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _calendar.Changed -= OnChanged;
            _call.Changed -= OnChanged;
            await _timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    private void OnChanged(object? sender, EventArgs e) => Trigger();

    private void Trigger()
    {
        // Coalesces bursts of changes into one evaluation.
        if (Interlocked.Exchange(ref _pending, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await EvaluateAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                }
            });
        }
    }

    private async Task<DateTimeOffset> DecideAsync(DateTimeOffset now)
    {
        var items = _calendar.Window;
        var state = _call.State;
        var busy = state is RoomCallState.Joining or RoomCallState.InCall or RoomCallState.Leaving;
        var ours = Current;

        if (ours is not null && !busy)
        {
            _logger.LogInformation("Calendar: the call of '{Title}' has ended ({State}); it is not joined again", ours.Title, state);
            SetOurs(null);
            SetPrompt(null);
            ours = null;
        }

        // The entry may have been edited on the server since it was joined: its current times count.
        if (ours is not null && items.FirstOrDefault(i => i.Id == ours.Id) is { } updated && updated != ours)
        {
            _logger.LogInformation("Calendar: '{Title}' was changed on the server; it now ends at {End}", updated.Title, Local(updated.End));
            SetOurs(updated);
            ours = updated;
        }

        var due = items.Where(i => i.Joinable && !_handled.Contains(i.Id) && i.Start - _lead <= now && now < i.End).OrderBy(i => i.Start).ToList();

        if (ours is not null && busy)
        {
            if (now < ours.End)
            {
                return NextWake(items, now, ours.End);
            }

            if (due.FirstOrDefault(i => SameAddress(i.Link.Uri, ours.Link.Uri)) is { } continuation)
            {
                _handled.Add(continuation.Id);
                _logger.LogInformation("Calendar: '{Title}' ended; '{Next}' follows at the same address, staying in the call", ours.Title, continuation.Title);
                SetOurs(continuation);
                SetPrompt(null);
                return NextWake(items, now, continuation.End);
            }

            if (state == RoomCallState.Leaving)
            {
                return NextWake(items, now, null);
            }

            if (_call.OthersPresent)
            {
                if (LeavePrompt is null)
                {
                    _logger.LogInformation("Calendar: '{Title}' ended at {End} but others are still in the call: asking on the panel whether to leave", ours.Title, Local(ours.End));
                    SetPrompt(ours);
                }

                return NextWake(items, now, null);
            }

            if (LeavePrompt is null)
            {
                _logger.LogInformation("Calendar: leaving '{Title}': it ended at {End} and nobody else is in the call", ours.Title, Local(ours.End));
            }
            else
            {
                _logger.LogInformation("Calendar: leaving '{Title}' (ended at {End}) without waiting for an answer: nobody else is left in the call", ours.Title, Local(ours.End));
            }

            SetPrompt(null);
            await LeaveAsync().ConfigureAwait(false);
            busy = _call.State is RoomCallState.Joining or RoomCallState.InCall or RoomCallState.Leaving;
            if (busy)
            {
                return NextWake(items, now, null);
            }

            // Left: the next meeting, if one is due, is joined right away (back-to-back at another address).
        }

        if (busy)
        {
            foreach (var item in due.Where(i => _notedHandCall.Add(i.Id)))
            {
                _logger.LogInformation("Calendar: not joining '{Title}' (starts {Start}): a call started by hand is in progress and is not interrupted", item.Title, Local(item.Start));
            }

            return NextWake(items, now, null);
        }

        if (due.Count > 0)
        {
            var item = due[0];
            _handled.Add(item.Id);
            var late = now - item.Start;
            if (late > TimeSpan.Zero)
            {
                _logger.LogInformation("Calendar: joining '{Title}' (start {Start}, end {End}): it began {Late:0} s ago and is still on", item.Title, Local(item.Start), Local(item.End), late.TotalSeconds);
            }
            else
            {
                _logger.LogInformation("Calendar: joining '{Title}' (start {Start}, end {End}): {Lead:0} s before its start, as configured", item.Title, Local(item.Start), Local(item.End), -late.TotalSeconds);
            }

            try
            {
                SetOurs(item);
                await _call.JoinAsync(item.Link.Uri).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                SetOurs(null);
                _logger.LogWarning("Calendar: joining '{Title}' failed: {Reason}; it is not retried", item.Title, ex.Message);
            }

            return NextWake(items, now, item.End);
        }

        return NextWake(items, now, null);
    }

    /// <summary>The next moment something may be due: a join time, or the end of the current meeting.</summary>
    private DateTimeOffset NextWake(IReadOnlyList<AgendaItem> items, DateTimeOffset now, DateTimeOffset? end)
    {
        var next = now + s_maxSleep;
        foreach (var i in items)
        {
            var at = i.Start - _lead;
            if (i.Joinable && !_handled.Contains(i.Id) && at > now && at < next)
            {
                next = at;
            }
        }

        return end is { } e && e > now && e < next ? e : next;
    }

    private void NoticeClockJump(DateTimeOffset now)
    {
        var monotonic = _time.GetTimestamp();
        if (_lastMonotonic != 0)
        {
            var elapsed = _time.GetElapsedTime(_lastMonotonic, monotonic);
            var wall = now - _lastWall;
            var jump = wall - elapsed;
            if (jump > s_jumpTolerance || jump < -s_jumpTolerance)
            {
                _logger.LogInformation("Calendar: the wall clock moved {Jump:0} s against the monotonic clock (clock set, or resumed from suspend); decisions follow the new time",
                    jump.TotalSeconds);
            }
        }

        _lastWall = now;
        _lastMonotonic = monotonic;
    }

    private async Task LeaveAsync()
    {
        try
        {
            await _call.LeaveAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogWarning("Calendar: leaving failed: {Reason}", ex.Message);
        }

        SetOurs(null);
    }

    private void SetOurs(AgendaItem? item)
    {
        bool changed;
        lock (_stateGate)
        {
            changed = _ours != item;
            _ours = item;
        }

        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    private void SetPrompt(AgendaItem? item)
    {
        bool changed;
        lock (_stateGate)
        {
            changed = _prompt != item;
            _prompt = item;
        }

        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    private static bool SameAddress(string a, string b) => string.Equals(a.Split('#', 2)[0], b.Split('#', 2)[0], StringComparison.Ordinal);

    private string Local(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, _calendar.Zone).ToString("yyyy-MM-dd HH:mm:ss zzz", System.Globalization.CultureInfo.InvariantCulture);
}
