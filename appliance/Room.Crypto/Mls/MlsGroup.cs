using System.Security.Cryptography;

namespace Room.Crypto.Mls;

/// <summary>What processing a message produced.</summary>
public sealed record MlsReceived(ContentType Kind, uint Sender, byte[]? ApplicationData, bool EpochChanged);

/// <summary>Outputs of a commit created locally.</summary>
public sealed record CommitOutput(MlsMessage Commit, MlsMessage? Welcome, GroupInfo GroupInfo);

/// <summary>Options for joining and committing.</summary>
public sealed class MlsGroupOptions
{
    /// <summary>Send handshake messages (proposals, commits) as PublicMessage instead of PrivateMessage.</summary>
    public bool HandshakeAsPublic { get; set; }

    /// <summary>Put the ratchet tree into GroupInfo (Welcome) so joiners need not fetch it.</summary>
    public bool RatchetTreeExtension { get; set; } = true;

    /// <summary>Validates every member credential.</summary>
    public ICredentialValidator CredentialValidator { get; set; } = BasicCredentialValidator.Instance;

    /// <summary>External PSKs by id (hex).</summary>
    public Dictionary<string, byte[]> ExternalPsks { get; } = [];

    /// <summary>Refuse KeyPackages whose lifetime does not cover <see cref="Clock"/> (5 minutes of skew allowed).</summary>
    public bool CheckLifetimes { get; set; } = true;

    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>Random padding of PrivateMessage content up to this many bytes.</summary>
    public int Padding { get; set; }

    /// <summary>
    /// Commits that only add members (or inject PSKs) go without an UpdatePath, as RFC 9420 allows and mls-rs does by
    /// default: cheaper adds, but the committer's path is not refreshed and the tree's interior stays blank, so later
    /// commits encrypt to more members. Off by default (every commit refreshes the committer's path); the benchmark
    /// uses it to build mls-rs's group shape.
    /// </summary>
    internal bool OmitOptionalPath { get; set; }
}

/// <summary>
/// One member's state of an MLS group (RFC 9420): create, add/remove/update via commits, Welcome and external join,
/// application messages. Not thread-safe.
/// </summary>
public sealed class MlsGroup : IDisposable
{
    private readonly MlsIdentity _me;
    private readonly MlsGroupOptions _options;
    private readonly Dictionary<string, (Proposal Proposal, Sender Sender)> _pending = [];
    private readonly Dictionary<ulong, byte[]> _resumptionPsks = [];
    private GroupContext _ctx;
    private RatchetTree _tree;
    private TreePrivateState _priv;
    private EpochSecrets _secrets;
    private SecretTree _secretTree;
    private byte[] _interim;
    private PreviousEpoch? _previous;

    /// <summary>What is kept of the last epoch so application messages sent just before a commit still decrypt.</summary>
    private sealed class PreviousEpoch(ulong epoch, SecretTree tree, byte[] senderDataSecret, byte[] context, RatchetTree ratchetTree) : IDisposable
    {
        public ulong Epoch { get; } = epoch;
        public SecretTree Tree { get; } = tree;
        public byte[] SenderDataSecret { get; } = senderDataSecret;
        public byte[] Context { get; } = context;
        public RatchetTree RatchetTree { get; } = ratchetTree;

        public void Dispose()
        {
            Tree.Dispose();
            CryptographicOperations.ZeroMemory(SenderDataSecret);
        }
    }

    private MlsGroup(MlsIdentity me, MlsGroupOptions options, GroupContext ctx, RatchetTree tree, TreePrivateState priv, EpochSecrets secrets, byte[] interim, byte[] confirmationTag)
    {
        _lastConfirmationTag = confirmationTag;
        _me = me;
        _options = options;
        _ctx = ctx;
        _tree = tree;
        _priv = priv;
        _secrets = secrets;
        _interim = interim;
        _secretTree = new SecretTree(Suite, secrets.EncryptionSecret, tree.LeafCount);
        _resumptionPsks[ctx.Epoch] = (byte[])secrets.ResumptionPsk.Clone();
    }

    public MlsCipherSuite Suite => _me.Suite;

    public MlsGroupOptions Options => _options;

    public byte[] GroupId => _ctx.GroupId;

    public ulong Epoch => _ctx.Epoch;

    public uint MyLeaf => _priv.Leaf;

    public RatchetTree Tree => _tree;

    public GroupContext Context => _ctx;

    public byte[] EpochAuthenticator => _secrets.EpochAuthenticator;

    /// <summary>This epoch's secrets (tests check that they are zeroed once the epoch is over).</summary>
    internal EpochSecrets Secrets => _secrets;

    public byte[] TreeHash => _ctx.TreeHash;

    /// <summary>Raised after every epoch change (own or received commit, join).</summary>
    public event EventHandler<ulong>? EpochChanged;

    public IEnumerable<uint> Members => _tree.NonBlankLeaves();

    public byte[] Export(string label, ReadOnlySpan<byte> context, int length) => _secrets.Export(label, context, length);

    private byte[] ContextBytes => _ctx.ToBytes();

    // ---------------------------------------------------------------- creation and joining

    public static MlsGroup Create(MlsIdentity me, byte[] groupId, MlsGroupOptions? options = null, List<Extension>? extensions = null)
    {
        var cs = me.Suite;
        options ??= new MlsGroupOptions();
        ValidateExternalSenders(extensions ?? [], options.CredentialValidator);
        var (encSk, encPk) = cs.Hpke.Kem.GenerateKeyPair();
        var leaf = new LeafNode
        {
            EncryptionKey = encPk,
            SignatureKey = me.SignaturePublicKey,
            Credential = me.Credential,
            Capabilities = me.DefaultCapabilities(),
            Source = LeafNodeSource.KeyPackage,
            NotBefore = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600,
            NotAfter = (ulong)DateTimeOffset.UtcNow.AddDays(90).ToUnixTimeSeconds(),
        };
        leaf.Sign(cs, me.SignaturePrivateKey, null, 0);
        var tree = RatchetTree.Create(leaf);
        var ctx = new GroupContext { CipherSuite = cs.Id, GroupId = groupId, Epoch = 0, TreeHash = tree.RootHash(cs), ConfirmedTranscriptHash = [], Extensions = extensions ?? [] };
        byte[] init = RandomNumberGenerator.GetBytes(cs.Nh);
        var secrets = EpochSecrets.FromInit(cs, init, new byte[cs.Nh], [], ctx.ToBytes());
        CryptographicOperations.ZeroMemory(init);
        byte[] tag = cs.Mac(secrets.ConfirmationKey, ctx.ConfirmedTranscriptHash);
        byte[] interim = TranscriptHash.Interim(cs, ctx.ConfirmedTranscriptHash, tag);
        return new MlsGroup(me, options, ctx, tree, new TreePrivateState(0, encSk), secrets, interim, tag);
    }

