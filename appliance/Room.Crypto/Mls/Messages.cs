namespace Room.Crypto.Mls;

#pragma warning disable CA1819 // wire structs expose byte arrays by design
#pragma warning disable CA1002 // List<T> is the natural wire vector type here
#pragma warning disable CA2227 // settable collections keep the wire structs simple

public enum ContentType : byte { Application = 1, Proposal = 2, Commit = 3 }

public enum SenderType : byte { Member = 1, External = 2, NewMemberProposal = 3, NewMemberCommit = 4 }

public enum WireFormat : ushort { PublicMessage = 1, PrivateMessage = 2, Welcome = 3, GroupInfo = 4, KeyPackage = 5 }

public enum ProposalType : ushort { Add = 1, Update = 2, Remove = 3, Psk = 4, ReInit = 5, ExternalInit = 6, GroupContextExtensions = 7 }

public enum CredentialType : ushort { Basic = 1, X509 = 2 }

public enum LeafNodeSource : byte { KeyPackage = 1, Update = 2, Commit = 3 }

public static class ExtensionType
{
    public const ushort ApplicationId = 1;
    public const ushort RatchetTree = 2;
    public const ushort RequiredCapabilities = 3;
    public const ushort ExternalPub = 4;
    public const ushort ExternalSenders = 5;
}

internal static class Enums
{
    public static T Check<T>(byte v)
        where T : struct, Enum =>
        Enum.IsDefined(typeof(T), v) ? (T)(object)v : throw new MlsDecodeException($"unknown {typeof(T).Name} {v}");

    public static T Check16<T>(ushort v)
        where T : struct, Enum =>
        Enum.IsDefined(typeof(T), v) ? (T)(object)v : throw new MlsDecodeException($"unknown {typeof(T).Name} {v}");

    public static void Version(ushort v)
    {
        if (v != 1)
        {
            throw new MlsDecodeException($"unsupported protocol version {v}");
        }
    }
}

public sealed record Extension(ushort Type, byte[] Data)
{
    public void Write(MlsWriter w)
    {
        w.U16(Type);
        w.Opaque(Data);
    }

    public static Extension Read(MlsReader r) => new(r.U16(), r.Opaque());

    public static void WriteList(MlsWriter w, List<Extension> list) => w.Vector(list, (w2, e) => e.Write(w2));

    public static List<Extension> ReadList(MlsReader r)
    {
        var list = r.Vector(Read);
        if (list.Select(e => e.Type).Distinct().Count() != list.Count)
        {
            throw new MlsDecodeException("duplicate extension type");
        }

        return list;
    }
}

public sealed class Credential
{
    public CredentialType Type { get; set; }

    /// <summary>Basic: the identity.</summary>
    public byte[] Identity { get; set; } = [];

    /// <summary>X.509: DER certificates, leaf first.</summary>
    public List<byte[]> Certificates { get; set; } = [];

    public static Credential Basic(byte[] identity) => new() { Type = CredentialType.Basic, Identity = identity };

    public static Credential X509(IEnumerable<byte[]> chain) => new() { Type = CredentialType.X509, Certificates = [.. chain] };

    public void Write(MlsWriter w)
    {
        w.U16((ushort)Type);
        if (Type == CredentialType.Basic)
        {
            w.Opaque(Identity);
        }
        else
        {
            w.Vector(Certificates, (w2, c) => w2.Opaque(c));
        }
    }

    public static Credential Read(MlsReader r)
    {
        var t = Enums.Check16<CredentialType>(r.U16());
        return t == CredentialType.Basic
            ? new Credential { Type = t, Identity = r.Opaque() }
            : new Credential { Type = t, Certificates = r.Vector(x => x.Opaque()) };
    }
}

/// <summary>
/// RFC 9420 section 12.1.8.1: a party outside the group (e.g. the delivery service) allowed to send proposals. The
/// group context's external_senders extension is a vector of these; a proposal's sender index points into it.
/// </summary>
public sealed class ExternalSender
{
    public byte[] SignatureKey { get; set; } = [];
    public Credential Credential { get; set; } = new();

