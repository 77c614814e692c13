using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Mls;

namespace Room.MeetingClient;

/// <summary>
/// One member of one meeting's MLS group, talking to the meeting server's delivery service. Every credential in the
/// group must be X.509 from the organisation CA (basic ones are refused). Commits are staged and merged only when the
/// server accepts them; the loser of a race for an epoch processes the winner and commits again on top.
/// </summary>
public sealed class MeetingMember : IDisposable
{
    private readonly MeetingServerClient _server;
    private readonly MlsIdentity _me;
    private readonly MlsGroupOptions _options;
    private readonly Dictionary<string, KeyPackageBundle> _keyPackages = [];
    private MlsGroup? _group;

    public string MeetingId { get; }

    /// <summary>How often a commit is tried again on top after lost races before the conflict is reported.</summary>
    public const int MaxCommitAttempts = 5;

    public MeetingMember(MeetingServerClient server, DeviceCredentials credentials, string meetingId, ushort cipherSuite = 2)
    {
        _server = server;
        MeetingId = meetingId;
        _me = credentials.MlsIdentity(MlsCipherSuite.Get(cipherSuite));
        _options = new MlsGroupOptions
        {
            HandshakeAsPublic = true,
            // A chain to the organisation CA, and the kind matching the issuer (guests only from the guest CA): the
            // names and hosts read from guests' certificates (MemberCertificate) are then the guest CA's word.
            CredentialValidator = new Room.Crypto.Certificates.OrganisationCredentialValidator(credentials.OrganisationCa!),
        };
    }

    public MlsGroup Group => _group ?? throw new InvalidOperationException("not in the group yet");

    public bool Joined => _group is not null;

    public ulong Epoch => Group.Epoch;

    /// <summary>The security code everyone in this epoch sees (from the epoch authenticator).</summary>
    public string SecurityCode => Room.Crypto.Media.SecurityCode.FromEpochAuthenticator(Group.Suite, Group.EpochAuthenticator);

    /// <summary>The roster from the MLS tree: each member's certificate identity.</summary>
    public IReadOnlyList<string> Roster => [.. Group.Members.Select(l => CredentialIdentity.Of(Group.Tree.Leaf(l)!.Credential)).Order(StringComparer.Ordinal)];

    /// <summary>Uploads <paramref name="count"/> one-use KeyPackages and a last-resort one; their private keys stay here.</summary>
    public async Task PublishKeyPackagesAsync(int count, CancellationToken ct = default)
    {
        var bundles = Enumerable.Range(0, count + 1).Select(_ => _me.CreateKeyPackage()).ToList();
        foreach (var b in bundles)
        {
            _keyPackages[Convert.ToHexString(b.KeyPackage.Ref(_me.Suite))] = b;
        }

        await _server.UploadKeyPackagesAsync(bundles.Take(count).Select(Wire), Wire(bundles[count]), ct).ConfigureAwait(false);
    }

