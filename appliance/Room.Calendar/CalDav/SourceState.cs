namespace Room.Calendar.CalDav;

/// <summary>One calendar object as last fetched: its ETag and iCalendar text.</summary>
public sealed record CalendarResource(string ETag, string Ics);

/// <summary>
/// What the room holds of one source: the sync token or collection tag of the last sync and every resource by href.
/// Immutable: a sync builds a new state and it replaces the old only when the whole sync succeeded.
/// </summary>
public sealed record SourceState(string Key, string? SyncToken, string? CTag, IReadOnlyDictionary<string, CalendarResource> Resources)
{
    public static SourceState Empty(string key) => new(key, null, null, new Dictionary<string, CalendarResource>(StringComparer.Ordinal));
}

/// <summary>The outcome of one source's sync.</summary>
public sealed record SyncOutcome(SourceState State, SyncMode Mode, int Changed, int Removed, IReadOnlyList<string> Refused);

public enum SyncMode
{
    /// <summary>Nothing changed (same collection tag, or 304 for a feed).</summary>
    Unchanged,

    /// <summary>Only the changes since the last sync token were fetched.</summary>
    Incremental,

    /// <summary>Every resource's ETag was compared (collection tag changed, no sync-collection).</summary>
    ETagCompare,

    /// <summary>Everything was fetched.</summary>
    Full,
}

/// <summary>A sync that failed as a whole; the previous state stays.</summary>
public sealed class CalendarSyncException : Exception
{
    public CalendarSyncException(string message)
        : base(message)
    {
    }

    public CalendarSyncException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CalendarSyncException()
    {
    }
}
