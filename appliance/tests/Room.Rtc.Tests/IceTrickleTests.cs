using System.Net;
using Room.Rtc.Ice;
using Room.Rtc.Sdp;

namespace Room.Rtc.Tests;

public class IceTrickleTests
{
    [Fact]
    public async Task Two_agents_that_learn_each_others_candidates_only_by_trickling_connect()
    {
        using var a = new IceAgent([IPAddress.Loopback], controlling: true);
        using var b = new IceAgent([IPAddress.Loopback], controlling: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.StateChanged += s => { if (s == IceState.Connected) connected.TrySetResult(); };
        a.SetRemoteCredentials(b.LocalUfrag, b.LocalPassword);
        b.SetRemoteCredentials(a.LocalUfrag, a.LocalPassword);

        // Each side's channel feeds the other; the channels complete (end-of-candidates) with nothing else to gather.
        var toB = Forward(a.Gather(new IceGatherOptions(), timeout.Token), b);
        var toA = Forward(b.Gather(new IceGatherOptions(), timeout.Token), a);
        Assert.Equal(1, await toB);
        Assert.Equal(1, await toA);
        await connected.Task.WaitAsync(timeout.Token);
        Assert.Equal(b.LocalCandidates[0].EndPoint, a.SelectedRemote);
    }

    private static async Task<int> Forward(System.Threading.Channels.ChannelReader<IceCandidate> from, IceAgent to)
    {
        int n = 0;
        await foreach (var c in from.ReadAllAsync())
        {
            // As a signalling channel carries it: the candidate line, parsed again on the other side.
            Assert.Equal(RtcError.None, IceCandidate.TryParse(c.ToString(), out var parsed));
            to.AddRemoteCandidate(parsed!);
            n++;
        }
        return n;
    }

    [Fact]
    public async Task Gathering_reports_a_failed_turn_server_after_delivering_the_host_candidates()
    {
        // A "TURN server" that refuses every request with 400 (no challenge to answer).
        using var server = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var serving = Task.Run(async () =>
        {
            while (!timeout.IsCancellationRequested)
            {
                var r = await server.ReceiveAsync(timeout.Token);
                if (Stun.StunMessage.TryParse(r.Buffer, out var m) != RtcError.None) continue;
                var reply = new byte[128];
                var builder = new Stun.StunBuilder(reply, m.Method, Stun.StunClass.ErrorResponse, m.TransactionId);
                builder.AddErrorCode(400, "Bad Request");
                await server.SendAsync(reply.AsMemory(0, builder.Length), r.RemoteEndPoint, timeout.Token);
            }
        });
        using var agent = new IceAgent([IPAddress.Loopback], controlling: true);
        var channel = agent.Gather(new IceGatherOptions
        {
            TurnServer = (IPEndPoint)server.Client.LocalEndPoint!, TurnUsername = "u", TurnPassword = "p",
        }, timeout.Token);
        var got = new List<IceCandidate>();
        var e = await Assert.ThrowsAsync<RtcFormatException>(async () =>
        {
            await foreach (var c in channel.ReadAllAsync(timeout.Token)) got.Add(c);
        });
        Assert.Equal(CandidateType.Host, Assert.Single(got).Type);
        Assert.Equal(RtcError.Unsupported, e.Error);
        await timeout.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);
    }
}

public class IceTrickleEndOfCandidatesTests
{
    /// <summary>A candidate nobody answers on: a bound socket that never reads.</summary>
    private static IceCandidate Dead(System.Net.Sockets.Socket s) =>
        new("d", 1, "udp", 1, IPAddress.Loopback, ((IPEndPoint)s.LocalEndPoint!).Port, CandidateType.Host);

    [Fact]
    public async Task With_a_trickling_peer_failed_pairs_wait_for_more_candidates_until_end_of_candidates()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var waiting = new IceAgent([IPAddress.Loopback], controlling: true);   // peer trickles, more to come
        using var ended = new IceAgent([IPAddress.Loopback], controlling: true);     // peer trickles, then ends
        using var peer = new IceAgent([IPAddress.Loopback], controlling: false);
        foreach (var a in new[] { waiting, ended })
        {
            a.ExpectTrickledRemoteCandidates();
            a.SetRemoteCredentials(peer.LocalUfrag, peer.LocalPassword);
            a.AddRemoteCandidate(Dead(silent));
        }
        ended.SetRemoteEndOfCandidates();
        var endedFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ended.StateChanged += s => { if (s == IceState.Failed) endedFailed.TrySetResult(); };

        // Both agents' only pair runs out of checks: the one told end-of-candidates fails, the other keeps waiting.
        await endedFailed.Task.WaitAsync(timeout.Token);
        while (waiting.FailedPairCount < 1) await Task.Delay(50, timeout.Token);
        Assert.Equal(IceState.Checking, waiting.State);

        // A candidate trickled late still connects it.
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting.StateChanged += s => { if (s == IceState.Connected) connected.TrySetResult(); };
        peer.SetRemoteCredentials(waiting.LocalUfrag, waiting.LocalPassword);
        Assert.True(waiting.AddRemoteCandidate(peer.LocalCandidates[0]));
        await connected.Task.WaitAsync(timeout.Token);
        Assert.Equal(peer.LocalCandidates[0].EndPoint, waiting.SelectedRemote);
    }
}
