using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Administration.Network;
using Room.Appliance.Administration.Time;
using Room.Appliance.BusApi;
using Room.Appliance.Camera;
using Room.Bus;
using Room.Bus.Server;

namespace Room.Appliance.Administration;

public static class AdministrationRegistration
{
    /// <summary>
    /// Room administration: settings and the PIN hash on the data partition (Room:StateDirectory), who may administer,
    /// the Admin bus interface, the recent-log buffer for diagnostics, and what restarts the box (Admin:Power).
    /// </summary>
    public static IServiceCollection AddRoomAdministration(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AdminOptions>().Bind(configuration.GetSection(AdminOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        string State() => configuration[$"{RoomOptions.Section}:{nameof(RoomOptions.StateDirectory)}"] is { Length: > 0 } d ? d : new RoomOptions().StateDirectory;
        services.AddSingleton(sp => new AdminSettingsStore(State(), sp.GetRequiredService<ILogger<AdminSettingsStore>>()));
        services.AddSingleton(sp =>
        {
            var pins = new PinStore(State(), sp.GetRequiredService<ILogger<PinStore>>());
            var legacy = sp.GetRequiredService<IOptions<RoomOptions>>().Value.AdminPin;
            var logger = sp.GetRequiredService<ILogger<PinStore>>();
            if (legacy.Length > 0 && !pins.IsSet)
            {
                pins.Set(legacy, legacyLength: true);
                logger.LogWarning("Room:AdminPin from the configuration was moved into the PIN hash on the data partition; remove it from room.json (set PINs with roomctl admin pin set)");
            }
            else if (legacy.Length > 0)
            {
                logger.LogWarning("Room:AdminPin in the configuration is ignored: a PIN is set on the data partition; remove it from room.json");
            }

            return pins;
        });
        services.AddSingleton<IPostConfigureOptions<RoomOptions>, ApplyAdminSettings>();
        services.AddSingleton<ICallerIdentity, BusCallerIdentity>();
        services.AddSingleton<AdminAuthorizer>();
        services.AddSingleton<AdminService>();
        services.AddSingleton<RecentLog>();
        services.AddSingleton<ILoggerProvider>(sp => sp.GetRequiredService<RecentLog>());
        services.AddSingleton<ISystemPower>(sp => sp.GetRequiredService<IOptions<AdminOptions>>().Value switch
        {
            { Power: "logind" } => new LogindSystemPower(sp.GetRequiredService<ILogger<LogindSystemPower>>()),
            { Power: "simulated" } o => new SimulatedSystemPower(o.SimulatedPowerLog, sp.GetRequiredService<ILogger<SimulatedSystemPower>>()),
            _ => new NoSystemPower(),
        });
        services.AddSingleton<INetworkService>(sp => sp.GetRequiredService<IOptions<AdminOptions>>().Value switch
        {
            { Network: "networkd" } o => new NetworkdService(
                o.NetworkInterface,
                o.NetworkConfigDirectory,
                o.NetworkBus.Length > 0 ? o.NetworkBus : Tmds.DBus.Protocol.DBusAddress.System ?? "",
                sp.GetRequiredService<ILogger<NetworkdService>>()),
            _ => new NoNetworkService(),
        });
        services.AddSingleton<ITimeService>(sp => sp.GetRequiredService<IOptions<AdminOptions>>().Value switch
        {
            { Time: "systemd" } o => new SystemdTimeService(
                o.TimeBus.Length > 0 ? o.TimeBus : Tmds.DBus.Protocol.DBusAddress.System ?? "",
                o.TimeSyncDirectory,
                o.TimeSyncUnit,
                sp.GetRequiredService<ILogger<SystemdTimeService>>()),
            _ => new NoTimeService(),
        });
        services.AddHostedService<TimeReadbackOnStart>();
        services.AddSingleton<System.Net.IWebProxy, AdminProxy>();
        services.AddSingleton<IBusInterface, AdminInterface>();
        return services;
    }

    /// <summary>The administrator's settings over room.json's: what roomd starts with.</summary>
    private sealed class ApplyAdminSettings(AdminSettingsStore store) : IPostConfigureOptions<RoomOptions>
    {
        public void PostConfigure(string? name, RoomOptions options)
        {
            var s = store.Current;
            options.Name = s.RoomName ?? options.Name;
            options.DefaultCamera = s.DefaultCamera ?? options.DefaultCamera;
            options.DisplayStandbyMinutes = s.DisplayStandbyMinutes ?? options.DisplayStandbyMinutes;
            options.InitialVolume = s.DefaultVolume ?? options.InitialVolume;
        }
    }
}

/// <summary>Recalls the administrator's default preset once the cameras are up.</summary>
public sealed class DefaultPresetOnStart(AdminSettingsStore settings, CameraService camera, ILogger<DefaultPresetOnStart> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Current.DefaultPreset is not { Length: > 0 } preset)
        {
            return;
        }

        try
        {
            await camera.RecallPresetAsync(preset);
            logger.LogInformation("Default preset {Preset} recalled", preset);
        }
        catch (RoomBusException ex)
        {
            logger.LogWarning("Default preset {Preset} not recalled: {Error}", preset, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Reads back what timedated and timesyncd use once roomd is up, without holding up its start.</summary>
public sealed class TimeReadbackOnStart(ITimeService time, ILogger<TimeReadbackOnStart> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                await time.RefreshAsync(CancellationToken.None);
            }
            catch (Exception ex) when (OsBus.IsFailure(ex))
            {
                logger.LogWarning("Time settings not read back: {Error}", OsBus.Describe(ex));
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
