using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Room.Appliance.Administration;

/// <summary>
/// What an administrator has set on this room, kept on the data partition (state folder, settings.json). A null value
/// means "not set here": room.json's installer default applies. Holds no secrets.
/// </summary>
public sealed record AdminSettings
{
    public string? RoomName { get; init; }

    public string? DefaultCamera { get; init; }

    public string? DefaultPreset { get; init; }

    public int? DisplayStandbyMinutes { get; init; }

    public uint? DefaultVolume { get; init; }

    public string? Language { get; init; }

    public string? TimeZone { get; init; }

    public IReadOnlyList<string>? NtpServers { get; init; }

    public string? MaintenanceStart { get; init; }

    public uint? MaintenanceMinutes { get; init; }

    /// <summary>The HTTP(S) proxy for roomd's own outgoing HTTP, "http://host:port" (never with credentials); null or "" for none.</summary>
    public string? Proxy { get; init; }

    /// <summary>A free-form counter that changes with each write (the atomic-write test tells versions apart by it).</summary>
    public long Revision { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminSettings))]
internal sealed partial class AdminSettingsJson : JsonSerializerContext;

/// <summary>Why an administration request is refused; BusApi maps each kind to its D-Bus error name.</summary>
public enum AdminRefusalKind
{
    NotAuthorized,
    LockedOut,
    OutOfRange,
    InvalidArgument,
    UnknownCamera,
    UnknownPreset,
    NotSupported,
    Failed,
}

/// <summary>An administration request refused; nothing was changed.</summary>
public sealed class AdminRefusedException : Exception
{
    public AdminRefusedException(AdminRefusalKind kind, string message)
        : base(message) => Kind = kind;

    public AdminRefusedException()
        : this(AdminRefusalKind.Failed, "Refused.")
    {
    }

    public AdminRefusedException(string message)
        : this(AdminRefusalKind.Failed, message)
    {
    }

    public AdminRefusedException(string message, Exception innerException)
        : base(message, innerException) => Kind = AdminRefusalKind.Failed;

    public AdminRefusalKind Kind { get; }
}

/// <summary>The rules every setting must meet, on the way in (refused) and when read back from disk (dropped).</summary>
public static partial class AdminSettingsRules
{
    public static readonly IReadOnlyList<string> Languages = ["de", "en"];

    public const int MaxNtpServers = 5;

