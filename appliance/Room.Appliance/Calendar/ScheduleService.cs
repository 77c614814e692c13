using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;

namespace Room.Appliance.Calendar;

/// <summary>
/// The room's upcoming meetings from configuration, soonest first; past meetings drop off each minute.
/// Entries with an unusable address or times are left out rather than shown broken.
/// </summary>
public sealed class ScheduleService(IOptions<RoomOptions> options, TimeProvider time) : BackgroundService
{
    private readonly Lock _gate = new();
    private IReadOnlyList<ScheduledMeeting> _upcoming = [];

    public event EventHandler? Changed;

    public IReadOnlyList<ScheduledMeeting> Upcoming
    {
        get
        {
            lock (_gate)
            {
                return _upcoming;
            }
        }
    }

    public void Refresh()
    {
        var now = time.GetUtcNow();
        var list = options.Value.Calendar
            .Where(m => m.End > m.Start && m.End > now && IsJoinable(m.Uri) && m.Title.Length is > 0 and <= 200)
            .OrderBy(m => m.Start)
            .Take(20)
            .ToList();
        bool changed;
        lock (_gate)
        {
            changed = !list.SequenceEqual(_upcoming);
            _upcoming = list;
        }

        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Only meetings that Join would accept are shown: a Join button that fails is worse than none.</summary>
    private static bool IsJoinable(string uri)
    {
        try
        {
            MeetingUri.Parse(uri);
            return true;
        }
        catch (Room.Bus.RoomBusException)
        {
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Refresh();
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Refresh();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
