using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

public sealed class MlsMalformedInputTests
{
    private static List<byte[]> ValidMessages()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray(), new MlsGroupOptions { HandshakeAsPublic = true });
        var bob = MlsIdentity.CreateBasic(cs, "bob").CreateKeyPackage();
        var kpMsg = new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = bob.KeyPackage };
        var c = alice.Commit(add: [bob.KeyPackage]);
        var app = alice.EncryptApplication("x"u8);
        var gi = new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = alice.CreateGroupInfo() };
        return [kpMsg.ToBytes(), c.Commit.ToBytes(), c.Welcome!.ToBytes(), app.ToBytes(), gi.ToBytes()];
    }

    [Fact]
    public void Every_truncation_of_valid_messages_is_refused_with_MlsDecodeException()
    {
        foreach (var m in ValidMessages())
        {
            Assert.NotNull(MlsMessage.Decode(m));
            for (int len = 0; len < m.Length; len++)
            {
                Assert.Throws<MlsDecodeException>(() => MlsMessage.Decode(m.AsMemory(0, len)));
            }
        }
    }

    [Fact]
    public void Trailing_bytes_are_refused()
    {
        foreach (var m in ValidMessages())
        {
            Assert.Throws<MlsDecodeException>(() => MlsMessage.Decode((byte[])[.. m, 0]));
        }
    }

    [Theory]
    [InlineData("4005")]       // 5 in two bytes: non-minimal
    [InlineData("80000005")]   // 5 in four bytes: non-minimal
    [InlineData("80003fff")]   // 16383 in four bytes: non-minimal
    [InlineData("c0")]         // prefix 0b11 is reserved
    [InlineData("40")]         // truncated varint
    [InlineData("05aabb")]     // length 5, two bytes left
    public void Non_canonical_or_oversized_vectors_are_refused(string hex)
    {
        Assert.Throws<MlsDecodeException>(() => new MlsReader(Convert.FromHexString(hex)).Opaque());
    }

    [Theory]
    [InlineData("0002000100")] // protocol version 2
    [InlineData("0001000900")] // unknown wire format 9
    [InlineData("0001000100")] // public message cut short
    public void Unknown_versions_and_wire_formats_are_refused(string hex)
    {
        Assert.Throws<MlsDecodeException>(() => MlsMessage.Decode(Convert.FromHexString(hex)));
    }

    [Fact]
    public void Ratchet_tree_with_trailing_blank_or_misplaced_nodes_is_refused()
    {
        var cs = MlsCipherSuite.Get(1);
        var g = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "a"), "g"u8.ToArray());
        var nodes = g.Tree.ToWire();
        Assert.Throws<MlsDecodeException>(() => RatchetTree.FromWire([.. nodes, null, null]));
        Assert.Throws<MlsDecodeException>(() => RatchetTree.FromWire([.. nodes, null]));
        Assert.Throws<MlsDecodeException>(() => RatchetTree.FromWire([null, nodes[0], nodes[0]]));
        Assert.Throws<MlsDecodeException>(() => RatchetTree.FromWire([]));
    }

    [Fact]
    public void Random_mutations_of_valid_messages_raise_only_typed_errors()
    {
        var rng = new Random(7);
        int rejected = 0, accepted = 0;
        foreach (var m in ValidMessages())
        {
            for (int i = 0; i < 400; i++)
            {
                byte[] b = (byte[])m.Clone();
                int flips = rng.Next(1, 4);
                for (int f = 0; f < flips; f++)
                {
                    b[rng.Next(b.Length)] = (byte)rng.Next(256);
                }

                try
                {
                    var msg = MlsMessage.Decode(b);
                    _ = msg.ToBytes();
                    accepted++;
                }
                catch (MlsException)
                {
                    rejected++;
                }
            }
        }

        Assert.Equal(2000, rejected + accepted);
        Assert.True(rejected > 0);
    }

    [Fact]
    public void Random_bytes_raise_only_typed_errors()
    {
        var rng = new Random(11);
        for (int i = 0; i < 5000; i++)
        {
            byte[] b = new byte[rng.Next(0, 64)];
            rng.NextBytes(b);
            if (b.Length > 2)
            {
                b[0] = 0;
                b[1] = 1;
            }

            try
            {
                MlsMessage.Decode(b);
            }
            catch (MlsException)
            {
            }
        }
    }

    [Fact]
    public void Tampered_Welcome_and_application_messages_fail_with_MlsException()
    {
        var cs = MlsCipherSuite.Get(1);
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "g"u8.ToArray());
        var bobId = MlsIdentity.CreateBasic(cs, "bob");
        var kp = bobId.CreateKeyPackage();
        var c = alice.Commit(add: [kp.KeyPackage]);
        var w = MlsMessage.Decode(c.Welcome!.ToBytes()).Welcome!;
        w.EncryptedGroupInfo[5] ^= 1;
        Assert.ThrowsAny<MlsException>(() => MlsGroup.Join(bobId, kp, w));
        var bob = MlsGroup.Join(bobId, kp, c.Welcome!.Welcome!);
        var app = MlsMessage.Decode(alice.EncryptApplication("secret"u8).ToBytes());
        app.PrivateMessage!.Ciphertext[^1] ^= 1;
        Assert.ThrowsAny<MlsException>(() => bob.Process(app));
    }
}
