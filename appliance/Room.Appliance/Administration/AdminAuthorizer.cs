using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Bus.Server;

namespace Room.Appliance.Administration;

/// <summary>Who is calling: the sender's unique bus name and its Unix user, as the bus daemon vouches for it.</summary>
public sealed record AdminCaller(string UniqueName, uint Uid)
{
    public bool IsRoot => Uid == 0;
}

/// <summary>Finds a bus caller's Unix user.</summary>
public interface ICallerIdentity
{
    /// <summary>The caller of the method call being handled; refused (NotAuthorized) when it cannot be established.</summary>
    ValueTask<AdminCaller> IdentifyAsync(BusCaller? caller, CancellationToken cancellationToken);
}

public sealed class AdminOptions : System.ComponentModel.DataAnnotations.IValidatableObject
{
    public const string Section = "Admin";

    /// <summary>How long an admin session opened with the PIN lasts, 60..3600 s.</summary>
    [System.ComponentModel.DataAnnotations.Range(60, 3600)]
    public int SessionSeconds { get; set; } = 600;

    /// <summary>What restarts the box: "none" (Reboot and FactoryReset refused), "logind" (systemd-logind over D-Bus), or
    /// "simulated" (tests: each request is appended to <see cref="SimulatedPowerLog"/>).</summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^(none|logind|simulated)$", ErrorMessage = "Admin:Power must be none, logind or simulated.")]
    public string Power { get; set; } = "none";

    public string SimulatedPowerLog { get; set; } = "";

    /// <summary>Who applies network settings: "none" (SetNetwork refused) or "networkd" (systemd-networkd over D-Bus).</summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^(none|networkd)$", ErrorMessage = "Admin:Network must be none or networkd.")]
    public string Network { get; set; } = "none";

    /// <summary>The room's wired interface (e.g. enp1s0); needed with Admin:Network = networkd.</summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^([A-Za-z0-9_.-]{1,15})?$", ErrorMessage = "Admin:NetworkInterface must be an interface name (1-15 letters, digits, _ . -).")]
    public string NetworkInterface { get; set; } = "";

    /// <summary>Where roomd writes its .network file (systemd-networkd reads /etc/systemd/network).</summary>
    public string NetworkConfigDirectory { get; set; } = "/etc/systemd/network";

    /// <summary>The bus systemd-networkd is on; empty: the system bus.</summary>
    public string NetworkBus { get; set; } = "";

    /// <summary>Who applies the time zone and NTP servers: "none" (SetTime only stores them) or "systemd"
    /// (systemd-timedated over D-Bus; a systemd-timesyncd drop-in, then systemd restarts timesyncd).</summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^(none|systemd)$", ErrorMessage = "Admin:Time must be none or systemd.")]
    public string Time { get; set; } = "none";

    /// <summary>Where roomd writes its timesyncd drop-in (timesyncd reads /etc/systemd/timesyncd.conf.d).</summary>
    public string TimeSyncDirectory { get; set; } = "/etc/systemd/timesyncd.conf.d";

    /// <summary>The unit systemd restarts so that timesyncd reads the drop-in.</summary>
    [System.ComponentModel.DataAnnotations.RegularExpression(@"^[A-Za-z0-9:_.@-]{1,200}\.service$", ErrorMessage = "Admin:TimeSyncUnit must be a .service unit name.")]
    public string TimeSyncUnit { get; set; } = "systemd-timesyncd.service";

    /// <summary>The bus timedated, timesyncd and systemd are on; empty: the system bus.</summary>
    public string TimeBus { get; set; } = "";

    public IEnumerable<System.ComponentModel.DataAnnotations.ValidationResult> Validate(System.ComponentModel.DataAnnotations.ValidationContext validationContext)
    {
        if (Network == "networkd" && NetworkInterface.Length == 0)
        {
            yield return new("Admin:Network = networkd needs Admin:NetworkInterface (the room's wired interface).", [nameof(NetworkInterface)]);
        }

        if (Network == "networkd" && !Path.IsPathFullyQualified(NetworkConfigDirectory))
        {
            yield return new("Admin:NetworkConfigDirectory must be an absolute path.", [nameof(NetworkConfigDirectory)]);
        }

        if (Time == "systemd" && !Path.IsPathFullyQualified(TimeSyncDirectory))
        {
            yield return new("Admin:TimeSyncDirectory must be an absolute path.", [nameof(TimeSyncDirectory)]);
        }
    }
}

/// <summary>
/// Decides who may administer the room: root always; anyone else only on a bus connection an admin session was opened on
/// with the right PIN, until it expires. Wrong PINs are counted per Unix user: the first <see cref="FreeFailures"/> cost
/// nothing (typos), then each further attempt must wait, 30 s doubling up to an hour, before it is even checked.
/// </summary>
public sealed class AdminAuthorizer(PinStore pins, ICallerIdentity identity, TimeProvider time, IOptions<AdminOptions> options, ILogger<AdminAuthorizer> logger)
{
    public const int FreeFailures = 4;
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, (int Failures, DateTimeOffset NotBefore)> _guesses = [];

    public TimeSpan SessionLength => TimeSpan.FromSeconds(options.Value.SessionSeconds);

