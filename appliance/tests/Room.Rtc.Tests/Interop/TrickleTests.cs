using Room.Testing.Network;
using Room.Rtc.Ice;
using Room.Rtc.Janus;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Xunit.Abstractions;

namespace Room.Rtc.Tests.Interop;

[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class TrickleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_publisher_offering_no_candidates_trickles_them_to_janus_and_media_flows()
    {
        Assert.True(JanusServer.IsInstalled && Coturn.IsInstalled, "janus/coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        using var turn = await Coturn.StartAsync(ns, ct);
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);

        var t = new RtcTransport([ns.HostAddress], controlling: true);
        alice.PublishTransport = t;
        // Gathering starts now and goes on while the offer travels: host at once, srflx and relay from coturn later.
        var candidates = t.Ice.Gather(new IceGatherOptions
        {
            StunServer = turn.EndPoint, TurnServer = turn.EndPoint, TurnUsername = Coturn.User, TurnPassword = Coturn.Password,
        }, ct);
        uint videoSsrc = (uint)Random.Shared.Next(1, int.MaxValue);
        var offer = SdpBuilder.CreateSendOffer(t.Ice, t.Certificate,
            [new SendTrack("video", "VP8", 90000, 1, 96, videoSsrc, "room", "room-video")], withCandidates: false).ToString();
        Assert.DoesNotContain("a=candidate", offer, StringComparison.Ordinal);
        Assert.Contains("a=ice-options:trickle", offer, StringComparison.Ordinal);
        var answer = SessionDescription.Parse(await alice.Room.PublishAsync(offer, ct));
        t.ApplyRemote(answer);
        int trickled = await alice.Room.Handle.TrickleAllAsync(candidates, "0", ct);
        var local = t.Ice.LocalCandidates;
        output.WriteLine($"trickled {trickled}: {string.Join(" | ", local)}");
        Assert.Equal(local.Count, trickled);
        Assert.Contains(local, c => c.Type == CandidateType.Host);
        Assert.Contains(local, c => c.Type == CandidateType.Relay);

        var role = answer.SessionOrFirstMedia("setup") == "passive" ? Dtls.DtlsRole.Client : Dtls.DtlsRole.Server;
        await t.ConnectAsync(role, answer.SessionOrFirstMedia("fingerprint")!, ct);
        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);

        // Media: VP8-framed packets (a keyframe-flagged descriptor and filler); Janus relays them to Bob.
        var video = new RtpSender(t, videoSsrc, 96, 90000);
        var payload = new byte[600];
        payload[0] = 0x10; // VP8 descriptor: start of partition
        ushort seq = 1;
        uint ts = 0;
        while (bob.SubscribeTransport!.RtpPacketsReceived < 50)
        {
            video.Send(seq++, ts += 3000, true, payload);
            await Task.Delay(20, ct);
        }
        output.WriteLine($"alice sent {t.RtpPacketsSent} packets, bob received {bob.SubscribeTransport.RtpPacketsReceived}");
        Assert.Equal(0, bob.SubscribeTransport.PacketsRejected);
    }
}
