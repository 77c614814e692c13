using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Room.Appliance;
using Room.Appliance.BusApi;
using Room.Appliance.Calendar;
using Room.Appliance.Camera;
using Room.Appliance.Display;
using Room.Appliance.Framing;
using Room.Appliance.Hosting;
using Room.Appliance.Inventory;
using Room.Appliance.Media;
using Room.Appliance.Meeting;
using Room.Appliance.Automation;
using Room.Appliance.Administration;
using Room.Bus.Server;
using Room.Calendar;
using Room.Calendar.Scheduling;
using Room.Devices;
using Room.Devices.Linux;
using Room.Devices.Sharing;
using Room.Devices.Simulated;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

// Before any codec or thread allocates: fixed glibc thresholds keep a call's resident memory flat (Interop/Malloc).
var allocator = Room.Appliance.Interop.Malloc.UseFixedThresholds();

// roomd: configuration from /etc/room/room.json, ROOM_* environment variables and the command line
// (`--bus ADDRESS`, `--Room:Name "Ratssaal"`, ...), later sources winning.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
    DisableDefaults = false,
});
builder.Configuration.Sources.Clear();
builder.Configuration
    .AddJsonFile(Environment.GetEnvironmentVariable("ROOM_CONFIG") ?? "/etc/room/room.json", optional: true, reloadOnChange: false)
    .AddEnvironmentVariables("ROOM_")
    .AddCommandLine(args, new Dictionary<string, string> { ["--bus"] = "Bus:Address", ["--state"] = "Room:StateDirectory" });

