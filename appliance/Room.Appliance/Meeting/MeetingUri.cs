using Room.Bus;

namespace Room.Appliance.Meeting;

/// <summary>
/// Validates meeting addresses before anything acts on them. <c>room://</c> and <c>https://</c> meetings go to the
/// loopback transport (until the meeting-server exists); <c>janus://host[:port]/ROOM#k=KEY</c> is a bare Janus
/// VideoRoom meeting whose media is end-to-end encrypted with the key in the fragment (interim link keying, see
/// Room.Call's LinkKey): without a key roomd refuses it, so no clear media ever leaves the room.
/// </summary>
public static class MeetingUri
{
    public const int MaxLength = 2048;
    public const string JanusScheme = "janus";
    public const int JanusDefaultPort = 8188;
    public const string MeetingServerScheme = "meeting";
    public const int MeetingServerDefaultPort = 8443;

    /// <summary>Whether the meeting is on a meeting server (MLS-keyed Janus call).</summary>
    public static bool IsMeetingServer(Uri uri) => uri.Scheme == MeetingServerScheme;

    /// <summary>Whether the meeting goes to a Janus VideoRoom.</summary>
    public static bool IsJanus(Uri uri) => uri.Scheme == JanusScheme;

    /// <summary>The address as it may be shown and logged: without the fragment (which holds the meeting key).</summary>
    public static string Display(Uri? uri) =>
        uri is null ? "" : uri.OriginalString.Split('#', 2)[0];

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
            throw Invalid($"'{text.Split('#', 2)[0]}' is not an absolute address (expected https://server/meeting, room://server/meeting or janus://server:8188/room#k=key).");
        }

        if (uri.Scheme is not ("https" or "room" or JanusScheme or MeetingServerScheme))
        {
            throw Invalid($"Scheme '{uri.Scheme}' is not supported; use meeting://, https://, room:// or janus://.");
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

        if (IsJanus(uri))
        {
            ParseJanus(uri).Key.Dispose();
        }

        if (IsMeetingServer(uri))
        {
            ParseMeetingServer(uri);
        }

        return uri;
    }

    /// <summary>
    /// The meeting server's HTTPS address and the meeting id of a <c>meeting://server[:8443]/MEETING-ID</c> address
    /// (ids are the server's, 1-64 of a-z and 0-9; no query, no fragment: the keys come from MLS, not from the link).
    /// </summary>
    public static (Uri Server, string MeetingId) ParseMeetingServer(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var id = uri.AbsolutePath.Trim('/');
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)))
        {
            throw Invalid($"'{Display(uri)}' names no meeting: the path must be the meeting's id (meeting://server:8443/ID, letters a-z and digits).");
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw Invalid("A meeting:// address takes no query and no fragment.");
        }

        var port = uri.IsDefaultPort || uri.Port <= 0 ? MeetingServerDefaultPort : uri.Port;
        var host = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.DnsSafeHost}]" : uri.DnsSafeHost;
        return (new Uri($"https://{host}:{port}/"), id);
    }

    /// <summary>The Janus WebSocket address, the VideoRoom number and the meeting key of a janus:// address.</summary>
    public static (Uri WebSocket, long Room, Room.Call.E2ee.LinkKey Key) ParseJanus(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var path = uri.AbsolutePath.Trim('/');
        if (!long.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var room) || room <= 0)
        {
            throw Invalid($"'{Display(uri)}' names no Janus VideoRoom: the path must be the room number (janus://server:8188/1234#k=key).");
        }

        if (!string.IsNullOrEmpty(uri.Query))
        {
            throw Invalid("A janus:// address takes no query; the meeting key goes in the fragment (#k=key).");
        }

        Room.Call.E2ee.LinkKey? key;
        try
        {
            key = Room.Call.E2ee.LinkKey.FromFragment(uri.Fragment);
        }
        catch (FormatException ex)
        {
            throw Invalid($"The meeting key in the link is not valid: {ex.Message} (expected #k= and 32 bytes in base64url).");
        }

        if (key is null)
        {
            throw new RoomBusException(BusErrors.InvalidUri,
                "This Janus meeting link carries no meeting key (#k=...). roomd joins Janus meetings only end-to-end encrypted and never sends clear media; use the full link including its #k= part.");
        }

        var port = uri.IsDefaultPort || uri.Port <= 0 ? JanusDefaultPort : uri.Port;
        var host = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.DnsSafeHost}]" : uri.DnsSafeHost;
        return (new Uri($"ws://{host}:{port}/"), room, key);
    }

    private static RoomBusException Invalid(string message) => new(BusErrors.InvalidUri, message);
}
