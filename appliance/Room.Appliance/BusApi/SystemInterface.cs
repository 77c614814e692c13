using Room.Appliance.Administration;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.System: identity of the box, and the admin PIN check.</summary>
public sealed class SystemInterface(SystemInfo info, AdminPinVerifier pins) : IBusInterface
{
    public string Name => BusNames.System;

    public event EventHandler? Changed
    {
        add { }
        remove { }
    }

    public IReadOnlyDictionary<string, VariantValue> GetProperties() => new Dictionary<string, VariantValue>
    {
        ["RoomName"] = info.RoomName,
        ["Version"] = SystemInfo.Version,
        ["Hostname"] = SystemInfo.Hostname,
        ["Addresses"] = VariantValue.Array(SystemInfo.Addresses().ToArray()),
        ["UpdateStatus"] = SystemInfo.UpdateStatus,
    };

    public Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken) => member switch
    {
        "CheckAdminPin" => Task.FromResult<object?>(pins.Check((string)args[0])),
        _ => throw new RoomBusException(BusErrors.NotSupported, $"System.{member} is not implemented."),
    };
}
