using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

public sealed class MlsGroupTests
{
    private static MlsGroup Joined(MlsGroup committer, MlsIdentity id, out CommitOutput output, params MlsGroup[] others)
    {
        var kp = id.CreateKeyPackage();
        var wire = MlsMessage.Decode(new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = kp.KeyPackage }.ToBytes()).KeyPackage!;
        output = committer.Commit(add: [wire]);
        foreach (var o in others)
        {
            o.Process(MlsMessage.Decode(output.Commit.ToBytes()));
        }

        return MlsGroup.Join(id, kp, MlsMessage.Decode(output.Welcome!.ToBytes()).Welcome!);
    }

    [Theory]
    [InlineData((ushort)1, false)]
    [InlineData((ushort)2, true)]
    [InlineData((ushort)3, false)]
    public void Three_members_join_exchange_messages_and_agree_on_every_epoch(ushort suite, bool publicHandshake)
    {
        var cs = MlsCipherSuite.Get(suite);
        var opts = new MlsGroupOptions { HandshakeAsPublic = publicHandshake };
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "room-1"u8.ToArray(), opts);
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out _);
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        var carol = Joined(bob, MlsIdentity.CreateBasic(cs, "carol"), out _, alice);
        Assert.Equal(2UL, carol.Epoch);
        Assert.Equal(alice.EpochAuthenticator, carol.EpochAuthenticator);
        Assert.Equal(bob.EpochAuthenticator, carol.EpochAuthenticator);

        var m = alice.EncryptApplication("hello"u8);
        byte[] wire = m.ToBytes();
        Assert.Equal("hello"u8.ToArray(), bob.Process(MlsMessage.Decode(wire)).ApplicationData);
        Assert.Equal("hello"u8.ToArray(), carol.Process(MlsMessage.Decode(wire)).ApplicationData);
        Assert.Throws<MlsException>(() => bob.Process(MlsMessage.Decode(wire)));

        // Carol removes Bob; Bob learns he is out; the others move on without him.
        var rm = carol.Commit(remove: [bob.MyLeaf]);
        alice.Process(MlsMessage.Decode(rm.Commit.ToBytes()));
        bob.Process(MlsMessage.Decode(rm.Commit.ToBytes()));
        Assert.True(bob.Removed);
        Assert.Equal(alice.EpochAuthenticator, carol.EpochAuthenticator);
        Assert.NotEqual(alice.EpochAuthenticator, bob.EpochAuthenticator);
        Assert.Equal(2, alice.Members.Count());

        // An update-only commit (empty proposal list) rekeys.
        byte[] before = alice.Export("media", [], 32);
        var upd = alice.Commit();
        carol.Process(MlsMessage.Decode(upd.Commit.ToBytes()));
        Assert.Equal(alice.Export("media", [], 32), carol.Export("media", [], 32));
        Assert.NotEqual(before, alice.Export("media", [], 32));
    }

    [Fact]
    public void Add_only_commits_omit_the_path_when_asked_and_every_member_agrees()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "room-1"u8.ToArray(), new MlsGroupOptions { OmitOptionalPath = true, HandshakeAsPublic = true });
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out var add1);
        var carol = Joined(alice, MlsIdentity.CreateBasic(cs, "carol"), out var add2, bob);
        Assert.Null(add1.Commit.PublicMessage!.Content.Commit!.Path);
        Assert.Null(add2.Commit.PublicMessage!.Content.Commit!.Path);
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        Assert.Equal(alice.EpochAuthenticator, carol.EpochAuthenticator);
        Assert.All(new uint[] { 1, 3 }, n => Assert.Null(alice.Tree[n])); // nobody's path was set: the interior is blank

        // A commit that must carry a path (a removal) still does, and everyone follows it.
        var rm = alice.Commit(remove: [carol.MyLeaf]);
        Assert.NotNull(rm.Commit.PublicMessage!.Content.Commit!.Path);
        bob.Process(MlsMessage.Decode(rm.Commit.ToBytes()));
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        Assert.NotNull(alice.Tree[1]);
    }

    [Fact]
    public void Proposals_by_reference_are_committed_by_another_member()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out _);
        var dave = MlsIdentity.CreateBasic(cs, "dave").CreateKeyPackage();
        var prop = bob.Propose(new Proposal { Type = ProposalType.Add, Add = dave.KeyPackage });
        alice.Process(MlsMessage.Decode(prop.ToBytes()));
        var c = alice.Commit();
        bob.Process(MlsMessage.Decode(c.Commit.ToBytes()));
        Assert.NotNull(c.Welcome);
        var d = MlsGroup.Join(MlsIdentity.CreateBasic(cs, "dave-unused"), dave, c.Welcome!.Welcome!);
        Assert.Equal(alice.EpochAuthenticator, d.EpochAuthenticator);
        Assert.Equal(bob.EpochAuthenticator, d.EpochAuthenticator);
    }

    [Theory]
    [InlineData((ushort)1)]
    [InlineData((ushort)2)]
    public void External_join_from_GroupInfo_is_accepted_by_members(ushort suite)
    {
        var cs = MlsCipherSuite.Get(suite);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out _);
        var gi = MlsMessage.Decode(new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = bob.CreateGroupInfo() }.ToBytes()).GroupInfo!;
        var (erin, commit) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(cs, "erin"), gi);
        alice.Process(MlsMessage.Decode(commit.ToBytes()));
        bob.Process(MlsMessage.Decode(commit.ToBytes()));
        Assert.Equal(alice.EpochAuthenticator, erin.EpochAuthenticator);
        Assert.Equal(bob.EpochAuthenticator, erin.EpochAuthenticator);
        var msg = erin.EncryptApplication("hi"u8);
        Assert.Equal("hi"u8.ToArray(), alice.Process(MlsMessage.Decode(msg.ToBytes())).ApplicationData);
    }

    [Fact]
    public void Tampered_commit_is_refused_and_state_is_unchanged()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray(), new MlsGroupOptions { HandshakeAsPublic = true });
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out _);
        var c = alice.Commit();
        var pm = MlsMessage.Decode(c.Commit.ToBytes());
        pm.PublicMessage!.Auth.ConfirmationTag[0] ^= 1;
        ulong epoch = bob.Epoch;
        Assert.ThrowsAny<MlsException>(() => bob.Process(pm));
        Assert.Equal(epoch, bob.Epoch);
        bob.Process(MlsMessage.Decode(c.Commit.ToBytes()));
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
    }

    [Fact]
    public void Application_messages_of_the_previous_epoch_still_decrypt_after_a_commit_but_not_older()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out _);
        var late = alice.EncryptApplication("late"u8);
        var older = alice.EncryptApplication("older"u8);
        var c1 = bob.Commit();
        alice.Process(c1.Commit);
        Assert.Equal("late"u8.ToArray(), bob.Process(MlsMessage.Decode(late.ToBytes())).ApplicationData);
        var c2 = alice.Commit();
        bob.Process(c2.Commit);
        Assert.Throws<MlsException>(() => bob.Process(MlsMessage.Decode(older.ToBytes())));
    }

    [Fact]
    public void Update_PSK_and_GroupContextExtensions_proposals_are_committed_and_agreed()
    {
        var cs = MlsCipherSuite.Get(3);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        var bob = Joined(alice, MlsIdentity.CreateBasic(cs, "bob"), out _);
        var carol = Joined(alice, MlsIdentity.CreateBasic(cs, "carol"), out _, bob);

        // Bob proposes an Update; Carol commits it; Bob's new leaf key is used from then on.
        var upd = bob.ProposeUpdate();
        alice.Process(MlsMessage.Decode(upd.ToBytes()));
        carol.Process(MlsMessage.Decode(upd.ToBytes()));
        var c1 = carol.Commit();
        alice.Process(c1.Commit);
        bob.Process(c1.Commit);
        Assert.Equal(carol.EpochAuthenticator, bob.EpochAuthenticator);
        var c2 = alice.Commit();
        bob.Process(c2.Commit);
        carol.Process(c2.Commit);
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);

        // External PSK known to everyone, plus a GroupContextExtensions proposal.
        byte[] pskId = "org-psk-1"u8.ToArray(), psk = new byte[32];
        psk[0] = 42;
        foreach (var g in new[] { alice, bob, carol })
        {
            g.Options.ExternalPsks[Convert.ToHexString(pskId)] = psk;
        }

        var pskProposal = new Proposal { Type = ProposalType.Psk, Psk = new PreSharedKeyId { Type = PskType.External, PskId = pskId, PskNonce = new byte[32] } };
        var gce = new Proposal { Type = ProposalType.GroupContextExtensions, Extensions = [new Extension(0xff00, "room"u8.ToArray())] };
        var c3 = bob.Commit(other: [pskProposal, gce]);
        alice.Process(MlsMessage.Decode(c3.Commit.ToBytes()));
        carol.Process(MlsMessage.Decode(c3.Commit.ToBytes()));
        Assert.Equal(bob.EpochAuthenticator, alice.EpochAuthenticator);
        Assert.Equal(bob.EpochAuthenticator, carol.EpochAuthenticator);
        Assert.Equal(0xff00, Assert.Single(alice.Context.Extensions).Type);

        // A member without the PSK cannot follow.
        var dave = Joined(alice, MlsIdentity.CreateBasic(cs, "dave"), out var addDave, bob, carol);
        var c4 = alice.Commit(other: [pskProposal]);
        Assert.Throws<MlsException>(() => dave.Process(c4.Commit));
        _ = addDave;
    }

    [Fact]
    public void Expired_KeyPackages_are_refused()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        var kp = MlsIdentity.CreateBasic(cs, "bob").CreateKeyPackage();
        alice.Options.Clock = () => DateTimeOffset.UtcNow.AddDays(365);
        Assert.Throws<MlsException>(() => alice.Commit(add: [kp.KeyPackage]));
        alice.Options.Clock = () => DateTimeOffset.UtcNow;
        alice.Commit(add: [kp.KeyPackage]);
        Assert.Equal(2, alice.Members.Count());
    }

    [Fact]
    public void A_member_whose_credential_does_not_validate_is_refused()
    {
        var cs = MlsCipherSuite.Get(1);
        var strict = new MlsGroupOptions { CredentialValidator = new RefuseNamed("mallory") };
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray(), strict);
        var mallory = MlsIdentity.CreateBasic(cs, "mallory").CreateKeyPackage();
        Assert.Throws<MlsException>(() => alice.Commit(add: [mallory.KeyPackage]));
        Assert.Equal(0UL, alice.Epoch);
    }

    private sealed class RefuseNamed(string name) : ICredentialValidator
    {
        public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey)
        {
            string id = BasicCredentialValidator.Instance.Validate(credential, signaturePublicKey);
            return id == name ? throw new MlsException("refused") : id;
        }
    }
}
