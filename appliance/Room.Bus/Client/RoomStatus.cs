using Tmds.DBus.Protocol;

namespace Room.Bus.Client;

/// <param name="Kind">"room", "person", "guest" (Meeting.ParticipantKinds), or empty when roomd does not know.</param>
/// <param name="InvitedBy">For a guest: the name of the host who invited it; empty otherwise.</param>
public sealed record Participant(string Id, string Name, bool Muted, string Kind = "", string InvitedBy = "");

/// <summary>Someone waiting in the meeting's lobby (Meeting.Lobby): kind as in ParticipantKinds; a guest's inviting host.</summary>
public sealed record LobbyEntry(string Id, string Name, string Kind, string InvitedBy);

public sealed record MeetingStatus(
    string State,
    string Uri,
    IReadOnlyList<Participant> Participants,
    bool MicrophoneMuted,
    uint Volume,
    string SecurityCode,
    DateTimeOffset? StartedAt,
    string LastError)
{
    public static MeetingStatus Empty { get; } = new(MeetingStates.Idle, "", [], false, 0, "", null, "");

    /// <summary>Who waits in the lobby, while this room hosts a meeting-server meeting (Meeting.Lobby); empty otherwise.</summary>
    public IReadOnlyList<LobbyEntry> Lobby { get; init; } = [];
}

public sealed record CameraEntry(string Id, string Name);

public sealed record CameraStatus(
    IReadOnlyList<CameraEntry> Cameras,
    string Selected,
    double Pan,
    double Tilt,
    double Zoom,
    double PanMin,
    double PanMax,
    double TiltMin,
    double TiltMax,
    IReadOnlyList<string> Presets,
    bool AutoFraming)
{
    public static CameraStatus Empty { get; } = new([], "", 0, 0, 0, 0, 0, 0, 0, [], false);
}

public sealed record DeviceEntry(
    string Id,
    string Kind,
    string Name,
    string Driver,
    string Health,
    string HealthDetail,
    IReadOnlyDictionary<string, string> Capabilities);

/// <summary>The update agent's last job: state (idle, downloading, failed, ...), job id, progress 0..100, message.</summary>
public sealed record UpdateStatus(string State, string JobId, uint Progress, string Message)
{
    public static UpdateStatus Empty { get; } = new("off", "", 0, "");
}

public sealed record SystemStatus(string RoomName, string Version, string Hostname, IReadOnlyList<string> Addresses, string UpdateStatus)
{
    public static SystemStatus Empty { get; } = new("", "", "", [], "");

    /// <summary>The enrolled tenant's branding (System.Branding); null when there is none.</summary>
    public TenantBrandingStatus? Branding { get; init; }

    /// <summary>The tenant's logo (System.BrandingLogo); empty without one.</summary>
    public byte[] BrandingLogo { get; init; } = [];
}

/// <summary>A tenant's name and colours (#rrggbb) and its logo's type ("" without one), as roomd offers them.</summary>
public sealed record TenantBrandingStatus(string Name, string PrimaryColor, string AccentColor, string LogoType);

/// <param name="Display">The room display's state ("on: ...", "off: ...", "unavailable: ...", "disconnected: ...", "failed: ...").</param>
public sealed record MediaState(bool Active, string Camera, string VideoEncoder, string VideoDecoder, string Audio, string Encryption, string Error, string Transport = "", string Display = "")
{
    public static MediaState Empty { get; } = new(false, "", "", "", "", "", "");
}

/// <summary>Room administration's settings and state (org.room.Appliance1.Admin); no secrets.</summary>
public sealed record AdminStatus(
    string RoomName,
    string DefaultCamera,
    string DefaultPreset,
    uint DisplayStandbyMinutes,
    uint DefaultVolume,
    string Language,
    string TimeZone,
    IReadOnlyList<string> NtpServers,
    bool TimeSettingsApplied,
    string MaintenanceStart,
    uint MaintenanceMinutes,
    string EnrolmentStatus,
    bool PinSet,
    uint SessionSeconds)
{
    public static AdminStatus Empty { get; } = new("", "", "", 0, 0, "", "", [], false, "", 0, "", false, 0);

    /// <summary>The room's network settings and the kernel's addresses.</summary>
    public NetworkStatus Network { get; init; } = NetworkStatus.Empty;

    /// <summary>The HTTP(S) proxy for roomd's outgoing HTTP, "" for none.</summary>
    public string Proxy { get; init; } = "";

    /// <summary>Whether the time settings are applied, in words ("applied: ...", "not applied: WHY").</summary>
    public string TimeStatus { get; init; } = "";
}

/// <summary>The room's network (Admin.Network* properties): service, interface, what roomd set, what the kernel has.</summary>
public sealed record NetworkStatus(string Service, string Interface, string Mode, string Address, string Gateway, IReadOnlyList<string> Dns, IReadOnlyList<string> Addresses)
{
    public static NetworkStatus Empty { get; } = new("", "", "", "", "", [], []);

