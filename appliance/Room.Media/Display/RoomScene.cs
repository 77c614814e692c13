namespace Room.Media.Display;

/// <summary>What the call's media is protected with, as the room display must always show it.</summary>
public enum EncryptionState
{
    /// <summary>Not known (yet): shown as not encrypted, never as safe.</summary>
    Unknown,

    /// <summary>Encrypted on the wire only (DTLS-SRTP to a server that can see the media).</summary>
    TransportOnly,

    /// <summary>End-to-end encrypted (SFrame keys from the MLS group): no server can see the media.</summary>
    EndToEnd,
}

/// <summary>One far-end participant: the roster's name and their latest decoded picture (empty when video is off).</summary>
public readonly record struct Participant(string Name, VideoPicture Picture);

/// <summary>
/// Everything one composed frame shows. A ref struct over the caller's spans, so building a scene each frame
/// allocates nothing.
/// </summary>
public readonly ref struct RoomScene
{
    public DisplayLayout Layout { get; init; }

    /// <summary>The far end, in roster order.</summary>
    public ReadOnlySpan<Participant> People { get; init; }

    /// <summary>Index into <see cref="People"/> of who speaks (from audio levels); out of range: the first.</summary>
    public int ActiveSpeaker { get; init; }

    /// <summary>Shared content (a laptop's screen); empty when nobody shares.</summary>
    public VideoPicture Content { get; init; }

    /// <summary>Our own camera for the picture-in-picture; empty to hide it.</summary>
    public VideoPicture SelfView { get; init; }

    /// <summary>Mirror the self-view, as people expect to see themselves.</summary>
    public bool MirrorSelfView { get; init; }

    public EncryptionState Encryption { get; init; }

    /// <summary>Shown in the middle when nobody else is there (null: "Waiting for others to join").</summary>
    public string? Message { get; init; }
}
