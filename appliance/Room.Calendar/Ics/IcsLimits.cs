namespace Room.Calendar.Ics;

/// <summary>Bounds on calendar data from outside; anything over them is refused as a whole, with the reason.</summary>
public sealed record IcsLimits
{
    /// <summary>Characters of one iCalendar document (one CalDAV resource, or a whole ICS feed).</summary>
    public int MaxChars { get; init; } = 8 * 1024 * 1024;

    /// <summary>Characters of one unfolded content line (a long DESCRIPTION is fine, a megabyte is not).</summary>
    public int MaxLineChars { get; init; } = 256 * 1024;

    /// <summary>BEGIN/END nesting (VCALENDAR > VEVENT > VALARM is 3; VTIMEZONE > DAYLIGHT is 3).</summary>
    public int MaxDepth { get; init; } = 4;

    /// <summary>Components (BEGIN lines) in one document.</summary>
    public int MaxComponents { get; init; } = 100_000;

    /// <summary>Occurrences one series may contribute to a window.</summary>
    public int MaxOccurrencesPerSeries { get; init; } = 500;

    /// <summary>Occurrences of one document in a window.</summary>
    public int MaxOccurrences { get; init; } = 20_000;

    /// <summary>Rule increments without a match before a series is given up on (e.g. FEBRUARY 30th).</summary>
    public int MaxUnmatchedIncrements { get; init; } = 2_000;

    public static IcsLimits Default { get; } = new();
}
