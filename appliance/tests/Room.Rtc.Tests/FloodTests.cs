using System.Net;
using System.Net.Sockets;
using System.Text;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;
using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Room.Rtc.Srtp;
using Room.Rtc.Stun;
using Room.Testing;

namespace Room.Rtc.Tests;

/// <summary>A hostile peer cannot make us allocate or work without bound; each test checks the transport still works after.</summary>
public class FloodTests
{
    private static async Task<(RtcTransport Us, RtcTransport Peer)> ConnectAsync(CancellationToken ct)
    {
        var us = new RtcTransport([IPAddress.Loopback], controlling: true);
        var peer = new RtcTransport([IPAddress.Loopback], controlling: false);
        us.Ice.SetRemoteCredentials(peer.Ice.LocalUfrag, peer.Ice.LocalPassword);
        peer.Ice.SetRemoteCredentials(us.Ice.LocalUfrag, us.Ice.LocalPassword);
        foreach (var c in us.Ice.LocalCandidates) peer.Ice.AddRemoteCandidate(c);
        foreach (var c in peer.Ice.LocalCandidates) us.Ice.AddRemoteCandidate(c);
        await Task.WhenAll(us.ConnectAsync(DtlsRole.Server, peer.Certificate.Fingerprint, ct),
            peer.ConnectAsync(DtlsRole.Client, us.Certificate.Fingerprint, ct));
        return (us, peer);
    }

    /// <summary>Media still flows from <paramref name="from"/> to <paramref name="to"/> (one packet, retried until it lands).</summary>
    private static async Task AssertRtpFlowsAsync(RtcTransport from, RtcTransport to, ushort sequence, CancellationToken ct)
    {
        var got = new TaskCompletionSource<ushort>(TaskCreationOptions.RunContinuationsAsynchronously);
        to.RtpReceived = p => { if (RtpHeader.TryParse(p, out var h) == RtcError.None && h.SequenceNumber == sequence) got.TrySetResult(sequence); };
        var packet = new byte[64];
        int n = RtpHeader.WriteFixed(packet, 96, true, sequence, sequence, 0xC0FFEE);
        while (!got.Task.IsCompleted)
        {
            Assert.Equal(RtcError.None, from.SendRtp(packet.AsSpan(0, n + 20)));
            await Task.WhenAny(got.Task, Task.Delay(50, ct));
            ct.ThrowIfCancellationRequested();
        }
    }

