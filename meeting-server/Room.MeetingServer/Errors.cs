namespace Room.MeetingServer;

/// <summary>Why a request was refused. Each maps to one HTTP status and a stable machine name in Api/.</summary>
public enum Refusal
{
    Unauthenticated,
    Forbidden,
    NotFound,
    Malformed,
    CodeInvalid,
    EpochConflict,
    Duplicate,
    MeetingEnded,
    MeetingLocked,
    NotInvited,
    NoKeyPackage,
    GroupExists,
    GroupMissing,

    /// <summary>A member's commit leaves out proposals the server made for that epoch: sync, then commit again.</summary>
    ProposalsMissing,

    /// <summary>A guest invitation token that is unknown: forged, mistyped or never issued.</summary>
    InvitationInvalid,

    /// <summary>A guest invitation used before (each works once).</summary>
    InvitationUsed,

    InvitationExpired,

    InvitationRevoked,

    /// <summary>A tenant that still has meetings in progress (not ended, MLS group made) is not deleted.</summary>
    MeetingsInProgress,
}

/// <summary>A refused request: nothing was changed.</summary>
public sealed class RefusedException(Refusal refusal, string message, long? currentEpoch = null) : Exception(message)
{
    public Refusal Refusal { get; } = refusal;

    public long? CurrentEpoch { get; } = currentEpoch;
}