    /// <summary>Decrypts the GroupSecrets for <paramref name="kp"/> from a Welcome.</summary>
    public static GroupSecrets OpenGroupSecrets(MlsCipherSuite cs, Welcome welcome, KeyPackage kp, byte[] initPrivateKey)
    {
        if (welcome.CipherSuite != cs.Id)
        {
            throw new MlsException("Welcome cipher suite mismatch");
        }

        byte[] myRef = kp.Ref(cs);
        var egs = welcome.Secrets.FirstOrDefault(s => CryptographicOperations.FixedTimeEquals(s.NewMember, myRef))
            ?? throw new MlsException("Welcome has no secrets for this KeyPackage");
        byte[] gs = cs.DecryptWithLabel(initPrivateKey, "Welcome", welcome.EncryptedGroupInfo, egs.EncryptedGroupSecretsValue.KemOutput, egs.EncryptedGroupSecretsValue.Ciphertext);
        try
        {
            return MlsReader.DecodeAll(gs, GroupSecrets.Read);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(gs);
        }
    }

    public static GroupInfo OpenGroupInfo(MlsCipherSuite cs, Welcome welcome, byte[] joinerSecret, byte[] pskSecret)
    {
        byte[] ws = EpochSecrets.WelcomeSecretFromJoiner(cs, joinerSecret, pskSecret);
        var (key, nonce) = EpochSecrets.WelcomeKeyNonce(cs, ws);
        CryptographicOperations.ZeroMemory(ws);
        byte[] gi = cs.AeadOpen(key, nonce, [], welcome.EncryptedGroupInfo);
        CryptographicOperations.ZeroMemory(key);
        return MlsReader.DecodeAll(gi, GroupInfo.Read);
    }

    private static byte[] ResolvePsks(MlsCipherSuite cs, List<PreSharedKeyId> ids, Func<PreSharedKeyId, byte[]> lookup) =>
        PskSecret.Compute(cs, ids.Select(i => (i, lookup(i))).ToList());

    private byte[] LookupPsk(PreSharedKeyId id)
    {
        if (id.Type == PskType.External)
        {
            return _options.ExternalPsks.TryGetValue(Convert.ToHexString(id.PskId), out var p) ? p : throw new MlsException("unknown external PSK");
        }

        if (id.Usage != ResumptionPskUsage.Application || !id.PskGroupId.AsSpan().SequenceEqual(GroupId))
        {
            throw new MlsException("unsupported resumption PSK");
        }

        return _resumptionPsks.TryGetValue(id.PskEpoch, out var r) ? r : throw new MlsException("unknown resumption PSK epoch");
    }

    /// <summary>Joins a group from a Welcome. <paramref name="ratchetTree"/> is needed when the GroupInfo carries none.</summary>
    public static MlsGroup Join(MlsIdentity me, KeyPackageBundle kp, Welcome welcome, MlsGroupOptions? options = null, RatchetTree? ratchetTree = null)
    {
        options ??= new MlsGroupOptions();
        var cs = me.Suite;
        var gs = OpenGroupSecrets(cs, welcome, kp.KeyPackage, kp.InitPrivateKey);
        byte[] psk = ResolvePsks(cs, gs.Psks, id => id.Type == PskType.External && options.ExternalPsks.TryGetValue(Convert.ToHexString(id.PskId), out var p)
            ? p : throw new MlsException("unknown PSK in Welcome"));
        var gi = OpenGroupInfo(cs, welcome, gs.JoinerSecret, psk);
        var ctx = gi.GroupContext;
        if (ctx.CipherSuite != cs.Id)
        {
            throw new MlsException("GroupInfo cipher suite mismatch");
        }

        var treeExt = gi.Extensions.FirstOrDefault(e => e.Type == ExtensionType.RatchetTree);
        var tree = treeExt != null ? RatchetTree.Decode(treeExt.Data) : ratchetTree?.Clone() ?? throw new MlsException("no ratchet tree");
        ValidateTree(cs, tree, ctx, options.CredentialValidator);

        var signer = tree.Leaf(gi.Signer) ?? throw new MlsException("GroupInfo signer is not a member");
        if (!cs.VerifyWithLabel(signer.SignatureKey, "GroupInfoTBS", gi.ToBeSigned(), gi.Signature))
        {
            throw new MlsException("GroupInfo signature invalid");
        }

        int myLeaf = tree.IndexOfEncryptionKey(kp.KeyPackage.LeafNode.EncryptionKey);
        if (myLeaf < 0 || !tree.Leaf((uint)myLeaf)!.SignatureKey.AsSpan().SequenceEqual(kp.KeyPackage.LeafNode.SignatureKey))
        {
            throw new MlsException("own leaf not found in the tree");
        }

        var priv = new TreePrivateState((uint)myLeaf, kp.EncryptionPrivateKey);
        if (gs.PathSecret != null)
        {
            TreeKem.ImplantPathSecret(cs, tree, priv, gi.Signer, gs.PathSecret);
        }

        var secrets = EpochSecrets.FromJoiner(cs, gs.JoinerSecret, psk, ctx.ToBytes());
        CryptographicOperations.ZeroMemory(psk);
        RatchetTree.Zero(gs.PathSecret);
        if (!cs.VerifyMac(secrets.ConfirmationKey, ctx.ConfirmedTranscriptHash, gi.ConfirmationTag))
        {
            secrets.Dispose();
            throw new MlsException("GroupInfo confirmation tag invalid");
        }

        byte[] interim = TranscriptHash.Interim(cs, ctx.ConfirmedTranscriptHash, gi.ConfirmationTag);
        kp.Zero();
        return new MlsGroup(me, options, ctx, tree, priv, secrets, interim, gi.ConfirmationTag);
    }

