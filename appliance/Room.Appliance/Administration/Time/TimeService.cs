using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Administration.Time;

/// <summary>
/// What the operating system's time services report now: timedated's time zone, timesyncd's NTP servers (its
/// SystemNTPServers) and the server it uses; a null value could not be read, and <see cref="Problems"/> says why.
/// </summary>
public sealed record TimeReadback(string? Zone, IReadOnlyList<string>? NtpServers, string ServerName, IReadOnlyList<string> Problems);

/// <summary>Applies the administrator's time zone and NTP servers through the operating system's own services.</summary>
public interface ITimeService
{
    /// <summary>"systemd-timedated and systemd-timesyncd", or "" when roomd applies no time settings.</summary>
    string Name { get; }

    /// <summary>Null when settings are applied, else why not (SetTime then only stores them).</summary>
    string? Unavailable { get; }

    /// <summary>What the services reported when last asked; null before the first read.</summary>
    TimeReadback? Readback { get; }

    /// <summary>Raised when <see cref="Readback"/> changed.</summary>
    event EventHandler? Changed;

    /// <summary>Hands the settings to the services and reads them back; refused with nothing changed on their refusal.</summary>
    Task ApplyAsync(string zone, IReadOnlyList<string> ntpServers, CancellationToken cancellationToken);

    /// <summary>Asks the services again what they use.</summary>
    Task RefreshAsync(CancellationToken cancellationToken);

    /// <summary>Removes roomd's NTP drop-in (factory reset): the image's servers apply from the next start.</summary>
    void Forget();
}

/// <summary>Admin:Time = none: the settings are stored, nothing applies them.</summary>
public sealed class NoTimeService : ITimeService
{
    public string Name => "";

    public string? Unavailable => "roomd applies no time settings (Admin:Time is none)";

    public TimeReadback? Readback => null;

    public event EventHandler? Changed { add { } remove { } }

    public Task ApplyAsync(string zone, IReadOnlyList<string> ntpServers, CancellationToken cancellationToken) =>
        throw new AdminRefusedException(AdminRefusalKind.NotSupported, Unavailable!);

    public Task RefreshAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Forget()
    {
    }
}

/// <summary>
/// Admin:Time = systemd, as on a Debian box: the zone through systemd-timedated (org.freedesktop.timedate1.SetTimezone,
/// which links /etc/localtime), the NTP servers as a timesyncd.conf.d drop-in (written as <see cref="OsConfigFile"/>)
/// after which systemd restarts systemd-timesyncd (org.freedesktop.systemd1.Manager.RestartUnit; timesyncd reads its
/// configuration only when it starts). What timedated and timesyncd then report is read back (Timezone,
/// SystemNTPServers, ServerName). A refusal of either changes nothing: the drop-in and the zone are put back.
/// </summary>
public sealed class SystemdTimeService(string bus, string syncDirectory, string syncUnit, ILogger<SystemdTimeService> logger) : ITimeService, IDisposable
{
    public const string Timedate = "org.freedesktop.timedate1";
    public const string Timesync = "org.freedesktop.timesync1";
    private const string TimedatePath = "/org/freedesktop/timedate1";
    private const string TimesyncPath = "/org/freedesktop/timesync1";
    private const string TimesyncManager = "org.freedesktop.timesync1.Manager";

    /// <summary>How long roomd waits for a restarted timesyncd to be back on the bus before reading it.</summary>
    private static readonly TimeSpan RestartPatience = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private TimeReadback? _readback;

    public string Name => "systemd-timedated and systemd-timesyncd";

    public string? Unavailable => bus.Length == 0 ? "No system bus to reach systemd-timedated and systemd-timesyncd." : null;

    public string DropInPath { get; } = Path.Combine(syncDirectory, TimesyncdDropIn.FileName);

    public TimeReadback? Readback => Volatile.Read(ref _readback);

    public event EventHandler? Changed;

