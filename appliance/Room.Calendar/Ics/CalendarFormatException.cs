namespace Room.Calendar.Ics;

/// <summary>Calendar data that is refused: malformed, over a limit, or impossible. The message says why.</summary>
public sealed class CalendarFormatException : Exception
{
    public CalendarFormatException(string message)
        : base(message)
    {
    }

    public CalendarFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CalendarFormatException()
    {
    }
}
