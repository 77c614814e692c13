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

namespace Room.Rtc.Fuzz;

/// <summary>
/// Input: byte 0 picks the parser (<see cref="Kind"/>), the rest is the message. Throws only on a finding: an
/// exception other than <see cref="RtcFormatException"/>, or a broken invariant (round trip, bound).
/// </summary>
internal static class Target
{
    public enum Kind : byte { Stun, Sdp, Candidate, Rtp, Rtcp, SrtpRtp, SrtcpRtcp, Turn, Netlink, TurnStream, IceServerUrl }

    public const int Kinds = 11;
    public static readonly byte[] Key = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
    public static readonly byte[] Salt14 = [.. Enumerable.Range(100, 14).Select(i => (byte)i)];
    public static readonly byte[] Salt12 = [.. Enumerable.Range(100, 12).Select(i => (byte)i)];
    private static readonly byte[] StunKey = Encoding.UTF8.GetBytes("VOkJxbRl1RmTxUk/WvJxBt");
    private static readonly Lazy<(IceAgent Ice, DtlsCertificate Cert)> Answerer =
        new(() => (new IceAgent([], controlling: false), DtlsCertificate.CreateSelfSigned()));
    private static readonly Lazy<TurnClient> Turn = new(() =>
        new TurnClient(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp), new IPEndPoint(IPAddress.Loopback, 3478), "u", "p"));
    private static readonly Lazy<Socket> StreamSocket = new(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
    private static readonly byte[] Frame = new byte[2048];
    private static readonly PacketResult[] Feedback = new PacketResult[TransportFeedback.MaxPacketsPerFeedback];
    private static readonly byte[] Work = new byte[4096];
    private static readonly List<Interop.AddressChange> Changes = [];
    private static readonly byte[] Copy = new byte[4096];

    /// <summary>TURN over TCP/TLS: the server's byte stream cut into messages until it ends or breaks.</summary>
    private static void TurnStream(ReadOnlySpan<byte> body)
    {
        using var client = new TurnClient(StreamSocket.Value, new MemoryStream(body.ToArray()), TurnTransport.Tcp, new IPEndPoint(IPAddress.Loopback, 3478), "u", "p");
        int n, frames = 0;
        while ((n = client.ReadFrame(Frame)) >= 0)
        {
            if (n > Frame.Length || ++frames > body.Length / 4) throw new InvalidOperationException("TURN stream framing beyond the input");
            _ = client.TryUnwrap(Frame.AsSpan(0, n), out _, out _);
        }
    }

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        var body = input[1..];
        try
        {
            switch ((Kind)(input[0] % Kinds))
            {
                case Kind.Stun: Stun(body); break;
                case Kind.Sdp: Sdp(body); break;
                case Kind.Candidate: _ = IceCandidate.TryParse(Encoding.UTF8.GetString(body), out _); break;
                case Kind.Rtp: Rtp(body); break;
                case Kind.Rtcp: Rtcp(body); break;
                case Kind.SrtpRtp: Srtp(body, rtcp: false); break;
                case Kind.SrtcpRtcp: Srtp(body, rtcp: true); break;
                case Kind.Turn: _ = Turn.Value.TryUnwrap(body, out _, out _); break;
                case Kind.TurnStream: TurnStream(body); break;
                case Kind.IceServerUrl: _ = IceServerUrl.TryParse(Encoding.UTF8.GetString(body), out _, out _); break;
                case Kind.Netlink:
                    Changes.Clear();
                    _ = Interop.RtNetlink.TryParse(body, Changes);
                    if (Changes.Count > Interop.RtNetlink.MaxChangesPerDatagram) throw new InvalidOperationException("netlink changes beyond the bound");
                    break;
            }
        }
        catch (RtcFormatException)
        {
            // A typed refusal is the expected outcome for bad input.
        }
    }

    private static void Stun(ReadOnlySpan<byte> body)
    {
        if (StunMessage.TryParse(body, out var m) != RtcError.None) return;
        _ = m.Method;
        _ = m.Class;
        _ = m.ErrorCode;
        _ = m.HasUnknownRequiredAttribute();
        _ = m.VerifyFingerprint();
        _ = m.VerifyIntegrity(StunKey);
        ushort[] types =
        [
            StunAttributeType.MappedAddress, StunAttributeType.Username, StunAttributeType.ErrorCode, StunAttributeType.Lifetime,
            StunAttributeType.XorPeerAddress, StunAttributeType.Data, StunAttributeType.Realm, StunAttributeType.Nonce,
            StunAttributeType.XorRelayedAddress, StunAttributeType.XorMappedAddress, StunAttributeType.Priority,
            StunAttributeType.IceControlled, StunAttributeType.IceControlling,
        ];
        foreach (var t in types)
        {
            _ = m.TryGetAttribute(t, out _);
            _ = m.TryGetXorAddress(t, out _);
            _ = m.TryGetUInt32(t, out _);
            _ = m.TryGetUInt64(t, out _);
        }
    }

    private static void Sdp(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body);
        if (SessionDescription.TryParse(text, out var sd) != RtcError.None) return;
        _ = sd!.BundleMids();
        foreach (var name in new[] { "ice-ufrag", "ice-pwd", "fingerprint", "setup" }) _ = sd.SessionOrFirstMedia(name);
        foreach (var m in sd.Media)
        {
            _ = m.RtpMaps();
            int pt = m.PayloadTypeFor("VP8");
            _ = m.PayloadTypeFor("opus", 48000);
            _ = m.Fmtp(pt);
            _ = m.RtxFor(pt);
            _ = m.Ssrcs();
            _ = m.ExtensionId(SdpBuilder.TransportCcUri);
            _ = m.SendRids();
            _ = m.Direction;
            _ = m.IsRejected;
            foreach (var c in m.All("candidate")) _ = IceCandidate.TryParse(c, out _);
        }
        // What we do with a remote offer: answer it. Our answer must parse back.
        var (ice, cert) = Answerer.Value;
        var answer = SdpBuilder.CreateReceiveAnswer(sd, ice, cert, ["VP8", "H264", "opus"]);
        var error = SessionDescription.TryParse(answer.ToString(), out _);
        if (error != RtcError.None) throw new InvalidOperationException("our answer to a parsed offer does not parse: " + error);
        // Written back, the offer parses again (the parser accepts its own output).
        error = SessionDescription.TryParse(sd.ToString(), out _);
        if (error != RtcError.None && error != RtcError.TooLarge) throw new InvalidOperationException("a parsed SDP does not parse after writing: " + error);
    }

    private static void Rtp(ReadOnlySpan<byte> body)
    {
        foreach (bool padding in new[] { true, false })
        {
            if (RtpHeader.TryParse(body, padding, out var h) != RtcError.None) continue;
            if (h.HeaderLength > body.Length) throw new InvalidOperationException("header longer than the packet");
            for (int id = 0; id <= 15; id++) _ = h.TryGetExtension(body, id, out _);
        }
        _ = RtpHeader.LooksLikeRtpOrRtcp(body);
        _ = RtpHeader.IsRtcp(body);
    }

    private static void Rtcp(ReadOnlySpan<byte> body)
    {
        _ = RtcpCompoundReader.Validate(body);
        _ = RtcpCompoundReader.Validate(body, requireReportFirst: false);
        var reader = new RtcpCompoundReader(body);
        Span<ushort> lost = stackalloc ushort[64];
        while (reader.TryRead(out var p))
        {
            if (SenderReport.TryParse(p, out _) == RtcError.None)
                for (int i = 0; i < p.Count; i++) _ = SenderReport.Block(p, i);
            if (ReceiverReport.TryParse(p, out _) == RtcError.None)
                for (int i = 0; i < p.Count; i++) _ = ReceiverReport.Block(p, i);
            if (FeedbackMessage.TryParse(p, out var fb) != RtcError.None) continue;
            _ = fb.ReadNack(lost);
            _ = fb.TryReadRemb(out _, out _);
            for (int i = 0; i < fb.FirEntryCount; i++) _ = fb.FirEntry(i);
            if (fb.IsTransportCc || fb.Format == FeedbackMessage.TransportCcFormat)
            {
                if (TransportFeedback.TryParse(fb.Fci, Feedback, out int count, out _) == RtcError.None && count > Feedback.Length)
                    throw new InvalidOperationException("TWCC count beyond the result buffer");
            }
        }
    }

    private static void Srtp(ReadOnlySpan<byte> body, bool rtcp)
    {
        if (body.Length + 64 > Work.Length) return;
        foreach (var profile in new[] { SrtpProfile.AesCm128HmacSha1Tag80, SrtpProfile.AeadAes128Gcm })
        {
            var salt = profile == SrtpProfile.AeadAes128Gcm ? Salt12 : Salt14;
            // Fresh sessions per input: the corpus replays deterministically.
            using var sender = new SrtpSession(profile, Key, salt);
            using var receiver = new SrtpSession(profile, Key, salt);
            // 1. As received from the network: unprotect must refuse it with a typed error, or authenticate it.
            body.CopyTo(Work);
            _ = rtcp ? receiver.UnprotectRtcp(Work, body.Length, out _) : receiver.UnprotectRtp(Work, body.Length, out _);
            // 2. Protect what a local writer would hand us (a well-formed packet: protect does not re-validate our
            //    own packets), then unprotect: the round trip gives the input back.
            if (!rtcp && RtpHeader.TryParse(body, out _) != RtcError.None) continue;
            if (rtcp && RtcpCompoundReader.Validate(body, requireReportFirst: false) != RtcError.None) continue;
            body.CopyTo(Work);
            var error = rtcp ? sender.ProtectRtcp(Work, body.Length, out int n) : sender.ProtectRtp(Work, body.Length, out n);
            if (error != RtcError.None) continue;
            Work.AsSpan(0, n).CopyTo(Copy);
            using var fresh = new SrtpSession(profile, Key, salt);
            error = rtcp ? fresh.UnprotectRtcp(Copy, n, out int plain) : fresh.UnprotectRtp(Copy, n, out plain);
            if (error != RtcError.None) throw new InvalidOperationException($"{profile}: our own protected packet is refused: {error}");
            if (!Copy.AsSpan(0, plain).SequenceEqual(body)) throw new InvalidOperationException($"{profile}: round trip changed the packet");
            // 3. The same packet again is a replay.
            Work.AsSpan(0, n).CopyTo(Copy);
            error = rtcp ? fresh.UnprotectRtcp(Copy, n, out _) : fresh.UnprotectRtp(Copy, n, out _);
            if (error != RtcError.Replayed) throw new InvalidOperationException($"{profile}: a replayed packet was accepted ({error})");
        }
    }
}
