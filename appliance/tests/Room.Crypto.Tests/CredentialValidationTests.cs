using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

/// <summary>
/// A member whose credential does not validate is refused wherever a credential enters a group: Add (KeyPackage),
/// Welcome (every leaf of the tree), external join (both sides), a commit's path leaf and an Update proposal; and a
/// member's replacement credential must present the same identity.
/// </summary>
public sealed class CredentialValidationTests
{
    private static readonly MlsCipherSuite Cs = MlsCipherSuite.Get(1);

    /// <summary>Basic credentials, minus a revocable set of names.</summary>
    private sealed class Revocable(params string[] refused) : ICredentialValidator
    {
        public HashSet<string> Refused { get; } = [.. refused];

        public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey)
        {
            string id = BasicCredentialValidator.Instance.Validate(credential, signaturePublicKey);
            return Refused.Contains(id) ? throw new MlsException($"{id} is refused") : id;
        }
    }

    /// <summary>Accepts any basic credential as the same identity (a sender that checks nothing).</summary>
    private sealed class AnythingGoes : ICredentialValidator
    {
        public string Validate(Credential credential, ReadOnlySpan<byte> signaturePublicKey) => "anyone";

        public string IdentityOf(Credential credential) => "anyone";
    }

    private static MlsGroup Add(MlsGroup committer, MlsIdentity id, MlsGroupOptions? joinerOptions = null, params MlsGroup[] others)
    {
        var kp = id.CreateKeyPackage();
        var c = committer.Commit(add: [kp.KeyPackage]);
        foreach (var o in others)
        {
            o.Process(MlsMessage.Decode(c.Commit.ToBytes()));
        }

        return MlsGroup.Join(id, kp, MlsMessage.Decode(c.Welcome!.ToBytes()).Welcome!, joinerOptions);
    }

    [Fact]
    public void A_joiner_refuses_a_Welcome_into_a_tree_holding_a_member_it_does_not_accept()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        using var mallory = Add(alice, MlsIdentity.CreateBasic(Cs, "mallory"));
        var bobId = MlsIdentity.CreateBasic(Cs, "bob");
        var kp = bobId.CreateKeyPackage();
        var c = alice.Commit(add: [kp.KeyPackage]);
        var welcome = MlsMessage.Decode(c.Welcome!.ToBytes()).Welcome!;
        var e = Assert.Throws<MlsException>(() => MlsGroup.Join(bobId, kp, welcome, new MlsGroupOptions { CredentialValidator = new Revocable("mallory") }));
        Assert.Contains("mallory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Members_refuse_an_external_join_by_a_credential_they_do_not_accept_and_stay_in_their_epoch()
    {
        var strict = new MlsGroupOptions { CredentialValidator = new Revocable("mallory") };
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray(), strict);
        var gi = MlsMessage.Decode(new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = alice.CreateGroupInfo() }.ToBytes()).GroupInfo!;
        var (mallory, bad) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Cs, "mallory"), gi);
        mallory.Dispose();
        Assert.Throws<MlsException>(() => alice.Process(MlsMessage.Decode(bad.ToBytes())));
        Assert.Equal(0UL, alice.Epoch);

        // The same GroupInfo lets an accepted device in.
        var (erin, good) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Cs, "erin"), gi);
        using (erin)
        {
            alice.Process(MlsMessage.Decode(good.ToBytes()));
            Assert.Equal(alice.EpochAuthenticator, erin.EpochAuthenticator);
        }
    }

    [Fact]
    public void An_external_joiner_refuses_a_group_holding_a_member_it_does_not_accept()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        using var mallory = Add(alice, MlsIdentity.CreateBasic(Cs, "mallory"));
        var gi = alice.CreateGroupInfo();
        Assert.Throws<MlsException>(() => MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Cs, "erin"), gi, new MlsGroupOptions { CredentialValidator = new Revocable("mallory") }));
    }

    [Fact]
    public void A_commit_whose_path_leaf_no_longer_validates_is_refused()
    {
        var revocable = new Revocable();
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray(), new MlsGroupOptions { CredentialValidator = revocable });
        using var bob = Add(alice, MlsIdentity.CreateBasic(Cs, "bob"));
        var ok = bob.Commit();
        alice.Process(MlsMessage.Decode(ok.Commit.ToBytes()));
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);

        revocable.Refused.Add("bob"); // e.g. the device was revoked
        var c = bob.Commit();
        ulong epoch = alice.Epoch;
        Assert.Throws<MlsException>(() => alice.Process(MlsMessage.Decode(c.Commit.ToBytes())));
        Assert.Equal(epoch, alice.Epoch);
    }

    [Fact]
    public void A_commit_whose_path_leaf_presents_another_identity_is_refused()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        using var bob = Add(alice, MlsIdentity.CreateBasic(Cs, "bob"), new MlsGroupOptions { CredentialValidator = new AnythingGoes() });

        // Bob's own validator lets him carry "carol" in his leaf; everyone else refuses the commit.
        bob.RenewCredential(Credential.Basic("carol"u8.ToArray()));
        var c = bob.Commit();
        var e = Assert.Throws<MlsException>(() => alice.Process(MlsMessage.Decode(c.Commit.ToBytes())));
        Assert.Contains("another identity", e.Message, StringComparison.Ordinal);
        Assert.Equal(1UL, alice.Epoch);

        // Under the default validator the same renewal is refused before anything is sent.
        Assert.Throws<MlsException>(() => alice.RenewCredential(Credential.Basic("mallory"u8.ToArray())));
    }

    [Fact]
    public void An_Update_proposal_that_changes_the_member_identity_is_refused()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        var bobId = MlsIdentity.CreateBasic(Cs, "bob");
        using var bob = Add(alice, bobId);
        using var carol = Add(alice, MlsIdentity.CreateBasic(Cs, "carol"), new MlsGroupOptions { CredentialValidator = new AnythingGoes() }, bob);

        var leaf = bob.Tree.Leaf(bob.MyLeaf)!.Clone();
        leaf.Credential = Credential.Basic("mallory"u8.ToArray());
        leaf.EncryptionKey = Cs.Hpke.Kem.GenerateKeyPair().PublicKey;
        leaf.Source = LeafNodeSource.Update;
        leaf.ParentHash = [];
        leaf.Sign(Cs, bobId.SignaturePrivateKey, bob.GroupId, bob.MyLeaf);
        var proposal = bob.Propose(new Proposal { Type = ProposalType.Update, Update = leaf });

        // Alice will not commit it...
        alice.Process(MlsMessage.Decode(proposal.ToBytes()));
        Assert.Throws<MlsException>(() => alice.Commit());
        Assert.Equal(2UL, alice.Epoch);

        // ...and when a member who checks nothing does, Alice refuses that commit.
        carol.Process(MlsMessage.Decode(proposal.ToBytes()));
        var c = carol.Commit();
        var e = Assert.Throws<MlsException>(() => alice.Process(MlsMessage.Decode(c.Commit.ToBytes())));
        Assert.Contains("another identity", e.Message, StringComparison.Ordinal);
        Assert.Equal(2UL, alice.Epoch);
    }

    [Fact]
    public void An_external_resync_is_accepted_from_the_same_identity_and_refused_from_another()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray(), new MlsGroupOptions { CredentialValidator = new Revocable() });
        using var bob = Add(alice, MlsIdentity.CreateBasic(Cs, "bob"));
        var gi = alice.CreateGroupInfo();

        // "mallory" rejoins externally in bob's place (her own validator checks nothing): the members refuse it.
        var (m, bad) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Cs, "mallory"), gi, new MlsGroupOptions { CredentialValidator = new AnythingGoes() }, replaces: bob.MyLeaf);
        m.Dispose();
        var e = Assert.Throws<MlsException>(() => alice.Process(MlsMessage.Decode(bad.ToBytes())));
        Assert.Contains("another identity", e.Message, StringComparison.Ordinal);
        Assert.Equal(1UL, alice.Epoch);

        // Bob's device, having lost its state, rejoins with fresh keys in its own place: accepted, still two members.
        var (bob2, good) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Cs, "bob"), gi, replaces: bob.MyLeaf);
        using (bob2)
        {
            alice.Process(MlsMessage.Decode(good.ToBytes()));
            Assert.Equal(alice.EpochAuthenticator, bob2.EpochAuthenticator);
            Assert.Equal(2, alice.Members.Count());
        }

        // Under the default validator a joiner will not even try to replace someone else.
        Assert.Throws<MlsException>(() => MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Cs, "mallory"), alice.CreateGroupInfo(), replaces: 0));
    }

    [Fact]
    public void A_member_refuses_a_commit_that_adds_someone_it_does_not_accept()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        using var bob = Add(alice, MlsIdentity.CreateBasic(Cs, "bob"), new MlsGroupOptions { CredentialValidator = new Revocable("mallory") });
        var mallory = MlsIdentity.CreateBasic(Cs, "mallory").CreateKeyPackage();
        var c = alice.Commit(add: [mallory.KeyPackage]);
        Assert.Contains("mallory", Assert.Throws<MlsException>(() => bob.Process(MlsMessage.Decode(c.Commit.ToBytes()))).Message, StringComparison.Ordinal);
        Assert.Equal(1UL, bob.Epoch);
    }

    [Fact]
    public void A_KeyPackage_whose_device_cannot_check_the_members_credential_type_is_refused()
    {
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        var bobId = MlsIdentity.CreateBasic(Cs, "bob");
        var kp = bobId.CreateKeyPackage().KeyPackage;
        kp.LeafNode.Capabilities.Credentials = [(ushort)CredentialType.X509]; // bob's device only understands X.509
        kp.LeafNode.Sign(Cs, bobId.SignaturePrivateKey, null, 0);
        kp.Signature = Cs.SignWithLabel(bobId.SignaturePrivateKey, "KeyPackageTBS", kp.ToBeSigned());
        var e = Assert.Throws<MlsException>(() => alice.Commit(add: [kp]));
        Assert.Contains("credential type", e.Message, StringComparison.Ordinal);
        Assert.Equal(0UL, alice.Epoch);
    }
}
