using Room.Appliance.Administration;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Admin: room administration, allowed to root and to connections with an admin session.</summary>
public sealed class AdminInterface : IBusInterface
{
    private readonly AdminService _admin;

    public AdminInterface(AdminService admin)
    {
        _admin = admin;
        _admin.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        _admin.Network.AddressesChanged += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        _admin.Time.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Admin;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        var s = _admin.Settings;
        var time = _admin.TimeStatus;
        return new Dictionary<string, VariantValue>
        {
            ["RoomName"] = _admin.EffectiveRoomName,
            ["DefaultCamera"] = s.DefaultCamera ?? "",
            ["DefaultPreset"] = s.DefaultPreset ?? "",
            ["DisplayStandbyMinutes"] = (uint)(s.DisplayStandbyMinutes ?? _admin.Configured.DisplayStandbyMinutes),
            ["DefaultVolume"] = s.DefaultVolume ?? _admin.Configured.InitialVolume,
            ["Language"] = s.Language ?? "de",
            ["TimeZone"] = s.TimeZone ?? "",
            ["NtpServers"] = VariantValue.Array((s.NtpServers ?? []).ToArray()),
            ["TimeSettingsApplied"] = time.Applied,
            ["TimeStatus"] = time.Text,
            ["NetworkService"] = _admin.Network.Name,
            ["NetworkInterface"] = _admin.Network.InterfaceName,
            ["NetworkMode"] = _admin.Network.Current?.ModeName ?? "",
            ["NetworkAddress"] = _admin.Network.Current?.AddressText ?? "",
            ["NetworkGateway"] = _admin.Network.Current?.Gateway?.ToString() ?? "",
            ["NetworkDns"] = VariantValue.Array((_admin.Network.Current?.Dns ?? []).Select(d => d.ToString()).ToArray()),
            ["NetworkAddresses"] = VariantValue.Array(_admin.Network.KernelAddresses().ToArray()),
            ["Proxy"] = s.Proxy ?? "",
            ["MaintenanceWindow"] = Struct.Create(s.MaintenanceStart ?? "", s.MaintenanceMinutes ?? 0u),
            ["EnrolmentStatus"] = _admin.EnrolmentStatus,
            ["PinSet"] = _admin.PinSet,
            ["SessionSeconds"] = (uint)_admin.SessionLength.TotalSeconds,
        };
    }

    public async Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken)
    {
        var caller = BusCaller.Current;
        var ct = cancellationToken;
        try
        {
            switch (member)
            {
                case "Unlock":
                    return (await _admin.UnlockAsync(caller, (string)args[0], ct)).ToUnixTimeSeconds();
                case "Lock":
                    await _admin.LockAsync(caller, ct);
                    return null;
                case "SetPin":
                    await _admin.SetPinAsync(caller, (string)args[0], ct);
                    return null;
                case "SetRoomName":
                    await _admin.SetRoomNameAsync(caller, (string)args[0], ct);
                    return null;
                case "SetDefaultCamera":
                    await _admin.SetDefaultCameraAsync(caller, (string)args[0], (string)args[1], ct);
                    return null;
                case "SetDisplayStandby":
                    await _admin.SetDisplayStandbyAsync(caller, (uint)args[0], ct);
                    return null;
                case "SetDefaultVolume":
                    await _admin.SetDefaultVolumeAsync(caller, (uint)args[0], ct);
                    return null;
                case "SetLanguage":
                    await _admin.SetLanguageAsync(caller, (string)args[0], ct);
                    return null;
                case "SetTime":
                    await _admin.SetTimeAsync(caller, (string)args[0], (string[])args[1], ct);
                    return null;
                case "SetMaintenanceWindow":
                    await _admin.SetMaintenanceWindowAsync(caller, (string)args[0], (uint)args[1], ct);
                    return null;
                case "SetNetwork":
                    await _admin.SetNetworkAsync(caller, (string)args[0], (string)args[1], (uint)args[2], (string)args[3], (string[])args[4], ct);
                    return null;
                case "SetProxy":
                    await _admin.SetProxyAsync(caller, (string)args[0], ct);
                    return null;
                case "GetDiagnostics":
                    return await _admin.GetDiagnosticsAsync(caller, ct);
                case "Reboot":
                    await _admin.RebootAsync(caller, ct);
                    return null;
                case "FactoryReset":
                    await _admin.FactoryResetAsync(caller, ct);
                    return null;
                default:
                    throw new RoomBusException(BusErrors.NotSupported, $"Admin.{member} is not implemented.");
            }
        }
        catch (AdminRefusedException ex)
        {
            throw ToBus(ex);
        }
    }

    /// <summary>The D-Bus error for a refused administration request.</summary>
    public static RoomBusException ToBus(AdminRefusedException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return new RoomBusException(
            ex.Kind switch
            {
                AdminRefusalKind.NotAuthorized => BusErrors.NotAuthorized,
                AdminRefusalKind.LockedOut => BusErrors.LockedOut,
                AdminRefusalKind.OutOfRange => BusErrors.OutOfRange,
                AdminRefusalKind.InvalidArgument => BusErrors.InvalidArgument,
                AdminRefusalKind.UnknownCamera => BusErrors.UnknownCamera,
                AdminRefusalKind.UnknownPreset => BusErrors.UnknownPreset,
                AdminRefusalKind.NotSupported => BusErrors.NotSupported,
                _ => BusErrors.Failed,
            },
            ex.Message);
    }
}