    private static void ValidateTree(MlsCipherSuite cs, RatchetTree tree, GroupContext ctx, ICredentialValidator validator)
    {
        if (!tree.RootHash(cs).AsSpan().SequenceEqual(ctx.TreeHash))
        {
            throw new MlsException("ratchet tree does not match the GroupContext tree hash");
        }

        if (!tree.VerifyParentHashes(cs))
        {
            throw new MlsException("ratchet tree parent hashes invalid");
        }

        tree.VerifyLeaves(cs, ctx.GroupId);
        CheckCredentialTypes(tree);
        ValidateExternalSenders(ctx.Extensions, validator);
        foreach (uint l in tree.NonBlankLeaves())
        {
            var leaf = tree.Leaf(l)!;
            validator.Validate(leaf.Credential, leaf.SignatureKey);
        }
    }

    /// <summary>
    /// RFC 9420 section 12.1.8.1: every external sender a group context names (e.g. the delivery service, which may
    /// propose removals) must hold a credential the members accept for its signature key.
    /// </summary>
    private static void ValidateExternalSenders(List<Extension> extensions, ICredentialValidator validator)
    {
        if (extensions.FirstOrDefault(e => e.Type == ExtensionType.ExternalSenders) is not { } ext)
        {
            return;
        }

        foreach (var sender in ExternalSender.FromExtension(ext))
        {
            validator.Validate(sender.Credential, sender.SignatureKey);
        }
    }

    /// <summary>
    /// RFC 9420 section 7.3: the credential type of every member is supported by every member (capabilities.credentials),
    /// so a member whose device cannot check another member's credential is refused.
    /// </summary>
    internal static void CheckCredentialTypes(RatchetTree tree)
    {
        var members = tree.NonBlankLeaves().Select(i => (Index: i, Leaf: tree.Leaf(i)!)).ToList();
        var inUse = members.Select(m => (ushort)m.Leaf.Credential.Type).ToHashSet();
        foreach (var (i, leaf) in members)
        {
            foreach (ushort t in inUse)
            {
                if (!leaf.Capabilities.Credentials.Contains(t))
                {
                    throw new MlsException($"leaf {i} does not support credential type {t} used in the group");
                }
            }
        }
    }

    /// <summary>
    /// GroupInfo for external joiners (with external_pub and, if enabled, the ratchet tree).
    /// <paramref name="bareExternalPub"/> writes external_pub without its length prefix, the form ts-mls 1.6.4 reads
    /// (RFC 9420's ExternalPub is <c>opaque&lt;V&gt;</c>; only for peers that need it).
    /// </summary>
    public GroupInfo CreateGroupInfo(bool includeExternalPub = true, bool bareExternalPub = false) =>
        CreateGroupInfo(_ctx, _tree, _secrets, _lastConfirmationTag, includeExternalPub, bareExternalPub);

    private GroupInfo CreateGroupInfo(GroupContext ctx, RatchetTree tree, EpochSecrets secrets, byte[] confirmationTag, bool includeExternalPub = true, bool bareExternalPub = false)
    {
        var gi = new GroupInfo { GroupContext = ctx.Clone(), ConfirmationTag = confirmationTag, Signer = MyLeaf };
        if (_options.RatchetTreeExtension)
        {
            gi.Extensions.Add(new Extension(ExtensionType.RatchetTree, tree.Encode()));
        }

        if (includeExternalPub)
        {
            byte[] pub = secrets.ExternalPub;
            gi.Extensions.Add(new Extension(ExtensionType.ExternalPub, bareExternalPub ? pub : MlsWriter.Encode(w => w.Opaque(pub))));
        }

        gi.Signature = Suite.SignWithLabel(_me.SignaturePrivateKey, "GroupInfoTBS", gi.ToBeSigned());
        return gi;
    }

    private byte[] _lastConfirmationTag;

    /// <summary>
    /// Joins via an external commit built from a GroupInfo (RFC 9420 section 12.4.3.2). Returns the new group and the
    /// commit to send to the existing members. <paramref name="replaces"/>: a resync, this member's old leaf (lost
    /// state) is removed in the same commit; members accept that only from the same identity.
    /// </summary>
    public static (MlsGroup Group, MlsMessage Commit) JoinExternal(MlsIdentity me, GroupInfo gi, MlsGroupOptions? options = null, RatchetTree? ratchetTree = null, uint? replaces = null)
    {
        options ??= new MlsGroupOptions();
        var cs = me.Suite;
        var ctx = gi.GroupContext;
        var treeExt = gi.Extensions.FirstOrDefault(e => e.Type == ExtensionType.RatchetTree);
        var tree = treeExt != null ? RatchetTree.Decode(treeExt.Data) : ratchetTree?.Clone() ?? throw new MlsException("no ratchet tree");
        ValidateTree(cs, tree, ctx, options.CredentialValidator);
        var signer = tree.Leaf(gi.Signer) ?? throw new MlsException("GroupInfo signer is not a member");
        if (!cs.VerifyWithLabel(signer.SignatureKey, "GroupInfoTBS", gi.ToBeSigned(), gi.Signature))
        {
            throw new MlsException("GroupInfo signature invalid");
        }

        var extPubExt = gi.Extensions.FirstOrDefault(e => e.Type == ExtensionType.ExternalPub) ?? throw new MlsException("GroupInfo has no external_pub");
        // RFC 9420: ExternalPub { HPKEPublicKey external_pub; } (length-prefixed). ts-mls 1.6.4 writes the bare key;
        // accept that too when the length is exactly one public key.
        byte[] externalPub = extPubExt.Data.Length == cs.Hpke.Kem.PublicKeySize
            ? extPubExt.Data
            : MlsReader.DecodeAll(extPubExt.Data, r => r.Opaque());
        var (kemOutput, hctx) = cs.Hpke.SetupBaseS(externalPub, []);
        byte[] initSecret = hctx.Export("MLS 1.0 external init secret"u8, cs.Nh);
        hctx.Dispose();

        byte[] interim = TranscriptHash.Interim(cs, ctx.ConfirmedTranscriptHash, gi.ConfirmationTag);
        var proposals = new List<Proposal> { new() { Type = ProposalType.ExternalInit, KemOutput = kemOutput } };
        var kp = me.CreateKeyPackage();
        var newTree = tree.CopyForChange();
        if (replaces is uint old)
        {
            CredentialIdentity.CheckSuccessor(options.CredentialValidator, tree.Leaf(old) ?? throw new MlsException("no member to replace at that leaf"), kp.KeyPackage.LeafNode);
            proposals.Add(new Proposal { Type = ProposalType.Remove, Removed = old });
            newTree.RemoveLeaf(old);
        }

        uint myLeaf = newTree.AddLeaf(kp.KeyPackage.LeafNode);
        var priv = new TreePrivateState(myLeaf, kp.EncryptionPrivateKey);
        var provisional = ctx.Clone();
        provisional.Epoch++;
        var (path, commitSecret, _) = TreeKem.CreatePath(cs, newTree, priv, kp.KeyPackage.LeafNode, me.SignaturePrivateKey, ctx.GroupId, new HashSet<uint>(),
            t => { provisional.TreeHash = t.RootHash(cs); return provisional.ToBytes(); });
        var commit = new Commit { Proposals = proposals.Select(p => new ProposalOrRef { Proposal = p }).ToList(), Path = path };
        var content = new FramedContent { GroupId = ctx.GroupId, Epoch = ctx.Epoch, Sender = new Sender(SenderType.NewMemberCommit, 0), ContentType = ContentType.Commit, Commit = commit };
        var ac = new AuthenticatedContent { WireFormat = WireFormat.PublicMessage, Content = content };
        ac.Sign(cs, me.SignaturePrivateKey, ctx.ToBytes());
        byte[] confirmed = TranscriptHash.Confirmed(cs, interim, ac);
        provisional.ConfirmedTranscriptHash = confirmed;
        var secrets = EpochSecrets.FromInit(cs, initSecret, commitSecret, [], provisional.ToBytes());
        CryptographicOperations.ZeroMemory(initSecret);
        CryptographicOperations.ZeroMemory(commitSecret);
        ac.Auth.ConfirmationTag = cs.Mac(secrets.ConfirmationKey, confirmed);
        var pm = new PublicMessage { Content = content, Auth = ac.Auth };
        var group = new MlsGroup(me, options, provisional, newTree, priv, secrets, TranscriptHash.Interim(cs, confirmed, ac.Auth.ConfirmationTag), ac.Auth.ConfirmationTag);
        return (group, new MlsMessage { WireFormat = WireFormat.PublicMessage, PublicMessage = pm });
    }