    public void Write(MlsWriter w)
    {
        w.Opaque(SignatureKey);
        Credential.Write(w);
    }

    public static ExternalSender Read(MlsReader r) => new() { SignatureKey = r.Opaque(), Credential = Credential.Read(r) };

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    /// <summary>The external_senders extension holding <paramref name="senders"/>.</summary>
    public static Extension ToExtension(IEnumerable<ExternalSender> senders)
    {
        var list = senders.ToList();
        return new Extension(ExtensionType.ExternalSenders, MlsWriter.Encode(w => w.Vector(list, (w2, s) => s.Write(w2))));
    }

    /// <summary>The senders of an external_senders extension (malformed data throws <see cref="MlsDecodeException"/>).</summary>
    public static List<ExternalSender> FromExtension(Extension extension) => MlsReader.DecodeAll(extension.Data, r => r.Vector(Read));

    /// <summary>The external senders named by a group context (none without the extension).</summary>
    public static List<ExternalSender> Of(GroupContext context) =>
        context.Extensions.FirstOrDefault(e => e.Type == ExtensionType.ExternalSenders) is { } e ? FromExtension(e) : [];
}

public sealed class Capabilities
{
    public List<ushort> Versions { get; set; } = [1];
    public List<ushort> CipherSuites { get; set; } = [];
    public List<ushort> Extensions { get; set; } = [];
    public List<ushort> Proposals { get; set; } = [];
    public List<ushort> Credentials { get; set; } = [];

    public void Write(MlsWriter w)
    {
        foreach (var l in new[] { Versions, CipherSuites, Extensions, Proposals, Credentials })
        {
            w.Vector(l, (w2, v) => w2.U16(v));
        }
    }

    public static Capabilities Read(MlsReader r) => new()
    {
        Versions = r.Vector(x => x.U16()),
        CipherSuites = r.Vector(x => x.U16()),
        Extensions = r.Vector(x => x.U16()),
        Proposals = r.Vector(x => x.U16()),
        Credentials = r.Vector(x => x.U16()),
    };
}

public sealed class LeafNode
{
    public byte[] EncryptionKey { get; set; } = [];
    public byte[] SignatureKey { get; set; } = [];
    public Credential Credential { get; set; } = new();
    public Capabilities Capabilities { get; set; } = new();
    public LeafNodeSource Source { get; set; }
    public ulong NotBefore { get; set; }
    public ulong NotAfter { get; set; }
    public byte[] ParentHash { get; set; } = [];
    public List<Extension> Extensions { get; set; } = [];
    public byte[] Signature { get; set; } = [];

    private void WriteContent(MlsWriter w)
    {
        w.Opaque(EncryptionKey);
        w.Opaque(SignatureKey);
        Credential.Write(w);
        Capabilities.Write(w);
        w.U8((byte)Source);
        switch (Source)
        {
            case LeafNodeSource.KeyPackage:
                w.U64(NotBefore);
                w.U64(NotAfter);
                break;
            case LeafNodeSource.Commit:
                w.Opaque(ParentHash);
                break;
            default:
                break;
        }

        Extension.WriteList(w, Extensions);
    }

    public void Write(MlsWriter w)
    {
        WriteContent(w);
        w.Opaque(Signature);
    }

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    /// <summary>LeafNodeTBS: content, plus group id and leaf index for update/commit sources.</summary>
    public byte[] ToBeSigned(byte[]? groupId, uint leafIndex)
    {
        var w = new MlsWriter();
        WriteContent(w);
        if (Source is LeafNodeSource.Update or LeafNodeSource.Commit)
        {
            w.Opaque(groupId ?? throw new MlsException("group id needed"));
            w.U32(leafIndex);
        }

        return w.ToArray();
    }

