using Room.Bus;

namespace Room.Appliance.Meeting;

/// <summary>
/// Validates meeting addresses before anything acts on them. Meetings are those of a meeting server:
/// <c>meeting://server[:8443]/ID</c>, or its web form <c>https://server[:port]/meetings/ID</c> (MLS-keyed Janus call).
/// Two schemes exist for tests only and say so in their names: <c>test-loopback://NAME/call</c> (a call with a
/// simulated peer inside roomd, no server) and <c>test-janus-linkkey://host[:port]/ROOM#k=KEY</c> (a bare Janus
/// VideoRoom keyed by a secret in the link, Room.Call's LinkKey; it admits anyone holding the link, so it is no
/// meeting). Any other address is refused with a message that says what roomd joins.
/// </summary>
public static class MeetingUri
{
    public const int MaxLength = 2048;
    public const string JanusScheme = "test-janus-linkkey";
    public const int JanusDefaultPort = 8188;
    public const string MeetingServerScheme = "meeting";
    public const int MeetingServerDefaultPort = 8443;
    public const string TestLoopbackScheme = "test-loopback";
    private const string MeetingsPath = "/meetings/";

    /// <summary>Whether the meeting is on a meeting server (MLS-keyed Janus call).</summary>
    public static bool IsMeetingServer(Uri uri) =>
        uri.Scheme == MeetingServerScheme || (uri.Scheme == Uri.UriSchemeHttps && uri.AbsolutePath.StartsWith(MeetingsPath, StringComparison.Ordinal));

    /// <summary>Whether the meeting goes to a Janus VideoRoom keyed by the link (tests only).</summary>
    public static bool IsJanus(Uri uri) => uri.Scheme == JanusScheme;

    /// <summary>Whether the address is the in-process test loopback (a simulated peer, no meeting).</summary>
    public static bool IsTestLoopback(Uri uri) => uri.Scheme == TestLoopbackScheme;

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
            throw Invalid($"'{text.Split('#', 2)[0]}' is not an absolute address (expected meeting://server:8443/ID, the meeting link of a meeting server).");
        }

        if (uri.Scheme is not (MeetingServerScheme or "https" or TestLoopbackScheme or JanusScheme))
        {
            throw Invalid(uri.Scheme is "room" or "janus"
                ? $"{uri.Scheme}:// links are retired: roomd joins meetings of a meeting server (meeting://server:8443/ID)."
                : $"Scheme '{uri.Scheme}' is not supported: roomd joins meetings of a meeting server (meeting://server:8443/ID or https://server:8443/meetings/ID).");
        }

        if (uri.Scheme == Uri.UriSchemeHttps && !IsMeetingServer(uri))
        {
            throw Invalid($"'{Display(uri)}' is not a meeting of a meeting server (https://server:8443/meetings/ID or meeting://server:8443/ID); roomd joins no other web links.");
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
    /// The meeting server's HTTPS address and the meeting id of a <c>meeting://server[:8443]/MEETING-ID</c> or
    /// <c>https://server[:port]/meetings/MEETING-ID</c> address (ids are the server's, 1-64 of a-z and 0-9; no query,
    /// no fragment: the keys come from MLS, not from the link).
    /// </summary>
    public static (Uri Server, string MeetingId) ParseMeetingServer(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        bool web = uri.Scheme == Uri.UriSchemeHttps;
        var id = (web ? uri.AbsolutePath[MeetingsPath.Length..] : uri.AbsolutePath).Trim('/');
        if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c)))
        {
            throw Invalid($"'{Display(uri)}' names no meeting: the path must be the meeting's id (meeting://server:8443/ID, letters a-z and digits).");
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw Invalid("A meeting address takes no query and no fragment.");
        }

        var port = web ? uri.Port : uri.IsDefaultPort || uri.Port <= 0 ? MeetingServerDefaultPort : uri.Port;
        var host = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.DnsSafeHost}]" : uri.DnsSafeHost;
        return (new Uri($"https://{host}:{port}/"), id);
    }

    /// <summary>The Janus WebSocket address, the VideoRoom number and the key of a test-janus-linkkey:// address.</summary>
    public static (Uri WebSocket, long Room, Room.Call.E2ee.LinkKey Key) ParseJanus(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var path = uri.AbsolutePath.Trim('/');
        if (!long.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var room) || room <= 0)
        {
            throw Invalid($"'{Display(uri)}' names no Janus VideoRoom: the path must be the room number (test-janus-linkkey://server:8188/1234#k=key).");
        }

        if (!string.IsNullOrEmpty(uri.Query))
        {
            throw Invalid("A test-janus-linkkey:// address takes no query; the meeting key goes in the fragment (#k=key).");
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
                "This test Janus link carries no key (#k=...). roomd never sends clear media; use the full link including its #k= part.");
        }

        var port = uri.IsDefaultPort || uri.Port <= 0 ? JanusDefaultPort : uri.Port;
        var host = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.DnsSafeHost}]" : uri.DnsSafeHost;
        return (new Uri($"ws://{host}:{port}/"), room, key);
    }

    private static RoomBusException Invalid(string message) => new(BusErrors.InvalidUri, message);
}
