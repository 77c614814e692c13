using Room.Media;
using Room.Rtc.Dtls;
using Room.Rtc.Janus;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Xunit.Abstractions;

namespace Room.Rtc.Tests.Interop;

/// <summary>Interop tests against real peers in network namespaces. Run serially; each starts and stops its own peers.</summary>
[CollectionDefinition("interop", DisableParallelization = true)]
public sealed class InteropGroup;

/// <summary>A Room participant (ICE + DTLS-SRTP + RTP over our stack) in a Janus VideoRoom.</summary>
internal sealed class RoomParticipant : IAsyncDisposable
{
    public required JanusClient Janus { get; init; }
    public required VideoRoomClient Room { get; init; }
    public RtcTransport? PublishTransport { get; set; }
    public RtcTransport? SubscribeTransport { get; set; }
    public TestPublisher? Publisher { get; set; }
    public TestReceiver? Receiver { get; set; }
    public JanusHandle? Subscription { get; set; }

    public static async Task<RoomParticipant> JoinAsync(Uri janus, string display, CancellationToken ct)
    {
        var client = await JanusClient.ConnectAsync(janus, ct);
        var room = await VideoRoomClient.JoinAsync(client, JanusServer.Room, display, ct);
        return new RoomParticipant { Janus = client, Room = room };
    }

    /// <summary>Offers VP8 + Opus, applies Janus's answer, connects ICE and DTLS, starts sending.</summary>
    public async Task PublishAsync(System.Net.IPAddress local, VideoLayer layer, CancellationToken ct)
    {
        var t = new RtcTransport([local], controlling: true);
        PublishTransport = t;
        uint videoSsrc = (uint)Random.Shared.Next(), rtxSsrc = (uint)Random.Shared.Next(), audioSsrc = (uint)Random.Shared.Next();
        var offer = SdpBuilder.CreateSendOffer(t.Ice, t.Certificate,
        [
            new SendTrack("audio", "opus", 48000, 2, 111, audioSsrc, "room", "room-audio", "minptime=10;useinbandfec=1"),
            new SendTrack("video", "VP8", 90000, 1, 96, videoSsrc, "room", "room-video", RtxPayloadType: 97, RtxSsrc: rtxSsrc),
        ]);
        var answer = SessionDescription.Parse(await Room.PublishAsync(offer.ToString(), ct));
        t.ApplyRemote(answer);
        var role = answer.SessionOrFirstMedia("setup") == "passive" ? DtlsRole.Client : DtlsRole.Server;
        await t.ConnectAsync(role, answer.SessionOrFirstMedia("fingerprint")!, ct);
        var video = new RtpSender(t, videoSsrc, 96, 90000, rtxSsrc, 97);
        var audio = new RtpSender(t, audioSsrc, 111, 48000);
        t.RtcpReceived = p => { video.OnRtcp(p); audio.OnRtcp(p); };
        Publisher = new TestPublisher(video, audio, layer);
    }

    /// <summary>Subscribes to <paramref name="feeds"/>, answers Janus's offer, connects, decodes what arrives.</summary>
    public async Task SubscribeAsync(System.Net.IPAddress local, IEnumerable<long> feeds, CancellationToken ct)
    {
        var (handle, offerText) = await Room.SubscribeAsync(feeds, ct);
        Subscription = handle;
        var offer = SessionDescription.Parse(offerText);
        var t = new RtcTransport([local], controlling: false);
        SubscribeTransport = t;
        var answer = SdpBuilder.CreateReceiveAnswer(offer, t.Ice, t.Certificate, ["VP8", "opus"]);
        t.ApplyRemote(offer);
        int videoPt = offer.Media.Where(m => m.Kind == "video").Select(m => m.PayloadTypeFor("VP8")).FirstOrDefault(-1);
        int audioPt = offer.Media.Where(m => m.Kind == "audio").Select(m => m.PayloadTypeFor("opus")).FirstOrDefault(-1);
        Receiver = new TestReceiver(t, videoPt, audioPt);
        await VideoRoomClient.StartAsync(handle, answer.ToString(), ct);
        await t.ConnectAsync(DtlsRole.Client, offer.SessionOrFirstMedia("fingerprint")!, ct);
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        Publisher?.Dispose();
        Receiver?.Dispose();
        PublishTransport?.Dispose();
        SubscribeTransport?.Dispose();
        Room.Dispose();
        await Janus.DisposeAsync();
    }
}

[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class JanusInteropTests(ITestOutputHelper output)
{
    internal static async Task WaitUntil(Func<bool> condition, CancellationToken ct)
    {
        while (!condition()) await Task.Delay(100, ct);
    }

    [Fact]
    public async Task Our_publisher_reaches_our_subscriber_through_janus_and_decodes()
    {
        Assert.True(JanusServer.IsInstalled, "janus is not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        try
        {
            await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
            await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
            var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
            bob.Room.PublisherJoined += p => joined.TrySetResult(p);

            await alice.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 300_000), ct);
            var feed = await joined.Task.WaitAsync(ct);
            Assert.Equal(alice.Room.PublisherId, feed.Id);

            await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
            await WaitUntil(() => bob.Receiver!.VideoFramesDecoded >= 20 && bob.Receiver.AudioFramesDecoded >= 50, ct);
            output.WriteLine($"decoded video {bob.Receiver!.VideoFramesDecoded} audio {bob.Receiver.AudioFramesDecoded}, " +
                $"PLIs {bob.Receiver.PlisSent}, keyframe requests at publisher {alice.Publisher!.Video.KeyframeRequests}");
            Assert.Equal(320, bob.Receiver.Width);
            Assert.Equal(0, bob.SubscribeTransport!.PacketsRejected);

            // Alice leaves: Bob hears about it.
            var left = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            bob.Room.PublisherLeft += id => left.TrySetResult(id);
            await alice.DisposeAsync();
            Assert.Equal(feed.Id, await left.Task.WaitAsync(ct));
        }
        catch
        {
            output.WriteLine(File.Exists(janus.LogFile) ? string.Join('\n', File.ReadLines(janus.LogFile).TakeLast(60)) : "no janus log");
            throw;
        }
    }
}
