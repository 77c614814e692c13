using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

/// <summary>A delivery service orders commits: the loser of a race for an epoch discards its staged commit and retries on top.</summary>
public sealed class StagedCommitTests
{
    private static KeyPackage Wire(KeyPackageBundle kp) =>
        MlsMessage.Decode(new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = kp.KeyPackage }.ToBytes()).KeyPackage!;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_commits_racing_for_one_epoch_end_with_one_winner_and_the_loser_retrying_on_top(bool publicHandshake)
    {
        var cs = MlsCipherSuite.Get(2);
        var opts = new MlsGroupOptions { HandshakeAsPublic = publicHandshake };
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "race"u8.ToArray(), opts);
        var bobId = MlsIdentity.CreateBasic(cs, "bob");
        var bobKp = bobId.CreateKeyPackage();
        var added = alice.Commit(add: [Wire(bobKp)]);
        var bob = MlsGroup.Join(bobId, bobKp, MlsMessage.Decode(added.Welcome!.ToBytes()).Welcome!, opts);

        // Both stage a commit for epoch 1; neither moves until the delivery service decides.
        var carolKp = MlsIdentity.CreateBasic(cs, "carol").CreateKeyPackage();
        var daveKp = MlsIdentity.CreateBasic(cs, "dave").CreateKeyPackage();
        var a = alice.StageCommit(add: [Wire(carolKp)]);
        var b = bob.StageCommit(add: [Wire(daveKp)]);
        Assert.Equal(1UL, alice.Epoch);
        Assert.Equal(1UL, bob.Epoch);
        Assert.Throws<MlsException>(() => alice.StageCommit());

        // Bob's wins: he merges; Alice processes it (her staged commit is dropped) and commits again on top.
        bob.MergeStagedCommit();
        alice.Process(MlsMessage.Decode(b.Commit.ToBytes()));
        Assert.False(alice.HasStagedCommit);
        Assert.Equal(2UL, alice.Epoch);
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        _ = a;

        var retry = alice.Commit(add: [Wire(carolKp)]);
        bob.Process(MlsMessage.Decode(retry.Commit.ToBytes()));
        Assert.Equal(3UL, bob.Epoch);
        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        Assert.Equal(4, alice.Members.Count());
    }

    [Fact]
    public void A_discarded_commit_leaves_the_member_in_its_epoch_able_to_commit_again()
    {
        var cs = MlsCipherSuite.Get(2);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        byte[] code = alice.EpochAuthenticator;
        alice.StageCommit();
        Assert.Equal(code, alice.EpochAuthenticator);
        alice.DiscardStagedCommit();
        Assert.Throws<MlsException>(alice.DiscardStagedCommit);
        Assert.Throws<MlsException>(alice.MergeStagedCommit);
        alice.Commit();
        Assert.Equal(1UL, alice.Epoch);
    }
}
