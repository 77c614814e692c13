using System.Globalization;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;

namespace Room.Rtc.Sdp;

/// <summary>A stream we send: kind, codec and SSRCs (RTX optional), and the msid it belongs to.</summary>
public sealed record SendTrack(string Kind, string Codec, int ClockRate, int Channels, int PayloadType, uint Ssrc,
    string StreamId, string TrackId, string? Fmtp = null, int RtxPayloadType = 0, uint RtxSsrc = 0, IReadOnlyList<string>? Rids = null);

/// <summary>Writes the offers and answers Room sends: unified plan, BUNDLE, rtcp-mux, trickle, DTLS fingerprint.</summary>
public static class SdpBuilder
{
    public const string TransportCcUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    public const string MidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
    public const string AbsSendTimeUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    public const string RidUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    public const string RepairedRidUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

    private static long _version = DateTime.UtcNow.Ticks / 10_000_000;

    private static SessionDescription NewSession()
    {
        var sd = new SessionDescription
        {
            Origin = $"- {Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture)} 2 IN IP4 127.0.0.1",
        };
        sd.Attributes.Add(new SdpLine("msid-semantic", " WMS *"));
        return sd;
    }

    private static void AddTransport(MediaDescription m, IceAgent ice, DtlsCertificate certificate, string setup, bool withCandidates)
    {
        m.Connection = "IN IP4 0.0.0.0";
        m.Add("ice-ufrag", ice.LocalUfrag);
        m.Add("ice-pwd", ice.LocalPassword);
        m.Add("ice-options", "trickle");
        m.Add("fingerprint", "sha-256 " + certificate.Fingerprint);
        m.Add("setup", setup);
        if (withCandidates)
        {
            foreach (var c in ice.LocalCandidates) m.Add("candidate", c.ToString()["candidate:".Length..]);
            m.Add("end-of-candidates");
        }
    }

    private static void AddVideoFeedback(MediaDescription m, int pt)
    {
        string p = pt.ToString(CultureInfo.InvariantCulture);
        m.Add("rtcp-fb", p + " goog-remb");
        m.Add("rtcp-fb", p + " transport-cc");
        m.Add("rtcp-fb", p + " ccm fir");
        m.Add("rtcp-fb", p + " nack");
        m.Add("rtcp-fb", p + " nack pli");
    }

    /// <summary>
    /// An offer that sends <paramref name="streams"/> (one m-section each), e.g. to publish. With
    /// <paramref name="withCandidates"/> false it carries no candidates: they are trickled (RFC 8838) after it.
    /// </summary>
    public static SessionDescription CreateSendOffer(IceAgent ice, DtlsCertificate certificate, IReadOnlyList<SendTrack> tracks,
        bool withCandidates = true)
    {
        ArgumentNullException.ThrowIfNull(ice);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(tracks);
        var streams = tracks;
        var sd = NewSession();
        sd.Attributes.Insert(0, new SdpLine("group", "BUNDLE " + string.Join(' ', Enumerable.Range(0, streams.Count))));
        for (int i = 0; i < streams.Count; i++)
        {
            var s = streams[i];
            string pt = s.PayloadType.ToString(CultureInfo.InvariantCulture);
            var formats = new List<string> { pt };
            if (s.RtxPayloadType != 0) formats.Add(s.RtxPayloadType.ToString(CultureInfo.InvariantCulture));
            var m = new MediaDescription(s.Kind, 9, "UDP/TLS/RTP/SAVPF", formats);
            AddTransport(m, ice, certificate, "actpass", withCandidates);
            m.Add("mid", i.ToString(CultureInfo.InvariantCulture));
            m.Add("extmap", "1 " + MidUri);
            m.Add("extmap", "3 " + TransportCcUri);
            m.Add("sendonly");
            m.Add("msid", s.StreamId + " " + s.TrackId);
            m.Add("rtcp-mux");
            if (s.Kind == "video") m.Add("rtcp-rsize");
            m.Add("rtpmap", pt + " " + s.Codec + "/" + s.ClockRate.ToString(CultureInfo.InvariantCulture)
                + (s.Channels > 1 ? "/" + s.Channels.ToString(CultureInfo.InvariantCulture) : ""));
            if (s.Kind == "video") AddVideoFeedback(m, s.PayloadType);
            else m.Add("rtcp-fb", pt + " transport-cc");
            if (s.Fmtp is not null) m.Add("fmtp", pt + " " + s.Fmtp);
            if (s.RtxPayloadType != 0)
            {
                string rtx = s.RtxPayloadType.ToString(CultureInfo.InvariantCulture);
                m.Add("rtpmap", rtx + " rtx/" + s.ClockRate.ToString(CultureInfo.InvariantCulture));
                m.Add("fmtp", rtx + " apt=" + pt);
            }
            if (s.Rids is { Count: > 0 })
            {
                // RFC 8853 simulcast: one a=rid per layer (highest first, the order Janus expects by default); the
                // layers' SSRCs are not announced: packets carry MID + rid (RTX: repaired rid) header extensions.
                if (s.Rids.Any(r => !RidDescription.IsValidId(r)) || s.Rids.Distinct().Count() != s.Rids.Count)
                    throw new ArgumentException("rids must be distinct RFC 8851 ids of at most 16 characters", nameof(tracks));
                m.Add("extmap", "4 " + RidUri);
                if (s.RtxPayloadType != 0) m.Add("extmap", "5 " + RepairedRidUri);
                foreach (var rid in s.Rids) m.Add("rid", rid + " send");
                m.Add("simulcast", "send " + string.Join(';', s.Rids));
            }
            else
            {
                if (s.RtxSsrc != 0) m.Add("ssrc-group", $"FID {s.Ssrc} {s.RtxSsrc}");
                m.Add("ssrc", $"{s.Ssrc} cname:room");
                m.Add("ssrc", $"{s.Ssrc} msid:{s.StreamId} {s.TrackId}");
                if (s.RtxSsrc != 0)
                {
                    m.Add("ssrc", $"{s.RtxSsrc} cname:room");
                    m.Add("ssrc", $"{s.RtxSsrc} msid:{s.StreamId} {s.TrackId}");
                }
            }
            sd.Media.Add(m);
        }
        return sd;
    }