    public void Sign(MlsCipherSuite cs, byte[] signaturePrivateKey, byte[]? groupId, uint leafIndex) =>
        Signature = cs.SignWithLabel(signaturePrivateKey, "LeafNodeTBS", ToBeSigned(groupId, leafIndex));

    public bool VerifySignature(MlsCipherSuite cs, byte[]? groupId, uint leafIndex) =>
        cs.VerifyWithLabel(SignatureKey, "LeafNodeTBS", ToBeSigned(groupId, leafIndex), Signature);

    public static LeafNode Read(MlsReader r)
    {
        var n = new LeafNode
        {
            EncryptionKey = r.Opaque(),
            SignatureKey = r.Opaque(),
            Credential = Credential.Read(r),
            Capabilities = Capabilities.Read(r),
            Source = Enums.Check<LeafNodeSource>(r.U8()),
        };
        switch (n.Source)
        {
            case LeafNodeSource.KeyPackage:
                n.NotBefore = r.U64();
                n.NotAfter = r.U64();
                break;
            case LeafNodeSource.Commit:
                n.ParentHash = r.Opaque();
                break;
            default:
                break;
        }

        n.Extensions = Extension.ReadList(r);
        n.Signature = r.Opaque();
        return n;
    }

    public LeafNode Clone() => MlsReader.DecodeAll(ToBytes(), Read);
}

public sealed class KeyPackage
{
    public ushort Version { get; set; } = 1;
    public ushort CipherSuite { get; set; }
    public byte[] InitKey { get; set; } = [];
    public LeafNode LeafNode { get; set; } = new();
    public List<Extension> Extensions { get; set; } = [];
    public byte[] Signature { get; set; } = [];

    private void WriteContent(MlsWriter w)
    {
        w.U16(Version);
        w.U16(CipherSuite);
        w.Opaque(InitKey);
        LeafNode.Write(w);
        Extension.WriteList(w, Extensions);
    }

    public void Write(MlsWriter w)
    {
        WriteContent(w);
        w.Opaque(Signature);
    }

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    public byte[] ToBeSigned() => MlsWriter.Encode(WriteContent);

    public byte[] Ref(MlsCipherSuite cs) => cs.KeyPackageRef(ToBytes());

    public static KeyPackage Read(MlsReader r)
    {
        var k = new KeyPackage { Version = r.U16() };
        Enums.Version(k.Version);
        k.CipherSuite = r.U16();
        k.InitKey = r.Opaque();
        k.LeafNode = LeafNode.Read(r);
        k.Extensions = Extension.ReadList(r);
        k.Signature = r.Opaque();
        return k;
    }
}

public sealed class ParentNode
{
    public byte[] EncryptionKey { get; set; } = [];
    public byte[] ParentHash { get; set; } = [];
    public List<uint> UnmergedLeaves { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.Opaque(EncryptionKey);
        w.Opaque(ParentHash);
        w.Vector(UnmergedLeaves, (w2, l) => w2.U32(l));
    }

    public static ParentNode Read(MlsReader r) => new()
    {
        EncryptionKey = r.Opaque(),
        ParentHash = r.Opaque(),
        UnmergedLeaves = r.Vector(x => x.U32()),
    };

    public ParentNode Clone() => new() { EncryptionKey = EncryptionKey, ParentHash = ParentHash, UnmergedLeaves = [.. UnmergedLeaves] };
}

/// <summary>A ratchet-tree node: exactly one of Leaf or Parent is set.</summary>
public sealed class Node
{
    public LeafNode? Leaf { get; init; }
    public ParentNode? Parent { get; init; }

    public byte[] EncryptionKey => Leaf?.EncryptionKey ?? Parent!.EncryptionKey;

    public void Write(MlsWriter w)
    {
        if (Leaf != null)
        {
            w.U8(1);
            Leaf.Write(w);
        }
        else
        {
            w.U8(2);
            Parent!.Write(w);
        }
    }

