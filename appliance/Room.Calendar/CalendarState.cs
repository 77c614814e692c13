using Room.Calendar.Model;

namespace Room.Calendar;

/// <summary>How the agenda stands with its sources.</summary>
public enum SyncStatus
{
    /// <summary>No calendar source is configured.</summary>
    NotConfigured,

    /// <summary>No sync has finished yet (an offline copy may be shown, with its time).</summary>
    Pending,

    /// <summary>The last sync succeeded.</summary>
    Ok,

    /// <summary>The last sync failed; the agenda shown is from the last successful one (LastSync).</summary>
    Offline,

    /// <summary>The last sync failed and there is no agenda from an earlier one.</summary>
    Error,
}

/// <summary>What the calendar shows: today's and tomorrow's entries (in the room's zone), the next meeting and the sync state.</summary>
public sealed record CalendarSnapshot(
    IReadOnlyList<AgendaItem> Today,
    IReadOnlyList<AgendaItem> Tomorrow,
    AgendaItem? Next,
    DateTimeOffset? LastSync,
    SyncStatus Status,
    string Error)
{
    public static CalendarSnapshot Empty { get; } = new([], [], null, null, SyncStatus.NotConfigured, "");
}
