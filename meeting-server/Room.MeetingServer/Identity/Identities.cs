using System.Text.RegularExpressions;

namespace Room.MeetingServer.Identity;

/// <summary>
/// Identity names as they appear in certificates (subject CN) and MLS credentials: "device:NAME" for enrolled rooms,
/// "person:NAME" for people (local account or directory). Names are lower-case letters, digits, '.', '_', '-'.
/// </summary>
public static partial class Identities
{
    public const string DevicePrefix = "device:";
    public const string PersonPrefix = "person:";

    /// <summary>A guest: "guest:ID" with the ID of the invitation it came in by (only from the guest CA).</summary>
    public const string GuestPrefix = "guest:";

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NamePattern();

    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    public static string Device(string name) => DevicePrefix + Check(name);

    public static string Person(string name) => PersonPrefix + Check(name);

    public static bool IsValid(string? identity) =>
        identity is not null
        && ((identity.StartsWith(DevicePrefix, StringComparison.Ordinal) && IsValidName(identity[DevicePrefix.Length..]))
            || (identity.StartsWith(PersonPrefix, StringComparison.Ordinal) && IsValidName(identity[PersonPrefix.Length..])));

    public static bool IsGuest(string? identity) =>
        identity is not null && identity.StartsWith(GuestPrefix, StringComparison.Ordinal) && IsValidName(identity[GuestPrefix.Length..]);

    private static string Check(string name) =>
        IsValidName(name) ? name : throw new RefusedException(Refusal.Malformed, "a name is 1-63 of a-z 0-9 . _ - and starts with a letter or digit");
}
