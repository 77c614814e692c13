using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Room.Appliance.Administration;

/// <summary>What the settings screen shows about the box itself.</summary>
public sealed class SystemInfo
{
    private readonly IOptions<RoomOptions> _options;
    private readonly AdminSettingsStore? _settings;

    public SystemInfo(IOptions<RoomOptions> options, AdminSettingsStore? settings = null)
    {
        _options = options;
        _settings = settings;
        if (settings is not null)
        {
            settings.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Raised when the room's name was changed by an administrator.</summary>
    public event EventHandler? Changed;

    /// <summary>The administrator's name for the room, else room.json's, else the host name.</summary>
    public string RoomName => _settings?.Current.RoomName
        ?? (string.IsNullOrWhiteSpace(_options.Value.Name) ? Environment.MachineName : _options.Value.Name);

    public static string Version { get; } =
        typeof(SystemInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static string Hostname => Environment.MachineName;

    /// <summary>"No update agent" until the fleet update agent reports through here.</summary>
    public static string UpdateStatus => "not managed (no update agent)";

    public static IReadOnlyList<string> Addresses()
    {
        try
        {
            return [.. NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses
                    .Where(a => a.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    .Select(a => $"{n.Name} {a.Address}/{a.PrefixLength}"))];
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }
}
