using Room.Appliance.Calendar;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Calendar over <see cref="ScheduleService"/>.</summary>
public sealed class CalendarInterface : IBusInterface
{
    private readonly ScheduleService _schedule;

    public CalendarInterface(ScheduleService schedule)
    {
        _schedule = schedule;
        _schedule.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Calendar;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties() => new Dictionary<string, VariantValue>
    {
        ["Upcoming"] = new Array<Struct<string, string, long, long>>(
            _schedule.Upcoming.Select(m => Struct.Create(m.Title, m.Uri, m.Start.ToUnixTimeSeconds(), m.End.ToUnixTimeSeconds()))),
    };

    public Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken) =>
        throw new RoomBusException(BusErrors.NotSupported, $"Calendar.{member} is not implemented.");
}
