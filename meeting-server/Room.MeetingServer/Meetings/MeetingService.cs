using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Options;
using Room.Crypto;
using Room.Crypto.Certificates;
using Room.Crypto.Mls;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Storage;

namespace Room.MeetingServer.Meetings;

/// <summary>Who is calling: an enrolled device (mutual TLS) or a signed-in person (token).</summary>
public sealed record Caller(string Identity, bool Admin);

public sealed record EnrolResult(string Identity, byte[] Certificate, byte[] CaCertificate);

/// <summary>
/// Accounts, enrolment, meetings, invitations, the lobby and the MLS delivery service. Every refusal throws
/// <see cref="RefusedException"/> before anything is stored, and is logged with who asked and why.
/// </summary>
public sealed class MeetingService(IMeetingStore store, OrganisationCa ca, GuestCa guestCa, PasswordHasher hasher, LdapAuthenticator ldap, TokenService tokens,
    Janus.JanusOrchestrator janus, MlsExternalSender externalSender, IOptions<MeetingServerOptions> options, TimeProvider time, ILogger<MeetingService> log) : IDisposable
{
    private readonly MeetingServerOptions _o = options.Value;

    /// <summary>
    /// One order of the server's own proposals and the commits that take an epoch: a proposal is made for the epoch a
    /// commit is checked against, and carried to the next epoch when that commit (an external join) left it out.
    /// </summary>
    private readonly SemaphoreSlim _order = new(1, 1);

    public void Dispose() => _order.Dispose();

    private MlsCipherSuite Suite => MlsCipherSuite.Get(_o.CipherSuite);

    private long Now => time.GetUtcNow().ToUnixTimeSeconds();

    private RefusedException Refuse(Refusal r, string who, string message, long? epoch = null)
    {
        log.LogWarning("refused {Refusal} for {Caller}: {Message}", r, who, message);
        return new RefusedException(r, message, epoch);
    }

    // ------------------------------------------------------------------ accounts and enrolment

    public async Task AddLocalUserAsync(string name, string password, bool admin, CancellationToken ct)
    {
        if (!Identities.IsValidName(name) || password.Length < 8)
        {
            throw Refuse(Refusal.Malformed, "admin", "a user needs a valid name and a password of 8 characters or more");
        }

        if (!await store.AddUserAsync(new UserRecord(name, hasher.Hash(password), admin), ct).ConfigureAwait(false))
        {
            throw Refuse(Refusal.Duplicate, "admin", $"user {name} exists");
        }
    }

    /// <summary>Local account first; otherwise the directory. Returns a token for "person:NAME".</summary>
    public async Task<(string Identity, string Token)> LoginAsync(string name, string password, CancellationToken ct)
    {
        if (!Identities.IsValidName(name))
        {
            throw Refuse(Refusal.Unauthenticated, name, "sign-in refused");
        }

        var user = await store.GetUserAsync(name, ct).ConfigureAwait(false);
        bool ok = user is not null ? PasswordHasher.Verify(password, user.PasswordHash) : await ldap.BindAsync(name, password, ct).ConfigureAwait(false);
        if (!ok)
        {
            throw Refuse(Refusal.Unauthenticated, "person:" + name, user is null && !ldap.Configured ? "sign-in refused (no such local account, no directory)" : "sign-in refused");
        }

        string identity = Identities.Person(name);
        log.LogInformation("{Identity} signed in ({Source})", identity, user is null ? "directory" : "local account");
        return (identity, tokens.Issue(identity, user?.IsAdmin == true));
    }

    public async Task<string> CreateEnrolmentCodeAsync(Caller caller, string deviceName, CancellationToken ct)
    {
        if (!caller.Admin)
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "only an administrator creates enrolment codes");
        }

        Identities.Device(deviceName);
        string secret = Base32(RandomNumberGenerator.GetBytes(15));
        await store.AddEnrolmentCodeAsync(HashCode(secret), deviceName, caller.Identity, Now + _o.EnrolmentCodeLifetimeSeconds, ct).ConfigureAwait(false);
        log.LogInformation("{Admin} created an enrolment code for device:{Device}", caller.Identity, deviceName);
        // The code carries the CA's pin so that the box can check whom it talks to before it trusts anything.
        return secret + "." + ca.Pin;
    }

    /// <summary>A box sends its certificate request with a one-time code; it gets its device certificate.</summary>
    public async Task<EnrolResult> EnrolAsync(string code, byte[] csr, CancellationToken ct)
    {
        string secret = code.Split('.')[0];
        if (secret.Length is < 8 or > 64)
        {
            throw Refuse(Refusal.CodeInvalid, "unenrolled box", "enrolment code unknown, used or expired");
        }

        // Check the request before spending the code: a malformed request must not use it up.
        using (ca.Issue(csr, "device:probe", TimeSpan.FromMinutes(1)))
        {
        }

        string? device = await store.ConsumeEnrolmentCodeAsync(HashCode(secret), Now, ct).ConfigureAwait(false)
            ?? throw Refuse(Refusal.CodeInvalid, "unenrolled box", "enrolment code unknown, used or expired");
        string identity = Identities.Device(device);
        using var cert = ca.Issue(csr, identity, TimeSpan.FromDays(_o.DeviceCertificateDays));
        await store.PutDeviceAsync(new DeviceRecord(device, cert.SerialNumber, Now, false), ct).ConfigureAwait(false);
        log.LogInformation("{Identity} enrolled (certificate {Serial})", identity, cert.SerialNumber);
        return new EnrolResult(identity, cert.RawData, ca.Certificate.RawData);
    }

    /// <summary>A signed-in person's MLS credential: a short-lived certificate for a key their client made.</summary>
    public byte[] IssuePersonCertificate(Caller caller, byte[] csr)
    {
        if (!caller.Identity.StartsWith(Identities.PersonPrefix, StringComparison.Ordinal))
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "person certificates are for people");
        }

        using var cert = ca.Issue(csr, caller.Identity, TimeSpan.FromHours(_o.PersonCertificateHours));
        return cert.RawData;
    }

    public async Task RevokeDeviceAsync(Caller caller, string deviceName, CancellationToken ct)
    {
        if (!caller.Admin)
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "only an administrator revokes devices");
        }

        if (!await store.RevokeDeviceAsync(deviceName, ct).ConfigureAwait(false))
        {
            throw Refuse(Refusal.NotFound, caller.Identity, $"no device {deviceName}");
        }

        log.LogInformation("{Admin} revoked device:{Device}", caller.Identity, deviceName);
        // Gone for good: its leaves leave every meeting it is in (a member commits the server's Remove), and its Janus sessions are kicked.
        string identity = Identities.DevicePrefix + deviceName;
        foreach (string meetingId in await store.ActiveMeetingsOfAsync(identity, ct).ConfigureAwait(false))
        {
            await ProposeRemovalAsync(meetingId, identity, "device revoked", ct).ConfigureAwait(false);
            await janus.RevokeAsync(meetingId, identity, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A client certificate presented over TLS: the device identity if it is this CA's, current and not revoked.</summary>
    public async Task<Caller?> AuthenticateDeviceAsync(X509Certificate2 cert, CancellationToken ct)
    {
        string? identity = ca.Verify(cert, out string why);
        if (identity is null || !identity.StartsWith(Identities.DevicePrefix, StringComparison.Ordinal))
        {
            log.LogWarning("client certificate {Subject} refused: {Why}", cert.Subject, identity is null ? why : "not a device certificate");
            return null;
        }

        var device = await store.GetDeviceAsync(identity[Identities.DevicePrefix.Length..], ct).ConfigureAwait(false);
        if (device is null || device.Revoked || device.CertificateSerial != cert.SerialNumber)
        {
            log.LogWarning("client certificate of {Identity} refused: {Why}", identity, device is null ? "not enrolled" : device.Revoked ? "revoked" : "superseded");
            return null;
        }

        return new Caller(identity, false);
    }

    private static string HashCode(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret.ToUpperInvariant())));

    private static string Base32(byte[] data)
    {
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        var sb = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (byte b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        return sb.ToString();
    }

    // ------------------------------------------------------------------ meetings, invitations, lobby

    public async Task<string> CreateMeetingAsync(Caller caller, string title, IReadOnlyList<string> invite, CancellationToken ct)
    {
        if (Identities.IsGuest(caller.Identity))
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "guests do not create meetings");
        }

        if (title.Length is 0 or > 200 || invite.Any(i => !Identities.IsValid(i)))
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "a meeting needs a title (1-200 characters) and valid identities to invite");
        }

        string id = Base32(RandomNumberGenerator.GetBytes(10)).ToLowerInvariant();
        var participants = invite.Where(i => i != caller.Identity).Distinct(StringComparer.Ordinal)
            .Select(i => new ParticipantRecord(id, i, ParticipantRole.Participant, ParticipantState.Invited))
            .Prepend(new ParticipantRecord(id, caller.Identity, ParticipantRole.Host, ParticipantState.Invited)).ToList();
        await store.CreateMeetingAsync(new MeetingRecord(id, title, caller.Identity, Now, false, false, null, null), participants, ct).ConfigureAwait(false);
        log.LogInformation("{Caller} created meeting {Meeting} inviting {Count}", caller.Identity, id, participants.Count - 1);
        return id;
    }

    /// <summary>The caller's meetings (invited or admitted; not those it was removed from or only knocked at), newest first.</summary>
    public async Task<IReadOnlyList<(MeetingRecord Meeting, ParticipantRecord Me)>> MyMeetingsAsync(Caller caller, CancellationToken ct) =>
        [.. (await store.ListMeetingsOfAsync(caller.Identity, ct).ConfigureAwait(false)).Where(x => x.Me.MayJoin)];

    /// <summary>The meeting and the caller's place in it, if the caller may take part; refused otherwise (uninvited callers learn nothing).</summary>
    public async Task<(MeetingRecord Meeting, ParticipantRecord Me)> RequireMemberAsync(Caller caller, string meetingId, CancellationToken ct, bool allowEnded = false)
    {
        var m = await store.GetMeetingAsync(meetingId, ct).ConfigureAwait(false);
        var me = m is null ? null : await store.GetParticipantAsync(meetingId, caller.Identity, ct).ConfigureAwait(false);
        if (m is null || me is null || !me.MayJoin)
        {
            throw Refuse(Refusal.NotInvited, caller.Identity, $"not invited to meeting {meetingId} (or no such meeting)");
        }

        if (m.Ended && !allowEnded)
        {
            throw Refuse(Refusal.MeetingEnded, caller.Identity, $"meeting {meetingId} has ended");
        }

        return (m, me);
    }

    private async Task<MeetingRecord> RequireHostAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        var (m, me) = await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        return me.Role == ParticipantRole.Host ? m : throw Refuse(Refusal.Forbidden, caller.Identity, "only a host may do this");
    }

    public async Task InviteAsync(Caller caller, string meetingId, string identity, ParticipantRole role, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        if (!Identities.IsValid(identity))
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "not a valid identity");
        }

        await store.PutParticipantAsync(new ParticipantRecord(meetingId, identity, role, ParticipantState.Invited), ct).ConfigureAwait(false);
        log.LogInformation("{Caller} invited {Identity} to {Meeting}", caller.Identity, identity, meetingId);
    }

    /// <summary>An uninvited identity asks to be let in; it learns only its lobby state.</summary>
    public async Task<ParticipantState> KnockAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        var m = await store.GetMeetingAsync(meetingId, ct).ConfigureAwait(false);
        if (m is null || m.Ended)
        {
            throw Refuse(Refusal.NotFound, caller.Identity, "no such meeting");
        }

        var me = await store.GetParticipantAsync(meetingId, caller.Identity, ct).ConfigureAwait(false);
        if (me is not null)
        {
            return me.State;
        }

        if (Identities.IsGuest(caller.Identity))
        {
            // A guest waits only in the meeting its invitation is for (it was put in that lobby when it redeemed it).
            throw Refuse(Refusal.NotFound, caller.Identity, "no such meeting");
        }

        if (m.Locked)
        {
            throw Refuse(Refusal.MeetingLocked, caller.Identity, "the meeting is locked");
        }

        await store.PutParticipantAsync(new ParticipantRecord(meetingId, caller.Identity, ParticipantRole.Participant, ParticipantState.Waiting), ct).ConfigureAwait(false);
        log.LogInformation("{Caller} waits in the lobby of {Meeting}", caller.Identity, meetingId);
        return ParticipantState.Waiting;
    }

    public async Task<IReadOnlyList<ParticipantRecord>> ParticipantsAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        await RequireMemberAsync(caller, meetingId, ct, allowEnded: true).ConfigureAwait(false);
        return await store.ListParticipantsAsync(meetingId, ct).ConfigureAwait(false);
    }

    public async Task AdmitAsync(Caller caller, string meetingId, string identity, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        var p = await store.GetParticipantAsync(meetingId, identity, ct).ConfigureAwait(false);
        if (p is not { State: ParticipantState.Waiting })
        {
            throw Refuse(Refusal.NotFound, caller.Identity, $"{identity} is not waiting in the lobby");
        }

        await store.PutParticipantAsync(p with { State = ParticipantState.Admitted }, ct).ConfigureAwait(false);
        log.LogInformation("{Caller} admitted {Identity} to {Meeting}", caller.Identity, identity, meetingId);
        await ProposeAddAsync(meetingId, identity, "admitted by " + caller.Identity, ct).ConfigureAwait(false);
    }

    /// <summary>Takes the identity out: it gets nothing more of this meeting. (Its MLS leaf goes with the next commit.)</summary>
    public async Task RemoveAsync(Caller caller, string meetingId, string identity, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        var p = await store.GetParticipantAsync(meetingId, identity, ct).ConfigureAwait(false)
            ?? throw Refuse(Refusal.NotFound, caller.Identity, $"{identity} is not in the meeting");
        await store.PutParticipantAsync(p with { State = ParticipantState.Removed }, ct).ConfigureAwait(false);
        log.LogInformation("{Caller} removed {Identity} from {Meeting}", caller.Identity, identity, meetingId);
        await ProposeRemovalAsync(meetingId, identity, "removed by " + caller.Identity, ct).ConfigureAwait(false);
        await janus.RevokeAsync(meetingId, identity, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The caller leaves the meeting's group: the server proposes the removal of its leaves (a remaining member commits
    /// it). It stays invited and may join again (it leaves Janus itself). Returns how many leaves were proposed.
    /// </summary>
    public async Task<int> LeaveAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        int n = await ProposeRemovalAsync(meetingId, caller.Identity, "left", ct).ConfigureAwait(false);
        log.LogInformation("{Caller} left {Meeting} ({Count} leaves proposed for removal)", caller.Identity, meetingId, n);
        return n;
    }

    public async Task SetLockedAsync(Caller caller, string meetingId, bool locked, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        await store.SetMeetingFlagsAsync(meetingId, locked, null, ct).ConfigureAwait(false);
    }

    public async Task EndAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        await store.SetMeetingFlagsAsync(meetingId, null, true, ct).ConfigureAwait(false);
        log.LogInformation("{Caller} ended {Meeting} for all", caller.Identity, meetingId);
        await janus.DestroyAsync(meetingId, ct).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ MLS delivery service

    /// <summary>The meeting's MLS group id: the UTF-8 of "room-meeting:" + id.</summary>
    public static byte[] GroupIdOf(string meetingId) => Encoding.UTF8.GetBytes("room-meeting:" + meetingId);

    private OrganisationCredentialValidator Validator =>
        new(ca.Certificate, guestCa.Certificate, () => time.GetUtcNow().UtcDateTime, requireGuestCa: true);

    /// <summary>
    /// Stores KeyPackages of the caller: each must be this suite's, signed by its leaf key, with an X.509 credential
    /// chained to the organisation CA whose identity is the caller's. Basic credentials are refused.
    /// </summary>
    public async Task<int> UploadKeyPackagesAsync(Caller caller, IReadOnlyList<byte[]> keyPackages, byte[]? lastResort, CancellationToken ct)
    {
        var parsed = new List<(byte[] Ref, byte[] Data, bool LastResort)>();
        foreach (var (data, lr) in keyPackages.Select(k => (k, false)).Concat(lastResort is null ? [] : [(lastResort, true)]))
        {
            KeyPackage kp;
            try
            {
                var msg = MlsMessage.Decode(data);
                kp = msg.KeyPackage ?? throw new MlsException("not a KeyPackage");
                var cs = Suite;
                if (kp.CipherSuite != cs.Id)
                {
                    throw new MlsException($"KeyPackage suite {kp.CipherSuite} is not this organisation's ({cs.Id})");
                }

                if (!cs.VerifyWithLabel(kp.LeafNode.SignatureKey, "KeyPackageTBS", kp.ToBeSigned(), kp.Signature) || !kp.LeafNode.VerifySignature(cs, null, 0))
                {
                    throw new MlsException("KeyPackage signature invalid");
                }

                string who = Validator.Validate(kp.LeafNode.Credential, kp.LeafNode.SignatureKey);
                if (who != caller.Identity)
                {
                    throw new MlsException($"KeyPackage credential is {who}, not the caller");
                }

                parsed.Add((kp.Ref(cs), data, lr));
            }
            catch (RoomCryptoException e)
            {
                throw Refuse(Refusal.Malformed, caller.Identity, "KeyPackage refused: " + e.Message);
            }
        }

        int stored = 0;
        foreach (var (r, data, lr) in parsed)
        {
            if (!await store.AddKeyPackageAsync(r, caller.Identity, data, lr, ct).ConfigureAwait(false))
            {
                throw Refuse(Refusal.Duplicate, caller.Identity, "KeyPackage uploaded before (replay)");
            }

            stored++;
        }

        return stored;
    }

    /// <summary>A member takes one KeyPackage of an identity that may join the meeting, to add it.</summary>
    public async Task<byte[]> ClaimKeyPackageAsync(Caller caller, string meetingId, string identity, CancellationToken ct)
    {
        await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        var p = await store.GetParticipantAsync(meetingId, identity, ct).ConfigureAwait(false);
        if (p is null || !p.MayJoin)
        {
            throw Refuse(Refusal.NotInvited, caller.Identity, $"{identity} is not invited to or admitted into {meetingId}");
        }

        return await store.ClaimKeyPackageAsync(identity, ct).ConfigureAwait(false)
            ?? throw Refuse(Refusal.NoKeyPackage, caller.Identity, $"{identity} has no KeyPackage");
    }

    private GroupInfo ParseGroupInfo(Caller caller, string meetingId, byte[] data)
    {
        try
        {
            var gi = MlsMessage.Decode(data).GroupInfo ?? throw new MlsException("not a GroupInfo");
            if (!gi.GroupContext.GroupId.AsSpan().SequenceEqual(GroupIdOf(meetingId)) || gi.GroupContext.CipherSuite != Suite.Id)
            {
                throw new MlsException("GroupInfo is not of this meeting's group or suite");
            }

            return gi;
        }
        catch (RoomCryptoException e)
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "GroupInfo refused: " + e.Message);
        }
    }

    // ------------------------------------------------------------------ the server as external sender

    /// <summary>The external_senders extension every meeting group must carry: this server, sender 0.</summary>
    private Extension ExternalSendersExtension => ExternalSender.ToExtension([externalSender.Sender]);

    /// <summary>The group context names this server (alone) as its external sender.</summary>
    private void CheckExternalSenders(Caller caller, GroupContext ctx)
    {
        var ext = ctx.Extensions.FirstOrDefault(e => e.Type == ExtensionType.ExternalSenders);
        if (ext is null || !ext.Data.AsSpan().SequenceEqual(ExternalSendersExtension.Data))
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "the group must name this meeting server as its external sender (external_senders)");
        }
    }

    private static RatchetTree TreeOf(byte[] groupInfo)
    {
        var gi = MlsMessage.Decode(groupInfo).GroupInfo ?? throw new MlsException("not a GroupInfo");
        var ext = gi.Extensions.FirstOrDefault(e => e.Type == ExtensionType.RatchetTree) ?? throw new MlsException("the GroupInfo has no ratchet tree");
        return RatchetTree.Decode(ext.Data);
    }

    /// <summary>
    /// Signs a Remove proposal (as the group's external sender) for every leaf of <paramref name="identity"/> in the
    /// current epoch's tree, unless proposed already; a member's next commit must include them. Returns how many leaves.
    /// </summary>
    public async Task<int> ProposeRemovalAsync(string meetingId, string identity, string reason, CancellationToken ct)
    {
        await _order.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var m = await store.GetMeetingAsync(meetingId, ct).ConfigureAwait(false);
            if (m is not { Epoch: { } epoch, GroupInfo: { } gi, Ended: false })
            {
                return 0;
            }

            var tree = TreeOf(gi);
            var leaves = tree.NonBlankLeaves().Where(l => CredentialIdentity.Of(tree.Leaf(l)!.Credential) == identity).ToList();
            await ProposeAsync(meetingId, epoch, tree, leaves, reason, ct).ConfigureAwait(false);
            return leaves.Count;
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>Marks the server's Add proposals in the proposals table (they name no leaf; the key says whom they add).</summary>
    private const string AddKeyPrefix = "add:";

    /// <summary>
    /// An admitted identity that has a KeyPackage here and no leaf in the group: the server claims the KeyPackage and
    /// proposes its Add as the group's external sender; the member who commits it sends the Welcome. Without a
    /// KeyPackage nothing is proposed (the identity joins by external commit).
    /// </summary>
    private async Task ProposeAddAsync(string meetingId, string identity, string reason, CancellationToken ct)
    {
        await _order.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var m = await store.GetMeetingAsync(meetingId, ct).ConfigureAwait(false);
            if (m is not { Epoch: { } epoch, GroupInfo: { } gi, Ended: false })
            {
                return;
            }

            var tree = TreeOf(gi);
            if (tree.NonBlankLeaves().Any(l => CredentialIdentity.Of(tree.Leaf(l)!.Credential) == identity))
            {
                return;
            }

            byte[]? kpBytes = await store.ClaimKeyPackageAsync(identity, ct).ConfigureAwait(false);
            if (kpBytes is null || MlsMessage.Decode(kpBytes).KeyPackage is not { } kp)
            {
                log.LogInformation("{Identity} has no KeyPackage: no Add proposed in {Meeting} (it joins by external commit)", identity, meetingId);
                return;
            }

            await store.AddProposalsAsync(meetingId, [AddRecord(meetingId, epoch, identity, reason, kp)], ct).ConfigureAwait(false);
            log.LogInformation("proposed the Add of {Identity} to {Meeting} in epoch {Epoch} ({Reason})", identity, meetingId, epoch, reason);
        }
        finally
        {
            _order.Release();
        }
    }

    private ProposalRecord AddRecord(string meetingId, long epoch, string identity, string reason, KeyPackage kp) =>
        new(epoch, -(long)RandomNumberGenerator.GetInt32(1, int.MaxValue), AddKeyPrefix + identity, reason,
            externalSender.Propose(Suite, GroupIdOf(meetingId), (ulong)epoch, new Proposal { Type = ProposalType.Add, Add = kp }).ToBytes());

    private async Task ProposeAsync(string meetingId, long epoch, RatchetTree tree, List<uint> leaves, string reason, CancellationToken ct)
    {
        if (leaves.Count == 0)
        {
            return;
        }

        var records = leaves.Select(l => new ProposalRecord(epoch, l, Convert.ToHexString(tree.Leaf(l)!.EncryptionKey), reason,
            externalSender.Propose(Suite, GroupIdOf(meetingId), (ulong)epoch, new Proposal { Type = ProposalType.Remove, Removed = l }).ToBytes())).ToList();
        await store.AddProposalsAsync(meetingId, records, ct).ConfigureAwait(false);
        foreach (var r in records)
        {
            log.LogInformation("proposed the removal of leaf {Leaf} from {Meeting} in epoch {Epoch} ({Reason})", r.Leaf, meetingId, epoch, reason);
        }
    }

    /// <summary>The host publishes the new group's first GroupInfo (epoch 0).</summary>
    public async Task InitGroupAsync(Caller caller, string meetingId, byte[] groupInfo, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        var gi = ParseGroupInfo(caller, meetingId, groupInfo);
        if (gi.GroupContext.Epoch != 0)
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "a new group starts at epoch 0");
        }

        CheckGroupInfoSignature(caller, gi);
        CheckExternalSenders(caller, gi.GroupContext);

        if (!await store.InitGroupAsync(meetingId, 0, groupInfo, ct).ConfigureAwait(false))
        {
            throw Refuse(Refusal.GroupExists, caller.Identity, $"meeting {meetingId} has its group already");
        }
    }

    /// <summary>
    /// One total order of commits per group: the first commit of the current epoch is accepted; any other commit for
    /// that epoch (the loser of a race, or a replay) gets <see cref="Refusal.EpochConflict"/> with the current epoch
    /// and changes nothing. A Welcome goes only to identities that may join, found by the KeyPackages it names.
    /// </summary>
    public async Task<long> SubmitCommitAsync(Caller caller, string meetingId, byte[] message, byte[] nextGroupInfo, byte[]? welcome, CancellationToken ct)
    {
        await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        await _order.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await SubmitCommitInOrderAsync(caller, meetingId, message, nextGroupInfo, welcome, ct).ConfigureAwait(false);
        }
        finally
        {
            _order.Release();
        }
    }

    private async Task<long> SubmitCommitInOrderAsync(Caller caller, string meetingId, byte[] message, byte[] nextGroupInfo, byte[]? welcome, CancellationToken ct)
    {
        var (m, _) = await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        if (m.Epoch is not { } current)
        {
            throw Refuse(Refusal.GroupMissing, caller.Identity, "the meeting's group does not exist yet");
        }

        ulong epoch;
        PublicMessage pm;
        try
        {
            var msg = MlsMessage.Decode(message);
            // Commits travel as PublicMessage so that this service can check them (RFC 9420 section 16.8 allows a DS
            // to require it): a commit that is not valid must not take an epoch from a valid one.
            pm = msg.WireFormat == WireFormat.PublicMessage ? msg.PublicMessage! : throw new MlsException("commits must be sent as PublicMessage");
            epoch = pm.Content.Epoch;
            if (pm.Content.ContentType != ContentType.Commit)
            {
                throw new MlsException("only commits are ordered here (proposals go inside commits)");
            }

            if (!pm.Content.GroupId.AsSpan().SequenceEqual(GroupIdOf(meetingId)))
            {
                throw new MlsException("the message is for another group");
            }
        }
        catch (RoomCryptoException e)
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "handshake refused: " + e.Message);
        }

        if ((long)epoch != current)
        {
            throw Refuse(Refusal.EpochConflict, caller.Identity, $"the group is at epoch {current}, the commit is for epoch {epoch}", current);
        }

        CheckCommitSignature(caller, meetingId, pm, m.GroupInfo!);
        var gi = ParseGroupInfo(caller, meetingId, nextGroupInfo);
        if (gi.GroupContext.Epoch != epoch + 1)
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "the GroupInfo must be of the epoch the commit starts");
        }

        CheckGroupInfoSignature(caller, gi);
        CheckExternalSenders(caller, gi.GroupContext);
        var proposals = await store.GetProposalsAsync(meetingId, current, ct).ConfigureAwait(false);
        CheckProposalReferences(caller, pm, proposals);

        var welcomes = new List<(string, byte[])>();
        if (welcome is not null)
        {
            Welcome w;
            try
            {
                w = MlsMessage.Decode(welcome).Welcome ?? throw new MlsException("not a Welcome");
            }
            catch (RoomCryptoException e)
            {
                throw Refuse(Refusal.Malformed, caller.Identity, "Welcome refused: " + e.Message);
            }

            foreach (var s in w.Secrets)
            {
                string? to = await store.KeyPackageOwnerAsync(s.NewMember, ct).ConfigureAwait(false)
                    ?? throw Refuse(Refusal.Malformed, caller.Identity, "the Welcome names a KeyPackage this server never handed out");
                var p = await store.GetParticipantAsync(meetingId, to, ct).ConfigureAwait(false);
                if (p is null || !p.MayJoin)
                {
                    throw Refuse(Refusal.NotInvited, caller.Identity, $"the Welcome is for {to}, who is not invited");
                }

                welcomes.Add((to, welcome));
            }
        }

        if (!await store.AppendCommitAsync(new CommitAppend(meetingId, current, caller.Identity, message, nextGroupInfo, welcomes), ct).ConfigureAwait(false))
        {
            var now = await store.GetMeetingAsync(meetingId, ct).ConfigureAwait(false);
            throw Refuse(Refusal.EpochConflict, caller.Identity, $"another commit took epoch {current}", now?.Epoch);
        }

        log.LogInformation("{Caller} committed epoch {Epoch} of {Meeting}", caller.Identity, current + 1, meetingId);

        // A proposal this commit left out (an external join may not carry proposals by reference) is made again for
        // the new epoch if its leaf is still there unchanged.
        if (proposals.Count > 0)
        {
            try
            {
                var tree = TreeOf(nextGroupInfo);
                var still = proposals.Where(p => p.Leaf >= 0 && tree.Leaf((uint)p.Leaf) is { } leaf && Convert.ToHexString(leaf.EncryptionKey) == p.LeafKey).ToList();
                foreach (var group in still.GroupBy(p => p.Reason))
                {
                    await ProposeAsync(meetingId, current + 1, tree, [.. group.Select(p => (uint)p.Leaf)], group.Key, ct).ConfigureAwait(false);
                }

                var members = tree.NonBlankLeaves().Select(l => CredentialIdentity.Of(tree.Leaf(l)!.Credential)).ToHashSet(StringComparer.Ordinal);
                var adds = proposals.Where(p => p.Leaf < 0 && p.LeafKey.StartsWith(AddKeyPrefix, StringComparison.Ordinal) && !members.Contains(p.LeafKey[AddKeyPrefix.Length..]))
                    .Select(p => AddRecord(meetingId, current + 1, p.LeafKey[AddKeyPrefix.Length..], p.Reason, MlsMessage.Decode(p.Message).PublicMessage!.Content.Proposal!.Add!)).ToList();
                await store.AddProposalsAsync(meetingId, adds, ct).ConfigureAwait(false);
            }
            catch (RoomCryptoException e)
            {
                log.LogError("could not carry the server's proposals of {Meeting} to epoch {Epoch}: {Message}", meetingId, current + 1, e.Message);
            }
        }

        return current + 1;
    }

    /// <summary>
    /// Proposals by reference must be this server's for this epoch (members' own proposals are not relayed, so nobody
    /// could resolve another reference); a member's commit must include every one of them (RFC 9420 section 12.4:
    /// all valid proposals of the epoch). An external join carries none by reference; the server's proposals are
    /// made again for the next epoch.
    /// </summary>
    private void CheckProposalReferences(Caller caller, PublicMessage pm, IReadOnlyList<ProposalRecord> proposals)
    {
        var known = new Dictionary<string, ProposalRecord>(StringComparer.Ordinal);
        foreach (var p in proposals)
        {
            known[Convert.ToHexString(Framing.ProposalRef(Suite, MlsMessage.Decode(p.Message).PublicMessage!))] = p;
        }

        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var por in pm.Content.Commit!.Proposals.Where(p => p.Reference is not null))
        {
            string r = Convert.ToHexString(por.Reference!);
            if (!known.ContainsKey(r))
            {
                throw Refuse(Refusal.Malformed, caller.Identity, "the commit references a proposal this server did not make in this epoch");
            }

            referenced.Add(r);
        }

        if (pm.Content.Sender.Type == SenderType.Member && known.Keys.Any(k => !referenced.Contains(k)))
        {
            throw Refuse(Refusal.ProposalsMissing, caller.Identity,
                $"the commit leaves out {known.Keys.Count(k => !referenced.Contains(k))} of the server's proposals of epoch {pm.Content.Epoch}: fetch them and commit again",
                (long)pm.Content.Epoch);
        }
    }

    /// <summary>
    /// The commit must be signed by the caller's own leaf in the current epoch's tree (from the GroupInfo the server
    /// holds), or, for an external join, by the caller's new leaf whose credential chains to the organisation CA.
    /// </summary>
    private void CheckCommitSignature(Caller caller, string meetingId, PublicMessage pm, byte[] currentGroupInfo)
    {
        try
        {
            var current = MlsMessage.Decode(currentGroupInfo).GroupInfo!;
            var treeExt = current.Extensions.FirstOrDefault(e => e.Type == ExtensionType.RatchetTree) ?? throw new MlsException("the group's GroupInfo has no ratchet tree");
            var tree = RatchetTree.Decode(treeExt.Data);
            LeafNode signer;
            if (pm.Content.Sender.Type == SenderType.Member)
            {
                signer = tree.Leaf(pm.Content.Sender.Index) ?? throw new MlsException("the sender is not a member");
            }
            else if (pm.Content.Sender.Type == SenderType.NewMemberCommit)
            {
                signer = pm.Content.Commit?.Path?.LeafNode ?? throw new MlsException("an external commit needs a path");
                Validator.Validate(signer.Credential, signer.SignatureKey);
            }
            else
            {
                throw new MlsException("a commit comes from a member or a new member");
            }

            string who = CredentialIdentity.Of(signer.Credential);
            if (who != caller.Identity)
            {
                throw new MlsException($"the commit is signed as {who}, not as the caller");
            }

            if (!pm.ToAuthenticated().Verify(Suite, signer.SignatureKey, current.GroupContext.ToBytes()))
            {
                throw new MlsException("commit signature invalid");
            }
        }
        catch (RoomCryptoException e)
        {
            throw Refuse(Refusal.Malformed, caller.Identity, $"commit refused in {meetingId}: " + e.Message);
        }
    }

    /// <summary>The next GroupInfo must be signed by the caller's leaf in its own tree.</summary>
    private void CheckGroupInfoSignature(Caller caller, GroupInfo gi)
    {
        try
        {
            var treeExt = gi.Extensions.FirstOrDefault(e => e.Type == ExtensionType.RatchetTree) ?? throw new MlsException("the GroupInfo must carry the ratchet tree");
            var signer = RatchetTree.Decode(treeExt.Data).Leaf(gi.Signer) ?? throw new MlsException("the GroupInfo's signer is not a member");
            Validator.Validate(signer.Credential, signer.SignatureKey);
            if (CredentialIdentity.Of(signer.Credential) != caller.Identity || !Suite.VerifyWithLabel(signer.SignatureKey, "GroupInfoTBS", gi.ToBeSigned(), gi.Signature))
            {
                throw new MlsException("GroupInfo signature invalid or not the caller's");
            }
        }
        catch (RoomCryptoException e)
        {
            throw Refuse(Refusal.Malformed, caller.Identity, "GroupInfo refused: " + e.Message);
        }
    }

    public async Task<IReadOnlyList<HandshakeRecord>> HandshakesAsync(Caller caller, string meetingId, long fromEpoch, CancellationToken ct)
    {
        await RequireMemberAsync(caller, meetingId, ct, allowEnded: true).ConfigureAwait(false);
        return await store.GetHandshakesAsync(meetingId, fromEpoch, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<WelcomeRecord>> WelcomesAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        return await store.GetWelcomesAsync(meetingId, caller.Identity, ct).ConfigureAwait(false);
    }

    /// <summary>The current GroupInfo (external join) only to identities that may join.</summary>
    public async Task<(long Epoch, byte[] GroupInfo)> GroupInfoAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        var (m, _) = await RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        return m.Epoch is { } e && m.GroupInfo is { } gi ? (e, gi) : throw Refuse(Refusal.GroupMissing, caller.Identity, "the meeting's group does not exist yet");
    }
}