    public static Node Read(MlsReader r) => r.U8() switch
    {
        1 => new Node { Leaf = LeafNode.Read(r) },
        2 => new Node { Parent = ParentNode.Read(r) },
        var t => throw new MlsDecodeException($"unknown node type {t}"),
    };

    public static void WriteTree(MlsWriter w, IList<Node?> nodes) => w.Vector(nodes, (w2, n) => w2.Optional(n, (w3, x) => x.Write(w3)));

    public static List<Node?> ReadTree(MlsReader r) => r.Vector(x => x.Optional(Read));
}

public sealed class HpkeCiphertext
{
    public byte[] KemOutput { get; set; } = [];
    public byte[] Ciphertext { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.Opaque(KemOutput);
        w.Opaque(Ciphertext);
    }

    public static HpkeCiphertext Read(MlsReader r) => new() { KemOutput = r.Opaque(), Ciphertext = r.Opaque() };
}

public sealed class UpdatePathNode
{
    public byte[] EncryptionKey { get; set; } = [];
    public List<HpkeCiphertext> EncryptedPathSecret { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.Opaque(EncryptionKey);
        w.Vector(EncryptedPathSecret, (w2, c) => c.Write(w2));
    }

    public static UpdatePathNode Read(MlsReader r) => new() { EncryptionKey = r.Opaque(), EncryptedPathSecret = r.Vector(HpkeCiphertext.Read) };
}

public sealed class UpdatePath
{
    public LeafNode LeafNode { get; set; } = new();
    public List<UpdatePathNode> Nodes { get; set; } = [];

    public void Write(MlsWriter w)
    {
        LeafNode.Write(w);
        w.Vector(Nodes, (w2, n) => n.Write(w2));
    }

    public static UpdatePath Read(MlsReader r) => new() { LeafNode = LeafNode.Read(r), Nodes = r.Vector(UpdatePathNode.Read) };
}

public enum PskType : byte { External = 1, Resumption = 2 }

public enum ResumptionPskUsage : byte { Application = 1, Reinit = 2, Branch = 3 }

public sealed class PreSharedKeyId
{
    public PskType Type { get; set; }
    public byte[] PskId { get; set; } = [];
    public ResumptionPskUsage Usage { get; set; }
    public byte[] PskGroupId { get; set; } = [];
    public ulong PskEpoch { get; set; }
    public byte[] PskNonce { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.U8((byte)Type);
        if (Type == PskType.External)
        {
            w.Opaque(PskId);
        }
        else
        {
            w.U8((byte)Usage);
            w.Opaque(PskGroupId);
            w.U64(PskEpoch);
        }

        w.Opaque(PskNonce);
    }

    public static PreSharedKeyId Read(MlsReader r)
    {
        var p = new PreSharedKeyId { Type = Enums.Check<PskType>(r.U8()) };
        if (p.Type == PskType.External)
        {
            p.PskId = r.Opaque();
        }
        else
        {
            p.Usage = Enums.Check<ResumptionPskUsage>(r.U8());
            p.PskGroupId = r.Opaque();
            p.PskEpoch = r.U64();
        }

        p.PskNonce = r.Opaque();
        return p;
    }
}

public sealed class Proposal
{
    public ProposalType Type { get; init; }
    public KeyPackage? Add { get; init; }
    public LeafNode? Update { get; init; }
    public uint Removed { get; init; }
    public PreSharedKeyId? Psk { get; init; }
    public byte[] ReInitGroupId { get; init; } = [];
    public ushort ReInitVersion { get; init; }
    public ushort ReInitCipherSuite { get; init; }
    public byte[] KemOutput { get; init; } = [];
    public List<Extension> Extensions { get; init; } = [];

