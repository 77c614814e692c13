using System.Net;
using Room.Testing.Network;
using Room.Rtc.Ice;
using Room.Rtc.Interop;
using Room.Rtc.Janus;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Xunit.Abstractions;

namespace Room.Rtc.Tests.Interop;

[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class NetworkChangeTests(ITestOutputHelper output)
{
    /// <summary>10.213.n.x beside the namespace's host address, on the same veth.</summary>
    private static IPAddress Beside(NetNs ns, int last)
    {
        var b = ns.HostAddress.GetAddressBytes();
        b[3] = (byte)last;
        return new IPAddress(b);
    }

    /// <summary>
    /// The new address added and the old one deleted by one `ip -batch` process, back to back, as a network manager
    /// does: "together" for the watcher. Two `ip` processes could start more than the settle time apart on a loaded
    /// machine (two restarts, and a test expecting one failed).
    /// </summary>
    private static void MoveAddress(NetNs ns, IPAddress before, IPAddress after)
    {
        var batch = Path.GetTempFileName();
        try
        {
            File.WriteAllText(batch, $"addr add {after}/24 dev {ns.HostInterface}\naddr del {before}/24 dev {ns.HostInterface}\n");
            NetNs.Run("ip", $"-batch {batch}");
        }
        finally
        {
            File.Delete(batch);
        }
    }

    [Fact]
    public async Task The_address_monitor_reports_addresses_added_to_and_deleted_from_an_interface()
    {
        using var ns = NetNs.Create();
        using var monitor = AddressMonitor.Start();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<AddressChange>();
        monitor.Changed += seen.Enqueue;
        var extra = Beside(ns, 20);
        int index = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Single(n => n.Name == ns.HostInterface).GetIPProperties().GetIPv4Properties().Index;
        NetNs.Run("ip", $"addr add {extra}/24 dev {ns.HostInterface}");
        NetNs.Run("ip", $"addr del {extra}/24 dev {ns.HostInterface}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await JanusInteropTests.WaitUntil(() => seen.Any(c => c.Kind == AddressChangeKind.Removed && c.Address.Equals(extra)), timeout.Token);
        Assert.Contains(new AddressChange(AddressChangeKind.Added, index, extra), seen);
        Assert.Contains(new AddressChange(AddressChangeKind.Removed, index, extra), seen);
        Assert.Equal(0, monitor.Rejected);
    }

    /// <param name="relayed">With a TURN relay allocated from the address that moves: it is allocated again from the new one.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Moving_our_media_address_mid_call_restarts_ice_with_janus_and_media_resumes_on_the_same_keys(bool relayed)
    {
        Assert.True(JanusServer.IsInstalled && (!relayed || Coturn.IsInstalled), "janus/coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = timeout.Token;
        // Signalling (and Bob) stay on the veth's first address; Alice's media uses a second one, which moves.
        var before = Beside(ns, 10);
        var after = Beside(ns, 11);
        NetNs.Run("ip", $"addr add {before}/24 dev {ns.HostInterface}");
        using var janus = await JanusServer.StartAsync(ns, ct);
        using var turn = relayed ? await Coturn.StartAsync(ns, ct) : null;
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);

        var t = new RtcTransport([before], controlling: true);
        alice.PublishTransport = t;
        var relay = turn is null ? null : await t.Ice.AddTurnRelayAsync(before, turn.EndPoint, Coturn.User, Coturn.Password, ct);
        uint videoSsrc = (uint)Random.Shared.Next(1, int.MaxValue);
        SendTrack[] tracks = [new SendTrack("video", "VP8", 90000, 1, 96, videoSsrc, "room", "room-video")];
        var answer = SessionDescription.Parse(await alice.Room.PublishAsync(SdpBuilder.CreateSendOffer(t.Ice, t.Certificate, tracks).ToString(), ct));
        t.ApplyRemote(answer);
        var role = answer.SessionOrFirstMedia("setup") == "passive" ? Dtls.DtlsRole.Client : Dtls.DtlsRole.Server;
        await t.ConnectAsync(role, answer.SessionOrFirstMedia("fingerprint")!, ct);
        var keys = t.Keys;

        // On a restart: a new offer with the new credentials and candidates through VideoRoom configure.
        using var watcher = new IceNetworkWatcher(t.Ice);
        var renegotiated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? restartOffer = null;
        watcher.Restarted += () => _ = Task.Run(async () =>
        {
            try
            {
                var offer = restartOffer = SdpBuilder.CreateSendOffer(t.Ice, t.Certificate, tracks).ToString();
                t.ApplyRemote(SessionDescription.Parse(await alice.Room.RenegotiateAsync(offer, ct)));
                renegotiated.TrySetResult();
            }
#pragma warning disable CA1031 // handed to the test through the completion source
            catch (Exception e)
#pragma warning restore CA1031
            {
                renegotiated.TrySetException(e);
            }
        }, ct);

        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
        var video = new RtpSender(t, videoSsrc, 96, 90000);
        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sending = Task.Run(async () =>
        {
            var payload = new byte[600];
            payload[0] = 0x10;
            ushort seq = 1;
            uint ts = 0;
            while (!stopSending.IsCancellationRequested)
            {
                video.Send(seq++, ts += 3000, true, payload);
                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        try
        {
            await JanusInteropTests.WaitUntil(() => bob.SubscribeTransport!.RtpPacketsReceived >= 50, ct);
            var oldUfrag = t.Ice.LocalUfrag;

            MoveAddress(ns, before, after);
            await renegotiated.Task.WaitAsync(ct);
            long received = bob.SubscribeTransport!.RtpPacketsReceived;
            await JanusInteropTests.WaitUntil(() => bob.SubscribeTransport.RtpPacketsReceived >= received + 50 && t.Ice.State == IceState.Connected, ct);

            output.WriteLine($"restarts {watcher.Restarts}; selected {t.Ice.SelectedLocal} -> {t.Ice.SelectedRemote}; " +
                             $"bob received {bob.SubscribeTransport.RtpPacketsReceived} (had {received} at the move)");
            Assert.Equal(1, watcher.Restarts);
            Assert.NotEqual(oldUfrag, t.Ice.LocalUfrag);
            Assert.Equal(after, t.Ice.SelectedLocal!.Address);
            Assert.DoesNotContain(t.Ice.LocalCandidates, c => c.Address.Equals(before));
            Assert.Same(keys, t.Keys); // DTLS-SRTP was not redone
            Assert.Equal(0, bob.SubscribeTransport.PacketsRejected);
            if (relay is not null)
            {
                // The relay was allocated again from the new address (the server maps it there) and offered; the old one is gone.
                var relays = t.Ice.LocalCandidates.Where(c => c.Type == CandidateType.Relay).ToList();
                output.WriteLine($"relay before {relay}, after {string.Join(", ", relays)}");
                var now = Assert.Single(relays);
                Assert.Equal(before, relay.RelatedAddress);
                Assert.Equal(after, now.RelatedAddress);
                Assert.Contains($"{now.Address} {now.Port} typ relay", restartOffer, StringComparison.Ordinal);
            }
        }
        catch
        {
            output.WriteLine(File.Exists(janus.LogFile) ? string.Join('\n', File.ReadLines(janus.LogFile).TakeLast(40)) : "no janus log");
            throw;
        }
        finally
        {
            await stopSending.CancelAsync();
            await sending;
        }
    }

    [Fact]
    public async Task Moving_our_subscriber_address_mid_call_restarts_ice_through_a_janus_offer_and_media_resumes()
    {
        Assert.True(JanusServer.IsInstalled, "janus not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = timeout.Token;
        var before = Beside(ns, 12);
        var after = Beside(ns, 13);
        NetNs.Run("ip", $"addr add {before}/24 dev {ns.HostInterface}");
        using var janus = await JanusServer.StartAsync(ns, ct);
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);

        var t = new RtcTransport([ns.HostAddress], controlling: true);
        alice.PublishTransport = t;
        uint videoSsrc = (uint)Random.Shared.Next(1, int.MaxValue);
        SendTrack[] tracks = [new SendTrack("video", "VP8", 90000, 1, 96, videoSsrc, "room", "room-video")];
        var answer = SessionDescription.Parse(await alice.Room.PublishAsync(SdpBuilder.CreateSendOffer(t.Ice, t.Certificate, tracks).ToString(), ct));
        t.ApplyRemote(answer);
        await t.ConnectAsync(answer.SessionOrFirstMedia("setup") == "passive" ? Dtls.DtlsRole.Client : Dtls.DtlsRole.Server,
            answer.SessionOrFirstMedia("fingerprint")!, ct);
        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(before, [feed.Id], ct);
        var rx = bob.SubscribeTransport!;
        var keys = rx.Keys;

        // Bob's side: on a restart, Janus offers again (configure restart) and we answer with the new credentials.
        using var watcher = new IceNetworkWatcher(rx.Ice);
        var renegotiated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Restarted += () => _ = Task.Run(async () =>
        {
            try
            {
                var offer = SessionDescription.Parse(await VideoRoomClient.RestartSubscriptionAsync(bob.Subscription!, ct));
                var reply = SdpBuilder.CreateReceiveAnswer(offer, rx.Ice, rx.Certificate, ["VP8", "opus"]);
                rx.ApplyRemote(offer);
                await VideoRoomClient.StartAsync(bob.Subscription!, reply.ToString(), ct);
                renegotiated.TrySetResult();
            }
#pragma warning disable CA1031 // handed to the test through the completion source
            catch (Exception e)
#pragma warning restore CA1031
            {
                renegotiated.TrySetException(e);
            }
        }, ct);

        var video = new RtpSender(t, videoSsrc, 96, 90000);
        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sending = Task.Run(async () =>
        {
            var payload = new byte[600];
            payload[0] = 0x10;
            ushort seq = 1;
            uint ts = 0;
            while (!stopSending.IsCancellationRequested)
            {
                video.Send(seq++, ts += 3000, true, payload);
                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        try
        {
            await JanusInteropTests.WaitUntil(() => rx.RtpPacketsReceived >= 50, ct);
            MoveAddress(ns, before, after);
            await renegotiated.Task.WaitAsync(ct);
            long received = rx.RtpPacketsReceived;
            await JanusInteropTests.WaitUntil(() => rx.RtpPacketsReceived >= received + 50 && rx.Ice.State == IceState.Connected, ct);
            output.WriteLine($"restarts {watcher.Restarts}; selected {rx.Ice.SelectedLocal} -> {rx.Ice.SelectedRemote}; " +
                             $"bob received {rx.RtpPacketsReceived} (had {received} at the move)");
            Assert.Equal(1, watcher.Restarts);
            Assert.Equal(after, rx.Ice.SelectedLocal!.Address);
            Assert.Same(keys, rx.Keys);
            Assert.Equal(0, rx.PacketsRejected);
        }
        catch
        {
            output.WriteLine(File.Exists(janus.LogFile) ? string.Join('\n', File.ReadLines(janus.LogFile).TakeLast(40)) : "no janus log");
            throw;
        }
        finally
        {
            await stopSending.CancelAsync();
            await sending;
        }
    }
}
