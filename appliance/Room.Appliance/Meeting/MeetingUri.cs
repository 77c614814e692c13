using Room.Bus;

namespace Room.Appliance.Meeting;

/// <summary>Validates meeting addresses before anything acts on them.</summary>
public static class MeetingUri
{
    public const int MaxLength = 2048;

    /// <summary>Returns the parsed URI, or throws <see cref="RoomBusException"/> (InvalidUri) saying what is wrong.</summary>
    public static Uri Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Invalid("The meeting address is empty.");
        }

        if (text.Length > MaxLength)
        {
            throw Invalid($"The meeting address is longer than {MaxLength} characters.");
        }

        if (text.Any(char.IsControl) || text.Contains(' ', StringComparison.Ordinal))
        {
            throw Invalid("The meeting address contains spaces or control characters.");
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            throw Invalid($"'{text}' is not an absolute address (expected https://server/meeting or room://server/meeting).");
        }

        if (uri.Scheme is not ("https" or "room"))
        {
            throw Invalid($"Scheme '{uri.Scheme}' is not supported; use https:// or room://.");
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw Invalid("The meeting address has no server.");
        }

        if (uri.AbsolutePath.Trim('/').Length == 0)
        {
            throw Invalid("The meeting address names no meeting (the path is empty).");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw Invalid("Credentials in the meeting address are not accepted.");
        }

        return uri;
    }

    private static RoomBusException Invalid(string message) => new(BusErrors.InvalidUri, message);
}