    [Fact]
    public async Task Authenticated_binding_requests_from_thousands_of_sources_keep_the_pair_table_bounded()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        var (us, peer) = await ConnectAsync(ct);
        using (us)
        using (peer)
        {
            var selected = us.Ice.SelectedRemote;
            var target = us.Ice.LocalCandidates.Single().EndPoint;
            // The peer knows our credentials; every request is valid, each from a new address:port (127.0.x.y).
            var key = Encoding.UTF8.GetBytes(us.Ice.LocalPassword);
            var user = Encoding.UTF8.GetBytes(us.Ice.LocalUfrag + ":" + peer.Ice.LocalUfrag);
            var request = new byte[256];
            const int Sources = 3000;
            long answeredBefore = us.Ice.Counters.RequestsAnswered;
            for (int i = 0; i < Sources; i++)
            {
                var b = new StunBuilder(request, StunMethod.Binding, StunClass.Request, System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
                b.Add(StunAttributeType.Username, user);
                b.AddUInt32(StunAttributeType.Priority, 1853824767);
                b.AddUInt64(StunAttributeType.IceControlled, 42);
                b.AddIntegrity(key);
                b.AddFingerprint();
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(new IPAddress([127, 0, (byte)(1 + i / 250), (byte)(1 + i % 250)]), 0));
                s.SendTo(b.Written, target);
                // Pace in batches so the loopback socket buffer does not drop them (no timing: wait for the answers).
                if (i % 100 == 99)
                    while (us.Ice.Counters.RequestsAnswered < answeredBefore + (i + 1) * 9 / 10) await Task.Delay(5, ct);
            }
            // Loopback may drop a few under load: nine in ten answered is the flood having been processed.
            while (us.Ice.Counters.RequestsAnswered < answeredBefore + Sources * 9 / 10) await Task.Delay(10, ct);

            Assert.InRange(us.Ice.PairCount, 1, IceAgent.MaxRemoteCandidates);
            Assert.Equal(selected, us.Ice.SelectedRemote);
            await AssertRtpFlowsAsync(peer, us, 1, ct);
            await AssertRtpFlowsAsync(us, peer, 2, ct);
        }
    }

    [Fact]
    public async Task Endless_new_ssrcs_are_refused_past_the_stream_limit_and_known_streams_keep_flowing()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (us, peer) = await ConnectAsync(ct);
        using (us)
        using (peer)
        {
            await AssertRtpFlowsAsync(peer, us, 1, ct); // SSRC 0xC0FFEE is known
            var seen = new HashSet<uint>();
            long accepted = 0;
            us.RtpReceived = p => { lock (seen) { seen.Add(RtpHeader.ReadSsrc(p)); accepted++; } };
            // The peer holds the keys: it protects valid packets for 5000 SSRCs (a fresh session per 200, as its own
            // sender would refuse more) and sends them on the selected pair.
            var keys = peer.Keys!;
            var packet = new byte[128];
            const int Ssrcs = 5000;
            long rejectedBefore = us.PacketsRejected, receivedBefore = us.RtpPacketsReceived;
            SrtpSession? attacker = null;
            for (int i = 0; i < Ssrcs; i++)
            {
                if (i % 200 == 0)
                {
                    attacker?.Dispose();
                    attacker = new SrtpSession(keys.Profile, keys.LocalKey, keys.LocalSalt);
                }
                int n = RtpHeader.WriteFixed(packet, 96, false, 1, 1, 0x10000u + (uint)i);
                Assert.Equal(RtcError.None, attacker!.ProtectRtp(packet, n + 20, out int length));
                Assert.True(peer.Ice.Send(packet.AsSpan(0, length)));
                if (i % 100 == 99)
                    while (us.PacketsRejected + us.RtpPacketsReceived < rejectedBefore + receivedBefore + (i + 1) * 9 / 10) await Task.Delay(5, ct);
            }
            attacker!.Dispose();
            while (us.PacketsRejected + us.RtpPacketsReceived < rejectedBefore + receivedBefore + Ssrcs * 9 / 10) await Task.Delay(10, ct);

            lock (seen) Assert.InRange(seen.Count, 1, SrtpSession.MaxStreams);
            Assert.True(us.PacketsRejected - rejectedBefore >= Ssrcs * 9 / 10 - SrtpSession.MaxStreams, $"rejected {us.PacketsRejected - rejectedBefore}");
            await AssertRtpFlowsAsync(peer, us, 2, ct); // the known stream is still accepted
        }
    }

    [Fact]
    public void Refusing_a_new_ssrc_past_the_limit_allocates_nothing()
    {
        var key = new byte[16];
        var salt = new byte[14];
        using var sender = new SrtpSession(SrtpProfile.AesCm128HmacSha1Tag80, key, salt);
        using var receiver = new SrtpSession(SrtpProfile.AesCm128HmacSha1Tag80, key, salt);
        var packet = new byte[128];
        var protectedPackets = new List<byte[]>();
        for (uint ssrc = 1; ssrc <= SrtpSession.MaxStreams + 1000; ssrc++)
        {
            using var s = new SrtpSession(SrtpProfile.AesCm128HmacSha1Tag80, key, salt);
            int n = RtpHeader.WriteFixed(packet, 96, false, 1, 1, ssrc);
            s.ProtectRtp(packet, n + 20, out int length);
            protectedPackets.Add(packet[..length]);
        }
        for (int i = 0; i < SrtpSession.MaxStreams; i++)
            Assert.Equal(RtcError.None, receiver.UnprotectRtp(protectedPackets[i], protectedPackets[i].Length, out _));
        // Warm the refusal path, then measure it.
        Assert.Equal(RtcError.TooLarge, receiver.UnprotectRtp(protectedPackets[SrtpSession.MaxStreams], protectedPackets[SrtpSession.MaxStreams].Length, out _));
        int refused = 0;
        long before = ThreadAllocations.Start();
        for (int i = SrtpSession.MaxStreams + 1; i < protectedPackets.Count; i++)
            if (receiver.UnprotectRtp(protectedPackets[i], protectedPackets[i].Length, out _) == RtcError.TooLarge) refused++;
        long allocated = ThreadAllocations.Since(before);
        Assert.Equal(999, refused);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Giant_sdp_is_refused_by_size_lines_and_sections()
    {
        const string head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
        Assert.Equal(RtcError.TooLarge, SessionDescription.TryParse(head + "a=x:" + new string('y', SessionDescription.MaxLength) + "\r\n", out _));
        Assert.Equal(RtcError.TooLarge, SessionDescription.TryParse(head + string.Concat(Enumerable.Repeat("a=x\r\n", SessionDescription.MaxLines)), out _));
        Assert.Equal(RtcError.TooLarge, SessionDescription.TryParse(
            head + string.Concat(Enumerable.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", SessionDescription.MaxMediaSections + 1)), out _));
        Assert.Equal(RtcError.TooLarge, IceCandidate.TryParse("candidate:" + new string('1', 100_000), out _));
    }

    [Fact]
    public void A_remote_description_with_thousands_of_candidates_is_capped()
    {
        var sdp = new StringBuilder("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n");
        for (int i = 0; i < 3000; i++) sdp.Append(System.Globalization.CultureInfo.InvariantCulture, $"a=candidate:{i} 1 udp 2130706431 10.{i / 250}.{i % 250}.1 {1024 + i} typ host\r\n");
        var remote = SessionDescription.Parse(sdp.ToString());
        using var t = new RtcTransport([IPAddress.Loopback], controlling: true);
        t.ApplyRemote(remote);
        Assert.Equal(IceAgent.MaxRemoteCandidates, t.Ice.PairCount); // one host socket: one pair per accepted candidate
        Assert.False(t.Ice.AddRemoteCandidate(new IceCandidate("x", 1, "udp", 1, IPAddress.Parse("10.99.0.1"), 9, CandidateType.Host)));
    }

    [Fact]
    public async Task A_nack_storm_cannot_make_the_sender_resend_more_than_it_sent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var (us, peer) = await ConnectAsync(ct);
        using (us)
        using (peer)
        {
            var sender = new RtpSender(us, 0xC0FFEE, 96, 90000, 0xBEEF, 97);
            var payload = new byte[1000];
            const int Sent = 200;
            for (ushort seq = 0; seq < Sent; seq++) Assert.Equal(RtcError.None, sender.Send(seq, seq * 3000u, true, payload));
            long sentBytes = Sent * (payload.Length + RtpHeader.FixedLength);

            // 2000 compounds, each NACKing every packet still in the history (what a storm from the peer delivers).
            var lost = Enumerable.Range(0, Sent).Select(i => (ushort)i).ToArray();
            var nack = new byte[1500];
            int nackLength = RtcpWriter.WriteNack(nack, 0xBEEF, 0xC0FFEE, lost);
            for (int i = 0; i < 2000; i++) sender.OnRtcp(nack.AsSpan(0, nackLength));

            Assert.Equal(2000L * Sent, sender.NackedPacketsReceived);
            Assert.True(sender.Retransmissions * (payload.Length + RtpHeader.FixedLength) <= sentBytes,
                $"{sender.Retransmissions} retransmissions for {Sent} packets sent");
            Assert.True(sender.RetransmissionsRefused > 0);

            // Sending earns credit again: an ordinary NACK after new packets is served, and media flows.
            long before = sender.Retransmissions;
            for (ushort seq = Sent; seq < Sent + 10; seq++) sender.Send(seq, seq * 3000u, true, payload);
            nackLength = RtcpWriter.WriteNack(nack, 0xBEEF, 0xC0FFEE, [(ushort)(Sent + 5)]);
            sender.OnRtcp(nack.AsSpan(0, nackLength));
            Assert.Equal(before + 1, sender.Retransmissions);
            await AssertRtpFlowsAsync(us, peer, 9000, ct);
        }
    }
}
