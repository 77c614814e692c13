using System.ComponentModel.DataAnnotations;

namespace Room.Calendar;

/// <summary>The room's calendar: section "Calendar" of room.json.</summary>
public sealed class CalendarOptions : IValidatableObject
{
    public const string Section = "Calendar";

    /// <summary>Where the agenda comes from; none: the calendar is off (the static agenda in Room:Calendar remains).</summary>
    public List<CalendarSourceOptions> Sources { get; set; } = [];

    /// <summary>Seconds before a meeting's start at which the room joins it.</summary>
    [Range(0, 3600)]
    public int JoinLeadSeconds { get; set; } = 60;

    /// <summary>Seconds between syncs.</summary>
    [Range(10, 24 * 3600)]
    public int SyncIntervalSeconds { get; set; } = 300;

    /// <summary>Seconds one request to a calendar server may take.</summary>
    [Range(1, 600)]
    public int RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>Largest answer accepted from a server, in bytes.</summary>
    [Range(1024, 512L * 1024 * 1024)]
    public long MaxResponseBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Whether the room joins joinable meetings by itself.</summary>
    public bool AutoJoin { get; set; } = true;

    /// <summary>The meeting-server whose https://server/meetings/... addresses are joinable (https://host[:port]).</summary>
    public string MeetingServer { get; set; } = "";

    /// <summary>IANA zone of floating times and all-day dates; empty: the system's zone.</summary>
    public string TimeZone { get; set; } = "";

    /// <summary>The offline copy of the last synced calendar (on the data partition); empty: beside roomd's state.</summary>
    public string CacheFile { get; set; } = "";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MeetingServer.Length > 0 && (!Uri.TryCreate(MeetingServer, UriKind.Absolute, out var ms) || ms.Scheme != "https"))
        {
            yield return new ValidationResult("Calendar:MeetingServer must be an https:// address.");
        }

        if (TimeZone.Length > 0 && !TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _))
        {
            yield return new ValidationResult($"Calendar:TimeZone '{TimeZone}' is not a known time zone.");
        }

        for (var i = 0; i < Sources.Count; i++)
        {
            var s = Sources[i];
            if (s.Kind is not ("caldav" or "ics"))
            {
                yield return new ValidationResult($"Calendar:Sources:{i}:Kind must be 'caldav' or 'ics'.");
            }

            if (!Uri.TryCreate(s.Url, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(u.UserInfo))
            {
                yield return new ValidationResult($"Calendar:Sources:{i}:Url must be an http(s) address without credentials (they go in CredentialsFile).");
            }
        }
    }

    public TimeZoneInfo RoomZone() => TimeZone.Length > 0 ? TimeZoneInfo.FindSystemTimeZoneById(TimeZone) : TimeZoneInfo.Local;

    public Uri? MeetingServerUri() => MeetingServer.Length > 0 ? new Uri(MeetingServer) : null;
}

public sealed class CalendarSourceOptions
{
    /// <summary>"caldav" (a calendar collection, e.g. the room's resource calendar) or "ics" (a published feed).</summary>
    public string Kind { get; set; } = "caldav";

    public string Url { get; set; } = "";

    /// <summary>
    /// A file on the data partition holding the user name on its first line and the password on its second. Only
    /// sent over https, or http to this machine's loopback. Never logged.
    /// </summary>
    public string CredentialsFile { get; set; } = "";
}
