namespace Room.Appliance.Meeting;

public sealed record MeetingParticipant(string Id, string Name, bool Muted);

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

    /// <summary>The call ended without us leaving; the argument says why.</summary>
    event EventHandler<string>? Ended;

    /// <summary>
    /// SFrame keys of the call, from the MLS group: <c>Send</c> encrypts this room's media, <c>Receive</c>
    /// decrypts what arrives. Null while the transport carries no end-to-end encrypted media.
    /// </summary>
    MediaKeys? Keys { get; }

    void SetMicrophoneMuted(bool muted);

    Task LeaveAsync(CancellationToken cancellationToken);
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
