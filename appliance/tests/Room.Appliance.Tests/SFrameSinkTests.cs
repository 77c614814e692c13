using System.Security.Cryptography;
using Room.Appliance.Media;
using Room.Crypto.Media;
using Room.Crypto.Mls;
using Room.Media.Rtp;

namespace Room.Appliance.Tests;

/// <summary>Per-payload SFrame between two real MLS members.</summary>
public sealed class SFrameSinkTests : IDisposable
{
    private readonly MlsGroup _sender;
    private readonly MlsGroup _receiver;
    private readonly MlsSFrameBinding _send;
    private readonly MlsSFrameBinding _receive;

    public SFrameSinkTests()
    {
        var suite = MlsCipherSuite.Get(1);
        _sender = MlsGroup.Create(MlsIdentity.CreateBasic(suite, "room"), RandomNumberGenerator.GetBytes(16));
        var peer = MlsIdentity.CreateBasic(suite, "peer");
        var kp = peer.CreateKeyPackage();
        var commit = _sender.Commit(add: [kp.KeyPackage]);
        _receiver = MlsGroup.Join(peer, kp, MlsMessage.Decode(commit.Welcome!.ToBytes()).Welcome!);
        _send = new MlsSFrameBinding(_sender);
        _receive = new MlsSFrameBinding(_receiver);
    }

    public void Dispose()
    {
        _send.Dispose();
        _receive.Dispose();
        _sender.Dispose();
        _receiver.Dispose();
    }

    private sealed class Collect : IRtpPacketSink
    {
        public List<(ushort Seq, uint Ts, bool Marker, byte[] Payload)> Packets { get; } = [];

        public void OnPacket(in RtpPacketView packet) =>
            Packets.Add((packet.SequenceNumber, packet.Timestamp, packet.Marker, packet.Payload.ToArray()));
    }

    [Fact]
    public void What_leaves_is_ciphertext_and_what_arrives_is_the_original()
    {
        var wire = new Collect();
        var outbound = new SFrameEncryptingSink(_send, wire);
        var payload = RandomNumberGenerator.GetBytes(1200);
        outbound.OnPacket(new RtpPacketView(7, 90000, true, payload));

        var sent = Assert.Single(wire.Packets);
        Assert.Equal((7, 90000u, true), (sent.Seq, sent.Ts, sent.Marker));
        Assert.True(sent.Payload.Length > payload.Length);
        Assert.False(sent.Payload.AsSpan().IndexOf(payload.AsSpan(0, 32)) >= 0, "plaintext visible on the wire");

        var delivered = new Collect();
        new SFrameDecryptingSink(_receive, delivered).OnPacket(new RtpPacketView(7, 90000, true, sent.Payload));
        Assert.Equal(payload, Assert.Single(delivered.Packets).Payload);
    }

    [Fact]
    public void Tampered_truncated_or_foreign_payloads_are_dropped_like_losses()
    {
        var wire = new Collect();
        new SFrameEncryptingSink(_send, wire).OnPacket(new RtpPacketView(1, 0, false, new byte[100]));
        var ciphertext = wire.Packets[0].Payload;
        var delivered = new Collect();
        var inbound = new SFrameDecryptingSink(_receive, delivered);

        var tampered = ciphertext.ToArray();
        tampered[^1] ^= 1;
        inbound.OnPacket(new RtpPacketView(1, 0, false, tampered));
        inbound.OnPacket(new RtpPacketView(2, 0, false, ciphertext.AsSpan(0, 5)));
        inbound.OnPacket(new RtpPacketView(3, 0, false, RandomNumberGenerator.GetBytes(80)));
        inbound.OnPacket(new RtpPacketView(4, 0, false, []));

        Assert.Empty(delivered.Packets);
        Assert.Equal(4, inbound.Rejected);
        inbound.OnPacket(new RtpPacketView(1, 0, false, ciphertext)); // the genuine one still gets through
        Assert.Single(delivered.Packets);
    }
}
