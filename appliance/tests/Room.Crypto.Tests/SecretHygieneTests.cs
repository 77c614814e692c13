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
}