    public void Write(MlsWriter w)
    {
        w.U16((ushort)Type);
        switch (Type)
        {
            case ProposalType.Add: Add!.Write(w); break;
            case ProposalType.Update: Update!.Write(w); break;
            case ProposalType.Remove: w.U32(Removed); break;
            case ProposalType.Psk: Psk!.Write(w); break;
            case ProposalType.ReInit:
                w.Opaque(ReInitGroupId);
                w.U16(ReInitVersion);
                w.U16(ReInitCipherSuite);
                Extension.WriteList(w, Extensions);
                break;
            case ProposalType.ExternalInit: w.Opaque(KemOutput); break;
            case ProposalType.GroupContextExtensions: Extension.WriteList(w, Extensions); break;
            default: throw new MlsException("unknown proposal type");
        }
    }

    public static Proposal Read(MlsReader r)
    {
        var t = Enums.Check16<ProposalType>(r.U16());
        return t switch
        {
            ProposalType.Add => new Proposal { Type = t, Add = KeyPackage.Read(r) },
            ProposalType.Update => new Proposal { Type = t, Update = LeafNode.Read(r) },
            ProposalType.Remove => new Proposal { Type = t, Removed = r.U32() },
            ProposalType.Psk => new Proposal { Type = t, Psk = PreSharedKeyId.Read(r) },
            ProposalType.ReInit => new Proposal { Type = t, ReInitGroupId = r.Opaque(), ReInitVersion = r.U16(), ReInitCipherSuite = r.U16(), Extensions = Extension.ReadList(r) },
            ProposalType.ExternalInit => new Proposal { Type = t, KemOutput = r.Opaque() },
            _ => new Proposal { Type = t, Extensions = Extension.ReadList(r) },
        };
    }
}

public sealed class ProposalOrRef
{
    public Proposal? Proposal { get; init; }
    public byte[]? Reference { get; init; }

    public void Write(MlsWriter w)
    {
        if (Proposal != null)
        {
            w.U8(1);
            Proposal.Write(w);
        }
        else
        {
            w.U8(2);
            w.Opaque(Reference!);
        }
    }

    public static ProposalOrRef Read(MlsReader r) => r.U8() switch
    {
        1 => new ProposalOrRef { Proposal = Proposal.Read(r) },
        2 => new ProposalOrRef { Reference = r.Opaque() },
        var t => throw new MlsDecodeException($"unknown ProposalOrRef type {t}"),
    };
}

public sealed class Commit
{
    public List<ProposalOrRef> Proposals { get; set; } = [];
    public UpdatePath? Path { get; set; }

    public void Write(MlsWriter w)
    {
        w.Vector(Proposals, (w2, p) => p.Write(w2));
        w.Optional(Path, (w2, p) => p.Write(w2));
    }

    public static Commit Read(MlsReader r) => new() { Proposals = r.Vector(ProposalOrRef.Read), Path = r.Optional(UpdatePath.Read) };
}

public readonly record struct Sender(SenderType Type, uint Index)
{
    public static Sender Member(uint leaf) => new(SenderType.Member, leaf);

    public void Write(MlsWriter w)
    {
        w.U8((byte)Type);
        if (Type is SenderType.Member or SenderType.External)
        {
            w.U32(Index);
        }
    }

    public static Sender Read(MlsReader r)
    {
        var t = Enums.Check<SenderType>(r.U8());
        return new Sender(t, t is SenderType.Member or SenderType.External ? r.U32() : 0);
    }
}

public sealed class FramedContent
{
    public byte[] GroupId { get; set; } = [];
    public ulong Epoch { get; set; }
    public Sender Sender { get; set; }
    public byte[] AuthenticatedData { get; set; } = [];
    public ContentType ContentType { get; set; }
    public byte[] ApplicationData { get; set; } = [];
    public Proposal? Proposal { get; set; }
    public Commit? Commit { get; set; }

    public void WriteBody(MlsWriter w)
    {
        switch (ContentType)
        {
            case ContentType.Application: w.Opaque(ApplicationData); break;
            case ContentType.Proposal: Proposal!.Write(w); break;
            default: Commit!.Write(w); break;
        }
    }

