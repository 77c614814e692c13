namespace Room.Calendar.Tests;

/// <summary>iCalendar test data: a Berlin series across the end of summer time (Sunday 2026-10-25).</summary>
internal static class IcsSamples
{
    public const string Zone = "Europe/Berlin";

    public const string BerlinTimeZone = """
        BEGIN:VTIMEZONE
        TZID:Europe/Berlin
        BEGIN:DAYLIGHT
        TZOFFSETFROM:+0100
        TZOFFSETTO:+0200
        TZNAME:CEST
        DTSTART:19700329T020000
        RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
        END:DAYLIGHT
        BEGIN:STANDARD
        TZOFFSETFROM:+0200
        TZOFFSETTO:+0100
        TZNAME:CET
        DTSTART:19701025T030000
        RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
        END:STANDARD
        END:VTIMEZONE
        """;

    /// <summary>
    /// Daily at 09:00 Berlin time from Thursday 22 October, six times; the 24th excluded (EXDATE), the 26th moved to
    /// 11:00 with another title, the 27th cancelled. Joinable on the meeting-server.
    /// </summary>
    public static string Series(string uid = "series-1", string title = "Bauausschuss", string startTime = "090000") => Cal($"""
        BEGIN:VEVENT
        UID:{uid}
        DTSTAMP:20261001T000000Z
        DTSTART;TZID=Europe/Berlin:20261022T{startTime}
        DTEND;TZID=Europe/Berlin:20261022T{(int.Parse(startTime[..2], System.Globalization.CultureInfo.InvariantCulture) + 1):00}{startTime[2..]}
        RRULE:FREQ=DAILY;COUNT=6
        EXDATE;TZID=Europe/Berlin:20261024T{startTime}
        SUMMARY:{title}
        LOCATION:Ratssaal
        URL:https://meet.example.org/meetings/bau2026
        END:VEVENT
        BEGIN:VEVENT
        UID:{uid}
        DTSTAMP:20261001T000000Z
        RECURRENCE-ID;TZID=Europe/Berlin:20261026T{startTime}
        DTSTART;TZID=Europe/Berlin:20261026T110000
        DTEND;TZID=Europe/Berlin:20261026T120000
        SUMMARY:{title} (verlegt)
        URL:https://meet.example.org/meetings/bau2026
        END:VEVENT
        BEGIN:VEVENT
        UID:{uid}
        DTSTAMP:20261001T000000Z
        RECURRENCE-ID;TZID=Europe/Berlin:20261027T{startTime}
        DTSTART;TZID=Europe/Berlin:20261027T{startTime}
        DTEND;TZID=Europe/Berlin:20261027T100000
        STATUS:CANCELLED
        SUMMARY:{title}
        END:VEVENT
        """);

    public static string Private(string uid = "private-1") => Cal($"""
        BEGIN:VEVENT
        UID:{uid}
        DTSTAMP:20261001T000000Z
        DTSTART;TZID=Europe/Berlin:20261026T140000
        DTEND;TZID=Europe/Berlin:20261026T150000
        CLASS:PRIVATE
        SUMMARY:Personalgespräch Müller
        ATTENDEE;CN=Erika Müller:mailto:mueller@example.org
        DESCRIPTION:Join: test-loopback://ratssaal.example.org/personal
        END:VEVENT
        """);

    public static string AllDay(string uid = "allday-1") => Cal($"""
        BEGIN:VEVENT
        UID:{uid}
        DTSTAMP:20261001T000000Z
        DTSTART;VALUE=DATE:20261026
        DTEND;VALUE=DATE:20261027
        SUMMARY:Tag der offenen Tür
        END:VEVENT
        """);

    public static string Single(string uid, DateTimeOffset start, DateTimeOffset end, string title, string url, string extra = "") => Cal($"""
        BEGIN:VEVENT
        UID:{uid}
        DTSTAMP:20261001T000000Z
        DTSTART:{start.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}
        DTEND:{end.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}
        SUMMARY:{title}
        URL:{url}
        {extra}
        END:VEVENT
        """);

    public static string Cal(string body) => string.Join("\r\n", $"""
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//Room//Tests//EN
        {BerlinTimeZone}
        {body}
        END:VCALENDAR
        """.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0)) + "\r\n";
}

/// <summary>The series of the roomd tests: four times a day (08, 10, 12, 14 Berlin) from Saturday 24 October (summer time) to Monday 26th (winter time).</summary>
internal static class RoomdSeries
{
    public const string Url = "https://meet.example.org/meetings/bau2026";

    /// <param name="firstMovedTo">When set, Sunday's 08:00 instance is moved to this local time (HHmmss), an hour long.</param>
    public static string Ics(string? firstMovedTo = null) => IcsSamples.Cal($"""
        BEGIN:VEVENT
        UID:roomd-series
        DTSTAMP:20261001T000000Z
        DTSTART;TZID=Europe/Berlin:20261024T080000
        DTEND;TZID=Europe/Berlin:20261024T090000
        RRULE:FREQ=DAILY;BYHOUR=8,10,12,14;COUNT=12
        EXDATE;TZID=Europe/Berlin:20261025T100000
        SUMMARY:Bauausschuss
        URL:{Url}
        END:VEVENT
        BEGIN:VEVENT
        UID:roomd-series
        DTSTAMP:20261001T000000Z
        RECURRENCE-ID;TZID=Europe/Berlin:20261025T120000
        DTSTART;TZID=Europe/Berlin:20261025T123000
        DTEND;TZID=Europe/Berlin:20261025T133000
        SUMMARY:Bauausschuss (verlegt)
        URL:{Url}
        END:VEVENT
        BEGIN:VEVENT
        UID:roomd-series
        DTSTAMP:20261001T000000Z
        RECURRENCE-ID;TZID=Europe/Berlin:20261026T100000
        DTSTART;TZID=Europe/Berlin:20261026T100000
        DTEND;TZID=Europe/Berlin:20261026T110000
        STATUS:CANCELLED
        SUMMARY:Bauausschuss
        END:VEVENT
        {(firstMovedTo is null ? "" : $"""
        BEGIN:VEVENT
        UID:roomd-series
        DTSTAMP:20261002T000000Z
        SEQUENCE:1
        RECURRENCE-ID;TZID=Europe/Berlin:20261025T080000
        DTSTART;TZID=Europe/Berlin:20261025T{firstMovedTo}
        DTEND;TZID=Europe/Berlin:20261025T{(int.Parse(firstMovedTo[..2], System.Globalization.CultureInfo.InvariantCulture) + 1):00}{firstMovedTo[2..]}
        SUMMARY:Bauausschuss
        URL:{Url}
        END:VEVENT
        """)}
        """);
}
