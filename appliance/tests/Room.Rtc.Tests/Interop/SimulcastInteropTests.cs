using Room.Call;
using Room.Devices;
using Room.Media;
using Room.Rtc.Congestion;
using Room.Rtc.Dtls;
using Room.Rtc.Janus;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Room.Testing.Network;
using Xunit.Abstractions;

namespace Room.Rtc.Tests.Interop;

/// <summary>
/// Feeds a synthetic 640x360 picture at 15 fps to Room.Call's <see cref="SimulcastVideoPublisher"/> (three VP8
/// layers h/m/l: 640x360, 320x180, 160x90, scaled once per layer, bitrates from the congestion target).
/// </summary>
internal sealed class SimulcastPublisher : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public SimulcastPublisher(RtcTransport transport, IReadOnlyList<(uint Ssrc, uint RtxSsrc)> ssrcs, SessionDescription answer)
    {
        Call = new SimulcastVideoPublisher(transport, answer, ssrcs, new VideoFormat(PixelFormat.I420, 640, 360, 15),
            encoder: EncoderPreference.SoftwareOnly, encoderThreads: 1);
        _loop = Task.Run(Loop);
    }

    public SimulcastVideoPublisher Call { get; }

    public IReadOnlyList<RtpSender> Senders => Call.Senders;

    /// <summary>Layers being encoded (index 0 = h).</summary>
    public bool[] Active => [.. Enumerable.Range(0, 3).Select(Call.IsLayerActive)];

    private async Task Loop()
    {
        var i420 = new byte[640 * 360 * 3 / 2];
        int frame = 0;
        long start = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            for (int y = 0; y < 360; y++)
                for (int x = 0; x < 640; x++)
                    i420[y * 640 + x] = (byte)((x + y + frame * 4) & 0xFF);
            // A noisy band: detail the encoders spend their budgets on (an easy picture would leave the link
            // application-limited, and the controller's estimate follows what is actually sent).
            for (int y = 120; y < 180; y++) Random.Shared.NextBytes(i420.AsSpan(y * 640, 640));
            i420.AsSpan(640 * 360).Fill((byte)(128 + frame % 64));
            Call.ProcessVideoFrame(i420, TimeSpan.FromMilliseconds(frame * 1000.0 / 15));
            frame++;
            int wait = (int)(start + frame * 1000L / 15 - Environment.TickCount64);
            if (wait > 0) await Task.Delay(wait).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop.Wait(5000); } catch (AggregateException) { }
        Call.Dispose();
        _stop.Dispose();
    }
}

[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class SimulcastInteropTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_simulcast_layers_through_janus_and_the_subscriber_switches_between_their_resolutions()
    {
        Assert.True(JanusServer.IsInstalled, "janus is not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);

        using var tx = new RtcTransport([ns.HostAddress], controlling: true);
        var ssrcs = Enumerable.Range(0, 3).Select(_ => ((uint)Random.Shared.NextInt64(1, uint.MaxValue), (uint)Random.Shared.NextInt64(1, uint.MaxValue))).ToArray();
        var offer = SdpBuilder.CreateSendOffer(tx.Ice, tx.Certificate, [SimulcastVideoPublisher.CreateTrack(ssrcs[0].Item1, ssrcs[0].Item2)]);
        var answer = SessionDescription.Parse(await alice.Room.PublishAsync(offer.ToString(), ct));
        output.WriteLine("answer extmaps: " + string.Join(", ", answer.Media[0].All("extmap")));
        tx.ApplyRemote(answer);
        tx.Congestion = new CongestionController(initialBps: 1_500_000, minBps: 100_000, maxBps: 2_000_000);
        tx.TransportCcExtensionId = Math.Max(0, answer.Media[0].ExtensionId(SdpBuilder.TransportCcUri));
        await tx.ConnectAsync(answer.SessionOrFirstMedia("setup") == "passive" ? DtlsRole.Client : DtlsRole.Server,
            answer.SessionOrFirstMedia("fingerprint")!, ct);
        using var publisher = new SimulcastPublisher(tx, ssrcs, answer);

        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
        var r = bob.Receiver!;
        string mid = r.Call.Videos[0].Stream.Mid;
        string Describe() => $"target {tx.Congestion.TargetBps:N0} bit/s, acked {tx.Congestion.AckedBps:N0}, layers h/m/l active {string.Join(',', publisher.Active)}, packets " +
            string.Join('/', publisher.Senders.Select(s => s.PacketsSent));
        try
        {
            // Janus starts a subscriber on the highest layer; then ask for the lowest, then the middle one.
            await WaitForWidth(r, 640, Describe, ct);
            foreach (var (substream, width) in new[] { (0, 160), (1, 320), (2, 640) })
            {
                await VideoRoomClient.ConfigureSubstreamAsync(bob.Subscription!, mid, substream, ct);
                await WaitForWidth(r, width, Describe, ct);
            }

            // 600 kbit/s between us and Janus: the controller's target falls below what three layers need, the
            // allocator stops the highest layer first, Janus falls back to a lower one for this subscriber (which
            // asked for the highest), and the picture keeps coming, smaller. Lifted: the highest layer comes back.
            NetNs.Run("tc", $"qdisc add dev {ns.HostInterface} root tbf rate 600kbit burst 32kb latency 400ms");
            await JanusInteropTests.WaitUntil(() => !publisher.Active[0], ct);
            Assert.True(publisher.Active[2], "the lowest layer keeps running");
            output.WriteLine($"capped: highest layer paused; {Describe()}");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await JanusInteropTests.WaitUntil(() => r.Width is > 0 and < 640, ct);
            long at = r.VideoFramesDecoded;
            await JanusInteropTests.WaitUntil(() => r.VideoFramesDecoded >= at + 5, ct);
            output.WriteLine($"capped: receiving {r.Width} wide after {sw.ElapsedMilliseconds} ms; {Describe()}");
            Assert.InRange(r.Width, 160, 320);
            NetNs.Run("tc", $"qdisc del dev {ns.HostInterface} root");
            await JanusInteropTests.WaitUntil(() => publisher.Active[0], ct);
            await WaitForWidth(r, 640, Describe, ct);
        }
        catch (OperationCanceledException)
        {
            output.WriteLine($"target {tx.Congestion.TargetBps:N0} acked {tx.Congestion.AckedBps:N0} width {r.Width}, decoded {r.VideoFramesDecoded}, packets per layer " +
                string.Join('/', publisher.Senders.Select(s => s.PacketsSent)));
            output.WriteLine(string.Join('\n', File.ReadLines(janus.LogFile).TakeLast(40)));
            throw;
        }
        output.WriteLine($"decoded {r.VideoFramesDecoded} frames; packets per layer h/m/l " +
            string.Join('/', publisher.Senders.Select(s => s.PacketsSent)) + $"; layers active {string.Join(',', publisher.Active)}");
        Assert.All(publisher.Senders, s => Assert.True(s.PacketsSent > 0));
        Assert.Equal(0, bob.SubscribeTransport!.PacketsRejected);
    }

    private async Task WaitForWidth(TestReceiver r, int width, Func<string> describe, CancellationToken ct)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (r.Width != width) await Task.Delay(50, ct);
        long at = r.VideoFramesDecoded;
        while (r.VideoFramesDecoded < at + 5) await Task.Delay(50, ct); // and it keeps decoding at that size
        Assert.Equal(width, r.Width);
        output.WriteLine($"receiving {width} wide after {sw.ElapsedMilliseconds} ms; {describe()}");
    }
}
