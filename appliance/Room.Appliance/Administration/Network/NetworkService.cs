using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Room.Appliance.Administration.Network;

/// <summary>Applies the room's network settings through the operating system's own network service.</summary>
public interface INetworkService
{
    /// <summary>The service's name ("systemd-networkd"), "" when there is none.</summary>
    string Name { get; }

    /// <summary>The room's wired interface, "" when none is configured.</summary>
    string InterfaceName { get; }

    /// <summary>Null when settings can be applied, else why not (SetNetwork is then refused).</summary>
    string? Unavailable { get; }

    /// <summary>What roomd last gave the network service; null when it gave it nothing (the image's defaults apply).</summary>
    NetworkConfig? Current { get; }

    /// <summary>Raised when the interface's addresses changed in the kernel.</summary>
    event EventHandler? AddressesChanged;

    /// <summary>Hands <paramref name="config"/> to the network service; on failure the previous configuration stays.</summary>
    Task ApplyAsync(NetworkConfig config, CancellationToken cancellationToken);

    /// <summary>Forgets roomd's configuration (factory reset): the image's defaults apply at the next start.</summary>
    void Forget();

    /// <summary>The IPv4 addresses the kernel has on the interface now ("192.0.2.10/24").</summary>
    IReadOnlyList<string> KernelAddresses();
}

/// <summary>Admin:Network = none: roomd does not manage the network.</summary>
public sealed class NoNetworkService : INetworkService
{
    public string Name => "";

    public string InterfaceName => "";

    public string? Unavailable => "roomd has no network service configured (Admin:Network is none).";

    public NetworkConfig? Current => null;

    public event EventHandler? AddressesChanged { add { } remove { } }

    public Task ApplyAsync(NetworkConfig config, CancellationToken cancellationToken) =>
        throw new AdminRefusedException(AdminRefusalKind.NotSupported, Unavailable!);

    public void Forget()
    {
    }

    public IReadOnlyList<string> KernelAddresses() => [];
}

/// <summary>
/// Admin:Network = networkd: roomd writes one .network file for the room's interface (NAME.tmp, fsync, rename, fsync
/// of the folder) and asks systemd-networkd over D-Bus (org.freedesktop.network1.Manager.Reload) to apply it; networkd
/// reconfigures the interface whose file changed. When networkd cannot be reached or refuses, the previous file is put
/// back and the request refused. The file is the only record: read back at start, so what roomd shows is what
/// networkd was given.
/// </summary>
public sealed class NetworkdService : INetworkService, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _bus;
    private readonly ILogger<NetworkdService> _logger;
    private NetworkConfig? _current;

    public NetworkdService(string interfaceName, string configDirectory, string bus, ILogger<NetworkdService> logger)
    {
        InterfaceName = interfaceName;
        FilePath = Path.Combine(configDirectory, $"10-room-{interfaceName}.network");
        _bus = bus;
        _logger = logger;
        _current = Load();
        NetworkChange.NetworkAddressChanged += OnAddressChanged;
    }

    public string Name => "systemd-networkd";

    public string InterfaceName { get; }

    public string FilePath { get; }

    public string? Unavailable => _bus.Length == 0 ? "No system bus to reach systemd-networkd." : null;

    public NetworkConfig? Current => Volatile.Read(ref _current);

    public event EventHandler? AddressesChanged;

    public async Task ApplyAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Unavailable is { } why)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotSupported, why);
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var previous = OsConfigFile.Read(FilePath);
            try
            {
                OsConfigFile.Put(FilePath, Encoding.UTF8.GetBytes(NetworkdFile.Render(InterfaceName, config)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new AdminRefusedException(AdminRefusalKind.Failed, $"The network file could not be written: {ex.Message}");
            }

            try
            {
                await ReloadAsync(cancellationToken);
            }
            catch (Exception ex) when (OsBus.IsFailure(ex))
            {
                Restore(previous);
                _logger.LogError("systemd-networkd did not take the network settings ({Error}); the previous ones were put back", ex.Message);
                throw new AdminRefusedException(AdminRefusalKind.Failed, $"systemd-networkd did not take the settings: {OsBus.Describe(ex)}");
            }

            Volatile.Write(ref _current, config);
            _logger.LogInformation("Network settings handed to systemd-networkd for {Interface}: {Mode} {Address}", InterfaceName, config.ModeName, config.AddressText);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Forget()
    {
        OsConfigFile.Put(FilePath, null);
        Volatile.Write(ref _current, null);
    }

    public IReadOnlyList<string> KernelAddresses()
    {
        try
        {
            var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == InterfaceName);
            return nic is null
                ? []
                : nic.GetIPProperties().UnicastAddresses
                    .Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork)
                    .Select(a => $"{a.Address}/{a.PrefixLength}")
                    .ToList();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    public void Dispose()
    {
        NetworkChange.NetworkAddressChanged -= OnAddressChanged;
        _gate.Dispose();
    }

    private void OnAddressChanged(object? sender, EventArgs e) => AddressesChanged?.Invoke(this, EventArgs.Empty);

    private NetworkConfig? Load()
    {
        try
        {
            return File.Exists(FilePath) ? NetworkdFile.Parse(File.ReadAllText(FilePath), InterfaceName) : null;
        }
        catch (AdminRefusedException ex)
        {
            _logger.LogError("{Path}: {Error}; roomd shows no network settings until they are set again", FilePath, ex.Message);
            return null;
        }
        catch (IOException ex)
        {
            _logger.LogError("{Path} could not be read: {Error}", FilePath, ex.Message);
            return null;
        }
    }

    private Task ReloadAsync(CancellationToken cancellationToken) =>
        OsBus.CallAsync(_bus, "org.freedesktop.network1", "/org/freedesktop/network1", "org.freedesktop.network1.Manager", "Reload", cancellationToken);

    private void Restore(byte[]? previous)
    {
        try
        {
            OsConfigFile.Put(FilePath, previous);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("The previous network file could not be put back: {Error}", ex.Message);
        }
    }
}
