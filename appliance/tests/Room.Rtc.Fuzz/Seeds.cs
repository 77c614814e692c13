using System.Net;
using System.Text;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;
using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Room.Rtc.Srtp;
using Room.Rtc.Stun;

namespace Room.Rtc.Fuzz;

/// <summary>
/// The seed corpus: packets as they go over the wire — written by the same code that sends them in a call, the
/// RFC 5769 sample messages, and SDP as Janus and Chromium write it — each prefixed with its target byte.
/// </summary>
internal static class Seeds
{
    public static IEnumerable<(string Name, byte[] Data)> All()
    {
        foreach (var (name, kind, data) in Raw()) yield return (name, [(byte)kind, .. data]);
    }

    private static byte[] Hex(string s) => Convert.FromHexString(s);

    private static IEnumerable<(string, Target.Kind, byte[])> Raw()
    {
        // STUN: RFC 5769 2.1 request and 2.2 response, an ICE check as we send it, a 487, a TURN Allocate and its 401.
        yield return ("stun-rfc5769-request", Target.Kind.Stun, Hex(
            "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e2074657374" + "20636c69656e74002400046e0001ff80290008932ff9b151263b36" +
            "000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf"));
        yield return ("stun-rfc5769-response", Target.Kind.Stun, Hex(
            "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643" +
            "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96"));
        var tx = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();
        var key = Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt");
        var buffer = new byte[1500];
        {
            var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.Request, tx);
            b.Add(StunAttributeType.Username, "abcd:efgh"u8);
            b.AddUInt32(StunAttributeType.Priority, 1853824767);
            b.AddUInt64(StunAttributeType.IceControlling, 0x0102030405060708);
            b.Add(StunAttributeType.UseCandidate, default);
            b.AddIntegrity(key);
            b.AddFingerprint();
            yield return ("stun-ice-check", Target.Kind.Stun, b.Written.ToArray());
        }
        {
            var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, tx);
            b.AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("10.99.0.1"), 40000));
            b.AddIntegrity(key);
            b.AddFingerprint();
            yield return ("stun-ice-response", Target.Kind.Stun, b.Written.ToArray());
        }
        {
            var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, tx);
            b.AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("2001:db8::1"), 40000));
            b.AddFingerprint();
            yield return ("stun-ipv6-response", Target.Kind.Stun, b.Written.ToArray());
        }
        {
            var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.ErrorResponse, tx);
            b.AddErrorCode(487, "Role Conflict");
            b.AddIntegrity(key);
            b.AddFingerprint();
            yield return ("stun-487", Target.Kind.Stun, b.Written.ToArray());
        }
        {
            var b = new StunBuilder(buffer, StunMethod.Allocate, StunClass.ErrorResponse, tx);
            b.AddErrorCode(401, "Unauthorized");
            b.Add(StunAttributeType.Realm, "room.test"u8);
            b.Add(StunAttributeType.Nonce, "0123456789abcdef"u8);
            b.AddFingerprint();
            var challenge = b.Written.ToArray();
            yield return ("stun-turn-401", Target.Kind.Stun, challenge);
            yield return ("turn-401", Target.Kind.Turn, challenge);
        }
        {
            var b = new StunBuilder(buffer, StunMethod.Allocate, StunClass.SuccessResponse, tx);
            b.AddXorAddress(StunAttributeType.XorRelayedAddress, new IPEndPoint(IPAddress.Parse("10.99.0.2"), 49152));
            b.AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("10.99.0.1"), 40000));
            b.AddUInt32(StunAttributeType.Lifetime, 600);
            b.AddIntegrity(StunBuilder.LongTermKey("room", "room.test", "relay-secret"));
            b.AddFingerprint();
            yield return ("stun-turn-allocated", Target.Kind.Stun, b.Written.ToArray());
        }
        {
            var b = new StunBuilder(buffer, StunMethod.Data, StunClass.Indication, tx);
            b.AddXorAddress(StunAttributeType.XorPeerAddress, new IPEndPoint(IPAddress.Parse("10.99.0.2"), 30000));
            b.Add(StunAttributeType.Data, Hex("800100010000000100000001deadbeef"));
            yield return ("turn-data-indication", Target.Kind.Turn, b.Written.ToArray());
        }
        {
            byte[] channel = [0x40, 0x00, 0x00, 0x10, .. Hex("800100010000000100000001deadbeef")];
            yield return ("turn-channel-data", Target.Kind.Turn, channel);
        }

        // SDP: a Janus-style subscription offer, our own publish offer, a Chromium-style offer.
        yield return ("sdp-janus", Target.Kind.Sdp, Encoding.UTF8.GetBytes(
            "v=0\r\no=- 1 2 IN IP4 10.0.0.2\r\ns=VideoRoom 1234\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\n" +
            "a=fingerprint:sha-256 AA:BB\r\na=msid-semantic: WMS janus\r\n" +
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecretsecret\r\n" +
            "a=ice-options:trickle\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
            "a=ssrc:1111 cname:janus\r\na=candidate:1 1 udp 2015363327 10.0.0.2 30000 typ host\r\na=end-of-candidates\r\n" +
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\na=mid:1\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecretsecret\r\n" +
            "a=setup:actpass\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" +
            "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
            "a=ssrc-group:FID 2222 3333\r\na=ssrc:2222 cname:janus\r\na=ssrc:3333 cname:janus\r\n" +
            "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n"));
        using (var ice = new IceAgent([IPAddress.Loopback], controlling: true))
        {
            var offer = SdpBuilder.CreateSendOffer(ice, DtlsCertificate.CreateSelfSigned(),
            [
                new SendTrack("audio", "opus", 48000, 2, 111, 1111, "room", "mic", "minptime=10;useinbandfec=1"),
                new SendTrack("video", "VP8", 90000, 1, 96, 2222, "room", "cam", RtxPayloadType: 97, RtxSsrc: 3333),
            ]);
            yield return ("sdp-ours", Target.Kind.Sdp, Encoding.UTF8.GetBytes(offer.ToString()));
            yield return ("candidate-host", Target.Kind.Candidate, Encoding.UTF8.GetBytes(ice.LocalCandidates[0].ToString()));
        }
        yield return ("sdp-chromium", Target.Kind.Sdp, Encoding.UTF8.GetBytes(
            "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n" +
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Zw9t\r\na=ice-pwd:Vb0oOQqoN9mCwT2x3BNbqcKn\r\n" +
            "a=ice-options:trickle\r\na=fingerprint:sha-256 5B:D3:8E:66:0E:7D:D3:F3:8F:EA:0C:3A:87:E9:70:B4:5A:4B:84:56:B1:5E:1D:38:F8:5D:B6:AA:5F:37:FB:1D\r\n" +
            "a=setup:actpass\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendrecv\r\na=msid:stream track0\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n" +
            "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=ssrc:1001 cname:abc\r\na=ssrc:1001 msid:stream track0\r\n" +
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Zw9t\r\na=ice-pwd:Vb0oOQqoN9mCwT2x3BNbqcKn\r\n" +
            "a=ice-options:trickle\r\na=setup:actpass\r\na=mid:1\r\na=sendrecv\r\na=msid:stream track1\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
            "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n" +
            "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
            "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\na=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n" +
            "a=ssrc-group:FID 2001 2002\r\na=ssrc:2001 cname:abc\r\na=ssrc:2002 cname:abc\r\n" +
            "a=candidate:3 1 udp 2122260223 10.99.0.1 51234 typ host generation 0 network-id 1\r\n"));
        yield return ("candidate-srflx", Target.Kind.Candidate, "candidate:1 1 udp 1686052607 10.99.0.2 40000 typ srflx raddr 192.168.1.2 rport 5000"u8.ToArray());
        yield return ("candidate-relay", Target.Kind.Candidate, "a=candidate:9 1 udp 16777215 10.99.0.2 49152 typ relay raddr 10.99.0.1 rport 40000 generation 0"u8.ToArray());

        // rtnetlink: RTM_NEWADDR for 10.213.5.11 on interface 7 (IFA_ADDRESS, IFA_LOCAL, IFA_LABEL), then RTM_DELADDR for 2001:db8::5.
        yield return ("netlink-addresses", Target.Kind.Netlink, Hex(
            "30000000140000000000000000000000" + "02188000" + "07000000" + "080001000ad5050b" + "080002000ad5050b" + "0800030072683100" +
            "2c000000150000000000000000000000" + "0a408000" + "07000000" + "1400010020010db8000000000000000000000005"));

        // RTP: a bare VP8 packet and one with a transport-wide sequence (one-byte extension), as RtpSender writes them.
        var rtp = new byte[64];
        int n = RtpHeader.WriteFixed(rtp, 96, true, 4242, 90000, 0xCAFE);
        rtp.AsSpan(n, 8).Fill(0x55);
        yield return ("rtp-vp8", Target.Kind.Rtp, rtp[..(n + 8)]);
        yield return ("srtp-plain-vp8", Target.Kind.SrtpRtp, rtp[..(n + 8)]);
        var ext = new byte[64];
        n = RtpHeader.WriteFixed(ext, 96, false, 7, 3000, 0xCAFE);
        ext[0] |= 0x10;
        ext[n] = 0xBE; ext[n + 1] = 0xDE; ext[n + 2] = 0; ext[n + 3] = 1;
        ext[n + 4] = 0x31; ext[n + 5] = 0x12; ext[n + 6] = 0x34; ext[n + 7] = 0;
        yield return ("rtp-twcc-extension", Target.Kind.Rtp, ext[..(n + 8 + 10)]);
        yield return ("srtp-plain-twcc-extension", Target.Kind.SrtpRtp, ext[..(n + 8 + 10)]);
        // ... and protected with the harness's key (authenticates in the unprotect step).
        foreach (var profile in new[] { SrtpProfile.AesCm128HmacSha1Tag80, SrtpProfile.AeadAes128Gcm })
        {
            using var s = new SrtpSession(profile, Target.Key, profile == SrtpProfile.AeadAes128Gcm ? Target.Salt12 : Target.Salt14);
            var p = new byte[128];
            rtp.AsSpan(0, 20).CopyTo(p);
            s.ProtectRtp(p, 20, out int pn);
            yield return ($"srtp-protected-{profile}", Target.Kind.SrtpRtp, p[..pn]);
            var rr = new byte[128];
            int rn = ReceiverReport.Write(rr, 0xBEEF, [new ReportBlock(0xCAFE, 12, 3, 70000, 40, 0x1234, 0x10)]);
            s.ProtectRtcp(rr, rn, out int qn);
            yield return ($"srtcp-protected-{profile}", Target.Kind.SrtcpRtcp, rr[..qn]);
        }

        // RTCP: SR + RR, NACK, PLI, FIR, REMB, transport-wide feedback, and a compound of them.
        var rtcp = new byte[1500];
        var compound = new List<byte>();
        n = new SenderReport(0xCAFE, 0xE1234567_89ABCDEF, 90000, 100, 12000, 1).Write(rtcp, [new ReportBlock(0xBEEF, 0, 0, 1000, 5, 0, 0)]);
        compound.AddRange(rtcp[..n]);
        yield return ("rtcp-sr", Target.Kind.Rtcp, rtcp[..n]);
        n = ReceiverReport.Write(rtcp, 0xBEEF, [new ReportBlock(0xCAFE, 25, 10, 70000, 40, 0x1234, 0x10)]);
        yield return ("rtcp-rr", Target.Kind.Rtcp, rtcp[..n]);
        yield return ("srtcp-plain-rr", Target.Kind.SrtcpRtcp, rtcp[..n]);
        n = RtcpWriter.WriteNack(rtcp, 0xBEEF, 0xCAFE, [100, 101, 103, 130, 500]);
        compound.AddRange(rtcp[..n]);
        yield return ("rtcp-nack", Target.Kind.Rtcp, rtcp[..n]);
        n = RtcpWriter.WritePli(rtcp, 0xBEEF, 0xCAFE);
        compound.AddRange(rtcp[..n]);
        yield return ("rtcp-pli", Target.Kind.Rtcp, rtcp[..n]);
        n = RtcpWriter.WriteFir(rtcp, 0xBEEF, 0xCAFE, 3);
        yield return ("rtcp-fir", Target.Kind.Rtcp, rtcp[..n]);
        n = RtcpWriter.WriteRemb(rtcp, 0xBEEF, 1_500_000, [0xCAFE, 0xD00D]);
        compound.AddRange(rtcp[..n]);
        yield return ("rtcp-remb", Target.Kind.Rtcp, rtcp[..n]);
        var results = new PacketResult[40];
        for (int i = 0; i < results.Length; i++) results[i] = new PacketResult((ushort)(65520 + i), i % 7 != 3, 1_000_000 + i * (i % 5 == 0 ? 70_000 : 250));
        n = TransportFeedback.Write(rtcp, 0xBEEF, 0xCAFE, 9, results);
        compound.AddRange(rtcp[..n]);
        yield return ("rtcp-twcc", Target.Kind.Rtcp, rtcp[..n]);
        yield return ("rtcp-compound", Target.Kind.Rtcp, [.. compound]);
        yield return ("srtcp-plain-compound", Target.Kind.SrtcpRtcp, [.. compound]);

        // TURN over TCP/TLS: a STUN answer, then ChannelData padded to 4 bytes, then another STUN message.
        byte[] stunAnswer = [0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        yield return ("turn-stream", Target.Kind.TurnStream, [.. stunAnswer, 0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0, .. stunAnswer]);
        yield return ("ice-server-url-turns", Target.Kind.IceServerUrl, Encoding.UTF8.GetBytes("turns:turn.example.org:5349?transport=tcp"));
        yield return ("ice-server-url-v6", Target.Kind.IceServerUrl, Encoding.UTF8.GetBytes("turn:[2001:db8::1]:3478?transport=udp"));
    }
}
