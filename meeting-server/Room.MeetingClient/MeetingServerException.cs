namespace Room.MeetingClient;

/// <summary>The meeting server refused a request (or could not be trusted); <see cref="Error"/> is its stable error name.</summary>
public sealed class MeetingServerException(string error, string message, int status, long? currentEpoch, Exception? inner = null) : Exception(message, inner)
{
    public string Error { get; } = error;

    public int Status { get; } = status;

    public long? CurrentEpoch { get; } = currentEpoch;
}
