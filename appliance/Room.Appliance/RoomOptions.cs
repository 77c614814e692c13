using System.ComponentModel.DataAnnotations;

namespace Room.Appliance;

/// <summary>roomd's configuration, section "Room" of /etc/room/room.json, ROOM_ environment variables and the command line.</summary>
public sealed class RoomOptions
{
    public const string Section = "Room";

    /// <summary>The room's name as people see it ("Ratssaal 1. OG"). Defaults to the host name.</summary>
    [MaxLength(80)]
    public string Name { get; set; } = "";

    /// <summary>Where roomd keeps what must survive restarts (camera presets).</summary>
    [Required]
    public string StateDirectory { get; set; } = "/var/lib/room";

    /// <summary>
    /// Deprecated: a PIN here is moved once into the Argon2id hash on the data partition (when none is set there) and
    /// ignored afterwards. Set PINs with Admin.SetPin (roomctl admin pin set); keep them out of room.json.
    /// </summary>
    [RegularExpression("^([0-9]{4,12})?$", ErrorMessage = "Room:AdminPin must be 4 to 12 digits.")]
    public string AdminPin { get; set; } = "";

    /// <summary>"simulated" (make run, tests) or "linux" (real devices).</summary>
    [RegularExpression("^(simulated|linux)$", ErrorMessage = "Room:Devices must be 'simulated' or 'linux'.")]
    public string Devices { get; set; } = "simulated";

    /// <summary>Camera selected at start, by id; the first camera when empty or unknown.</summary>
    public string DefaultCamera { get; set; } = "";

    /// <summary>Minutes without a call after which the displays are put in standby (0 = never).</summary>
    [Range(0, 24 * 60)]
    public int DisplayStandbyMinutes { get; set; } = 15;

    /// <summary>Speaker volume at start, 0..100.</summary>
    [Range(0, 100)]
    public uint InitialVolume { get; set; } = 60;

    /// <summary>
    /// Seconds between rekeys of an MLS-keyed call (a commit with a fresh UpdatePath: new SFrame keys, a new security
    /// code); 0 never. Keys also change whenever someone joins or leaves.
    /// </summary>
    [Range(0, 24 * 60 * 60)]
    public int RekeySeconds { get; set; } = 600;

    /// <summary>
    /// How long roomd keeps rejoining a meeting whose call dropped (network cut, SFU restart) before it gives up and
    /// reports the error; 0 never rejoins.
    /// </summary>
    [Range(0, 24 * 60 * 60)]
    public int ReconnectSeconds { get; set; } = 300;

    /// <summary>
    /// STUN and TURN servers for calls (ICE candidates beyond the host addresses): each with <c>Urls</c>
    /// (<c>stun:</c>, <c>turn:...?transport=udp|tcp</c>, <c>turns:</c>), and for TURN <c>Username</c> and
    /// <c>CredentialFile</c> (under <see cref="StateDirectory"/>), optionally <c>CaFile</c> for turns:. Checked at start.
    /// </summary>
    public List<Meeting.IceServerOptions> IceServers { get; set; } = [];

    /// <summary>Scheduled meetings shown on the panel until a calendar source is configured.</summary>
    public List<ScheduledMeeting> Calendar { get; set; } = [];
}

public sealed class ScheduledMeeting
{
    public string Title { get; set; } = "";

    public string Uri { get; set; } = "";

    public DateTimeOffset Start { get; set; }

    public DateTimeOffset End { get; set; }
}

/// <summary>Which bus roomd serves on: the system bus unless an address is given (`--bus ADDRESS`).</summary>
public sealed class BusOptions
{
    public const string Section = "Bus";

    public string? Address { get; set; }
}