    public void Write(MlsWriter w)
    {
        w.Opaque(GroupId);
        w.U64(Epoch);
        Sender.Write(w);
        w.Opaque(AuthenticatedData);
        w.U8((byte)ContentType);
        WriteBody(w);
    }

    public void ReadBody(MlsReader r)
    {
        switch (ContentType)
        {
            case ContentType.Application: ApplicationData = r.Opaque(); break;
            case ContentType.Proposal: Proposal = Proposal.Read(r); break;
            default: Commit = Commit.Read(r); break;
        }
    }

    public static FramedContent Read(MlsReader r)
    {
        var c = new FramedContent { GroupId = r.Opaque(), Epoch = r.U64(), Sender = Sender.Read(r), AuthenticatedData = r.Opaque(), ContentType = Enums.Check<ContentType>(r.U8()) };
        c.ReadBody(r);
        return c;
    }
}

public sealed class FramedContentAuthData
{
    public byte[] Signature { get; set; } = [];
    public byte[] ConfirmationTag { get; set; } = [];

    public void Write(MlsWriter w, ContentType ct)
    {
        w.Opaque(Signature);
        if (ct == ContentType.Commit)
        {
            w.Opaque(ConfirmationTag);
        }
    }

    public static FramedContentAuthData Read(MlsReader r, ContentType ct)
    {
        var a = new FramedContentAuthData { Signature = r.Opaque() };
        if (ct == ContentType.Commit)
        {
            a.ConfirmationTag = r.Opaque();
        }

        return a;
    }
}

/// <summary>AuthenticatedContent: wire format, content, auth.</summary>
public sealed class AuthenticatedContent
{
    public WireFormat WireFormat { get; set; }
    public FramedContent Content { get; set; } = new();
    public FramedContentAuthData Auth { get; set; } = new();

    public void Write(MlsWriter w)
    {
        w.U16((ushort)WireFormat);
        Content.Write(w);
        Auth.Write(w, Content.ContentType);
    }

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    public static AuthenticatedContent Read(MlsReader r)
    {
        var a = new AuthenticatedContent { WireFormat = Enums.Check16<WireFormat>(r.U16()), Content = FramedContent.Read(r) };
        a.Auth = FramedContentAuthData.Read(r, a.Content.ContentType);
        return a;
    }

    /// <summary>FramedContentTBS.</summary>
    public byte[] ToBeSigned(byte[]? groupContext)
    {
        var w = new MlsWriter();
        w.U16(1);
        w.U16((ushort)WireFormat);
        Content.Write(w);
        if (Content.Sender.Type is SenderType.Member or SenderType.NewMemberCommit)
        {
            w.Raw(groupContext ?? throw new MlsException("group context needed to sign"));
        }

        return w.ToArray();
    }

    public void Sign(MlsCipherSuite cs, byte[] signaturePrivateKey, byte[]? groupContext) =>
        Auth.Signature = cs.SignWithLabel(signaturePrivateKey, "FramedContentTBS", ToBeSigned(groupContext));

    public bool Verify(MlsCipherSuite cs, byte[] signaturePublicKey, byte[]? groupContext) =>
        cs.VerifyWithLabel(signaturePublicKey, "FramedContentTBS", ToBeSigned(groupContext), Auth.Signature);

    /// <summary>ConfirmedTranscriptHashInput: wire_format, content, signature.</summary>
    public byte[] ConfirmedTranscriptHashInput()
    {
        var w = new MlsWriter();
        w.U16((ushort)WireFormat);
        Content.Write(w);
        w.Opaque(Auth.Signature);
        return w.ToArray();
    }
}

public sealed class PublicMessage
{
    public FramedContent Content { get; set; } = new();
    public FramedContentAuthData Auth { get; set; } = new();
    public byte[] MembershipTag { get; set; } = [];

    public void Write(MlsWriter w)
    {
        Content.Write(w);
        Auth.Write(w, Content.ContentType);
        if (Content.Sender.Type == SenderType.Member)
        {
            w.Opaque(MembershipTag);
        }
    }

