namespace Room.Media;

/// <summary>A media operation failed (codec error, bad configuration).</summary>
public class MediaException : Exception
{
    public MediaException()
    {
    }

    public MediaException(string message)
        : base(message)
    {
    }

    public MediaException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>A media library is missing or of an unsupported version; the message says which and what to install.</summary>
public sealed class MediaUnavailableException : MediaException
{
    public MediaUnavailableException()
    {
    }

    public MediaUnavailableException(string message)
        : base(message)
    {
    }

    public MediaUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