    public static string RoomName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim();
        if (trimmed.Length is 0 or > 80)
        {
            throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"A room name has 1 to 80 characters, not {trimmed.Length}.");
        }

        if (trimmed.Any(char.IsControl))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "A room name cannot hold control characters.");
        }

        return trimmed;
    }

    public static int DisplayStandby(uint minutes) => minutes <= 24 * 60
        ? (int)minutes
        : throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"Display standby is 0..1440 minutes, not {minutes}.");

    public static uint Volume(uint volume) => volume <= 100
        ? volume
        : throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"Volume is outside 0..100: {volume}.");

    public static string Language(string language) => Languages.Contains(language)
        ? language
        : throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"Language must be one of {string.Join(", ", Languages)}, not '{Clip(language)}'.");

    /// <summary>An IANA zone id this system's time zone database has.</summary>
    public static string TimeZone(string zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (!ZoneId().IsMatch(zone) || zone.Contains("..", StringComparison.Ordinal))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"'{Clip(zone)}' is not a time zone name like Europe/Berlin.");
        }

        try
        {
            _ = TimeZoneInfo.FindSystemTimeZoneById(zone);
            return zone;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"This system knows no time zone '{zone}'.");
        }
    }

    public static IReadOnlyList<string> NtpServers(IReadOnlyList<string> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        if (servers.Count > MaxNtpServers)
        {
            throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"At most {MaxNtpServers} NTP servers, not {servers.Count}.");
        }

        foreach (var s in servers)
        {
            if (s.Length is 0 or > 253 || Uri.CheckHostName(s) == UriHostNameType.Unknown)
            {
                throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"'{Clip(s)}' is not a host name or address.");
            }
        }

        if (servers.Distinct(StringComparer.OrdinalIgnoreCase).Count() != servers.Count)
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "An NTP server is listed twice.");
        }

        return [.. servers];
    }

    /// <summary>"HH:MM" and 0..720 minutes; ("", 0) clears the window.</summary>
    public static (string Start, uint Minutes) MaintenanceWindow(string start, uint minutes)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (start.Length == 0 && minutes == 0)
        {
            return ("", 0);
        }

        if (!TimeOnly.TryParseExact(start, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"A maintenance window starts at HH:MM (24 h), not '{Clip(start)}'.");
        }

        return minutes is >= 1 and <= 720
            ? (start, minutes)
            : throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"A maintenance window lasts 1..720 minutes, not {minutes}.");
    }

    /// <summary>
    /// An HTTP proxy URL, normalised to "http://host:port" ("" clears it). Credentials in the URL are refused: they would
    /// show in properties, logs and diagnostics.
    /// </summary>
    public static string Proxy(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Length == 0)
        {
            return "";
        }

        if (url.Length > 300 || url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "A proxy is an http:// URL like http://proxy.example:3128.");
        }

        if (uri.UserInfo.Length > 0 || url.Contains('@', StringComparison.Ordinal))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "A proxy URL with credentials is not supported (they would be shown in properties and logs).");
        }

        if (uri.Host.Length == 0 || uri.HostNameType == UriHostNameType.Unknown || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || url.EndsWith('#') || url.EndsWith('?'))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "A proxy URL is http://HOST:PORT, without a path, query or fragment.");
        }

        if (uri.Port is < 1 or > 65535)
        {
            throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"A proxy port is 1..65535, not {uri.Port}.");
        }

        return $"http://{uri.Authority}";
    }

    /// <summary>The settings read from disk with every value that breaks a rule dropped (and named in <paramref name="dropped"/>).</summary>
    public static AdminSettings Sanitize(AdminSettings s, List<string> dropped)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(dropped);
        T? Keep<T>(string name, T? value, Action<T> check)
        {
            if (value is null)
            {
                return value;
            }

            try
            {
                check(value);
                return value;
            }
            catch (AdminRefusedException ex)
            {
                dropped.Add($"{name}: {ex.Message}");
                return default;
            }
        }

        var window = s.MaintenanceStart is null ? null : Keep("MaintenanceWindow", s.MaintenanceStart, v => MaintenanceWindow(v, s.MaintenanceMinutes ?? 0));
        return s with
        {
            RoomName = Keep("RoomName", s.RoomName, v => RoomName(v)),
            DefaultCamera = Keep("DefaultCamera", s.DefaultCamera, v => Id(v, "camera id")),
            DefaultPreset = Keep("DefaultPreset", s.DefaultPreset, v => Id(v, "preset name")),
            DisplayStandbyMinutes = s.DisplayStandbyMinutes is { } m and (< 0 or > 24 * 60) ? Drop<int?>(dropped, "DisplayStandbyMinutes") : s.DisplayStandbyMinutes,
            DefaultVolume = Keep("DefaultVolume", s.DefaultVolume, v => Volume(v!.Value)),
            Language = Keep("Language", s.Language, v => Language(v)),
            TimeZone = Keep("TimeZone", s.TimeZone, v => TimeZone(v)),
            NtpServers = Keep("NtpServers", s.NtpServers, v => NtpServers(v)),
            Proxy = Keep("Proxy", s.Proxy, v => Proxy(v)),
            MaintenanceStart = window,
            MaintenanceMinutes = window is null ? null : s.MaintenanceMinutes,
        };
    }

    public static string Id(string id, string what)
    {
        ArgumentNullException.ThrowIfNull(id);
        return id.Length <= 200 && !id.Any(char.IsControl)
            ? id
            : throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"That {what} is too long or holds control characters.");
    }

    private static T? Drop<T>(List<string> dropped, string name)
    {
        dropped.Add($"{name}: out of range");
        return default;
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";

    [GeneratedRegex(@"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+){0,2}\z")]
    private static partial Regex ZoneId();
}