    // ---------------------------------------------------------------- sending

    private MlsMessage Frame(FramedContent content, byte[]? confirmationTag, AuthenticatedContent? signed = null)
    {
        byte[] gc = ContextBytes;
        bool isPublic = content.ContentType != ContentType.Application && _options.HandshakeAsPublic;
        var ac = signed ?? new AuthenticatedContent { WireFormat = isPublic ? WireFormat.PublicMessage : WireFormat.PrivateMessage, Content = content };
        if (signed == null)
        {
            ac.Sign(Suite, _me.SignaturePrivateKey, gc);
        }

        if (confirmationTag != null)
        {
            ac.Auth.ConfirmationTag = confirmationTag;
        }

        return ac.WireFormat == WireFormat.PublicMessage
            ? new MlsMessage { WireFormat = WireFormat.PublicMessage, PublicMessage = Framing.Wrap(Suite, ac, gc, _secrets.MembershipKey) }
            : new MlsMessage { WireFormat = WireFormat.PrivateMessage, PrivateMessage = Framing.ProtectPrivate(Suite, ac, _secretTree, _secrets.SenderDataSecret, _options.Padding) };
    }

    private FramedContent NewContent(ContentType type) =>
        new() { GroupId = GroupId, Epoch = Epoch, Sender = Sender.Member(MyLeaf), ContentType = type };

    /// <summary>Encrypts application data for the current epoch.</summary>
    public MlsMessage EncryptApplication(ReadOnlySpan<byte> data, ReadOnlySpan<byte> authenticatedData = default)
    {
        var c = NewContent(ContentType.Application);
        c.ApplicationData = data.ToArray();
        c.AuthenticatedData = authenticatedData.ToArray();
        return Frame(c, null);
    }

    /// <summary>Sends a proposal (kept as pending for the next commit of anyone).</summary>
    public MlsMessage Propose(Proposal p)
    {
        var c = NewContent(ContentType.Proposal);
        c.Proposal = p;
        var ac = new AuthenticatedContent { WireFormat = _options.HandshakeAsPublic ? WireFormat.PublicMessage : WireFormat.PrivateMessage, Content = c };
        ac.Sign(Suite, _me.SignaturePrivateKey, ContextBytes);
        _pending[Convert.ToHexString(Suite.ProposalRef(ac.ToBytes()))] = (p, Sender.Member(MyLeaf));
        return Frame(c, null, ac);
    }

    /// <summary>Proposes a fresh leaf encryption key for this member (another member's commit applies it).</summary>
    public MlsMessage ProposeUpdate()
    {
        var (sk, pk) = Suite.Hpke.Kem.GenerateKeyPair();
        var leaf = _tree.Leaf(MyLeaf)!.Clone();
        leaf.EncryptionKey = pk;
        leaf.Source = LeafNodeSource.Update;
        leaf.ParentHash = [];
        leaf.Sign(Suite, _me.SignaturePrivateKey, GroupId, MyLeaf);
        _pendingLeafKeys[Convert.ToHexString(pk)] = sk;
        return Propose(new Proposal { Type = ProposalType.Update, Update = leaf });
    }

    private readonly Dictionary<string, byte[]> _pendingLeafKeys = [];
    private Credential? _renewedCredential;

    /// <summary>
    /// Carries <paramref name="credential"/> (e.g. a renewed device certificate for the same signature key) in this
    /// member's leaf from its next commit on. Members refuse that commit unless the credential validates and presents
    /// the same identity.
    /// </summary>
    public void RenewCredential(Credential credential)
    {
        var current = _tree.Leaf(MyLeaf)!;
        CredentialIdentity.CheckSuccessor(_options.CredentialValidator, current, new LeafNode { Credential = credential, SignatureKey = current.SignatureKey });
        _renewedCredential = credential;
    }

    /// <summary>Commits the given proposals plus all pending ones, always with an UpdatePath. The new epoch starts at once.</summary>
    public CommitOutput Commit(IEnumerable<KeyPackage>? add = null, IEnumerable<uint>? remove = null, IEnumerable<Proposal>? other = null)
    {
        var output = StageCommit(add, remove, other);
        MergeStagedCommit();
        return output;
    }

    private sealed record StagedCommit(GroupContext Ctx, RatchetTree Tree, TreePrivateState Priv, EpochSecrets Secrets, byte[] Interim, byte[] Tag);

    private StagedCommit? _staged;

    /// <summary>True while a commit made by <see cref="StageCommit"/> waits for the delivery service's verdict.</summary>
    public bool HasStagedCommit => _staged != null;

