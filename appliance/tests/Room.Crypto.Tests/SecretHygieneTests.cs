using Room.Crypto.Hpke;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

public sealed class SecretHygieneTests
{
    [Fact]
    public void Disposed_epoch_secrets_are_zeroed()
    {
        var cs = MlsCipherSuite.Get(1);
        var s = EpochSecrets.FromInit(cs, new byte[32], new byte[32], [], new GroupContext { CipherSuite = 1 }.ToBytes());
        var arrays = new[] { s.JoinerSecret, s.EncryptionSecret, s.ExporterSecret, s.SenderDataSecret, s.InitSecret, s.MembershipKey, s.ConfirmationKey, s.ResumptionPsk };
        Assert.All(arrays, a => Assert.Contains(a, b => b != 0));
        s.Dispose();
        Assert.All(arrays, a => Assert.All(a, b => Assert.Equal(0, b)));
    }

    [Fact]
    public void Consumed_ratchet_generations_cannot_be_obtained_again()
    {
        var cs = MlsCipherSuite.Get(1);
        using var tree = new SecretTree(cs, new byte[32], 4);
        var r = tree.Application(2);
        var (k5, _) = r.Get(5);
        var (k3, _) = r.Get(3);
        Assert.NotEqual(k5, k3);
        Assert.Throws<MlsException>(() => r.Get(5));
        Assert.Throws<MlsException>(() => r.Get(3));
        Assert.Throws<MlsException>(() => r.Get(5 + HashRatchet.MaxForward + 2));
        Assert.Throws<MlsException>(() => tree.Application(4));
    }

    private static byte[][] Arrays(EpochSecrets s) =>
        [s.JoinerSecret, s.WelcomeSecret, s.EncryptionSecret, s.ExporterSecret, s.SenderDataSecret, s.ExternalSecret, s.InitSecret, s.MembershipKey, s.ConfirmationKey, s.ResumptionPsk];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_finished_epoch_leaves_no_epoch_secret_behind_at_the_committer_and_the_receiver(bool external)
    {
        var cs = MlsCipherSuite.Get(1);
        using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray(), new MlsGroupOptions { HandshakeAsPublic = true });
        var bobId = MlsIdentity.CreateBasic(cs, "bob");
        var kp = bobId.CreateKeyPackage();
        var add = alice.Commit(add: [kp.KeyPackage]);
        using var bob = MlsGroup.Join(bobId, kp, add.Welcome!.Welcome!);
        Assert.All(kp.InitPrivateKey, b => Assert.Equal(0, b)); // the KeyPackage's init key is single-use

        var aliceBefore = Arrays(alice.Secrets);
        var bobBefore = Arrays(bob.Secrets);
        Assert.All(aliceBefore.Concat(bobBefore), a => Assert.Contains(a, b => b != 0));
        if (external)
        {
            var (erin, commit) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(cs, "erin"), alice.CreateGroupInfo());
            erin.Dispose();
            alice.Process(MlsMessage.Decode(commit.ToBytes()));
            bob.Process(MlsMessage.Decode(commit.ToBytes()));
        }
        else
        {
            bob.Process(MlsMessage.Decode(alice.Commit().Commit.ToBytes()));
        }

        Assert.Equal(alice.EpochAuthenticator, bob.EpochAuthenticator);
        Assert.All(aliceBefore.Concat(bobBefore), a => Assert.All(a, b => Assert.Equal(0, b)));

        var now = Arrays(bob.Secrets);
        bob.Dispose();
        Assert.All(now, a => Assert.All(a, b => Assert.Equal(0, b)));
    }

    [Fact]
    public void HPKE_zeroes_the_KEM_shared_secret_and_a_disposed_context_its_key_and_exporter_secret()
    {
        var suite = new HpkeSuite(HpkeKemId.DhkemX25519Sha256, HpkeKdfId.HkdfSha256, HpkeAeadId.Aes128Gcm);
        var (_, pk) = suite.Kem.GenerateKeyPair();
        var (ss, _) = suite.Kem.Encap(pk);
        byte[] copy = (byte[])ss.Clone();
        var ctx = suite.KeySchedule(ss, "info"u8);
        Assert.All(ss, b => Assert.Equal(0, b));
        Assert.Contains(copy, b => b != 0);
        byte[] key = ctx.Key, exporter = ctx.ExporterSecret;
        Assert.Contains(key, b => b != 0);
        ctx.Dispose();
        Assert.All(key, b => Assert.Equal(0, b));
        Assert.All(exporter, b => Assert.Equal(0, b));
    }
}