    /// <summary>
    /// Answers an offer that sends to us (e.g. a Janus subscription): every section the offer sends is received if we
    /// support one of its codecs (<paramref name="codecs"/>, e.g. "VP8", "H264", "opus"), others are rejected.
    /// </summary>
    public static SessionDescription CreateReceiveAnswer(SessionDescription offer, IceAgent ice, DtlsCertificate certificate, IReadOnlyList<string> codecs)
    {
        ArgumentNullException.ThrowIfNull(offer);
        ArgumentNullException.ThrowIfNull(ice);
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(codecs);
        var sd = NewSession();
        var accepted = new List<string>();
        foreach (var o in offer.Media)
        {
            int pt = -1;
            string? codec = null;
            foreach (var c in codecs)
            {
                pt = o.PayloadTypeFor(c);
                if (pt >= 0) { codec = c; break; }
            }
            if (o.Kind == "application" || pt < 0 || o.IsRejected || o.Direction is "recvonly" or "inactive")
            {
                var rejected = new MediaDescription(o.Kind, 0, o.Protocol, o.Formats.Take(1));
                if (o.Mid is not null) rejected.Add("mid", o.Mid);
                rejected.Add("inactive");
                sd.Media.Add(rejected);
                continue;
            }
            var formats = new List<string> { pt.ToString(CultureInfo.InvariantCulture) };
            int rtx = o.RtxFor(pt);
            if (rtx >= 0) formats.Add(rtx.ToString(CultureInfo.InvariantCulture));
            var m = new MediaDescription(o.Kind, 9, o.Protocol, formats);
            AddTransport(m, ice, certificate, "active", withCandidates: true);
            if (o.Mid is not null)
            {
                m.Add("mid", o.Mid);
                accepted.Add(o.Mid);
            }
            foreach (var ext in o.All("extmap"))
                if (ext.Contains(MidUri, StringComparison.Ordinal) || ext.Contains(TransportCcUri, StringComparison.Ordinal)) m.Add("extmap", ext);
            m.Add("recvonly");
            m.Add("rtcp-mux");
            var maps = o.RtpMaps();
            m.Add("rtpmap", pt.ToString(CultureInfo.InvariantCulture) + " " + maps[pt]);
            foreach (var fb in o.All("rtcp-fb"))
                if (fb.StartsWith(pt.ToString(CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal)) m.Add("rtcp-fb", fb);
            var fmtp = o.Fmtp(pt);
            if (fmtp is not null) m.Add("fmtp", pt.ToString(CultureInfo.InvariantCulture) + " " + fmtp);
            if (rtx >= 0 && maps.TryGetValue(rtx, out var rtxMap))
            {
                m.Add("rtpmap", rtx.ToString(CultureInfo.InvariantCulture) + " " + rtxMap);
                m.Add("fmtp", rtx.ToString(CultureInfo.InvariantCulture) + " apt=" + pt.ToString(CultureInfo.InvariantCulture));
            }
            _ = codec;
            sd.Media.Add(m);
        }
        if (sd.Media.Count == 0 || sd.Media[0].Port == 0)
        {
            // The first section is rejected (its feed left, or nothing is accepted). Janus reads the ICE credentials and
            // the DTLS fingerprint by the first m-line and refuses an answer without them there (469 "Error processing
            // SDP"); at session level they hold for every section (RFC 8839 5.4, RFC 8122 5).
            sd.Attributes.Add(new SdpLine("ice-ufrag", ice.LocalUfrag));
            sd.Attributes.Add(new SdpLine("ice-pwd", ice.LocalPassword));
            sd.Attributes.Add(new SdpLine("fingerprint", "sha-256 " + certificate.Fingerprint));
            sd.Attributes.Add(new SdpLine("setup", "active"));
        }
        if (accepted.Count > 0) sd.Attributes.Insert(0, new SdpLine("group", "BUNDLE " + string.Join(' ', accepted)));
        return sd;
    }
}
