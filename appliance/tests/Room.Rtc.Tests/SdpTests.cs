using Room.Rtc.Sdp;

namespace Room.Rtc.Tests;

public class SdpTests
{
    private const string JanusLikeOffer =
        "v=0\r\no=- 1 2 IN IP4 10.0.0.2\r\ns=VideoRoom 1234\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-options:trickle\r\n" +
        "a=fingerprint:sha-256 AA:BB\r\na=msid-semantic: WMS janus\r\n" +
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\na=mid:0\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecretsecret\r\n" +
        "a=ice-options:trickle\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
        "a=ssrc:1111 cname:janus\r\na=candidate:1 1 udp 2015363327 10.0.0.2 30000 typ host\r\na=end-of-candidates\r\n" +
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\na=mid:1\r\na=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecretsecret\r\n" +
        "a=setup:actpass\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" +
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
        "a=ssrc-group:FID 2222 3333\r\na=ssrc:2222 cname:janus\r\na=ssrc:3333 cname:janus\r\n" +
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";

    [Fact]
    public void A_receive_answer_whose_first_section_is_rejected_carries_ice_and_dtls_at_session_level()
    {
        // The first subscribed feed left: Janus's update takes its section out (port 0). Janus reads the credentials by
        // the first m-line, so they must be at session level then.
        var offer = SessionDescription.Parse(JanusLikeOffer.Replace("m=audio 9 ", "m=audio 0 ", StringComparison.Ordinal));
        using var agent = new Ice.IceAgent([System.Net.IPAddress.Loopback], controlling: false);
        var cert = Dtls.DtlsCertificate.CreateSelfSigned();
        var answer = SessionDescription.Parse(SdpBuilder.CreateReceiveAnswer(offer, agent, cert, ["VP8", "opus"]).ToString());
        Assert.Equal(0, answer.Media[0].Port);
        Assert.Null(answer.Media[0].Get("ice-ufrag"));
        Assert.Equal(agent.LocalUfrag, answer.Attributes.Single(a => a.Name == "ice-ufrag").Value);
        Assert.Equal(agent.LocalPassword, answer.Attributes.Single(a => a.Name == "ice-pwd").Value);
        Assert.Equal("sha-256 " + cert.Fingerprint, answer.Attributes.Single(a => a.Name == "fingerprint").Value);
        Assert.Equal(["1"], answer.BundleMids());
        Assert.Equal(agent.LocalUfrag, answer.Media[1].Get("ice-ufrag"));

        // With the first section accepted, the parameters stay in the sections only.
        var usual = SessionDescription.Parse(SdpBuilder.CreateReceiveAnswer(SessionDescription.Parse(JanusLikeOffer), agent, cert, ["VP8", "opus"]).ToString());
        Assert.DoesNotContain(usual.Attributes, a => a.Name == "ice-ufrag");
    }

    [Fact]
    public void Janus_style_offer_parses_and_a_receive_answer_mirrors_it()
    {
        var offer = SessionDescription.Parse(JanusLikeOffer);
        Assert.Equal(["0", "1"], offer.BundleMids());
        Assert.Equal(3, offer.Media.Count);
        var video = offer.Media[1];
        Assert.Equal("sendonly", video.Direction);
        Assert.Equal(96, video.PayloadTypeFor("vp8"));
        Assert.Equal(97, video.RtxFor(96));
        Assert.Equal(3, video.ExtensionId(SdpBuilder.TransportCcUri));
        Assert.Equal([2222u, 3333u], video.Ssrcs());
        Assert.Equal("abcd", offer.SessionOrFirstMedia("ice-ufrag"));

        using var agent = new Ice.IceAgent([System.Net.IPAddress.Loopback], controlling: false);
        var cert = Dtls.DtlsCertificate.CreateSelfSigned();
        var answer = SdpBuilder.CreateReceiveAnswer(offer, agent, cert, ["VP8", "opus"]);
        var again = SessionDescription.Parse(answer.ToString());
        Assert.Equal(["0", "1"], again.BundleMids());
        Assert.Equal("recvonly", again.Media[1].Direction);
        Assert.Equal("active", again.Media[1].Get("setup"));
        Assert.Equal(["96", "97"], again.Media[1].Formats);
        Assert.Equal(0, again.Media[2].Port); // data channel rejected
        Assert.Equal("sha-256 " + cert.Fingerprint, again.Media[0].Get("fingerprint"));
    }

    [Fact]
    public void Send_offer_carries_bundle_msid_rtx_and_candidates()
    {
        using var agent = new Ice.IceAgent([System.Net.IPAddress.Loopback], controlling: true);
        var cert = Dtls.DtlsCertificate.CreateSelfSigned();
        var offer = SdpBuilder.CreateSendOffer(agent, cert,
            [new SendTrack("video", "VP8", 90000, 1, 96, 5, "s", "t", RtxPayloadType: 97, RtxSsrc: 6)]);
        var parsed = SessionDescription.Parse(offer.ToString());
        var m = parsed.Media.Single();
        Assert.Equal("s t", m.Get("msid"));
        Assert.Equal("FID 5 6", m.Get("ssrc-group"));
        Assert.Equal(97, m.RtxFor(96));
        Assert.Single(m.All("candidate"));
        Assert.True(m.Has("rtcp-mux"));
    }

    [Theory]
    [InlineData("", RtcError.BadSyntax)]
    [InlineData("v=1\r\n", RtcError.BadVersion)]
    [InlineData("v=0\r\nv=0\r\n", RtcError.BadVersion)]
    [InlineData("x\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\nm=audio\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\nm=audio 99999 RTP/AVP 0\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\nm=audio x RTP/AVP 0\r\n", RtcError.BadSyntax)]
    [InlineData("m=audio 9 RTP/AVP 0\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\no=too few\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\nc=OUT IP4 1.2.3.4\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\na=\r\n", RtcError.BadSyntax)]
    [InlineData("v=0\r\nA=x\r\n", RtcError.BadSyntax)]
    public void Malformed_sdp_is_rejected_with_a_reason(string text, RtcError expected)
    {
        Assert.Equal(expected, SessionDescription.TryParse(text, out _));
    }

    [Fact]
    public void Oversized_sdp_is_refused_before_parsing()
    {
        Assert.Equal(RtcError.TooLarge, SessionDescription.TryParse("v=0\r\n" + new string('a', SessionDescription.MaxLength), out _));
        var many = "v=0\r\n" + string.Concat(Enumerable.Repeat("m=audio 9 RTP/AVP 0\r\n", SessionDescription.MaxMediaSections + 1));
        Assert.Equal(RtcError.TooLarge, SessionDescription.TryParse(many, out _));
    }

    [Fact]
    public void Mutated_sdp_never_throws()
    {
        var rng = new Random(11);
        var chars = JanusLikeOffer.ToCharArray();
        for (int i = 0; i < 3000; i++)
        {
            var copy = (char[])chars.Clone();
            for (int k = rng.Next(1, 10); k > 0; k--) copy[rng.Next(copy.Length)] = (char)rng.Next(9, 127);
            var text = new string(copy, 0, rng.Next(copy.Length));
            if (SessionDescription.TryParse(text, out var sd) != RtcError.None) continue;
            foreach (var m in sd!.Media)
            {
                _ = m.RtpMaps();
                _ = m.Ssrcs();
                _ = m.RtxFor(96);
                _ = m.PayloadTypeFor("VP8");
                _ = m.ExtensionId(SdpBuilder.TransportCcUri);
                foreach (var c in m.All("candidate")) IceCandidate.TryParse(c, out _);
            }
            _ = sd.BundleMids();
            _ = sd.ToString();
        }
    }
}