    /// <summary>
    /// Like <see cref="Commit"/>, but this member stays in the current epoch until <see cref="MergeStagedCommit"/>
    /// (the delivery service accepted the commit) or <see cref="DiscardStagedCommit"/> (another commit won the epoch:
    /// process that one, then commit again on top). Messages of the current epoch are processed meanwhile.
    /// </summary>
    public CommitOutput StageCommit(IEnumerable<KeyPackage>? add = null, IEnumerable<uint>? remove = null, IEnumerable<Proposal>? other = null)
    {
        if (_staged != null)
        {
            throw new MlsException("a staged commit waits to be merged or discarded");
        }

        if (RemovalPending)
        {
            throw new MlsException("a pending proposal removes this member: another member must commit it");
        }

        var cs = Suite;
        var byValue = new List<Proposal>();
        var pendingRemovals = _pending.Values.Where(x => x.Proposal.Type == ProposalType.Remove).Select(x => x.Proposal.Removed).ToHashSet();
        foreach (var kp in add ?? [])
        {
            byValue.Add(new Proposal { Type = ProposalType.Add, Add = kp });
        }

        foreach (uint r in (remove ?? []).Where(r => !pendingRemovals.Contains(r)))
        {
            byValue.Add(new Proposal { Type = ProposalType.Remove, Removed = r });
        }

        byValue.AddRange(other ?? []);
        var list = new List<ProposalOrRef>();
        var resolved = new List<(Proposal, Sender)>();
        foreach (var (key, (p, s)) in _pending)
        {
            if (p.Type == ProposalType.Update && s.Index == MyLeaf)
            {
                continue;
            }

            list.Add(new ProposalOrRef { Reference = Convert.FromHexString(key) });
            resolved.Add((p, s));
        }

        foreach (var p in byValue)
        {
            list.Add(new ProposalOrRef { Proposal = p });
            resolved.Add((p, Sender.Member(MyLeaf)));
        }

        var newTree = _tree.CopyForChange();
        var newCtx = _ctx.Clone();
        newCtx.Epoch++;
        var applied = ApplyProposals(newTree, newCtx, resolved, MyLeaf);
        var newPriv = _priv.Clone();
        var myLeafNode = newTree.Leaf(MyLeaf)!.Clone();
        if (_renewedCredential != null)
        {
            myLeafNode.Credential = _renewedCredential;
        }
        UpdatePath? path = null;
        byte[] commitSecret;
        Dictionary<uint, byte[]> pathSecrets;
        if (_options.OmitOptionalPath && !applied.NeedsPath && _renewedCredential == null)
        {
            // RFC 9420 12.4: a commit of Add (and PSK) proposals only may omit the path; the commit secret is zero.
            commitSecret = new byte[cs.Nh];
            pathSecrets = [];
            newPriv.Prune(cs, newTree);
            newCtx.TreeHash = newTree.RootHash(cs);
        }
        else
        {
            (path, commitSecret, pathSecrets) = TreeKem.CreatePath(cs, newTree, newPriv, myLeafNode, _me.SignaturePrivateKey, GroupId, applied.Joiners.Keys.ToHashSet(),
                t => { newCtx.TreeHash = t.RootHash(cs); return newCtx.ToBytes(); });
        }

        var commit = new Commit { Proposals = list, Path = path };
        var content = NewContent(ContentType.Commit);
        content.Commit = commit;
        var ac = new AuthenticatedContent { WireFormat = _options.HandshakeAsPublic ? WireFormat.PublicMessage : WireFormat.PrivateMessage, Content = content };
        ac.Sign(cs, _me.SignaturePrivateKey, ContextBytes);
        byte[] confirmed = TranscriptHash.Confirmed(cs, _interim, ac);
        newCtx.ConfirmedTranscriptHash = confirmed;
        byte[] psk = ResolvePsks(cs, applied.Psks, LookupPsk);
        var secrets = EpochSecrets.FromInit(cs, _secrets.InitSecret, commitSecret, psk, newCtx.ToBytes());
        CryptographicOperations.ZeroMemory(commitSecret);
        CryptographicOperations.ZeroMemory(psk);
        byte[] tag = cs.Mac(secrets.ConfirmationKey, confirmed);
        var msg = Frame(content, tag, ac);

        Welcome? welcome = null;
        byte[] newInterim = TranscriptHash.Interim(cs, confirmed, tag);
        var gi = CreateGroupInfo(newCtx, newTree, secrets, tag);
        if (applied.Joiners.Count > 0)
        {
            var (key, nonce) = EpochSecrets.WelcomeKeyNonce(cs, secrets.WelcomeSecret);
            byte[] egi = cs.AeadSeal(key, nonce, [], gi.ToBytes());
            CryptographicOperations.ZeroMemory(key);
            welcome = new Welcome { CipherSuite = cs.Id, EncryptedGroupInfo = egi };
            foreach (var (leaf, kp) in applied.Joiners)
            {
                var gs = new GroupSecrets { JoinerSecret = secrets.JoinerSecret, Psks = applied.Psks };
                uint ancestor = TreeMath.CommonAncestor(TreeMath.LeafToNode(leaf), TreeMath.LeafToNode(MyLeaf));
                gs.PathSecret = pathSecrets.TryGetValue(ancestor, out var ps) ? ps : null;
                var (kem, ct) = cs.EncryptWithLabel(kp.InitKey, "Welcome", egi, MlsWriter.Encode(gs.Write));
                welcome.Secrets.Add(new EncryptedGroupSecrets { NewMember = kp.Ref(cs), EncryptedGroupSecretsValue = new HpkeCiphertext { KemOutput = kem, Ciphertext = ct } });
            }
        }

        foreach (var v in pathSecrets.Values)
        {
            CryptographicOperations.ZeroMemory(v);
        }

        _staged = new StagedCommit(newCtx, newTree, newPriv, secrets, newInterim, tag);
        return new CommitOutput(msg, welcome is null ? null : new MlsMessage { WireFormat = WireFormat.Welcome, Welcome = welcome }, gi);
    }

    /// <summary>The delivery service accepted the staged commit: this member enters its epoch.</summary>
    public void MergeStagedCommit()
    {
        var st = _staged ?? throw new MlsException("no staged commit");
        _staged = null;
        var oldSecrets = _secrets;
        EnterEpoch(st.Ctx, st.Tree, st.Priv, st.Secrets, st.Interim, st.Tag);
        oldSecrets.Dispose();
    }

