namespace Room.MeetingServer.Storage;

/// <summary>A local account (people); the password hash is an Argon2id PHC string.</summary>
public sealed record UserRecord(string Name, string PasswordHash, bool IsAdmin);

/// <summary>An enrolled device: its certificate's serial says which certificate is current.</summary>
public sealed record DeviceRecord(string Name, string CertificateSerial, long EnrolledAt, bool Revoked);

/// <summary>A meeting; <see cref="Epoch"/> is null until its host created the MLS group.</summary>
public sealed record MeetingRecord(string Id, string Title, string CreatedBy, long CreatedAt, bool Locked, bool Ended, long? Epoch, byte[]? GroupInfo);

public enum ParticipantRole
{
    Participant,
    Host,
}

/// <summary>Where an identity stands in a meeting: only <see cref="Invited"/> and <see cref="Admitted"/> may see it.</summary>
public enum ParticipantState
{
    Invited,
    Waiting,
    Admitted,
    Removed,
}

public sealed record ParticipantRecord(string MeetingId, string Identity, ParticipantRole Role, ParticipantState State)
{
    public bool MayJoin => State is ParticipantState.Invited or ParticipantState.Admitted;
}

public sealed record HandshakeRecord(long Epoch, string Sender, byte[] Message);

public sealed record WelcomeRecord(long Epoch, byte[] Message);

/// <summary>
/// A proposal the server signed as the group's external sender for one epoch: Remove of the leaf at
/// <see cref="Leaf"/> whose encryption key was <see cref="LeafKey"/> (hex) when it was proposed.
/// </summary>
public sealed record ProposalRecord(long Epoch, long Leaf, string LeafKey, string Reason, byte[] Message);

/// <summary>
/// A guest invitation: the host <see cref="InvitedBy"/> invited <see cref="Name"/> to a meeting. Only the SHA-256 of
/// its token is kept. The guest's identity is "guest:" + <see cref="Id"/>.
/// </summary>
public sealed record GuestInvitationRecord(string Id, string MeetingId, string Name, string InvitedBy, string TokenHash, long CreatedAt, long ExpiresAt, long? UsedAt, long? RevokedAt);

public enum RedeemOutcome
{
    Redeemed,
    Unknown,
    Used,
    Expired,
    Revoked,
}

/// <summary>A commit the delivery service accepted, with what goes with it.</summary>
public sealed record CommitAppend(string MeetingId, long Epoch, string Sender, byte[] Message, byte[] NextGroupInfo, IReadOnlyList<(string Identity, byte[] Welcome)> Welcomes);

/// <summary>
/// The meeting server's state. Two implementations share one SQL text: SQLite (a file, the default) and PostgreSQL.
/// Every method is atomic; the ordering rule of the delivery service (one commit per epoch) is a primary key.
/// </summary>
public interface IMeetingStore
{
    Task InitializeAsync(CancellationToken ct = default);

    Task<bool> AddUserAsync(UserRecord user, CancellationToken ct = default);

    Task<UserRecord?> GetUserAsync(string name, CancellationToken ct = default);

    Task AddEnrolmentCodeAsync(string codeHash, string deviceName, string createdBy, long expiresAt, CancellationToken ct = default);

    /// <summary>Marks the code used and returns its device name; null when unknown, used or expired (nothing changes then).</summary>
    Task<string?> ConsumeEnrolmentCodeAsync(string codeHash, long now, CancellationToken ct = default);

    Task PutDeviceAsync(DeviceRecord device, CancellationToken ct = default);

    Task<DeviceRecord?> GetDeviceAsync(string name, CancellationToken ct = default);

    Task<bool> RevokeDeviceAsync(string name, CancellationToken ct = default);

    Task CreateMeetingAsync(MeetingRecord meeting, IReadOnlyList<ParticipantRecord> participants, CancellationToken ct = default);

    Task<MeetingRecord?> GetMeetingAsync(string id, CancellationToken ct = default);

    Task SetMeetingFlagsAsync(string id, bool? locked, bool? ended, CancellationToken ct = default);

