using Room.Testing.Network;
using Room.Media;
using Room.Rtc.Dtls;
using Room.Rtc.Janus;
using Room.Call;
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
    public async Task PublishAsync(System.Net.IPAddress local, VideoLayer layer, CancellationToken ct,
        Congestion.CongestionController? congestion = null, bool noise = false, Func<RtcTransport, Task>? relay = null)
    {
        var t = new RtcTransport(relay is null ? [local] : [], controlling: true);
        PublishTransport = t;
        if (relay is not null) await relay(t);
        var streams = PublishedStreams.CreateRandom();
        var offer = streams.CreateOffer(t);
        var answer = SessionDescription.Parse(await Room.PublishAsync(offer.ToString(), ct));
        t.ApplyRemote(answer);
        var role = answer.SessionOrFirstMedia("setup") == "passive" ? DtlsRole.Client : DtlsRole.Server;
        await t.ConnectAsync(role, answer.SessionOrFirstMedia("fingerprint")!, ct);
        if (congestion is not null)
        {
            int id = answer.Media.First(m => m.Kind == "video").ExtensionId(SdpBuilder.TransportCcUri);
            if (id <= 0) throw new InvalidOperationException("Janus did not accept transport-wide-cc");
            t.TransportCcExtensionId = id;
            t.Congestion = congestion;
        }
        // Room.Call's publisher: RTCP to the senders, congestion target (less audio) to the encoder.
        Publisher = new TestPublisher(t, streams, layer, noise);
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
        Receiver = new TestReceiver(t, offer);
        await VideoRoomClient.StartAsync(handle, answer.ToString(), ct);
        await t.ConnectAsync(DtlsRole.Client, offer.SessionOrFirstMedia("fingerprint")!, ct);
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        Publisher?.Dispose();
        PublishTransport?.Dispose();
        SubscribeTransport?.Dispose();
        Receiver?.Dispose();
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
                $"PLIs {bob.Receiver.PlisSent}, NACKs {bob.Receiver.NacksSent}, keyframe requests at publisher {alice.Publisher!.Video.KeyframeRequests}");
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

    [Fact]
    public async Task When_the_first_of_two_subscribed_feeds_leaves_janus_takes_our_answer_to_its_update_and_the_other_keeps_decoding()
    {
        // Janus reads ICE credentials and the fingerprint by the first m-line; when that section is rejected (its feed
        // left) the answer must still carry them there or at session level, else Janus refuses it (469).
        Assert.True(JanusServer.IsInstalled, "janus is not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        try
        {
            await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
            await using var carol = await RoomParticipant.JoinAsync(janus.WebSocketUri, "carol", ct);
            await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
            await alice.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 300_000), ct);
            await carol.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 300_000), ct);

            await bob.SubscribeAsync(ns.HostAddress, [alice.Room.PublisherId, carol.Room.PublisherId], ct);
            await WaitUntil(() => bob.Receiver!.VideoFramesDecoded >= 40, ct);

            await alice.DisposeAsync();
            JanusEvent update;
            do update = await bob.Subscription!.Events.ReadAsync(ct);
            while (update.JsepType != "offer" || update.Raw["transaction"] is not null);
            var offer = SessionDescription.Parse(update.Sdp!);
            Assert.True(offer.Media[0].IsRejected || offer.Media[0].Direction == "inactive", "alice's first section is taken out");
            var answer = SdpBuilder.CreateReceiveAnswer(offer, bob.SubscribeTransport!.Ice, bob.SubscribeTransport.Certificate, ["VP8", "opus"]);
            await VideoRoomClient.StartAsync(bob.Subscription, answer.ToString(), ct);

            long before = bob.Receiver!.VideoFramesDecoded;
            await WaitUntil(() => bob.Receiver.VideoFramesDecoded >= before + 20, ct);
            output.WriteLine($"after alice left: bob decoded {bob.Receiver.VideoFramesDecoded - before} more frames of carol's");
        }
        catch
        {
            output.WriteLine(File.Exists(janus.LogFile) ? string.Join('\n', File.ReadLines(janus.LogFile).TakeLast(60)) : "no janus log");
            throw;
        }
    }
}

[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class BrowserInteropTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Chromium_and_our_endpoint_each_decode_the_others_video_and_audio_through_janus()
    {
        Assert.True(JanusServer.IsInstalled && Browser.IsInstalled, "janus/chromium not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        await using var browser = await Browser.StartAsync();
        try
        {
            await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
            var chromeJoined = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            alice.Room.PublisherJoined += p => { if (p.Display == "chromium") chromeJoined.TrySetResult(p.Id); };
            await alice.PublishAsync(ns.HostAddress, new Media.VideoLayer(320, 240, 15, 300_000), ct);

            long chromeId = await browser.Page.EvaluateAsync<long>("([u, r]) => window.joinAndPublish(u, r)",
                new object[] { janus.WebSocketUri.ToString(), JanusServer.Room });
            Assert.Equal(chromeId, await chromeJoined.Task.WaitAsync(ct));

            await alice.SubscribeAsync(ns.HostAddress, [chromeId], ct);
            await browser.Page.EvaluateAsync("([r, f]) => window.subscribe(r, f)", new object[] { JanusServer.Room, alice.Room.PublisherId });

            Browser.Stats stats = await browser.InboundStatsAsync();
            while (!(stats.FramesDecoded >= 20 && stats.AudioSamples > 48000 / 2
                     && alice.Receiver!.VideoFramesDecoded >= 20 && alice.Receiver.AudioFramesDecoded >= 25))
            {
                if (timeout.IsCancellationRequested || timeout.Token.WaitHandle.WaitOne(0)) break;
                try { await Task.Delay(200, ct); } catch (OperationCanceledException) { break; }
                stats = await browser.InboundStatsAsync();
            }
            output.WriteLine($"browser {stats}; ours video {alice.Receiver!.VideoFramesDecoded}/{alice.Receiver.VideoPackets} pkts, " +
                $"audio {alice.Receiver.AudioFramesDecoded}, rtp in {alice.SubscribeTransport!.RtpPacketsReceived}, rejected {alice.SubscribeTransport.PacketsRejected}, " +
                $"pub sent {alice.PublishTransport!.RtpPacketsSent}, ice {alice.SubscribeTransport.Ice.State}");
            Assert.False(ct.IsCancellationRequested, "timed out waiting for decoded media");
            output.WriteLine($"chromium decoded {stats.FramesDecoded} frames of ours ({stats.Width} wide), {stats.AudioPackets} audio packets; " +
                $"we decoded {alice.Receiver.VideoFramesDecoded} frames ({alice.Receiver.Width} wide) and {alice.Receiver.AudioFramesDecoded} Opus frames of chromium's");
            Assert.Equal(320, stats.Width);
            Assert.True(alice.Receiver.Width > 0);
            Assert.Equal(0, alice.SubscribeTransport!.PacketsRejected);
        }
        catch
        {
            output.WriteLine(await browser.Page.EvaluateAsync<string>("() => JSON.stringify({e: window.roomState.error, p: window.roomState.published, s: window.roomState.subscribed})"));
            output.WriteLine(string.Join('\n', File.ReadLines(janus.LogFile).TakeLast(60)));
            throw;
        }
    }
}