    /// <summary>Another commit won the epoch: the staged one is forgotten (its secrets erased).</summary>
    public void DiscardStagedCommit()
    {
        var st = _staged ?? throw new MlsException("no staged commit");
        _staged = null;
        st.Priv.Dispose();
        st.Secrets.Dispose();
    }

    // ---------------------------------------------------------------- proposals

    private sealed record Applied(Dictionary<uint, KeyPackage> Joiners, List<PreSharedKeyId> Psks, byte[]? ExternalInitKem, bool NeedsPath);

    private Applied ApplyProposals(RatchetTree tree, GroupContext ctx, List<(Proposal P, Sender S)> proposals, uint? committer)
    {
        var cs = Suite;
        var joiners = new Dictionary<uint, KeyPackage>();
        var psks = new List<PreSharedKeyId>();
        byte[]? extInit = null;
        bool needsPath = proposals.Count == 0;
        var touched = new HashSet<uint>();
        foreach (var (p, s) in proposals.Where(x => x.P.Type == ProposalType.GroupContextExtensions))
        {
            ValidateExternalSenders(p.Extensions, _options.CredentialValidator);
            ctx.Extensions = p.Extensions;
            needsPath = true;
        }

        foreach (var (p, s) in proposals.Where(x => x.P.Type == ProposalType.Update))
        {
            if (s.Type != SenderType.Member || s.Index == committer || !touched.Add(s.Index))
            {
                throw new MlsException("invalid Update proposal");
            }

            if (p.Update!.Source != LeafNodeSource.Update || !p.Update.VerifySignature(cs, GroupId, s.Index))
            {
                throw new MlsException("Update leaf node invalid");
            }

            CredentialIdentity.CheckSuccessor(_options.CredentialValidator, tree.Leaf(s.Index) ?? throw new MlsException("Update from a blank leaf"), p.Update);
            tree.UpdateLeaf(s.Index, p.Update);
            needsPath = true;
        }

        foreach (var (p, _) in proposals.Where(x => x.P.Type == ProposalType.Remove))
        {
            if (p.Removed == committer || !touched.Add(p.Removed) || tree.Leaf(p.Removed) == null)
            {
                throw new MlsException("invalid Remove proposal");
            }

            tree.RemoveLeaf(p.Removed);
            needsPath = true;
        }

        foreach (var (p, _) in proposals.Where(x => x.P.Type == ProposalType.Add))
        {
            var kp = p.Add!;
            ValidateKeyPackage(kp);
            if (tree.IndexOfSignatureKey(kp.LeafNode.SignatureKey) >= 0)
            {
                throw new MlsException("Add of a signature key already in the group");
            }

            uint idx = tree.AddLeaf(kp.LeafNode);
            joiners[idx] = kp;
        }

        foreach (var (p, _) in proposals.Where(x => x.P.Type == ProposalType.Psk))
        {
            psks.Add(p.Psk!);
        }

        foreach (var (p, s) in proposals.Where(x => x.P.Type == ProposalType.ExternalInit))
        {
            if (extInit != null)
            {
                throw new MlsException("more than one ExternalInit");
            }

            extInit = p.KemOutput;
            needsPath = true;
        }

        if (proposals.Any(x => x.P.Type == ProposalType.ReInit))
        {
            throw new MlsException("ReInit is not supported");
        }

        CheckCredentialTypes(tree);
        return new Applied(joiners, psks, extInit, needsPath);
    }

    private void ValidateKeyPackage(KeyPackage kp)
    {
        var cs = Suite;
        if (kp.CipherSuite != cs.Id || kp.Version != 1)
        {
            throw new MlsException("KeyPackage suite or version mismatch");
        }

        if (!cs.VerifyWithLabel(kp.LeafNode.SignatureKey, "KeyPackageTBS", kp.ToBeSigned(), kp.Signature))
        {
            throw new MlsException("KeyPackage signature invalid");
        }

        if (kp.LeafNode.Source != LeafNodeSource.KeyPackage || !kp.LeafNode.VerifySignature(cs, null, 0))
        {
            throw new MlsException("KeyPackage leaf node invalid");
        }

        ulong now = (ulong)_options.Clock().ToUnixTimeSeconds();
        if (_options.CheckLifetimes && (now + 300 < kp.LeafNode.NotBefore || now > kp.LeafNode.NotAfter + 300))
        {
            throw new MlsException("KeyPackage lifetime does not cover the current time");
        }

        if (kp.InitKey.AsSpan().SequenceEqual(kp.LeafNode.EncryptionKey))
        {
            throw new MlsException("KeyPackage init key equals its encryption key");
        }

        _options.CredentialValidator.Validate(kp.LeafNode.Credential, kp.LeafNode.SignatureKey);
    }

    // ---------------------------------------------------------------- receiving

