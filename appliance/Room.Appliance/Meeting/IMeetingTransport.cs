namespace Room.Appliance.Meeting;

/// <param name="Kind">"room", "person" or "guest" when the member's credential says (MLS meetings); empty otherwise.</param>
/// <param name="InvitedBy">For a guest: the name of the host who invited it, from its certificate; empty otherwise.</param>
public sealed record MeetingParticipant(string Id, string Name, bool Muted, string Kind = "", string InvitedBy = "");

/// <summary>Why a call ended without us leaving, and whether joining the same meeting again can bring it back.</summary>
/// <param name="Reason">For people: what happened.</param>
/// <param name="CanRejoin">True when the meeting itself goes on (the network or the SFU dropped the call).</param>
public sealed record CallEnd(string Reason, bool CanRejoin);

/// <summary>The SFrame key bindings of one call (see <see cref="IMeetingSession.Keys"/>).</summary>
public sealed record MediaKeys(Room.Crypto.Media.MlsSFrameBinding Send, Room.Crypto.Media.MlsSFrameBinding Receive, string Description);

/// <summary>Connects roomd to a meeting. The loopback transport stands in until the WebRTC transport lands.</summary>
public interface IMeetingTransport
{
    /// <summary>Joins; completes when media flows and keys are agreed, or throws <see cref="MeetingFailedException"/>.</summary>
    Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken);
}

/// <summary>A joined meeting.</summary>
public interface IMeetingSession : IAsyncDisposable
{
    /// <summary>Everyone in the call, this room first.</summary>
    IReadOnlyList<MeetingParticipant> Participants { get; }

    /// <summary>The current epoch's security code (changes on every rekey).</summary>
    string SecurityCode { get; }

    /// <summary>Participants or security code changed.</summary>
    event EventHandler? Changed;

    /// <summary>The call ended without us leaving; the argument says why and whether it can be rejoined.</summary>
    event EventHandler<CallEnd>? Ended;

    /// <summary>
    /// SFrame keys of the call, from the MLS group: <c>Send</c> encrypts this room's media, <c>Receive</c>
    /// decrypts what arrives. Null while the transport carries no end-to-end encrypted media.
    /// </summary>
    MediaKeys? Keys { get; }

    /// <summary>
    /// The call's network media (a WebRTC call through an SFU), fed with the room's devices by the media service;
    /// null when the transport has none (the loopback call's media is looped inside roomd).
    /// </summary>
    ICallMedia? CallMedia => null;

    void SetMicrophoneMuted(bool muted);

    Task LeaveAsync(CancellationToken cancellationToken);

    /// <summary>The lobby of a meeting-server meeting (empty while this room is not one of its hosts); null for other calls.</summary>
    IMeetingLobby? Lobby => null;
}

/// <summary>Media of a call that goes over the network: roomd's devices in, remote participants' media out.</summary>
public interface ICallMedia
{
    /// <summary>What carries the media, for the media report ("Janus VideoRoom 1234 at ws://..., WebRTC").</summary>
    string Transport { get; }

    /// <summary><see cref="Transport"/> may read differently now (the media path was chosen again, e.g. after an ICE restart).</summary>
    event EventHandler? TransportChanged;

    /// <summary>How media is end-to-end encrypted.</summary>
    string Encryption { get; }

    /// <summary>
    /// True only when every frame is SFrame-protected with keys from the meeting's MLS group (no server holds them);
    /// false for interim keys every holder of the meeting link can derive. What the room display's badge shows.
    /// </summary>
    bool EndToEnd { get; }

    /// <summary>The name to show for each remote feed (the SFU's publisher id), as the participants call themselves.</summary>
    IReadOnlyDictionary<long, string> FeedNames { get; }

    /// <summary>Everything received from the other participants: decoded video (pictures, snapshots) and the audio mix.</summary>
    Room.Call.CallSubscriber Subscriber { get; }

    /// <summary>The camera format to capture for this call (the largest picture the call may send, scaled down when the bandwidth is short).</summary>
    Room.Devices.VideoFormat ChooseCapture(IReadOnlyList<Room.Devices.VideoFormat> formats);

    /// <summary>
    /// Starts sending the room's camera (frames in <paramref name="captureFormat"/>) and microphones; the caller feeds
    /// and disposes the publisher. A new one replaces the previous (e.g. after a camera change).
    /// </summary>
    Room.Call.CallPublisher StartPublishing(Room.Devices.VideoFormat captureFormat, int microphoneChannels, Room.Media.Audio.AudioProcessor? processor);

    /// <summary>Counters of the call so far (frames sent and decoded, rejected by decryption), one line each.</summary>
    string Statistics { get; }
}

public sealed class MeetingFailedException : Exception
{
    public MeetingFailedException(string message)
        : base(message)
    {
    }

    public MeetingFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MeetingFailedException()
    {
    }
}

/// <summary>Someone waiting in a meeting's lobby: identity, the name to show, kind ("guest", "person", "room") and for a guest who invited it.</summary>
public sealed record LobbyEntry(string Id, string Name, string Kind, string InvitedBy);

/// <summary>Why an admission or denial was refused.</summary>
public enum LobbyRefusal
{
    /// <summary>Not in a meeting whose lobby this room sees (no call, or not a host of a meeting-server meeting).</summary>
    NoLobby,

    /// <summary>The identity is not waiting in the lobby (admitted, denied or gone meanwhile, or never there).</summary>
    NotWaiting,

    /// <summary>The meeting server refused or could not be reached; the message says which.</summary>
    ServerRefused,
}

public sealed class LobbyRefusedException(LobbyRefusal reason, string message) : Exception(message)
{
    public LobbyRefusal Reason { get; } = reason;
}

/// <summary>A meeting's lobby as a host room sees it: who waits, and admitting or denying them.</summary>
public interface IMeetingLobby
{
    /// <summary>True when this room is a host of the meeting (only hosts see and manage the lobby).</summary>
    bool IsHost { get; }

    IReadOnlyList<LobbyEntry> Waiting { get; }

    /// <summary><see cref="Waiting"/> changed.</summary>
    event EventHandler? LobbyChanged;

    /// <summary>Lets <paramref name="id"/> in; throws <see cref="LobbyRefusedException"/> saying why not.</summary>
    Task AdmitAsync(string id, CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="id"/> out (a guest's invitation is revoked, anyone else removed from the meeting).</summary>
    Task DenyAsync(string id, CancellationToken cancellationToken);
}