    public bool Equals(NetworkStatus? other) =>
        other is not null && Service == other.Service && Interface == other.Interface && Mode == other.Mode && Address == other.Address
        && Gateway == other.Gateway && Dns.SequenceEqual(other.Dns) && Addresses.SequenceEqual(other.Addresses);

    public override int GetHashCode() => HashCode.Combine(Service, Interface, Mode, Address, Gateway);
}

public sealed record CalendarEntry(string Title, string Uri, DateTimeOffset Start, DateTimeOffset End);

/// <summary>One entry of the synced agenda (org.room.Appliance1.Calendar Today/Tomorrow/Next).</summary>
public sealed record AgendaEntry(string Id, string Title, DateTimeOffset Start, DateTimeOffset End, bool AllDay, bool Private, string Provider, string Uri, bool Joinable);

/// <summary>The synced calendar: agenda, next meeting and how the sync stands.</summary>
public sealed record CalendarStatus(
    IReadOnlyList<AgendaEntry> Today,
    IReadOnlyList<AgendaEntry> Tomorrow,
    AgendaEntry? Next,
    DateTimeOffset? LastSync,
    string SyncState,
    string SyncError,
    AgendaEntry? LeavePrompt)
{
    public static CalendarStatus Empty { get; } = new([], [], null, null, "", "", null);
}