    /// <summary>Processes a PublicMessage or PrivateMessage of this group.</summary>
    public MlsReceived Process(MlsMessage msg)
    {
        if (Removed)
        {
            throw new MlsException("this member was removed from the group");
        }

        AuthenticatedContent ac;
        byte[] gc = ContextBytes;
        switch (msg.WireFormat)
        {
            case WireFormat.PublicMessage:
                {
                    var pm = msg.PublicMessage!;
                    CheckGroupEpoch(pm.Content.GroupId, pm.Content.Epoch);
                    if (pm.Content.ContentType == ContentType.Application)
                    {
                        throw new MlsException("application data must not be sent as PublicMessage");
                    }

                    ac = Framing.UnprotectPublic(Suite, pm, gc, _secrets.MembershipKey);
                    break;
                }

            case WireFormat.PrivateMessage when _previous != null && msg.PrivateMessage!.Epoch == _previous.Epoch
                                                && msg.PrivateMessage.ContentType == ContentType.Application
                                                && msg.PrivateMessage.GroupId.AsSpan().SequenceEqual(GroupId):
                {
                    // Late application message from the previous epoch.
                    var old = Framing.UnprotectPrivate(Suite, msg.PrivateMessage, _previous.Tree, _previous.SenderDataSecret);
                    var signer = _previous.RatchetTree.Leaf(old.Content.Sender.Index) ?? throw new MlsException("sender was not a member");
                    if (!old.Verify(Suite, signer.SignatureKey, _previous.Context))
                    {
                        throw new MlsException("signature invalid");
                    }

                    return new MlsReceived(ContentType.Application, old.Content.Sender.Index, old.Content.ApplicationData, false);
                }

            case WireFormat.PrivateMessage:
                CheckGroupEpoch(msg.PrivateMessage!.GroupId, msg.PrivateMessage.Epoch);
                ac = Framing.UnprotectPrivate(Suite, msg.PrivateMessage, _secretTree, _secrets.SenderDataSecret);
                break;
            default:
                throw new MlsException("not a group message");
        }

        var sender = ac.Content.Sender;
        if (sender.Type == SenderType.NewMemberCommit)
        {
            return ProcessExternalCommit(ac);
        }

        if (sender.Type == SenderType.External)
        {
            return ProcessExternalProposal(ac, gc);
        }

        if (sender.Type != SenderType.Member)
        {
            throw new MlsException("unsupported sender type");
        }

        var leaf = _tree.Leaf(sender.Index) ?? throw new MlsException("sender is not a member");
        if (!ac.Verify(Suite, leaf.SignatureKey, gc))
        {
            throw new MlsException("signature invalid");
        }

        switch (ac.Content.ContentType)
        {
            case ContentType.Application:
                return new MlsReceived(ContentType.Application, sender.Index, ac.Content.ApplicationData, false);
            case ContentType.Proposal:
                if (sender.Index == MyLeaf)
                {
                    throw new MlsException("own proposal echoed");
                }

                _pending[Convert.ToHexString(Suite.ProposalRef(ac.ToBytes()))] = (ac.Content.Proposal!, sender);
                return new MlsReceived(ContentType.Proposal, sender.Index, null, false);
            default:
                if (sender.Index == MyLeaf)
                {
                    throw new MlsException("own commit echoed");
                }

                ApplyCommit(ac, sender.Index);
                return new MlsReceived(ContentType.Commit, sender.Index, null, true);
        }
    }

    /// <summary>
    /// A proposal from one of the group context's external senders (RFC 9420 section 12.1.8.1): a PublicMessage signed
    /// by that sender's key (no membership tag). Only Remove of a current member and Add with a valid KeyPackage are
    /// accepted; it waits, like a member's proposal, for a member's commit to include it by reference.
    /// </summary>
    private MlsReceived ProcessExternalProposal(AuthenticatedContent ac, byte[] gc)
    {
        var sender = ac.Content.Sender;
        if (ac.WireFormat != WireFormat.PublicMessage || ac.Content.ContentType != ContentType.Proposal)
        {
            throw new MlsException("an external sender sends only proposals, as PublicMessage");
        }

        var senders = ExternalSender.Of(_ctx);
        if (sender.Index >= senders.Count)
        {
            throw new MlsException($"external sender index {sender.Index} is out of range ({senders.Count} external senders)");
        }

        if (!ac.Verify(Suite, senders[(int)sender.Index].SignatureKey, gc))
        {
            throw new MlsException("external proposal signature invalid");
        }

        var p = ac.Content.Proposal!;
        switch (p.Type)
        {
            case ProposalType.Remove:
                if (_tree.Leaf(p.Removed) == null)
                {
                    throw new MlsException($"external Remove of leaf {p.Removed}, which is no member");
                }

                break;
            case ProposalType.Add:
                ValidateKeyPackage(p.Add!);
                break;
            default:
                throw new MlsException($"a {p.Type} proposal is not accepted from an external sender");
        }

        _pending[Convert.ToHexString(Suite.ProposalRef(ac.ToBytes()))] = (p, sender);
        return new MlsReceived(ContentType.Proposal, sender.Index, null, false);
    }

    /// <summary>Proposals received in this epoch that the next commit (of any member) includes by reference.</summary>
    public IReadOnlyList<(Proposal Proposal, Sender Sender)> PendingProposals => [.. _pending.Values];

    /// <summary>True when a pending proposal removes this member: it must not commit; another member commits its removal.</summary>
    public bool RemovalPending => _pending.Values.Any(x => x.Proposal.Type == ProposalType.Remove && x.Proposal.Removed == MyLeaf);

    private void CheckGroupEpoch(byte[] groupId, ulong epoch)
    {
        if (!groupId.AsSpan().SequenceEqual(GroupId))
        {
            throw new MlsException("message for another group");
        }

        if (epoch != Epoch)
        {
            throw new MlsException($"message for epoch {epoch}, group is at {Epoch}");
        }
    }

    private List<(Proposal, Sender)> Resolve(Commit commit, Sender committer)
    {
        var list = new List<(Proposal, Sender)>();
        foreach (var por in commit.Proposals)
        {
            if (por.Proposal != null)
            {
                list.Add((por.Proposal, committer));
            }
            else if (_pending.TryGetValue(Convert.ToHexString(por.Reference!), out var x))
            {
                list.Add(x);
            }
            else
            {
                throw new MlsException("commit references an unknown proposal");
            }
        }

        return list;
    }

    private void ApplyCommit(AuthenticatedContent ac, uint committer)
    {
        var cs = Suite;
        var commit = ac.Content.Commit!;
        var proposals = Resolve(commit, Sender.Member(committer));
        if (proposals.Any(p => p.Item1.Type == ProposalType.ExternalInit))
        {
            throw new MlsException("ExternalInit in a member commit");
        }

        var newTree = _tree.CopyForChange();
        var newCtx = _ctx.Clone();
        newCtx.Epoch++;
        var applied = ApplyProposals(newTree, newCtx, proposals, committer);
        FinishCommit(ac, committer, commit, newTree, newCtx, applied, _secrets.InitSecret);
    }

