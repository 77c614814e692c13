using System.Net.NetworkInformation;
using Room.Appliance.Administration;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>
/// org.room.Appliance1.System: identity of the box, and the admin PIN check. Addresses follow the network: an
/// address added or removed (netlink, via NetworkChange) raises <see cref="Changed"/>, so PropertiesChanged
/// announces it like every other property. The host name has no such event: it is looked at every
/// <see cref="Recheck"/> (the server announces only what differs, so an unchanged one costs no signal).
/// </summary>
public sealed class SystemInterface : IBusInterface, IDisposable
{
    private readonly SystemInfo _info;
    private readonly AdminPinVerifier _pins;
    private readonly ITimer _recheck;
    private readonly TenantBrandingSource? _branding;

    public SystemInterface(SystemInfo info, AdminPinVerifier pins, TimeProvider time, TenantBrandingSource? branding = null)
    {
        _info = info;
        _pins = pins;
        _branding = branding;
        if (branding is not null)
        {
            branding.Changed += OnAddressChanged;
        }

        _info.Changed += OnAddressChanged;
        NetworkChange.NetworkAddressChanged += OnAddressChanged;
        _recheck = time.CreateTimer(_ => Changed?.Invoke(this, EventArgs.Empty), null, Recheck, Recheck);
    }

    public static TimeSpan Recheck { get; } = TimeSpan.FromSeconds(10);

    public string Name => BusNames.System;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties() => new Dictionary<string, VariantValue>
    {
        ["RoomName"] = _info.RoomName,
        ["Version"] = SystemInfo.Version,
        ["Hostname"] = SystemInfo.Hostname,
        ["Addresses"] = VariantValue.Array(SystemInfo.Addresses().ToArray()),
        ["UpdateStatus"] = SystemInfo.UpdateStatus,
        ["Branding"] = Branding(),
        ["BrandingLogo"] = VariantValue.Array(_branding?.Current.Logo ?? []),
    };

    /// <summary>(name, header colour, accent colour, logo type) of the enrolled tenant; all empty when there is none. Its files are looked at with the host name.</summary>
    private VariantValue Branding()
    {
        var b = _branding?.Current.Branding;
        return Struct.Create(b?.DisplayName ?? "", b?.PrimaryColor ?? "", b?.AccentColor ?? "", b?.LogoType ?? "");
    }

    public async Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken)
    {
        try
        {
            return member switch
            {
                "CheckAdminPin" => await _pins.CheckAsync(BusCaller.Current, (string)args[0], cancellationToken),
                _ => throw new RoomBusException(BusErrors.NotSupported, $"System.{member} is not implemented."),
            };
        }
        catch (AdminRefusedException ex)
        {
            throw AdminInterface.ToBus(ex);
        }
    }

    public void Dispose()
    {
        NetworkChange.NetworkAddressChanged -= OnAddressChanged;
        _info.Changed -= OnAddressChanged;
        if (_branding is not null)
        {
            _branding.Changed -= OnAddressChanged;
        }

        _recheck.Dispose();
    }

    private void OnAddressChanged(object? sender, EventArgs e) => Changed?.Invoke(this, EventArgs.Empty);
}