    private static byte[] Wire(KeyPackageBundle b) => new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = b.KeyPackage }.ToBytes();

    /// <summary>The identity the meeting server's MLS credential (as external sender) must present.</summary>
    public const string ServerIdentity = "server:meetings";

    /// <summary>
    /// The host makes the group (epoch 0), naming the meeting server as its external sender (RFC 9420 section
    /// 12.1.8.1; its credential must chain to the organisation CA and name the server), and publishes its GroupInfo.
    /// </summary>
    public async Task CreateGroupAsync(byte[] groupId, CancellationToken ct = default)
    {
        var sender = MlsReader.DecodeAll(await _server.ExternalSenderAsync(ct).ConfigureAwait(false), ExternalSender.Read);
        if (_options.CredentialValidator.Validate(sender.Credential, sender.SignatureKey) != ServerIdentity)
        {
            throw new MeetingServerException("malformed", "the server's external-sender credential does not name the meeting server", 0, null);
        }

        _group = MlsGroup.Create(_me, groupId, _options, [ExternalSender.ToExtension([sender])]);
        await _server.InitGroupAsync(MeetingId, new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = _group.CreateGroupInfo() }.ToBytes(), ct).ConfigureAwait(false);
    }

    /// <summary>Joins from a Welcome the server holds for this identity (after someone added it), then catches up.</summary>
    public async Task<bool> TryJoinFromWelcomeAsync(CancellationToken ct = default)
    {
        foreach (var w in (await _server.WelcomesAsync(MeetingId, ct).ConfigureAwait(false)).OrderByDescending(w => w.Epoch))
        {
            var welcome = MlsMessage.Decode(w.Welcome).Welcome!;
            foreach (var s in welcome.Secrets)
            {
                if (_keyPackages.TryGetValue(Convert.ToHexString(s.NewMember), out var kp))
                {
                    _group = MlsGroup.Join(_me, kp, welcome, _options);
                    await SyncAsync(ct).ConfigureAwait(false);
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The group id the meeting server gives meeting <paramref name="meetingId"/>'s group.</summary>
    public static byte[] GroupIdOf(string meetingId) => System.Text.Encoding.UTF8.GetBytes("room-meeting:" + meetingId);

    /// <summary>
    /// Joins by external commit (RFC 9420 section 12.4.3.2) from the GroupInfo the server holds: needs no member
    /// online. A leaf of this identity left from an earlier session (a box that lost its state) is replaced in the same
    /// commit. A lost race for the epoch is retried on the newer GroupInfo. When the group does not exist yet and
    /// <paramref name="createIfMissing"/> (the meeting's host), this member creates it instead. Returns true when it
    /// created the group.
    /// </summary>
    public async Task<bool> JoinExternalAsync(bool createIfMissing, CancellationToken ct = default)
    {
        for (int i = 0; ; i++)
        {
            byte[] giBytes;
            try
            {
                (_, giBytes) = await _server.GroupInfoAsync(MeetingId, ct).ConfigureAwait(false);
            }
            catch (MeetingServerException e) when (e.Error == "group-missing" && createIfMissing)
            {
                try
                {
                    await CreateGroupAsync(GroupIdOf(MeetingId), ct).ConfigureAwait(false);
                    return true;
                }
                catch (MeetingServerException c) when (c.Error == "group-exists" && i + 1 < MaxCommitAttempts)
                {
                    _group?.Dispose();
                    _group = null;
                    continue;
                }
            }

            var gi = MlsMessage.Decode(giBytes).GroupInfo ?? throw new MeetingServerException("malformed", "the server sent no GroupInfo", 0, null);
            var treeExt = gi.Extensions.FirstOrDefault(e => e.Type == ExtensionType.RatchetTree)
                ?? throw new MeetingServerException("malformed", "the GroupInfo carries no ratchet tree", 0, null);
            var tree = RatchetTree.Decode(treeExt.Data);
            string me = CredentialIdentity.Of(_me.Credential);
            uint? stale = null;
            foreach (uint leaf in tree.NonBlankLeaves())
            {
                if (CredentialIdentity.Of(tree.Leaf(leaf)!.Credential) == me)
                {
                    stale = leaf;
                    break;
                }
            }

            var (group, commit) = MlsGroup.JoinExternal(_me, gi, _options, replaces: stale);
            try
            {
                await _server.SubmitCommitAsync(MeetingId, commit.ToBytes(),
                    new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = group.CreateGroupInfo() }.ToBytes(), null, ct).ConfigureAwait(false);
                _group = group;
                return false;
            }
            catch (MeetingServerException e) when (e.Error == "epoch-conflict" && i + 1 < MaxCommitAttempts)
            {
                group.Dispose();
            }
            catch
            {
                group.Dispose();
                throw;
            }
        }
    }

    /// <summary>Processes the commits after this member's epoch, in the server's order. Returns how many.</summary>
    public async Task<int> SyncAsync(CancellationToken ct = default)
    {
        int n = 0;
        foreach (var h in await _server.HandshakesAsync(MeetingId, (long)Group.Epoch, ct).ConfigureAwait(false))
        {
            if (h.Epoch != (long)Group.Epoch || Group.Removed)
            {
                continue;
            }

            Group.Process(MlsMessage.Decode(h.Message));
            n++;
        }

        return n;
    }

    /// <summary>
    /// Adds an invited or admitted identity: claims its KeyPackage and commits, retrying on top after a lost race. When
    /// the server has proposed its Add already (a host admitted it), that proposal is committed instead.
    /// </summary>
    public async Task AddAsync(string identity, CancellationToken ct = default)
    {
        await SyncAsync(ct).ConfigureAwait(false);
        if (Group.PendingProposals.Any(p => p.Proposal.Type == ProposalType.Add && CredentialIdentity.Of(p.Proposal.Add!.LeafNode.Credential) == identity))
        {
            await CommitPendingAsync(ct).ConfigureAwait(false);
            return;
        }

        var kp = MlsMessage.Decode(await _server.ClaimKeyPackageAsync(MeetingId, identity, ct).ConfigureAwait(false)).KeyPackage
            ?? throw new MeetingServerException("malformed", "the server sent no KeyPackage", 0, null);
        await CommitAsync(g => g.StageCommit(add: [kp]), ct).ConfigureAwait(false);
    }

    /// <summary>Removes every leaf of the identity (its devices cannot read what follows the commit).</summary>
    public Task RemoveAsync(string identity, CancellationToken ct = default) =>
        CommitAsync(g =>
        {
            var leaves = g.Members.Where(l => CredentialIdentity.Of(g.Tree.Leaf(l)!.Credential) == identity).ToList();
            return leaves.Count > 0 ? g.StageCommit(remove: leaves) : throw new MeetingServerException("not-found", $"{identity} is not in the group", 0, null);
        }, ct);

    /// <summary>
    /// Follows the server and commits the proposals it made as the group's external sender (removals on a host's
    /// remove, a member's leave, a revoked device), by reference. A lost race is followed by the winner's commit,
    /// which carried them already: then nothing is left to commit. Returns true when this member's commit took them.
    /// Does nothing while this member's own removal is pending (another member commits it).
    /// </summary>
    public async Task<bool> CommitPendingAsync(CancellationToken ct = default)
    {
        await SyncAsync(ct).ConfigureAwait(false);
        for (int i = 0; ; i++)
        {
            var g = Group;
            if (g.Removed || g.RemovalPending || g.PendingProposals.Count == 0)
            {
                return false;
            }

            var output = g.StageCommit();
            try
            {
                await _server.SubmitCommitAsync(MeetingId, output.Commit.ToBytes(),
                    new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = output.GroupInfo }.ToBytes(), output.Welcome?.ToBytes(), ct).ConfigureAwait(false);
                g.MergeStagedCommit();
                return true;
            }
            catch (MeetingServerException e) when (IsStale(e) && i + 1 < MaxCommitAttempts)
            {
                g.DiscardStagedCommit();
                await SyncAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                if (g.HasStagedCommit)
                {
                    g.DiscardStagedCommit();
                }

                throw;
            }
        }
    }

    /// <summary>
    /// Leaves the meeting's group: a member cannot commit its own removal, so it asks the server, which proposes it
    /// as external sender; a remaining member commits it. Returns how many leaves the server proposed to remove.
    /// </summary>
    public Task<int> LeaveAsync(CancellationToken ct = default) => _server.LeaveAsync(MeetingId, ct);

    private static bool IsStale(MeetingServerException e) => e.Error is "epoch-conflict" or "proposals-missing";

    /// <summary>An update-only commit (fresh keys for everyone).</summary>
    public Task UpdateAsync(CancellationToken ct = default) => CommitAsync(g => g.StageCommit(), ct);

    /// <summary>Stages a commit, sends it, merges it if the server takes it; on a lost race syncs and tries again on top.</summary>
    public async Task<long> CommitAsync(Func<MlsGroup, CommitOutput> stage, CancellationToken ct = default)
    {
        for (int i = 0; ; i++)
        {
            var output = stage(Group);
            try
            {
                long epoch = await _server.SubmitCommitAsync(MeetingId, output.Commit.ToBytes(),
                    new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = output.GroupInfo }.ToBytes(), output.Welcome?.ToBytes(), ct).ConfigureAwait(false);
                Group.MergeStagedCommit();
                return epoch;
            }
            catch (MeetingServerException e) when (IsStale(e) && i + 1 < MaxCommitAttempts)
            {
                // Another commit took the epoch, or the server made proposals this commit did not include: catch up, again on top.
                Group.DiscardStagedCommit();
                await SyncAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                if (Group.HasStagedCommit)
                {
                    Group.DiscardStagedCommit();
                }

                throw;
            }
        }
    }

    public void Dispose()
    {
        _group?.Dispose();
        foreach (var kp in _keyPackages.Values)
        {
            kp.Zero();
        }
    }
}