    public static PublicMessage Read(MlsReader r)
    {
        var m = new PublicMessage { Content = FramedContent.Read(r) };
        m.Auth = FramedContentAuthData.Read(r, m.Content.ContentType);
        if (m.Content.Sender.Type == SenderType.Member)
        {
            m.MembershipTag = r.Opaque();
        }

        return m;
    }

    public AuthenticatedContent ToAuthenticated() => new() { WireFormat = WireFormat.PublicMessage, Content = Content, Auth = Auth };

    /// <summary>AuthenticatedContentTBM = FramedContentTBS || auth.</summary>
    public static byte[] MembershipInput(AuthenticatedContent ac, byte[] groupContext)
    {
        var w = new MlsWriter();
        w.Raw(ac.ToBeSigned(groupContext));
        ac.Auth.Write(w, ac.Content.ContentType);
        return w.ToArray();
    }
}

public sealed class PrivateMessage
{
    public byte[] GroupId { get; set; } = [];
    public ulong Epoch { get; set; }
    public ContentType ContentType { get; set; }
    public byte[] AuthenticatedData { get; set; } = [];
    public byte[] EncryptedSenderData { get; set; } = [];
    public byte[] Ciphertext { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.Opaque(GroupId);
        w.U64(Epoch);
        w.U8((byte)ContentType);
        w.Opaque(AuthenticatedData);
        w.Opaque(EncryptedSenderData);
        w.Opaque(Ciphertext);
    }

    public static PrivateMessage Read(MlsReader r) => new()
    {
        GroupId = r.Opaque(),
        Epoch = r.U64(),
        ContentType = Enums.Check<ContentType>(r.U8()),
        AuthenticatedData = r.Opaque(),
        EncryptedSenderData = r.Opaque(),
        Ciphertext = r.Opaque(),
    };
}

public sealed class GroupContext
{
    public ushort Version { get; set; } = 1;
    public ushort CipherSuite { get; set; }
    public byte[] GroupId { get; set; } = [];
    public ulong Epoch { get; set; }
    public byte[] TreeHash { get; set; } = [];
    public byte[] ConfirmedTranscriptHash { get; set; } = [];
    public List<Extension> Extensions { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.U16(Version);
        w.U16(CipherSuite);
        w.Opaque(GroupId);
        w.U64(Epoch);
        w.Opaque(TreeHash);
        w.Opaque(ConfirmedTranscriptHash);
        Extension.WriteList(w, Extensions);
    }

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    public static GroupContext Read(MlsReader r)
    {
        var g = new GroupContext { Version = r.U16() };
        Enums.Version(g.Version);
        g.CipherSuite = r.U16();
        g.GroupId = r.Opaque();
        g.Epoch = r.U64();
        g.TreeHash = r.Opaque();
        g.ConfirmedTranscriptHash = r.Opaque();
        g.Extensions = Extension.ReadList(r);
        return g;
    }

    public GroupContext Clone() => MlsReader.DecodeAll(ToBytes(), Read);
}

public sealed class GroupInfo
{
    public GroupContext GroupContext { get; set; } = new();
    public List<Extension> Extensions { get; set; } = [];
    public byte[] ConfirmationTag { get; set; } = [];
    public uint Signer { get; set; }
    public byte[] Signature { get; set; } = [];

    private void WriteContent(MlsWriter w)
    {
        GroupContext.Write(w);
        Extension.WriteList(w, Extensions);
        w.Opaque(ConfirmationTag);
        w.U32(Signer);
    }

    public void Write(MlsWriter w)
    {
        WriteContent(w);
        w.Opaque(Signature);
    }

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    public byte[] ToBeSigned() => MlsWriter.Encode(WriteContent);

    public static GroupInfo Read(MlsReader r) => new()
    {
        GroupContext = GroupContext.Read(r),
        Extensions = Extension.ReadList(r),
        ConfirmationTag = r.Opaque(),
        Signer = r.U32(),
        Signature = r.Opaque(),
    };
}

