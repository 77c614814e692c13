using Room.Testing.Network;
using System.Diagnostics;
using System.Net;
using Room.Media;
using Room.Rtc.Janus;
using Room.Rtc.Sdp;
using Xunit.Abstractions;

namespace Room.Rtc.Tests.Interop;

[Collection("interop")]
[Trait("Category", "Interop")]
public sealed class RelayTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_relay_only_publisher_reaches_janus_through_coturn()
    {
        Assert.True(JanusServer.IsInstalled && Coturn.IsInstalled, "janus/coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        using var turn = await Coturn.StartAsync(ns, ct);
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);

        IceCandidate? relayed = null;
        await alice.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 300_000), ct, relay: async t =>
            relayed = await t.Ice.AddTurnRelayAsync(ns.HostAddress, turn.EndPoint, Coturn.User, Coturn.Password, ct));
        Assert.Equal(CandidateType.Relay, relayed!.Type);
        Assert.All(alice.PublishTransport!.Ice.LocalCandidates, c => Assert.Equal(CandidateType.Relay, c.Type));
        output.WriteLine($"relayed candidate {relayed}");

        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
        await JanusInteropTests.WaitUntil(() => bob.Receiver!.VideoFramesDecoded >= 20 && bob.Receiver.AudioFramesDecoded >= 25, ct);
        output.WriteLine($"through the relay: bob decoded {bob.Receiver!.VideoFramesDecoded} frames and {bob.Receiver.AudioFramesDecoded} Opus frames");
    }

    [Fact]
    public async Task A_relayed_call_outlives_short_allocation_permission_and_channel_lifetimes_and_deallocates_on_close()
    {
        Assert.True(JanusServer.IsInstalled && Coturn.IsInstalled, "janus/coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        // Allocations granted for 8 s, permissions kept 8 s, nonces stale after 6 s: without refreshes (or with a
        // 438 left unanswered) the relay would die a few seconds into the call.
        using var turn = await Coturn.StartAsync(ns, ct, "--max-allocate-lifetime=8 --permission-lifetime=8 --channel-lifetime=8 --stale-nonce=6");
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);
        await alice.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 300_000), ct, relay: async t =>
        {
            t.Ice.TurnPermissionRefreshInterval = TimeSpan.FromSeconds(3);
            t.Ice.TurnChannelRefreshInterval = TimeSpan.FromSeconds(3);
            await t.Ice.AddTurnRelayAsync(ns.HostAddress, turn.EndPoint, Coturn.User, Coturn.Password, ct);
        });
        var relay = Assert.Single(alice.PublishTransport!.Ice.TurnClients);
        Assert.True(relay.Lifetime <= TimeSpan.FromSeconds(8), $"granted {relay.Lifetime}");
        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
        await JanusInteropTests.WaitUntil(() => bob.Receiver!.VideoFramesDecoded >= 20, ct);

        // Three refreshes of the allocation, of the permission and of the channel, and a stale nonce answered.
        await JanusInteropTests.WaitUntil(() => relay.Refreshes >= 3 && relay.PermissionRefreshes >= 3 && relay.ChannelRefreshes >= 3
                                               && relay.StaleNonces >= 1, ct);
        Assert.False(relay.Failed);
        // Media goes as ChannelData both ways once the channel is bound (Send/Data indications only before).
        Assert.True(relay.ChannelsBound >= 1);
        long channelOut = relay.ChannelDataSent, channelIn = relay.ChannelDataReceived;
        long before = bob.Receiver!.VideoFramesDecoded;
        await JanusInteropTests.WaitUntil(() => bob.Receiver.VideoFramesDecoded >= before + 30, ct);
        Assert.True(relay.ChannelDataSent > channelOut && relay.ChannelDataReceived > channelIn);
        output.WriteLine($"lifetime {relay.Lifetime.TotalSeconds} s; {relay.Refreshes} refreshes, {relay.PermissionRefreshes} permission refreshes, " +
                         $"{relay.ChannelRefreshes} channel refreshes of {relay.ChannelsBound} channels, {relay.StaleNonces} stale nonces; " +
                         $"ChannelData out {relay.ChannelDataSent} in {relay.ChannelDataReceived}; bob decoded {bob.Receiver.VideoFramesDecoded} frames");

        alice.Publisher?.Dispose();
        alice.Publisher = null;
        alice.PublishTransport.Dispose();
        Assert.True(relay.Deallocated, "coturn did not confirm the Refresh with LIFETIME 0");
    }

    private const string TurnName = "turn.room.test";

    /// <summary>alice publishes through a relay reached over <paramref name="transport"/> only; bob decodes her media.</summary>
    private async Task RelayOnlyOverStreamAsync(Ice.TurnTransport transport)
    {
        Assert.True(JanusServer.IsInstalled && Coturn.IsInstalled, "janus/coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var pki = TestCertificates.Create(TurnName);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var janus = await JanusServer.StartAsync(ns, ct);
        using var turn = await Coturn.StartAsync(ns, ct, tls: (pki.CertFile, pki.KeyFile));
        await using var alice = await RoomParticipant.JoinAsync(janus.WebSocketUri, "alice", ct);
        await using var bob = await RoomParticipant.JoinAsync(janus.WebSocketUri, "bob", ct);
        var joined = new TaskCompletionSource<JanusPublisher>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.Room.PublisherJoined += p => joined.TrySetResult(p);
        var server = new Ice.TurnRelayServer(transport == Ice.TurnTransport.Tls ? turn.TlsEndPoint : turn.EndPoint, transport, Coturn.User, Coturn.Password)
        {
            ServerName = TurnName, TrustedRoots = [pki.Ca], LocalAddress = ns.HostAddress,
        };
        await alice.PublishAsync(ns.HostAddress, new VideoLayer(320, 240, 15, 300_000), ct, relay: async t => await t.Ice.AddTurnRelayAsync(server, ct));
        var relay = Assert.Single(alice.PublishTransport!.Ice.TurnClients);
        Assert.True(relay.IsStream);
        Assert.Equal(transport, relay.Transport);

        var feed = await joined.Task.WaitAsync(ct);
        await bob.SubscribeAsync(ns.HostAddress, [feed.Id], ct);
        await JanusInteropTests.WaitUntil(() => bob.Receiver!.VideoFramesDecoded >= 20 && bob.Receiver.AudioFramesDecoded >= 25 && relay.ChannelDataSent > 0, ct);
        var path = alice.PublishTransport.Ice.SelectedPath;
        Assert.Equal(Sdp.CandidateType.Relay, path!.Value.Type);
        Assert.Equal(transport, path.Value.Relay!.Transport);
        Assert.False(relay.Failed);
        output.WriteLine($"relay over {transport}: bob decoded {bob.Receiver!.VideoFramesDecoded} frames, {bob.Receiver.AudioFramesDecoded} Opus frames; " +
                         $"ChannelData out {relay.ChannelDataSent} in {relay.ChannelDataReceived}");

        alice.Publisher?.Dispose();
        alice.Publisher = null;
        alice.PublishTransport.Dispose();
        Assert.True(relay.Deallocated, "coturn did not confirm the Refresh with LIFETIME 0 over the stream");
    }

    [Fact]
    public Task A_relay_only_publisher_reaches_janus_through_coturn_over_tcp() => RelayOnlyOverStreamAsync(Ice.TurnTransport.Tcp);

    [Fact]
    public Task A_relay_only_publisher_reaches_janus_through_coturn_over_tls() => RelayOnlyOverStreamAsync(Ice.TurnTransport.Tls);

    [Fact]
    public async Task Tls_to_a_turn_server_with_an_untrusted_certificate_or_another_name_is_refused()
    {
        Assert.True(Coturn.IsInstalled, "coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var pki = TestCertificates.Create(TurnName);
        using var other = TestCertificates.Create(TurnName);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var turn = await Coturn.StartAsync(ns, timeout.Token, tls: (pki.CertFile, pki.KeyFile));
        using var agent = new Ice.IceAgent([], controlling: true);
        var good = new Ice.TurnRelayServer(turn.TlsEndPoint, Ice.TurnTransport.Tls, Coturn.User, Coturn.Password) { ServerName = TurnName, TrustedRoots = [pki.Ca] };

        // Another CA (same name), the right CA with another name, and no CA (the system store does not know ours).
        foreach (var bad in new[] { good with { TrustedRoots = [other.Ca] }, good with { ServerName = "other.room.test" }, good with { TrustedRoots = null } })
        {
            var e = await Assert.ThrowsAsync<RtcFormatException>(() => agent.AddTurnRelayAsync(bad, timeout.Token));
            Assert.Equal(RtcError.AuthenticationFailed, e.Error);
            Assert.DoesNotContain(Coturn.Password, e.Message, StringComparison.Ordinal);
        }

        Assert.Empty(agent.TurnClients);
        // The same server with the right CA and name allocates.
        var relayed = await agent.AddTurnRelayAsync(good, timeout.Token);
        Assert.Equal(Sdp.CandidateType.Relay, relayed.Type);
        Assert.Equal(ns.NsAddress, relayed.Address);
    }

    [Fact]
    public async Task Wrong_turn_password_is_refused()
    {
        Assert.True(Coturn.IsInstalled, "coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var turn = await Coturn.StartAsync(ns, timeout.Token);
        using var agent = new Ice.IceAgent([], controlling: true);
        var e = await Assert.ThrowsAsync<RtcFormatException>(() =>
            agent.AddTurnRelayAsync(ns.HostAddress, turn.EndPoint, Coturn.User, "wrong", timeout.Token));
        Assert.Equal(RtcError.AuthenticationFailed, e.Error);
    }

    [Fact]
    public async Task Server_reflexive_address_is_learned_from_a_stun_server()
    {
        Assert.True(Coturn.IsInstalled, "coturn not installed (make deps)");
        using var ns = NetNs.Create();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var turn = await Coturn.StartAsync(ns, timeout.Token);
        using var agent = new Ice.IceAgent([ns.HostAddress], controlling: true);
        var host = agent.LocalCandidates.Single();
        var learned = await agent.GatherServerReflexiveAsync(turn.EndPoint, timeout.Token);
        var srflx = Assert.Single(learned);
        Assert.Equal(CandidateType.ServerReflexive, srflx.Type);
        Assert.Equal(host.EndPoint, srflx.EndPoint);          // no NAT on the veth: mapped == host
        Assert.Equal(host.Address, srflx.RelatedAddress);
        Assert.Single(agent.LocalCandidates);                  // a mapped address equal to its base is not advertised twice
    }
}
