using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Room.Devices;

namespace Room.Appliance.Inventory;

/// <summary>
/// Every device with its health. Rebuilt on hot-plug and re-checked every few seconds, because health
/// (a camera that stopped answering) changes without a plug event. A device whose Describe throws is
/// reported as failed; it never takes the inventory down.
/// </summary>
public sealed class DeviceInventory(IDeviceProvider devices, ILogger<DeviceInventory> logger, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private IReadOnlyList<DeviceInfo> _current = [];

    public event EventHandler? Changed;

    public IReadOnlyList<DeviceInfo> Devices
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public void Refresh()
    {
        var all = new List<DeviceInfo>();
        IEnumerable<IDevice> everything = [.. devices.Cameras, .. devices.Microphones, .. devices.Speakers, .. devices.Displays];
        if (devices.Controls is { } controls)
        {
            everything = everything.Append(controls);
        }

        foreach (var device in everything)
        {
            try
            {
                all.Add(device.Describe());
            }
#pragma warning disable CA1031 // A broken driver degrades its own device only.
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Device {Id} could not describe itself", device.Id);
                all.Add(new DeviceInfo(device.Id, KindOf(device), device.Id, "unknown", DeviceHealth.Failed, ex.Message, new Dictionary<string, string>()));
            }
#pragma warning restore CA1031
        }

        bool changed;
        lock (_gate)
        {
            changed = !Same(_current, all);
            if (changed)
            {
                _current = all;
            }
        }

        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Lists the devices and follows hot-plug and the occupancy sensor from here on (before the recheck loop runs).</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        devices.DevicesChanged += OnDevicesChanged;
        // The occupancy sensor's state is part of the GPIO device's entry ("occupied"): publish it when it changes.
        if (devices.Controls is { } controls)
        {
            controls.OccupancyChanged += OnOccupancyChanged;
        }

        Refresh();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        devices.DevicesChanged -= OnDevicesChanged;
        if (devices.Controls is { } controls)
        {
            controls.OccupancyChanged -= OnOccupancyChanged;
        }

        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(s_recheck, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Refresh();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void OnDevicesChanged(object? sender, EventArgs e) => Refresh();

    private void OnOccupancyChanged(object? sender, bool occupied) => Refresh();

    private static DeviceKind KindOf(IDevice device) => device switch
    {
        ICamera => DeviceKind.Camera,
        IMicrophone => DeviceKind.Microphone,
        ISpeaker => DeviceKind.Speaker,
        IDisplay => DeviceKind.Display,
        _ => DeviceKind.Gpio,
    };

    private static bool Same(IReadOnlyList<DeviceInfo> a, List<DeviceInfo> b) =>
        a.Count == b.Count && a.Zip(b).All(p =>
            p.First with { Capabilities = p.Second.Capabilities } == p.Second
            && p.First.Capabilities.Count == p.Second.Capabilities.Count
            && p.First.Capabilities.All(kv => p.Second.Capabilities.TryGetValue(kv.Key, out var v) && v == kv.Value));
}