public sealed class GroupSecrets
{
    public byte[] JoinerSecret { get; set; } = [];
    public byte[]? PathSecret { get; set; }
    public List<PreSharedKeyId> Psks { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.Opaque(JoinerSecret);
        w.Optional(PathSecret, (w2, p) => w2.Opaque(p));
        w.Vector(Psks, (w2, p) => p.Write(w2));
    }

    public static GroupSecrets Read(MlsReader r) => new()
    {
        JoinerSecret = r.Opaque(),
        PathSecret = r.Optional(x => x.Opaque()),
        Psks = r.Vector(PreSharedKeyId.Read),
    };
}

public sealed class EncryptedGroupSecrets
{
    public byte[] NewMember { get; set; } = [];
    public HpkeCiphertext EncryptedGroupSecretsValue { get; set; } = new();

    public void Write(MlsWriter w)
    {
        w.Opaque(NewMember);
        EncryptedGroupSecretsValue.Write(w);
    }

    public static EncryptedGroupSecrets Read(MlsReader r) => new() { NewMember = r.Opaque(), EncryptedGroupSecretsValue = HpkeCiphertext.Read(r) };
}

public sealed class Welcome
{
    public ushort CipherSuite { get; set; }
    public List<EncryptedGroupSecrets> Secrets { get; set; } = [];
    public byte[] EncryptedGroupInfo { get; set; } = [];

    public void Write(MlsWriter w)
    {
        w.U16(CipherSuite);
        w.Vector(Secrets, (w2, s) => s.Write(w2));
        w.Opaque(EncryptedGroupInfo);
    }

    public static Welcome Read(MlsReader r) => new() { CipherSuite = r.U16(), Secrets = r.Vector(EncryptedGroupSecrets.Read), EncryptedGroupInfo = r.Opaque() };
}

/// <summary>MLSMessage: the top-level wire envelope.</summary>
public sealed class MlsMessage
{
    public WireFormat WireFormat { get; init; }
    public PublicMessage? PublicMessage { get; init; }
    public PrivateMessage? PrivateMessage { get; init; }
    public Welcome? Welcome { get; init; }
    public GroupInfo? GroupInfo { get; init; }
    public KeyPackage? KeyPackage { get; init; }

    public void Write(MlsWriter w)
    {
        w.U16(1);
        w.U16((ushort)WireFormat);
        switch (WireFormat)
        {
            case WireFormat.PublicMessage: PublicMessage!.Write(w); break;
            case WireFormat.PrivateMessage: PrivateMessage!.Write(w); break;
            case WireFormat.Welcome: Welcome!.Write(w); break;
            case WireFormat.GroupInfo: GroupInfo!.Write(w); break;
            default: KeyPackage!.Write(w); break;
        }
    }

    public byte[] ToBytes() => MlsWriter.Encode(Write);

    public static MlsMessage Read(MlsReader r)
    {
        Enums.Version(r.U16());
        var wf = Enums.Check16<WireFormat>(r.U16());
        return wf switch
        {
            WireFormat.PublicMessage => new MlsMessage { WireFormat = wf, PublicMessage = PublicMessage.Read(r) },
            WireFormat.PrivateMessage => new MlsMessage { WireFormat = wf, PrivateMessage = PrivateMessage.Read(r) },
            WireFormat.Welcome => new MlsMessage { WireFormat = wf, Welcome = Welcome.Read(r) },
            WireFormat.GroupInfo => new MlsMessage { WireFormat = wf, GroupInfo = GroupInfo.Read(r) },
            _ => new MlsMessage { WireFormat = wf, KeyPackage = KeyPackage.Read(r) },
        };
    }

    /// <summary>Decodes a complete MLSMessage; trailing bytes are an error.</summary>
    public static MlsMessage Decode(ReadOnlyMemory<byte> data) => MlsReader.DecodeAll(data, Read);
}
