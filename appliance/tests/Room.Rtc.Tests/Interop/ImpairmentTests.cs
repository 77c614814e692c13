using System.Diagnostics;
using Room.Media;
using Room.Rtc.Congestion;
using Room.Rtc.Janus;
using Xunit.Abstractions;

namespace Room.Rtc.Tests.Interop;

/// <summary>Our publisher through Janus to our subscriber while the veth between us and Janus is impaired.</summary>
[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class ImpairmentTests(ITestOutputHelper output)
{
    private static async Task<long> Hold(TestReceiver r, int ms, CancellationToken ct)
    {
        long before = r.VideoFramesDecoded;
        await Task.Delay(ms, ct);
        return r.VideoFramesDecoded - before;
    }

    [Fact]
    public async Task Rate_cap_and_random_loss_keep_video_flowing_and_the_controller_follows_the_cap()
    {
        Assert.True(JanusServer.IsInstalled, "janus is not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);
        var cc = new CongestionController(initialBps: 1_500_000, minBps: 150_000, maxBps: 2_500_000);
        await alice.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 1_500_000), ct, cc, noise: true);
        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
        var r = bob.Receiver!;
        await JanusInteropTests.WaitUntil(() => r.VideoFramesDecoded >= 20, ct);
        long free = await Hold(r, 4000, ct);
        output.WriteLine($"free: target {cc.TargetBps:N0} bit/s, {free} frames decoded in 4 s");

        // 1 Mbit/s on our side of the veth (us -> Janus).
        NetNs.Run("tc", $"qdisc add dev {ns.HostInterface} root tbf rate 1mbit burst 32kb latency 400ms");
        var sw = Stopwatch.StartNew();
        await JanusInteropTests.WaitUntil(() => cc.TargetBps < 1_000_000, ct);
        output.WriteLine($"cap: target under 1 Mbit/s after {sw.ElapsedMilliseconds} ms ({cc.TargetBps:N0} bit/s)");
        long capped = await Hold(r, 6000, ct);
        output.WriteLine($"cap: {capped} frames decoded in 6 s, target {cc.TargetBps:N0} bit/s, acked {cc.AckedBps:N0} bit/s");
        Assert.True(cc.TargetBps < 1_000_000, $"target stays under the cap: {cc.TargetBps}");
        Assert.True(capped > 0, "video froze under the cap");

        NetNs.Run("tc", $"qdisc del dev {ns.HostInterface} root");
        sw.Restart();
        await JanusInteropTests.WaitUntil(() => cc.TargetBps > 1_300_000, ct);
        output.WriteLine($"cap lifted: target above 1.3 Mbit/s after {sw.ElapsedMilliseconds} ms ({cc.TargetBps:N0} bit/s)");

        // 5 % random loss both ways on the media (UDP) inside Janus's namespace.
        NetNs.Run("ip", $"netns exec {ns.Name} nft add table inet rtcloss");
        NetNs.Run("ip", $"netns exec {ns.Name} nft add chain inet rtcloss in {{ type filter hook input priority 0 ; }}");
        NetNs.Run("ip", $"netns exec {ns.Name} nft add chain inet rtcloss out {{ type filter hook output priority 0 ; }}");
        NetNs.Run("ip", $"netns exec {ns.Name} nft add rule inet rtcloss in meta l4proto udp numgen random mod 100 \"<\" 5 drop");
        NetNs.Run("ip", $"netns exec {ns.Name} nft add rule inet rtcloss out meta l4proto udp numgen random mod 100 \"<\" 5 drop");
        long retransmitsBefore = alice.Publisher!.Video.Retransmissions;
        long lossy = await Hold(r, 8000, ct);
        output.WriteLine($"5 % loss: {lossy} frames decoded in 8 s, retransmissions {alice.Publisher.Video.Retransmissions - retransmitsBefore}, " +
            $"PLIs sent {r.PlisSent}, NACKs sent {r.NacksSent}, target {cc.TargetBps:N0} bit/s");
        Assert.True(lossy > 0, "video froze under 5 % loss");

        NetNs.Run("ip", $"netns exec {ns.Name} nft delete table inet rtcloss");
        long stopped = Environment.TickCount64;
        long at = r.VideoFramesDecoded;
        // Recovery: time from the end of loss until frames decode steadily again (5 in a row).
        await JanusInteropTests.WaitUntil(() => r.VideoFramesDecoded >= at + 5, ct);
        long recovered = r.LastDecodeTicks - stopped;
        output.WriteLine($"loss stopped: 5 more frames decoded {recovered} ms later");
        Assert.Equal(0, bob.SubscribeTransport!.PacketsRejected);
    }
}
