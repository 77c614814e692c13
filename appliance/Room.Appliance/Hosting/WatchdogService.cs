using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace Room.Appliance.Hosting;

/// <summary>
/// Feeds systemd's watchdog (WatchdogSec= in the unit) at half the interval, but only while roomd is serving
/// on the bus: a roomd that lost the bus gets restarted instead of kept alive.
/// </summary>
public sealed class WatchdogService(ISystemdNotifier notifier, BusHost bus, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled
            || !long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec)
            || usec <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMicroseconds(usec / 2.0), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (bus.IsServing)
                {
                    notifier.Notify(new ServiceState("WATCHDOG=1"));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