    /// <summary>Refuses (NotAuthorized, with the reason) unless the caller is root or its connection has a live session.</summary>
    public async ValueTask<AdminCaller> RequireAdminAsync(BusCaller? caller, CancellationToken cancellationToken)
    {
        var who = await identity.IdentifyAsync(caller, cancellationToken);
        if (who.IsRoot)
        {
            return who;
        }

        lock (_gate)
        {
            if (_sessions.TryGetValue(who.UniqueName, out var until))
            {
                if (time.GetUtcNow() < until)
                {
                    return who;
                }

                _sessions.Remove(who.UniqueName);
                throw new AdminRefusedException(AdminRefusalKind.NotAuthorized, "The admin session of this connection has expired; unlock again with the PIN.");
            }
        }

        throw new AdminRefusedException(AdminRefusalKind.NotAuthorized,
            $"Administration needs root or an admin session on this connection (Unix user {who.Uid} has none; unlock with the PIN).");
    }

    /// <summary>Checks the PIN for the caller; when right, opens (or renews) the admin session of its connection.</summary>
    /// <returns>When the session ends, or null for a wrong PIN.</returns>
    public async ValueTask<DateTimeOffset?> TryUnlockAsync(BusCaller? caller, string pin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pin);
        var who = await identity.IdentifyAsync(caller, cancellationToken);
        if (!pins.IsSet)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotAuthorized, "No admin PIN is set on this room; root must set one (roomctl admin pin set).");
        }

        if (pin.Length > 64)
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "A PIN is at most 64 characters.");
        }

        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_guesses.TryGetValue(who.Uid, out var g) && now < g.NotBefore)
            {
                throw new AdminRefusedException(AdminRefusalKind.LockedOut,
                    $"Too many wrong PINs from this user; try again in {Math.Ceiling((g.NotBefore - now).TotalSeconds)} s.");
            }
        }

        var ok = pins.Verify(pin);
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (ok)
            {
                _guesses.Remove(who.Uid);
                var until = now + SessionLength;
                _sessions[who.UniqueName] = until;
                Prune(now);
                logger.LogInformation("Admin session opened for {Connection} (Unix user {Uid}) until {Until:u}", who.UniqueName, who.Uid, until);
                return until;
            }

            var failures = (_guesses.TryGetValue(who.Uid, out var g) ? g.Failures : 0) + 1;
            var delay = DelayAfter(failures);
            _guesses[who.Uid] = (failures, now + delay);
            logger.LogWarning("Wrong admin PIN from Unix user {Uid} ({Failures} in a row){Wait}", who.Uid, failures,
                delay > TimeSpan.Zero ? $"; next attempt in {delay.TotalSeconds} s" : "");
            return null;
        }
    }

    /// <summary>The wait imposed after <paramref name="failures"/> wrong PINs in a row.</summary>
    public static TimeSpan DelayAfter(int failures) => failures <= FreeFailures
        ? TimeSpan.Zero
        : TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(failures - FreeFailures - 1, 20)));

    /// <summary>Ends the caller's session, if it has one.</summary>
    public async ValueTask LockAsync(BusCaller? caller, CancellationToken cancellationToken)
    {
        var who = await identity.IdentifyAsync(caller, cancellationToken);
        lock (_gate)
        {
            _sessions.Remove(who.UniqueName);
        }
    }

    /// <summary>Ends every session (the PIN changed, or the room was reset).</summary>
    public void EndAllSessions()
    {
        lock (_gate)
        {
            _sessions.Clear();
        }
    }

    /// <summary>A connection left the bus: its session, if any, goes with it.</summary>
    public void ConnectionClosed(string uniqueName)
    {
        lock (_gate)
        {
            _sessions.Remove(uniqueName);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (name, until) in _sessions.Where(kv => kv.Value <= now).ToList())
        {
            _sessions.Remove(name);
        }
    }
}

/// <summary>Asks the bus daemon (org.freedesktop.DBus.GetConnectionUnixUser) who a caller is.</summary>
public sealed class BusCallerIdentity : ICallerIdentity
{
    public async ValueTask<AdminCaller> IdentifyAsync(BusCaller? caller, CancellationToken cancellationToken)
    {
        if (caller is null || caller.UniqueName.Length == 0)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotAuthorized, "The caller cannot be identified.");
        }

        var connection = caller.Connection;
        Tmds.DBus.Protocol.MessageBuffer message;
        using (var writer = connection.GetMessageWriter())
        {
            writer.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser", "s");
            writer.WriteString(caller.UniqueName);
            message = writer.CreateMessage();
        }

        try
        {
            var uid = await connection.CallMethodAsync(message, static (Tmds.DBus.Protocol.Message m, object? _) => m.GetBodyReader().ReadUInt32())
                .WaitAsync(cancellationToken);
            return new AdminCaller(caller.UniqueName, uid);
        }
        catch (Tmds.DBus.Protocol.DBusErrorReplyException ex)
        {
            throw new AdminRefusedException(AdminRefusalKind.NotAuthorized, $"The bus does not know the caller's Unix user: {ex.ErrorMessage}");
        }
    }
}