    private MlsReceived ProcessExternalCommit(AuthenticatedContent ac)
    {
        var cs = Suite;
        if (ac.Content.ContentType != ContentType.Commit)
        {
            throw new MlsException("new_member_commit sender on a non-commit");
        }

        var commit = ac.Content.Commit!;
        if (commit.Path == null)
        {
            throw new MlsException("external commit without path");
        }

        if (!ac.Verify(cs, commit.Path.LeafNode.SignatureKey, ContextBytes))
        {
            throw new MlsException("external commit signature invalid");
        }

        var proposals = new List<(Proposal, Sender)>();
        foreach (var por in commit.Proposals)
        {
            var p = por.Proposal ?? throw new MlsException("external commit proposals must be by value");
            if (p.Type is not (ProposalType.ExternalInit or ProposalType.Remove or ProposalType.Psk))
            {
                throw new MlsException("proposal not allowed in an external commit");
            }

            proposals.Add((p, ac.Content.Sender));
        }

        if (proposals.Count(p => p.Item1.Type == ProposalType.ExternalInit) != 1)
        {
            throw new MlsException("external commit needs exactly one ExternalInit");
        }

        var newTree = _tree.CopyForChange();
        var newCtx = _ctx.Clone();
        newCtx.Epoch++;
        var applied = ApplyProposals(newTree, newCtx, proposals, null);
        _options.CredentialValidator.Validate(commit.Path.LeafNode.Credential, commit.Path.LeafNode.SignatureKey);
        foreach (var (p, _) in proposals.Where(x => x.Item1.Type == ProposalType.Remove))
        {
            // A resync: whoever rejoins in place of a removed member must be that member (RFC 9420 section 12.4.3.2).
            CredentialIdentity.CheckSuccessor(_options.CredentialValidator, _tree.Leaf(p.Removed)!, commit.Path.LeafNode);
        }

        uint joiner = newTree.AddLeaf(commit.Path.LeafNode);
        byte[] externalPriv = _secrets.ExternalPriv;
        byte[] init;
        try
        {
            using var hctx = cs.Hpke.SetupBaseR(applied.ExternalInitKem!, externalPriv, []);
            init = hctx.Export("MLS 1.0 external init secret"u8, cs.Nh);
        }
        catch (HpkeException e)
        {
            throw new MlsException("external init: " + e.Message, e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(externalPriv);
        }

        try
        {
            FinishCommit(ac, joiner, commit, newTree, newCtx, applied, init);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(init);
        }
        return new MlsReceived(ContentType.Commit, joiner, null, true);
    }

    private void FinishCommit(AuthenticatedContent ac, uint committer, Commit commit, RatchetTree newTree, GroupContext newCtx, Applied applied, byte[] initSecret)
    {
        var cs = Suite;
        if (newTree.Leaf(MyLeaf) == null || !newTree.Leaf(MyLeaf)!.SignatureKey.AsSpan().SequenceEqual(_me.SignaturePublicKey))
        {
            // This commit removes us: nothing more to decrypt; the group is over for this member.
            Removed = true;
            return;
        }

        byte[] commitSecret = new byte[cs.Nh];
        var newPriv = _priv.Clone();
        if (_pendingLeafKeys.TryGetValue(Convert.ToHexString(newTree.Leaf(MyLeaf)!.EncryptionKey), out var updatedKey))
        {
            // Our own Update proposal was committed: the leaf now uses the key we proposed.
            newPriv.Keys[TreeMath.LeafToNode(MyLeaf)] = (byte[])updatedKey.Clone();
        }
        if (commit.Path != null)
        {
            if (ac.Content.Sender.Type == SenderType.Member)
            {
                // The committer's new leaf must validate and present the identity of the leaf it replaces.
                CredentialIdentity.CheckSuccessor(_options.CredentialValidator, _tree.Leaf(committer)!, commit.Path.LeafNode);
            }
            else
            {
                _options.CredentialValidator.Validate(commit.Path.LeafNode.Credential, commit.Path.LeafNode.SignatureKey);
            }

            commitSecret = TreeKem.ApplyPath(cs, newTree, committer, commit.Path, newPriv, GroupId, applied.Joiners.Keys.ToHashSet(),
                t => { newCtx.TreeHash = t.RootHash(cs); return newCtx.ToBytes(); }, out _)!;
        }
        else if (applied.NeedsPath)
        {
            throw new MlsException("commit requires an UpdatePath");
        }
        else
        {
            newPriv.Prune(cs, newTree);
        }

        CheckCredentialTypes(newTree);
        newCtx.TreeHash = newTree.RootHash(cs);
        byte[] confirmed = TranscriptHash.Confirmed(cs, _interim, ac);
        newCtx.ConfirmedTranscriptHash = confirmed;
        byte[] psk = ResolvePsks(cs, applied.Psks, LookupPsk);
        var secrets = EpochSecrets.FromInit(cs, initSecret, commitSecret, psk, newCtx.ToBytes());
        CryptographicOperations.ZeroMemory(commitSecret);
        CryptographicOperations.ZeroMemory(psk);
        if (!cs.VerifyMac(secrets.ConfirmationKey, confirmed, ac.Auth.ConfirmationTag))
        {
            secrets.Dispose();
            throw new MlsException("confirmation tag invalid");
        }

        if (_staged != null)
        {
            DiscardStagedCommit(); // another member's commit took this epoch
        }

        var old = _secrets;
        EnterEpoch(newCtx, newTree, newPriv, secrets, TranscriptHash.Interim(cs, confirmed, ac.Auth.ConfirmationTag), ac.Auth.ConfirmationTag);
        old.Dispose();
    }

    /// <summary>True once a received commit removed this member.</summary>
    public bool Removed { get; private set; }

    private void EnterEpoch(GroupContext ctx, RatchetTree tree, TreePrivateState priv, EpochSecrets secrets, byte[] interim, byte[] tag)
    {
        _previous?.Dispose();
        _previous = new PreviousEpoch(_ctx.Epoch, _secretTree, (byte[])_secrets.SenderDataSecret.Clone(), ContextBytes, _tree);
        _priv.Dispose();
        _ctx = ctx;
        _tree = tree;
        _priv = priv;
        _secrets = secrets;
        _interim = interim;
        _lastConfirmationTag = tag;
        _secretTree = new SecretTree(Suite, secrets.EncryptionSecret, tree.LeafCount);
        _pending.Clear();
        foreach (var k in _pendingLeafKeys.Values)
        {
            CryptographicOperations.ZeroMemory(k);
        }

        _pendingLeafKeys.Clear();
        _resumptionPsks[ctx.Epoch] = (byte[])secrets.ResumptionPsk.Clone();
        foreach (var e in _resumptionPsks.Keys.Where(e => e + 8 < ctx.Epoch).ToList())
        {
            CryptographicOperations.ZeroMemory(_resumptionPsks[e]);
            _resumptionPsks.Remove(e);
        }

        EpochChanged?.Invoke(this, ctx.Epoch);
    }

    public void Dispose()
    {
        if (_staged != null)
        {
            DiscardStagedCommit();
        }

        _previous?.Dispose();
        _secretTree.Dispose();
        _priv.Dispose();
        _secrets.Dispose();
        foreach (var r in _resumptionPsks.Values)
        {
            CryptographicOperations.ZeroMemory(r);
        }
    }
}
