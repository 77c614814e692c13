using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

/// <summary>
/// The delivery service as an external sender (RFC 9420 section 12.1.8.1): named in the group context, it proposes
/// Remove (or Add); a member commits the proposal by reference; everything else from outside the group is refused.
/// </summary>
public sealed class ExternalSenderTests
{
    private static readonly MlsCipherSuite Cs = MlsCipherSuite.Get(2);

    private static KeyPackage Wire(KeyPackageBundle kp) =>
        MlsMessage.Decode(new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = kp.KeyPackage }.ToBytes()).KeyPackage!;

    private static MlsMessage Decode(MlsMessage m) => MlsMessage.Decode(m.ToBytes());

    private sealed record Setup(MlsGroup Alice, MlsGroup Bob, MlsGroup Carol, byte[] ServerKey, byte[] ServerPub) : IDisposable
    {
        public void Dispose()
        {
            Alice.Dispose();
            Bob.Dispose();
            Carol.Dispose();
        }
    }

    /// <summary>Alice creates the group naming the server as external sender 0, then adds Bob and Carol.</summary>
    private static Setup ThreeMembers()
    {
        var (sk, pk) = Cs.GenerateSignatureKeyPair();
        var ext = ExternalSender.ToExtension([new ExternalSender { SignatureKey = pk, Credential = Credential.Basic("server:ds"u8.ToArray()) }]);
        var opts = new MlsGroupOptions { HandshakeAsPublic = true };
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "ext"u8.ToArray(), opts, [ext]);
        var bobId = MlsIdentity.CreateBasic(Cs, "bob");
        var carolId = MlsIdentity.CreateBasic(Cs, "carol");
        var (bobKp, carolKp) = (bobId.CreateKeyPackage(), carolId.CreateKeyPackage());
        var added = alice.Commit(add: [Wire(bobKp), Wire(carolKp)]);
        var welcome = Decode(added.Welcome!).Welcome!;
        var bob = MlsGroup.Join(bobId, bobKp, welcome, opts);
        var carol = MlsGroup.Join(carolId, carolKp, welcome, opts);
        return new Setup(alice, bob, carol, sk, pk);
    }

    private static uint LeafOf(MlsGroup g, string name) =>
        g.Members.Single(l => CredentialIdentity.Of(g.Tree.Leaf(l)!.Credential) == name);

    [Fact]
    public void The_servers_Remove_proposal_committed_by_reference_takes_the_member_out_for_everyone()
    {
        using var s = ThreeMembers();
        uint carol = LeafOf(s.Alice, "carol");
        var proposal = Decode(Framing.SignExternalProposal(Cs, s.Alice.GroupId, s.Alice.Epoch, 0, new Proposal { Type = ProposalType.Remove, Removed = carol }, s.ServerKey));
        Assert.Equal(SenderType.External, proposal.PublicMessage!.Content.Sender.Type);
        foreach (var g in new[] { s.Alice, s.Bob, s.Carol })
        {
            Assert.Equal(ContentType.Proposal, g.Process(proposal).Kind);
        }

        // Carol may not commit her own removal (nor anything else while it is pending); Bob commits it by reference.
        Assert.True(s.Carol.RemovalPending);
        Assert.Throws<MlsException>(() => s.Carol.StageCommit());
        byte[] before = s.Alice.EpochAuthenticator;
        var commit = s.Bob.Commit();
        var byRef = Assert.Single(commit.Commit.PublicMessage!.Content.Commit!.Proposals);
        Assert.Equal(Framing.ProposalRef(Cs, proposal.PublicMessage), byRef.Reference);
        s.Alice.Process(Decode(commit.Commit));
        s.Carol.Process(Decode(commit.Commit));

        Assert.True(s.Carol.Removed);
        Assert.Equal(s.Alice.EpochAuthenticator, s.Bob.EpochAuthenticator);
        Assert.NotEqual(before, s.Alice.EpochAuthenticator);
        Assert.Equal(["alice", "bob"], s.Alice.Members.Select(l => CredentialIdentity.Of(s.Alice.Tree.Leaf(l)!.Credential)).Order());
        // Carol cannot open what is sent after the commit.
        var after = s.Alice.EncryptApplication("after"u8);
        Assert.Equal("after"u8.ToArray(), s.Bob.Process(Decode(after)).ApplicationData);
        Assert.Throws<MlsException>(() => s.Carol.Process(Decode(after)));
    }

    [Fact]
    public void A_commit_that_also_removes_the_member_by_value_does_not_name_it_twice()
    {
        using var s = ThreeMembers();
        uint carol = LeafOf(s.Alice, "carol");
        var proposal = Decode(Framing.SignExternalProposal(Cs, s.Alice.GroupId, s.Alice.Epoch, 0, new Proposal { Type = ProposalType.Remove, Removed = carol }, s.ServerKey));
        s.Alice.Process(proposal);
        s.Bob.Process(proposal);
        var commit = s.Alice.Commit(remove: [carol]);
        s.Bob.Process(Decode(commit.Commit));
        Assert.Equal(s.Alice.EpochAuthenticator, s.Bob.EpochAuthenticator);
        Assert.Equal(2, s.Bob.Members.Count());
    }

    [Fact]
    public void The_servers_Add_proposal_committed_by_a_member_welcomes_the_newcomer()
    {
        using var s = ThreeMembers();
        var daveId = MlsIdentity.CreateBasic(Cs, "dave");
        var daveKp = daveId.CreateKeyPackage();
        var proposal = Decode(Framing.SignExternalProposal(Cs, s.Alice.GroupId, s.Alice.Epoch, 0, new Proposal { Type = ProposalType.Add, Add = Wire(daveKp) }, s.ServerKey));
        s.Alice.Process(proposal);
        s.Bob.Process(proposal);
        var commit = s.Alice.Commit();
        s.Bob.Process(Decode(commit.Commit));
        using var dave = MlsGroup.Join(daveId, daveKp, Decode(commit.Welcome!).Welcome!, new MlsGroupOptions { HandshakeAsPublic = true });
        Assert.Equal(s.Alice.EpochAuthenticator, dave.EpochAuthenticator);
        Assert.Equal(4, dave.Members.Count());
    }

    [Fact]
    public void Malformed_or_unauthorised_external_proposals_are_refused_and_change_nothing()
    {
        using var s = ThreeMembers();
        uint carol = LeafOf(s.Alice, "carol");
        var remove = new Proposal { Type = ProposalType.Remove, Removed = carol };
        MlsMessage Signed(Proposal p, uint index = 0, byte[]? key = null) =>
            Decode(Framing.SignExternalProposal(Cs, s.Alice.GroupId, s.Alice.Epoch, index, p, key ?? s.ServerKey));

        // Wrong signature: signed by another key, or a flipped bit.
        var (otherKey, _) = Cs.GenerateSignatureKeyPair();
        Assert.Contains("signature", Assert.Throws<MlsException>(() => s.Alice.Process(Signed(remove, key: otherKey))).Message, StringComparison.Ordinal);
        var flipped = Signed(remove);
        flipped.PublicMessage!.Auth.Signature[^1] ^= 1;
        Assert.Throws<MlsException>(() => s.Alice.Process(Decode(flipped)));
        // Sender index out of range (one external sender: index 0 only).
        Assert.Contains("out of range", Assert.Throws<MlsException>(() => s.Alice.Process(Signed(remove, index: 1))).Message, StringComparison.Ordinal);
        // Proposal types other than Remove and Add.
        var bobLeaf = s.Alice.Tree.Leaf(LeafOf(s.Alice, "bob"))!;
        foreach (var p in new[]
        {
            new Proposal { Type = ProposalType.Update, Update = bobLeaf },
            new Proposal { Type = ProposalType.GroupContextExtensions, Extensions = [] },
            new Proposal { Type = ProposalType.Psk, Psk = new PreSharedKeyId { Type = PskType.External, PskId = [1], PskNonce = new byte[32] } },
            new Proposal { Type = ProposalType.ExternalInit, KemOutput = new byte[65] },
        })
        {
            Assert.Contains("not accepted from an external sender", Assert.Throws<MlsException>(() => s.Alice.Process(Signed(p))).Message, StringComparison.Ordinal);
        }

        // A Remove of a blank or non-existent leaf; a proposal for another epoch.
        Assert.Throws<MlsException>(() => s.Alice.Process(Signed(new Proposal { Type = ProposalType.Remove, Removed = 77 })));
        var stale = Decode(Framing.SignExternalProposal(Cs, s.Alice.GroupId, s.Alice.Epoch - 1, 0, remove, s.ServerKey));
        Assert.Throws<MlsException>(() => s.Alice.Process(stale));
        // An external sender sends no commits.
        var commit = Signed(remove);
        commit.PublicMessage!.Content.ContentType = ContentType.Commit;
        commit.PublicMessage.Content.Commit = new Commit();
        commit.PublicMessage.Content.Proposal = null;
        Assert.ThrowsAny<RoomCryptoException>(() => s.Alice.Process(Decode(commit)));

        // Nothing of it was kept: Alice's next commit carries no proposal and Bob agrees with it.
        Assert.Empty(s.Alice.PendingProposals);
        var update = s.Alice.Commit();
        Assert.Empty(update.Commit.PublicMessage!.Content.Commit!.Proposals);
        s.Bob.Process(Decode(update.Commit));
        Assert.Equal(s.Alice.EpochAuthenticator, s.Bob.EpochAuthenticator);
        Assert.Equal(3, s.Bob.Members.Count());
    }

    [Fact]
    public void A_group_without_external_senders_refuses_every_external_proposal()
    {
        var (sk, _) = Cs.GenerateSignatureKeyPair();
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "plain"u8.ToArray(), new MlsGroupOptions { HandshakeAsPublic = true });
        var p = Decode(Framing.SignExternalProposal(Cs, alice.GroupId, alice.Epoch, 0, new Proposal { Type = ProposalType.Remove, Removed = 0 }, sk));
        Assert.Contains("out of range", Assert.Throws<MlsException>(() => alice.Process(p)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_external_sender_whose_credential_the_members_refuse_keeps_the_group_from_being_made_or_joined()
    {
        var (_, pk) = Cs.GenerateSignatureKeyPair();
        var bad = ExternalSender.ToExtension([new ExternalSender { SignatureKey = pk, Credential = Credential.X509([[0x30, 0x00]]) }]);
        Assert.Throws<MlsException>(() => MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray(), null, [bad]));
        // Malformed extension data.
        Assert.ThrowsAny<RoomCryptoException>(() => MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray(), null,
            [new Extension(ExtensionType.ExternalSenders, [0x05, 0x01])]));
    }
}