builder.Services.AddSystemd();
// Outside systemd AddSystemd registers no notifier; the watchdog then sees IsEnabled == false.
builder.Services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();
// Logs: one line per event on a terminal, journald's format under systemd (AddSystemd), or JSON with
// --Logging:Console:FormatterName json for log shippers. These are defaults any configuration source overrides.
builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
{
    InitialData = new Dictionary<string, string?>
    {
        ["Logging:Console:FormatterName"] = SystemdHelpers.IsSystemdService() ? "systemd" : "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ",
    },
});
builder.Services.AddOptions<RoomOptions>().Bind(builder.Configuration.GetSection(RoomOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<RoomOptions>, IceServersValidator>();
builder.Services.AddSingleton<IceServerSet>();
builder.Services.AddOptions<BusOptions>().Bind(builder.Configuration.GetSection(BusOptions.Section));
builder.Services.AddSingleton(TimeProvider.System);

// Devices: the simulated room (options under "Devices:Simulated", e.g. a hot-plug file), or the real ones (V4L2, ALSA,
// DRM/CEC, GPIO, VISCA) configured under "Devices:Linux".
// Cameras are shared: the call's encoder and auto-framing read the same device at once.
builder.Services.AddSingleton<IDeviceProvider>(sp => new SharedCaptureDeviceProvider(sp.GetRequiredService<IOptions<RoomOptions>>().Value.Devices switch
{
    "linux" => new LinuxDeviceProvider(
        builder.Configuration.GetSection("Devices:Linux").Get<LinuxDeviceOptions>() ?? new LinuxDeviceOptions(),
        sp.GetRequiredService<ILogger<LinuxDeviceProvider>>()),
    "simulated" => new SimulatedDeviceProvider(builder.Configuration.GetSection("Devices:Simulated").Get<SimulatedDeviceOptions>()),
    var other => throw new OptionsValidationException(RoomOptions.Section, typeof(RoomOptions), [$"Device provider '{other}' is not available in this build."]),
}));
// Meetings: meeting:// to a meeting server (below); for tests only, test-janus-linkkey:// to a bare Janus VideoRoom (link-keyed SFrame) and test-loopback:// to a simulated peer.
builder.Services.AddSingleton(sp => new LoopbackTransport(sp.GetRequiredService<TimeProvider>())
{
    RekeyInterval = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<RoomOptions>>().Value.RekeySeconds),
});
builder.Services.AddSingleton<JanusTransport>();
// meeting:// goes to the meeting server: MLS group with the box's enrolled identity, Janus with MLS-derived SFrame keys.
builder.Services.AddOptions<MeetingServerCallOptions>().Bind(builder.Configuration.GetSection(MeetingServerCallOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<MeetingServerTransport>();
// What calls send: the largest picture, frame rate and bitrate, the keyframe interval (section "Call").
builder.Services.AddOptions<CallOptions>().Bind(builder.Configuration.GetSection(CallOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddSingleton<IMeetingTransport, MeetingTransportRouter>();
builder.Services.AddSingleton<MeetingService>();
builder.Services.AddSingleton<PresetStore>();
builder.Services.AddSingleton<CameraService>();
builder.Services.AddSingleton<FramingSupport>();
builder.Services.AddSingleton<AutoFramer>();
builder.Services.AddSingleton<DeviceInventory>();
builder.Services.AddSingleton<ScheduleService>();
builder.Services.AddSingleton<SystemInfo>();
builder.Services.AddSingleton<AdminPinVerifier>();
builder.Services.AddRoomAdministration(builder.Configuration);
builder.Services.AddSingleton<IBusInterface, MeetingInterface>();
builder.Services.AddSingleton<IBusInterface, CameraInterface>();
builder.Services.AddSingleton<IBusInterface, DevicesInterface>();
builder.Services.AddSingleton<Room.Appliance.Administration.TenantBrandingSource>();
builder.Services.AddSingleton<IBusInterface, SystemInterface>();
builder.Services.AddSingleton<IBusInterface, MediaInterface>();
builder.Services.AddSingleton<IBusInterface, CalendarInterface>();
// The update agent's progress (Room.Fleet), shown on org.room.Appliance1.Update.
builder.Services.AddSingleton<Room.Fleet.UpdateStatusBoard>();
builder.Services.AddSingleton<IBusInterface, UpdateInterface>();
builder.Services.AddSingleton<LoopbackMedia>();
builder.Services.AddSingleton<BusHost>();

// Order matters: state is gathered before the bus host publishes it.
builder.Services.AddHostedService<DeviceProviderStarter>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<DeviceInventory>());
builder.Services.AddHostedService(sp => sp.GetRequiredService<ScheduleService>());
// The synced calendar (section "Calendar": CalDAV/ICS sources) and its auto-join scheduler; the offline copy beside the state.
builder.Services.AddSingleton<IRoomCall, MeetingRoomCall>();
builder.Services.AddRoomCalendar(builder.Configuration.GetSection(CalendarOptions.Section), sp => sp.GetRequiredService<IOptions<RoomOptions>>().Value.StateDirectory);
builder.Services.AddHostedService(sp => sp.GetRequiredService<BusHost>());
builder.Services.AddHostedService<RoomAutomation>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<LoopbackMedia>());
// The room's display (section "Display": a DRM card, or none): the call composed on it, the idle screen outside one.
builder.Services.AddRoomDisplay(builder.Configuration.GetSection(RoomDisplayOptions.Section));
builder.Services.AddHostedService(sp => sp.GetRequiredService<AutoFramer>());
builder.Services.AddHostedService<DefaultPresetOnStart>();
builder.Services.AddHostedService<WatchdogService>();

using var host = builder.Build();
host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("roomd").LogInformation("Memory: {Allocator}", allocator);
try
{
    await host.RunAsync();
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync($"roomd: invalid configuration: {string.Join("; ", ex.Failures)}");
    return 2;
}
catch (InvalidOperationException ex)
{
    await Console.Error.WriteLineAsync($"roomd: {ex.Message}");
    return 1;
}
catch (Tmds.DBus.Protocol.DBusConnectFailedException ex)
{
    await Console.Error.WriteLineAsync($"roomd: cannot connect to the bus: {ex.Message}");
    return 1;
}

return Environment.ExitCode;
