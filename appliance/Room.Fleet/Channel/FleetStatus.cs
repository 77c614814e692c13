using System.Text.Json;
using System.Text.Json.Serialization;

namespace Room.Fleet.Channel;

/// <summary>One slot as RAUC reports it (<c>rootfs.0</c>, boot name <c>A</c>, state <c>booted</c>, boot status <c>good</c>).</summary>
public sealed record SlotState(string Name, string? BootName, string State, string? BootStatus, string? Version);

/// <summary>An update job's progress as the room reports it: phase (<see cref="UpdatePhase"/>), percent, and a message.</summary>
public sealed record UpdateProgress(string JobId, UpdatePhase Phase, int Percent, string? Message = null);

/// <summary>Where an update job stands on a room.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UpdatePhase>))]
public enum UpdatePhase
{
    /// <summary>Received and checked; waiting to start.</summary>
    Accepted,

    /// <summary>Refused before anything was touched (the message says why); the room stays on its version.</summary>
    Refused,

    Downloading,
    Installing,

    /// <summary>Installed into the other slot; waiting for the reboot policy to allow the reboot.</summary>
    WaitingForReboot,
    Rebooting,

    /// <summary>Booted the new version and passed its health checks: the slot is marked good.</summary>
    Succeeded,

    /// <summary>Failed (download, install, health check, or a boot that fell back); the room is on its old version.</summary>
    Failed,

    Cancelled,
}

/// <summary>
/// What a room publishes (retained) on its status topic: identity, version, slots, health and update progress. The
/// broker publishes the same document with <see cref="Online"/> false as the room's last will when it drops away.
/// <see cref="Groups"/> are the groups the room reads jobs for (roomctl fleet finds a group's rooms by them).
/// </summary>
public sealed record FleetStatus(
    string Room,
    bool Online,
    string? Version,
    string? Compatible = null,
    string? BootedSlot = null,
    IReadOnlyList<SlotState>? Slots = null,
    string? Health = null,
    UpdateProgress? Update = null,
    DateTimeOffset? At = null,
    IReadOnlyList<string>? Groups = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>A status document, or null when it is not one (malformed JSON, no room, a room name that is not valid).</summary>
    public static FleetStatus? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var s = JsonSerializer.Deserialize<FleetStatus>(json, Json);
            return s is not null && FleetTopics.IsValidName(s.Room) ? s : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
