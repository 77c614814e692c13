using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Administration.Network;
using Room.Appliance.Administration.Time;
using Room.Appliance.Camera;
using Room.Appliance.Inventory;
using Room.Bus.Server;

namespace Room.Appliance.Administration;

/// <summary>
/// Room administration: every operation first makes sure the caller is an admin (<see cref="AdminAuthorizer"/>), then
/// checks its input (refused with nothing changed), then stores the result atomically.
/// </summary>
public sealed class AdminService(
    AdminAuthorizer authorizer,
    AdminSettingsStore settings,
    PinStore pins,
    CameraService camera,
    PresetStore presets,
    DeviceInventory inventory,
    ISystemPower power,
    INetworkService network,
    ITimeService time,
    RecentLog recentLog,
    IOptions<RoomOptions> room,
    ILogger<AdminService> logger,
    IOptions<Meeting.MeetingServerCallOptions>? meetingServer = null)
{
    /// <summary>
    /// The box's meeting-server enrolment as <c>roomctl enroll</c> left it in the identity folder, read now:
    /// "enrolled as device:NAME (certificate valid until DATE)", "not enrolled", or why the identity cannot be read.
    /// </summary>
    public string EnrolmentStatus => DescribeEnrolment((meetingServer?.Value ?? new Meeting.MeetingServerCallOptions()).IdentityDirectory);

    internal static string DescribeEnrolment(string dir)
    {
        string cert = Path.Combine(dir, Room.MeetingClient.DeviceCredentials.CertificateFile);
        try
        {
            if (!File.Exists(cert) || !File.Exists(Path.Combine(dir, Room.MeetingClient.DeviceCredentials.KeyFile)))
            {
                return "not enrolled";
            }

            using var c = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(cert));
            return string.Create(CultureInfo.InvariantCulture,
                $"enrolled as {c.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false)} (certificate valid until {c.NotAfter.ToUniversalTime():yyyy-MM-dd})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            return $"identity in {dir} unreadable: {e.Message}";
        }
    }

    /// <summary>Raised when anything the Admin interface publishes may have changed.</summary>
    public event EventHandler? Changed;

    public AdminSettings Settings => settings.Current;

    public bool PinSet => pins.IsSet;

    public TimeSpan SessionLength => authorizer.SessionLength;

    /// <summary>The operating system's network service roomd hands network settings to.</summary>
    public INetworkService Network => network;

    /// <summary>The operating system's time services roomd hands the time zone and NTP servers to.</summary>
    public ITimeService Time => time;

    /// <summary>Whether the stored time settings are what the system uses, as its services last reported, and why.</summary>
    public (bool Applied, string Text) TimeStatus =>
        Administration.Time.TimeStatus.Describe(settings.Current.TimeZone, settings.Current.NtpServers, time.Unavailable, time.Readback);

    /// <summary>roomd's options as they applied at start (room.json, with the stored settings over it).</summary>
    public RoomOptions Configured => room.Value;

    /// <summary>The room's name as it applies now: the administrator's, else room.json's, else the host name.</summary>
    public string EffectiveRoomName => settings.Current.RoomName
        ?? (string.IsNullOrWhiteSpace(room.Value.Name) ? Environment.MachineName : room.Value.Name);

    public async Task<DateTimeOffset> UnlockAsync(BusCaller? caller, string pin, CancellationToken ct) =>
        await authorizer.TryUnlockAsync(caller, pin, ct)
            ?? throw new AdminRefusedException(AdminRefusalKind.NotAuthorized, "Wrong PIN.");

    public ValueTask LockAsync(BusCaller? caller, CancellationToken ct) => authorizer.LockAsync(caller, ct);

    public async Task SetPinAsync(BusCaller? caller, string pin, CancellationToken ct)
    {
        var who = await authorizer.RequireAdminAsync(caller, ct);
        PinStore.Validate(pin);
        await Task.Run(() => pins.Set(pin), ct);
        authorizer.EndAllSessions();
        logger.LogInformation("Admin PIN set by Unix user {Uid}; every admin session ended", who.Uid);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    public Task SetRoomNameAsync(BusCaller? caller, string name, CancellationToken ct) =>
        UpdateAsync(caller, "room name", s => s with { RoomName = AdminSettingsRules.RoomName(name) }, ct);

    public Task SetDefaultCameraAsync(BusCaller? caller, string id, string preset, CancellationToken ct) =>
        UpdateAsync(caller, "default camera", s =>
        {
            AdminSettingsRules.Id(id, "camera id");
            AdminSettingsRules.Id(preset, "preset name");
            var cameras = camera.Snapshot.Cameras;
            if (id.Length > 0 && !cameras.Any(c => c.Id == id))
            {
                throw new AdminRefusedException(AdminRefusalKind.UnknownCamera, $"No camera '{id}' is connected.");
            }

            var presetCamera = id.Length > 0 ? id : cameras.Count > 0 ? cameras[0].Id : "";
            if (preset.Length > 0 && !presets.Names(presetCamera).Contains(preset))
            {
                throw new AdminRefusedException(AdminRefusalKind.UnknownPreset, $"Camera '{presetCamera}' has no preset '{preset}'.");
            }

            return s with { DefaultCamera = id, DefaultPreset = preset };
        }, ct);

    public Task SetDisplayStandbyAsync(BusCaller? caller, uint minutes, CancellationToken ct) =>
        UpdateAsync(caller, "display standby", s => s with { DisplayStandbyMinutes = AdminSettingsRules.DisplayStandby(minutes) }, ct);

    public Task SetDefaultVolumeAsync(BusCaller? caller, uint volume, CancellationToken ct) =>
        UpdateAsync(caller, "default volume", s => s with { DefaultVolume = AdminSettingsRules.Volume(volume) }, ct);

    public Task SetLanguageAsync(BusCaller? caller, string language, CancellationToken ct) =>
        UpdateAsync(caller, "language", s => s with { Language = AdminSettingsRules.Language(language) }, ct);

    /// <summary>
    /// Checks the time zone and NTP servers (refused with nothing changed), hands them to the time services when roomd has
    /// them (their refusal: nothing applied, nothing stored), then stores them.
    /// </summary>
    public async Task SetTimeAsync(BusCaller? caller, string zone, IReadOnlyList<string> ntp, CancellationToken ct)
    {
        var who = await authorizer.RequireAdminAsync(caller, ct);
        var (z, servers) = (AdminSettingsRules.TimeZone(zone), AdminSettingsRules.NtpServers(ntp));
        if (time.Unavailable is null)
        {
            await time.ApplyAsync(z, servers, ct);
        }

        settings.Update(s => s with { TimeZone = z, NtpServers = servers });
        logger.LogInformation("Setting changed by Unix user {Uid}: time ({Zone}; {Status})", who.Uid, z, TimeStatus.Text);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    public Task SetMaintenanceWindowAsync(BusCaller? caller, string start, uint minutes, CancellationToken ct) =>
        UpdateAsync(caller, "maintenance window", s =>
        {
            var (st, m) = AdminSettingsRules.MaintenanceWindow(start, minutes);
            return s with { MaintenanceStart = st, MaintenanceMinutes = m };
        }, ct);

    /// <summary>
    /// Checks the network settings (refused with nothing changed), then hands them to the network service; on its refusal
    /// the previous settings stay.
    /// </summary>
    public async Task SetNetworkAsync(BusCaller? caller, string mode, string address, uint prefix, string gateway, IReadOnlyList<string> dns, CancellationToken ct)
    {
        var who = await authorizer.RequireAdminAsync(caller, ct);
        var config = NetworkRules.Validate(mode, address, prefix, gateway, dns);
        if (network.Unavailable is { } why)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotSupported, why);
        }

        await network.ApplyAsync(config, ct);
        logger.LogInformation("Setting changed by Unix user {Uid}: network ({Mode} {Address})", who.Uid, config.ModeName, config.AddressText);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>The HTTP(S) proxy for roomd's own outgoing HTTP ("" for none); an http:// URL without credentials.</summary>
    public Task SetProxyAsync(BusCaller? caller, string url, CancellationToken ct) =>
        UpdateAsync(caller, "proxy", s => s with { Proxy = AdminSettingsRules.Proxy(url) }, ct);

    public async Task<string> GetDiagnosticsAsync(BusCaller? caller, CancellationToken ct)
    {
        await authorizer.RequireAdminAsync(caller, ct);
        await time.RefreshAsync(ct);
        return BuildDiagnostics();
    }

    public async Task RebootAsync(BusCaller? caller, CancellationToken ct)
    {
        var who = await authorizer.RequireAdminAsync(caller, ct);
        if (power.Unavailable is { } why)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotSupported, why);
        }

        logger.LogWarning("Reboot requested by Unix user {Uid}", who.Uid);
        await power.RebootAsync(ct);
    }

    public async Task FactoryResetAsync(BusCaller? caller, CancellationToken ct)
    {
        var who = await authorizer.RequireAdminAsync(caller, ct);
        if (power.Unavailable is { } why)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotSupported, "Factory reset needs a restart afterwards: " + why);
        }

        logger.LogWarning("Factory reset requested by Unix user {Uid}: forgetting settings, PIN and camera presets", who.Uid);
        settings.Reset();
        network.Forget();
        time.Forget();
        pins.Delete();
        presets.DeleteAll();
        authorizer.EndAllSessions();
        Changed?.Invoke(this, EventArgs.Empty);
        await power.RebootAsync(ct);
    }

    internal string BuildDiagnostics()
    {
        var s = settings.Current;
        var b = new StringBuilder();
        b.AppendLine("# Room diagnostics (no secrets: no PIN, no PIN hash, no meeting keys)");
        b.AppendLine(CultureInfo.InvariantCulture, $"created: {DateTimeOffset.UtcNow:u}");
        b.AppendLine();
        b.AppendLine("## versions");
        b.AppendLine(CultureInfo.InvariantCulture, $"roomd: {SystemInfo.Version}");
        b.AppendLine(CultureInfo.InvariantCulture, $".NET: {RuntimeInformation.FrameworkDescription}");
        b.AppendLine(CultureInfo.InvariantCulture, $"os: {OsName()}");
        b.AppendLine(CultureInfo.InvariantCulture, $"kernel: {RuntimeInformation.OSDescription}");
        b.AppendLine(CultureInfo.InvariantCulture, $"host: {Environment.MachineName}");
        b.AppendLine();
        b.AppendLine("## settings");
        b.AppendLine(CultureInfo.InvariantCulture, $"room name: {EffectiveRoomName}");
        b.AppendLine(CultureInfo.InvariantCulture, $"default camera: {s.DefaultCamera ?? room.Value.DefaultCamera} preset: {s.DefaultPreset ?? ""}");
        b.AppendLine(CultureInfo.InvariantCulture, $"display standby: {s.DisplayStandbyMinutes ?? room.Value.DisplayStandbyMinutes} min");
        b.AppendLine(CultureInfo.InvariantCulture, $"default volume: {s.DefaultVolume ?? room.Value.InitialVolume}");
        b.AppendLine(CultureInfo.InvariantCulture, $"language: {s.Language ?? "de"}");
        b.AppendLine(CultureInfo.InvariantCulture, $"time zone: {s.TimeZone ?? "(system)"} ntp: {string.Join(' ', s.NtpServers ?? [])} ({TimeStatus.Text})");
        var net = network.Current;
        b.AppendLine(CultureInfo.InvariantCulture, $"network: {(network.Name.Length == 0 ? "not managed by roomd" : $"{network.Name} on {network.InterfaceName}: {(net is null ? "image defaults" : $"{net.ModeName} {net.AddressText} gateway {net.Gateway?.ToString() ?? "-"} dns {string.Join(' ', net.Dns)}")}")} kernel: {string.Join(' ', network.KernelAddresses())}");
        b.AppendLine(CultureInfo.InvariantCulture, $"proxy: {(s.Proxy is { Length: > 0 } proxy ? proxy : "none")}");
        b.AppendLine(CultureInfo.InvariantCulture, $"maintenance window: {(s.MaintenanceStart is { Length: > 0 } st ? $"{st} for {s.MaintenanceMinutes} min" : "none")}");
        b.AppendLine(CultureInfo.InvariantCulture, $"admin PIN set: {(pins.IsSet ? "yes" : "no")}");
        b.AppendLine(CultureInfo.InvariantCulture, $"enrolment: {EnrolmentStatus}");
        b.AppendLine(CultureInfo.InvariantCulture, $"power: {power.Unavailable ?? power.GetType().Name}");
        b.AppendLine();
        b.AppendLine("## devices");
        foreach (var d in inventory.Devices)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"{d.Kind} {d.Id} \"{d.Name}\" driver={d.Driver} health={d.Health} {d.HealthDetail}");
        }

        b.AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"## recent log (last {RecentLog.Capacity} lines at most, URI fragments redacted)");
        foreach (var line in recentLog.Lines)
        {
            b.AppendLine(RecentLog.Redact(line));
        }

        return b.ToString();
    }

    private async Task UpdateAsync(BusCaller? caller, string what, Func<AdminSettings, AdminSettings> change, CancellationToken ct)
    {
        var who = await authorizer.RequireAdminAsync(caller, ct);
        settings.Update(change);
        logger.LogInformation("Setting changed by Unix user {Uid}: {What}", who.Uid, what);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    private static string OsName()
    {
        try
        {
            var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            return line?["PRETTY_NAME=".Length..].Trim('"') ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