    Task PutParticipantAsync(ParticipantRecord participant, CancellationToken ct = default);

    Task<ParticipantRecord?> GetParticipantAsync(string meetingId, string identity, CancellationToken ct = default);

    Task<IReadOnlyList<ParticipantRecord>> ListParticipantsAsync(string meetingId, CancellationToken ct = default);

    /// <summary>The meetings in which <paramref name="identity"/> is a participant (any state), with its own record, newest first.</summary>
    Task<IReadOnlyList<(MeetingRecord Meeting, ParticipantRecord Me)>> ListMeetingsOfAsync(string identity, CancellationToken ct = default);

    /// <summary>False when a KeyPackage with this reference was uploaded before (a replay).</summary>
    Task<bool> AddKeyPackageAsync(byte[] reference, string identity, byte[] keyPackage, bool lastResort, CancellationToken ct = default);

    /// <summary>Takes one unused KeyPackage of the identity (it is then gone), else its last-resort one; null if none.</summary>
    Task<byte[]?> ClaimKeyPackageAsync(string identity, CancellationToken ct = default);

    /// <summary>The identity whose KeyPackage has this reference, or null.</summary>
    Task<string?> KeyPackageOwnerAsync(byte[] reference, CancellationToken ct = default);

    /// <summary>Sets the group's first GroupInfo; false if the group exists already.</summary>
    Task<bool> InitGroupAsync(string meetingId, long epoch, byte[] groupInfo, CancellationToken ct = default);

    /// <summary>
    /// Appends a commit for <see cref="CommitAppend.Epoch"/> if it is the group's current epoch and no commit has been
    /// accepted for it; returns false (and changes nothing) otherwise.
    /// </summary>
    Task<bool> AppendCommitAsync(CommitAppend commit, CancellationToken ct = default);

    /// <summary>Stores the server's proposals for an epoch; one per leaf and epoch (a second one for the same leaf is left out).</summary>
    Task AddProposalsAsync(string meetingId, IReadOnlyList<ProposalRecord> proposals, CancellationToken ct = default);

    /// <summary>The server's proposals of one epoch, in the order they were made.</summary>
    Task<IReadOnlyList<ProposalRecord>> GetProposalsAsync(string meetingId, long epoch, CancellationToken ct = default);

    /// <summary>Meetings not ended, with a group, in which the identity is a participant.</summary>
    Task<IReadOnlyList<string>> ActiveMeetingsOfAsync(string identity, CancellationToken ct = default);

    /// <summary>How many meetings are in progress: not ended, their MLS group made (as for <see cref="ActiveMeetingsOfAsync"/>).</summary>
    Task<int> CountMeetingsInProgressAsync(CancellationToken ct = default);

    /// <summary>Handshakes from <paramref name="fromEpoch"/> on: per epoch the server's proposals first, then the epoch's commit.</summary>
    Task<IReadOnlyList<HandshakeRecord>> GetHandshakesAsync(string meetingId, long fromEpoch, CancellationToken ct = default);

    Task AddGuestInvitationAsync(GuestInvitationRecord invitation, CancellationToken ct = default);

    /// <summary>
    /// Spends the invitation with this token hash if it is open (not used, not revoked, not expired at <paramref name="now"/>)
    /// and puts its guest in the meeting's lobby, in one transaction; otherwise says why and changes nothing.
    /// </summary>
    Task<(RedeemOutcome Outcome, GuestInvitationRecord? Invitation)> RedeemGuestInvitationAsync(string tokenHash, long now, CancellationToken ct = default);

    Task<GuestInvitationRecord?> GetGuestInvitationAsync(string id, CancellationToken ct = default);

    Task<IReadOnlyList<GuestInvitationRecord>> ListGuestInvitationsAsync(string meetingId, CancellationToken ct = default);

    /// <summary>Marks the invitation revoked (if not already); false if there is no such invitation.</summary>
    Task<bool> RevokeGuestInvitationAsync(string id, long now, CancellationToken ct = default);

    Task<IReadOnlyList<WelcomeRecord>> GetWelcomesAsync(string meetingId, string identity, CancellationToken ct = default);
}
