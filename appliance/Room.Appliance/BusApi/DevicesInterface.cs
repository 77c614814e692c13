using Room.Appliance.Inventory;
using Room.Bus;
using Room.Bus.Server;
using Room.Devices;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Devices over <see cref="DeviceInventory"/>.</summary>
public sealed class DevicesInterface : IBusInterface
{
    private readonly DeviceInventory _inventory;

    public DevicesInterface(DeviceInventory inventory)
    {
        _inventory = inventory;
        _inventory.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Devices;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties() => new Dictionary<string, VariantValue>
    {
        ["Devices"] = new Array<Struct<string, string, string, string, string, string, Dict<string, string>>>(
            _inventory.Devices.Select(d => Struct.Create(
                d.Id,
                KindName(d.Kind),
                d.Name,
                d.Driver,
                HealthName(d.Health),
                d.HealthDetail,
                new Dict<string, string>(d.Capabilities.ToDictionary())))),
    };

    public Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken) =>
        throw new RoomBusException(BusErrors.NotSupported, $"Devices.{member} is not implemented.");

    public static string KindName(DeviceKind kind) => kind.ToString().ToLowerInvariant();

    public static string HealthName(DeviceHealth health) => health.ToString().ToLowerInvariant();
}
