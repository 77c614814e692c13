namespace Room.Calendar.Model;

/// <summary>Which kind of meeting a calendar entry's address leads to.</summary>
public enum MeetingProvider
{
    /// <summary>No meeting address was found.</summary>
    None,

    /// <summary>A meeting-server meeting (meeting://server:8443/ID, or https://server/meetings/... of the configured one): joinable.</summary>
    MeetingServer,

    /// <summary>roomd's test call (test-loopback://, a simulated peer; tests and demos only): joinable.</summary>
    Room,
    Teams,
    Zoom,
    Webex,
    Jitsi,
    Sip,

    /// <summary>Some other web address; shown, never joined.</summary>
    Other,
}

/// <summary>A meeting address found in a calendar entry.</summary>
public sealed record MeetingLink(MeetingProvider Provider, string Uri)
{
    /// <summary>Whether the room can join it itself.</summary>
    public bool Joinable => Provider is MeetingProvider.MeetingServer or MeetingProvider.Room;
}

/// <summary>
/// One occurrence of a calendar event. <see cref="Id"/> stays the same when the occurrence is moved on the server
/// (the event's UID and the start the series rule gave it), so a moved meeting keeps its identity.
/// </summary>
public sealed record AgendaItem(
    string Id,
    string Title,
    DateTimeOffset Start,
    DateTimeOffset End,
    bool AllDay,
    bool Private,
    MeetingLink Link)
{
    /// <summary>What a private event shows instead of its title.</summary>
    public const string PrivateTitle = "Private meeting";

    public bool Joinable => Link.Joinable && !AllDay;
}