/// <summary>
/// Everything roomd publishes, kept current by applying PropertiesChanged. Immutable: each change gives a
/// new snapshot, so a UI can render one consistently.
/// </summary>
public sealed record RoomStatus(
    MeetingStatus Meeting,
    CameraStatus Camera,
    IReadOnlyList<DeviceEntry> Devices,
    SystemStatus System,
    IReadOnlyList<CalendarEntry> Upcoming)
{
    public static RoomStatus Empty { get; } = new(MeetingStatus.Empty, CameraStatus.Empty, [], SystemStatus.Empty, []);

    /// <summary>Media of the current call (from org.room.Appliance1.Media).</summary>
    public MediaState Media { get; init; } = MediaState.Empty;

    /// <summary>Room administration (from org.room.Appliance1.Admin).</summary>
    public AdminStatus Admin { get; init; } = AdminStatus.Empty;
    /// <summary>The synced calendar (from org.room.Appliance1.Calendar).</summary>
    public CalendarStatus Calendar { get; init; } = CalendarStatus.Empty;

    /// <summary>The update agent's last job (from org.room.Appliance1.Update).</summary>
    public UpdateStatus Update { get; init; } = UpdateStatus.Empty;

    /// <summary>Applies (changed) properties of one interface.</summary>
    public RoomStatus Apply(string interfaceName, IReadOnlyDictionary<string, VariantValue> p) => interfaceName switch
    {
        BusNames.Meeting => this with
        {
            Meeting = new MeetingStatus(
                Str(p, "State", Meeting.State),
                Str(p, "Uri", Meeting.Uri),
                WithKinds(p.TryGetValue("Participants", out var ps) ? ReadParticipants(ps) : Meeting.Participants,
                    p.TryGetValue("ParticipantKinds", out var pk) ? ReadKinds(pk) : Meeting.Participants.ToDictionary(x => x.Id, x => (x.Kind, x.InvitedBy))),
                Bool(p, "MicrophoneMuted", Meeting.MicrophoneMuted),
                p.TryGetValue("Volume", out var v) ? v.GetUInt32() : Meeting.Volume,
                Str(p, "SecurityCode", Meeting.SecurityCode),
                p.TryGetValue("StartedAt", out var s) ? (s.GetInt64() == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(s.GetInt64())) : Meeting.StartedAt,
                Str(p, "LastError", Meeting.LastError))
            {
                Lobby = p.TryGetValue("Lobby", out var lobby) ? ReadLobby(lobby) : Meeting.Lobby,
            },
        },
        BusNames.Camera => this with
        {
            Camera = new CameraStatus(
                p.TryGetValue("Cameras", out var cs) ? ReadCameras(cs) : Camera.Cameras,
                Str(p, "Selected", Camera.Selected),
                Dbl(p, "Pan", Camera.Pan),
                Dbl(p, "Tilt", Camera.Tilt),
                Dbl(p, "Zoom", Camera.Zoom),
                p.TryGetValue("Limits", out var l) ? l.GetItem(0).GetDouble() : Camera.PanMin,
                p.TryGetValue("Limits", out l) ? l.GetItem(1).GetDouble() : Camera.PanMax,
                p.TryGetValue("Limits", out l) ? l.GetItem(2).GetDouble() : Camera.TiltMin,
                p.TryGetValue("Limits", out l) ? l.GetItem(3).GetDouble() : Camera.TiltMax,
                p.TryGetValue("Presets", out var pr) ? pr.GetArray<string>() : Camera.Presets,
                Bool(p, "AutoFraming", Camera.AutoFraming)),
        },
        BusNames.Update => this with
        {
            Update = new UpdateStatus(Str(p, "State", Update.State), Str(p, "JobId", Update.JobId),
                p.TryGetValue("Progress", out var up) ? up.GetUInt32() : Update.Progress, Str(p, "Message", Update.Message)),
        },
        BusNames.Devices => this with { Devices = p.TryGetValue("Devices", out var d) ? ReadDevices(d) : Devices },
        BusNames.System => this with
        {
            System = new SystemStatus(
                Str(p, "RoomName", System.RoomName),
                Str(p, "Version", System.Version),
                Str(p, "Hostname", System.Hostname),
                p.TryGetValue("Addresses", out var a) ? a.GetArray<string>() : System.Addresses,
                Str(p, "UpdateStatus", System.UpdateStatus))
            {
                Branding = p.TryGetValue("Branding", out var br)
                    ? (br.GetItem(1).GetString() is { Length: > 0 } primary
                        ? new TenantBrandingStatus(br.GetItem(0).GetString(), primary, br.GetItem(2).GetString(), br.GetItem(3).GetString())
                        : null)
                    : System.Branding,
                BrandingLogo = p.TryGetValue("BrandingLogo", out var bl) ? bl.GetArray<byte>() : System.BrandingLogo,
            },
        },
        BusNames.Media => this with
        {
            Media = new MediaState(
                Bool(p, "Active", Media.Active),
                Str(p, "Camera", Media.Camera),
                Str(p, "VideoEncoder", Media.VideoEncoder),
                Str(p, "VideoDecoder", Media.VideoDecoder),
                Str(p, "Audio", Media.Audio),
                Str(p, "Encryption", Media.Encryption),
                Str(p, "Error", Media.Error),
                Str(p, "Transport", Media.Transport),
                Str(p, "Display", Media.Display)),
        },
        BusNames.Calendar => this with
        {
            Upcoming = p.TryGetValue("Upcoming", out var u) ? ReadCalendar(u) : Upcoming,
            Calendar = new CalendarStatus(
                p.TryGetValue("Today", out var today) ? ReadAgenda(today) : Calendar.Today,
                p.TryGetValue("Tomorrow", out var tomorrow) ? ReadAgenda(tomorrow) : Calendar.Tomorrow,
                p.TryGetValue("Next", out var next) ? ReadAgendaEntry(next) : Calendar.Next,
                p.TryGetValue("LastSync", out var ls) ? (ls.GetInt64() == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(ls.GetInt64())) : Calendar.LastSync,
                Str(p, "SyncState", Calendar.SyncState),
                Str(p, "SyncError", Calendar.SyncError),
                p.TryGetValue("LeavePrompt", out var lp)
                    ? (lp.GetItem(0).GetString() is { Length: > 0 } pid ? new AgendaEntry(pid, lp.GetItem(1).GetString(), default, default, false, false, "", "", false) : null)
                    : Calendar.LeavePrompt),
        },
        BusNames.Admin => this with
        {
            Admin = new AdminStatus(
                Str(p, "RoomName", Admin.RoomName),
                Str(p, "DefaultCamera", Admin.DefaultCamera),
                Str(p, "DefaultPreset", Admin.DefaultPreset),
                p.TryGetValue("DisplayStandbyMinutes", out var ds) ? ds.GetUInt32() : Admin.DisplayStandbyMinutes,
                p.TryGetValue("DefaultVolume", out var dv) ? dv.GetUInt32() : Admin.DefaultVolume,
                Str(p, "Language", Admin.Language),
                Str(p, "TimeZone", Admin.TimeZone),
                p.TryGetValue("NtpServers", out var ntp) ? ntp.GetArray<string>() : Admin.NtpServers,
                Bool(p, "TimeSettingsApplied", Admin.TimeSettingsApplied),
                p.TryGetValue("MaintenanceWindow", out var mw) ? mw.GetItem(0).GetString() : Admin.MaintenanceStart,
                p.TryGetValue("MaintenanceWindow", out var mw2) ? mw2.GetItem(1).GetUInt32() : Admin.MaintenanceMinutes,
                Str(p, "EnrolmentStatus", Admin.EnrolmentStatus),
                Bool(p, "PinSet", Admin.PinSet),
                p.TryGetValue("SessionSeconds", out var ss) ? ss.GetUInt32() : Admin.SessionSeconds)
            {
                Network = new NetworkStatus(
                    Str(p, "NetworkService", Admin.Network.Service),
                    Str(p, "NetworkInterface", Admin.Network.Interface),
                    Str(p, "NetworkMode", Admin.Network.Mode),
                    Str(p, "NetworkAddress", Admin.Network.Address),
                    Str(p, "NetworkGateway", Admin.Network.Gateway),
                    p.TryGetValue("NetworkDns", out var nd) ? nd.GetArray<string>() : Admin.Network.Dns,
                    p.TryGetValue("NetworkAddresses", out var na) ? na.GetArray<string>() : Admin.Network.Addresses),
                Proxy = Str(p, "Proxy", Admin.Proxy),
                TimeStatus = Str(p, "TimeStatus", Admin.TimeStatus),
            },
        },
        _ => this,
    };

    private static string Str(IReadOnlyDictionary<string, VariantValue> p, string name, string fallback) =>
        p.TryGetValue(name, out var v) ? v.GetString() : fallback;

    private static bool Bool(IReadOnlyDictionary<string, VariantValue> p, string name, bool fallback) =>
        p.TryGetValue(name, out var v) ? v.GetBool() : fallback;

    private static double Dbl(IReadOnlyDictionary<string, VariantValue> p, string name, double fallback) =>
        p.TryGetValue(name, out var v) ? v.GetDouble() : fallback;

    private static Participant[] ReadParticipants(VariantValue v) =>
        Enumerable.Range(0, v.Count).Select(i => v.GetItem(i))
            .Select(s => new Participant(s.GetItem(0).GetString(), s.GetItem(1).GetString(), s.GetItem(2).GetBool())).ToArray();

    private static LobbyEntry[] ReadLobby(VariantValue v) =>
        Enumerable.Range(0, v.Count).Select(i => v.GetItem(i))
            .Select(s => new LobbyEntry(s.GetItem(0).GetString(), s.GetItem(1).GetString(), s.GetItem(2).GetString(), s.GetItem(3).GetString())).ToArray();

    private static Dictionary<string, (string Kind, string InvitedBy)> ReadKinds(VariantValue v)
    {
        var kinds = new Dictionary<string, (string, string)>();
        for (int i = 0; i < v.Count; i++)
        {
            var s = v.GetItem(i);
            kinds[s.GetItem(0).GetString()] = (s.GetItem(1).GetString(), s.GetItem(2).GetString());
        }

        return kinds;
    }

    private static Participant[] WithKinds(IReadOnlyList<Participant> participants, Dictionary<string, (string Kind, string InvitedBy)> kinds) =>
        [.. participants.Select(x => kinds.TryGetValue(x.Id, out var k) ? x with { Kind = k.Kind, InvitedBy = k.InvitedBy } : x with { Kind = "", InvitedBy = "" })];

    private static CameraEntry[] ReadCameras(VariantValue v) =>
        Enumerable.Range(0, v.Count).Select(i => v.GetItem(i))
            .Select(s => new CameraEntry(s.GetItem(0).GetString(), s.GetItem(1).GetString())).ToArray();

    private static DeviceEntry[] ReadDevices(VariantValue v) =>
        Enumerable.Range(0, v.Count).Select(i => v.GetItem(i))
            .Select(s => new DeviceEntry(
                s.GetItem(0).GetString(),
                s.GetItem(1).GetString(),
                s.GetItem(2).GetString(),
                s.GetItem(3).GetString(),
                s.GetItem(4).GetString(),
                s.GetItem(5).GetString(),
                s.GetItem(6).GetDictionary<string, string>())).ToArray();

    private static CalendarEntry[] ReadCalendar(VariantValue v) =>
        Enumerable.Range(0, v.Count).Select(i => v.GetItem(i))
            .Select(s => new CalendarEntry(
                s.GetItem(0).GetString(),
                s.GetItem(1).GetString(),
                DateTimeOffset.FromUnixTimeSeconds(s.GetItem(2).GetInt64()),
                DateTimeOffset.FromUnixTimeSeconds(s.GetItem(3).GetInt64()))).ToArray();

    private static AgendaEntry[] ReadAgenda(VariantValue v) =>
        Enumerable.Range(0, v.Count).Select(i => ReadAgendaEntry(v.GetItem(i))).OfType<AgendaEntry>().ToArray();

    private static AgendaEntry? ReadAgendaEntry(VariantValue s) =>
        s.GetItem(0).GetString() is not { Length: > 0 } id ? null : new AgendaEntry(
            id,
            s.GetItem(1).GetString(),
            DateTimeOffset.FromUnixTimeSeconds(s.GetItem(2).GetInt64()),
            DateTimeOffset.FromUnixTimeSeconds(s.GetItem(3).GetInt64()),
            s.GetItem(4).GetBool(),
            s.GetItem(5).GetBool(),
            s.GetItem(6).GetString(),
            s.GetItem(7).GetString(),
            s.GetItem(8).GetBool());
}
