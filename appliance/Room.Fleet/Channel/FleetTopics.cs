namespace Room.Fleet.Channel;

/// <summary>
/// The fleet channel's topics. A room (its certificate's CN, <c>device:NAME</c>, is its MQTT user name on the broker)
/// publishes its retained status under <c>room/v1/rooms/ID/status</c> and reads jobs from <c>room/v1/rooms/ID/jobs</c>
/// and <c>room/v1/groups/GROUP/jobs</c>; the broker's ACL (deploy/mosquitto/acl.example) lets it do nothing else.
/// </summary>
public static class FleetTopics
{
    public const string Root = "room/v1";

    public static string Status(string room) => $"{Root}/rooms/{Checked(room)}/status";

    public static string Jobs(string room) => $"{Root}/rooms/{Checked(room)}/jobs";

    public static string GroupJobs(string group) => $"{Root}/groups/{Checked(group)}/jobs";

    /// <summary>Every room's status (admins only).</summary>
    public const string AllStatus = Root + "/rooms/+/status";

    /// <summary>The room a status topic names; null for any other topic.</summary>
    public static string? RoomOfStatus(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var parts = topic.Split('/');
        return parts is ["room", "v1", "rooms", var room, "status"] && IsValidName(room) ? room : null;
    }

    /// <summary>
    /// A room or group name usable as one topic level: 1-64 printable characters without MQTT's separators and
    /// wildcards (<c>/ + #</c>) or spaces.
    /// </summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => c > ' ' && c < 0x7f && c is not ('/' or '+' or '#'));

    private static string Checked(string name) =>
        IsValidName(name) ? name : throw new ArgumentException($"'{name}' is not a valid fleet name (1-64 printable characters, no / + # or spaces)", nameof(name));
}