    public async Task ApplyAsync(string zone, IReadOnlyList<string> ntpServers, CancellationToken cancellationToken)
    {
        if (Unavailable is { } why)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotSupported, why);
        }

        var dropIn = TimesyncdDropIn.Render(ntpServers);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var zoneBefore = (await ReadAsync(cancellationToken)).Zone;
            await SetZoneAsync(zone, cancellationToken);
            var previous = OsConfigFile.Read(DropInPath);
            if ((previous is null) != (dropIn is null) || !(previous ?? []).AsSpan().SequenceEqual(dropIn ?? []))
            {
                try
                {
                    await RestartTimesyncdAsync(dropIn, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException || OsBus.IsFailure(ex))
                {
                    await PutBackAsync(previous, zoneBefore, zone);
                    logger.LogError("systemd-timesyncd did not take the NTP servers ({Error}); the previous drop-in and time zone were put back", OsBus.Describe(ex));
                    throw TimeRefusals.Timesyncd(syncUnit, ex);
                }
            }

            Publish(await ReadAsync(cancellationToken));
            logger.LogInformation("Time zone {Zone} handed to systemd-timedated, NTP servers [{Ntp}] to systemd-timesyncd", zone, string.Join(' ', ntpServers));
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (Unavailable is null)
        {
            Publish(await ReadAsync(cancellationToken));
        }
    }

    public void Forget() => OsConfigFile.Put(DropInPath, null);

    public void Dispose() => _gate.Dispose();

    private async Task SetZoneAsync(string zone, CancellationToken cancellationToken)
    {
        try
        {
            await OsBus.CallAsync(bus, Timedate, TimedatePath, Timedate, "SetTimezone", cancellationToken, zone, false);
        }
        catch (Exception ex) when (OsBus.IsFailure(ex))
        {
            logger.LogError("systemd-timedated did not set the time zone {Zone}: {Error}", zone, OsBus.Describe(ex));
            throw TimeRefusals.Timedated(zone, ex);
        }
    }

    /// <summary>Writes the drop-in (or removes it), has systemd restart timesyncd and waits until a new one is on the bus.</summary>
    private async Task RestartTimesyncdAsync(byte[]? dropIn, CancellationToken cancellationToken)
    {
        var before = await NameOwnerAsync(cancellationToken);
        OsConfigFile.Put(DropInPath, dropIn);
        await OsBus.CallAsync(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "RestartUnit",
            static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString(), cancellationToken, syncUnit, "replace");
        var waited = Stopwatch.StartNew();
        string? now;
        while ((now = await NameOwnerAsync(cancellationToken)) is null || now == before)
        {
            if (waited.Elapsed > RestartPatience)
            {
                logger.LogWarning("{Unit} was restarted but {Name} is not back on the bus after {Seconds} s", syncUnit, Timesync, RestartPatience.TotalSeconds);
                return;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Best effort after a failed NTP change: the previous drop-in and zone back (the refusal is reported either way).</summary>
    private async Task PutBackAsync(byte[]? previousDropIn, string? zoneBefore, string zone)
    {
        try
        {
            OsConfigFile.Put(DropInPath, previousDropIn);
            if (zoneBefore is { Length: > 0 } && zoneBefore != zone)
            {
                await OsBus.CallAsync(bus, Timedate, TimedatePath, Timedate, "SetTimezone", CancellationToken.None, zoneBefore, false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException || OsBus.IsFailure(ex))
        {
            logger.LogError("The previous time settings could not all be put back: {Error}", OsBus.Describe(ex));
        }
    }

    private async Task<string?> NameOwnerAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await OsBus.CallAsync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner",
                static (Message m, object? _) => m.GetBodyReader().ReadString(), cancellationToken, Timesync);
        }
        catch (DBusErrorReplyException)
        {
            return null;
        }
    }

    private async Task<TimeReadback> ReadAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        async Task<VariantValue?> Get(string service, string path, string iface, string name)
        {
            try
            {
                return await OsBus.GetPropertyAsync(bus, service, path, iface, name, cancellationToken);
            }
            catch (Exception ex) when (OsBus.IsFailure(ex))
            {
                problems.Add($"{service} {name} unreadable: {OsBus.Describe(ex)}");
                return null;
            }
        }

        var zone = await Get(Timedate, TimedatePath, Timedate, "Timezone");
        var ntp = await Get(Timesync, TimesyncPath, TimesyncManager, "SystemNTPServers");
        var server = ntp is null ? null : await Get(Timesync, TimesyncPath, TimesyncManager, "ServerName");
        return new TimeReadback(zone?.GetString(), ntp?.GetArray<string>(), server?.GetString() ?? "", problems);
    }

    private void Publish(TimeReadback readback)
    {
        var old = Interlocked.Exchange(ref _readback, readback);
        if (old is null || !Same(old, readback))
        {
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }

    private static bool Same(TimeReadback a, TimeReadback b) =>
        a.Zone == b.Zone && a.ServerName == b.ServerName && a.Problems.SequenceEqual(b.Problems)
        && (a.NtpServers ?? []).SequenceEqual(b.NtpServers ?? []) && a.NtpServers is null == b.NtpServers is null;
}
