using Room.Appliance.Calendar;
using Room.Bus;
using Room.Bus.Server;
using Room.Calendar;
using Room.Calendar.Model;
using Room.Calendar.Scheduling;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Calendar over the static agenda (<see cref="ScheduleService"/>), the synced calendar and its scheduler.</summary>
public sealed class CalendarInterface : IBusInterface
{
    private readonly ScheduleService _schedule;
    private readonly CalendarService _calendar;
    private readonly AutoJoinScheduler _scheduler;
    private readonly TimeProvider _time;

    public CalendarInterface(ScheduleService schedule, CalendarService calendar, AutoJoinScheduler scheduler, TimeProvider time)
    {
        _time = time;
        _schedule = schedule;
        _calendar = calendar;
        _scheduler = scheduler;
        _schedule.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        _calendar.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        _scheduler.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Calendar;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        var c = _calendar.Snapshot;
        var prompt = _scheduler.LeavePrompt;
        var now = _time.GetUtcNow();
        // Upcoming: the static meetings of room.json and the synced ones the room can join, soonest first.
        var upcoming = _schedule.Upcoming.Select(m => (m.Title, m.Uri, m.Start, m.End))
            .Concat(c.Today.Concat(c.Tomorrow).Where(i => i.Joinable && i.End > now).Select(i => (i.Title, i.Link.Uri, i.Start, i.End)))
            .Distinct()
            .OrderBy(m => m.Start)
            .Take(20);
        return new Dictionary<string, VariantValue>
        {
            ["Upcoming"] = new Array<Struct<string, string, long, long>>(
                upcoming.Select(m => Struct.Create(m.Title, m.Uri, m.Start.ToUnixTimeSeconds(), m.End.ToUnixTimeSeconds()))),
            ["Today"] = new Array<Struct<string, string, long, long, bool, bool, string, string, bool>>(c.Today.Select(Entry)),
            ["Tomorrow"] = new Array<Struct<string, string, long, long, bool, bool, string, string, bool>>(c.Tomorrow.Select(Entry)),
            ["Next"] = c.Next is { } n ? Entry(n) : Struct.Create("", "", 0L, 0L, false, false, "none", "", false),
            ["LastSync"] = c.LastSync?.ToUnixTimeSeconds() ?? 0L,
            ["SyncState"] = c.Status switch
            {
                SyncStatus.NotConfigured => "not-configured",
                SyncStatus.Pending => "pending",
                SyncStatus.Ok => "ok",
                SyncStatus.Offline => "offline",
                _ => "error",
            },
            ["SyncError"] = c.Error,
            ["LeavePrompt"] = Struct.Create(prompt?.Id ?? "", prompt?.Title ?? ""),
        };
    }

    public async Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken)
    {
        try
        {
            switch (member)
            {
                case "Sync":
                    if (_calendar.Snapshot.Status == SyncStatus.NotConfigured)
                    {
                        throw new RoomBusException(BusErrors.WrongState, "No calendar source is configured (Calendar:Sources in room.json).");
                    }

                    await _calendar.SyncNowAsync(cancellationToken);
                    return null;
                case "Join":
                    await _scheduler.JoinNowAsync((string)args[0]);
                    return null;
                case "AnswerLeavePrompt":
                    await _scheduler.AnswerLeavePromptAsync((bool)args[0]);
                    return null;
                default:
                    throw new RoomBusException(BusErrors.NotSupported, $"Calendar.{member} is not implemented.");
            }
        }
        catch (CalendarRequestException ex)
        {
            throw new RoomBusException(ex.Refusal == CalendarRefusal.NothingAsked ? BusErrors.WrongState : BusErrors.InvalidArgument, ex.Message);
        }
    }

    private static Struct<string, string, long, long, bool, bool, string, string, bool> Entry(AgendaItem i) =>
        Struct.Create(i.Id, i.Title, i.Start.ToUnixTimeSeconds(), i.End.ToUnixTimeSeconds(), i.AllDay, i.Private, Provider(i.Link.Provider), i.Link.Uri, i.Joinable);

    private static string Provider(MeetingProvider p) => p switch
    {
        MeetingProvider.MeetingServer => "meeting-server",
        _ => p.ToString().ToLowerInvariant(),
    };
}
