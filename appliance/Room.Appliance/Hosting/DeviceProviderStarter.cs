using Microsoft.Extensions.Hosting;
using Room.Appliance.Camera;
using Room.Devices;

namespace Room.Appliance.Hosting;

/// <summary>Starts device discovery and reads the initial camera position before anything is published.</summary>
public sealed class DeviceProviderStarter(IDeviceProvider devices, CameraService cameras) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await devices.StartAsync(cancellationToken);
        await cameras.RefreshAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
