namespace Room.Calendar.Scheduling;

/// <summary>Why a request to the calendar was refused.</summary>
public enum CalendarRefusal
{
    /// <summary>No entry with that id in today's or tomorrow's agenda.</summary>
    UnknownEntry,

    /// <summary>The entry has no address the room can join.</summary>
    NotJoinable,

    /// <summary>There is no question about leaving to answer.</summary>
    NothingAsked,
}

/// <summary>A refused calendar request; nothing was changed.</summary>
public sealed class CalendarRequestException : Exception
{
    public CalendarRequestException(CalendarRefusal refusal, string message)
        : base(message) => Refusal = refusal;

    public CalendarRequestException()
    {
    }

    public CalendarRequestException(string message)
        : base(message)
    {
    }

    public CalendarRequestException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CalendarRefusal Refusal { get; }
}
