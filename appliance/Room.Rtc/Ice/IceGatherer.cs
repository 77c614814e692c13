using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Room.Rtc.Sdp;
using Room.Rtc.Stun;

namespace Room.Rtc.Ice;

/// <summary>
/// Candidate gathering beyond the host sockets: server-reflexive candidates from a STUN server (RFC 8489 Binding),
/// relayed candidates from TURN servers over UDP, TCP or TLS (RFC 8656), and trickling them out as they appear
/// (RFC 8838). A relay, once allocated, is handed to the agent (<c>register</c>) to be paired like any local socket.
/// </summary>
internal sealed class IceGatherer(object gate, IceSockets sockets, IIceSocketReceiver receiver, Action<IceSocket> register,
    TimeProvider time, ILogger logger)
{
    private readonly List<IceCandidate> _reflexive = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource<IPEndPoint?>> _stunPending = new();
    private int _relays;

    /// <summary>Server-reflexive candidates that differ from their host's address (advertised). Under the agent's lock.</summary>
    public IReadOnlyList<IceCandidate> Reflexive => _reflexive;

    public TimeSpan TurnPermissionRefreshInterval { get; set; } = TimeSpan.FromMinutes(4);

    public TimeSpan TurnChannelRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Forgets the server-reflexive candidates of a host address that went away. Under the agent's lock.</summary>
    public void ForgetReflexiveOf(IPAddress address) => _reflexive.RemoveAll(c => address.Equals(c.RelatedAddress));

    /// <summary>
    /// A Binding success response to one of our STUN server requests: completes it and returns true (also when its
    /// FINGERPRINT is wrong: then it is dropped). False for anything else (connectivity checks).
    /// </summary>
    public bool TryCompleteBinding(in StunMessage m)
    {
        if (m.Class != StunClass.SuccessResponse || !_stunPending.TryGetValue(Convert.ToHexString(m.TransactionId), out var pending)) return false;
        // Answer from a STUN server (server-reflexive gathering); FINGERPRINT is optional there.
        if (m.Has(StunAttributeType.Fingerprint) && !m.VerifyFingerprint()) return true;
        m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped);
        pending.TrySetResult(mapped);
        return true;
    }

    public async Task<IReadOnlyList<IceCandidate>> GatherServerReflexiveAsync(IPEndPoint stunServer, CancellationToken cancellationToken)
    {
        var learned = new List<IceCandidate>();
        List<IceSocket> hosts;
        lock (gate) hosts = sockets.Hosts.Where(s => s.Candidate.Address.AddressFamily == stunServer.AddressFamily).ToList();
        var server = stunServer.Serialize();
        foreach (var host in hosts)
        {
            var transaction = RandomNumberGenerator.GetBytes(12);
            var id = Convert.ToHexString(transaction);
            var tcs = new TaskCompletionSource<IPEndPoint?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _stunPending[id] = tcs;
            var request = new byte[28];
            int length;
            {
                var b = new StunBuilder(request, StunMethod.Binding, StunClass.Request, transaction);
                b.AddFingerprint();
                length = b.Length;
            }
            try
            {
                for (int attempt = 0; attempt < 5 && !tcs.Task.IsCompleted; attempt++)
                {
                    host.Socket.SendTo(request.AsSpan(0, length), SocketFlags.None, server);
                    await Task.WhenAny(tcs.Task, Task.Delay(TimeSpan.FromMilliseconds(200 << attempt), time, cancellationToken)).ConfigureAwait(false);
                }
            }
            finally
            {
                _stunPending.TryRemove(id, out _);
            }
            if (!tcs.Task.IsCompleted || await tcs.Task.ConfigureAwait(false) is not { } mapped)
            {
                logger.LogInformation("No server-reflexive candidate for {Host}: STUN server {Server} did not answer with a mapped address", host.Candidate.EndPoint, stunServer);
                continue;
            }
            var candidate = new IceCandidate("s" + host.Candidate.Foundation, 1, "udp",
                IceCandidate.ComputePriority(CandidateType.ServerReflexive, 65535, 1), mapped.Address, mapped.Port,
                CandidateType.ServerReflexive, host.Candidate.Address, host.Candidate.Port);
            learned.Add(candidate);
            lock (gate)
                if (!mapped.Equals(host.Candidate.EndPoint) && !_reflexive.Any(c => c.EndPoint.Equals(mapped))) _reflexive.Add(candidate);
        }
        return learned;
    }

    public ChannelReader<IceCandidate> Gather(IceGatherOptions options, CancellationToken cancellationToken)
    {
        // Bounded by what one gathering can produce: hosts, one srflx per host, one relay.
        var channel = Channel.CreateUnbounded<IceCandidate>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = true });
        List<IceCandidate> hosts;
        lock (gate) hosts = sockets.Hosts.Select(s => s.Candidate).ToList();
        foreach (var h in hosts) channel.Writer.TryWrite(h);
        _ = Task.Run(async () =>
        {
            var work = new List<Task>();
            if (options.StunServer is { } stun)
                work.Add(Task.Run(async () =>
                {
                    foreach (var c in await GatherServerReflexiveAsync(stun, cancellationToken).ConfigureAwait(false))
                    {
                        bool advertised;
                        lock (gate) advertised = _reflexive.Contains(c);
                        if (advertised) channel.Writer.TryWrite(c);
                    }
                }, cancellationToken));
            if (options.TurnServer is { } turn)
                work.Add(Task.Run(async () =>
                {
                    var local = options.TurnLocalAddress ?? hosts.FirstOrDefault(h => h.Address.AddressFamily == turn.AddressFamily)?.Address
                        ?? throw new InvalidOperationException("no local address to reach the TURN server from");
                    channel.Writer.TryWrite(await AddTurnRelayAsync(new TurnRelayServer(turn, TurnTransport.Udp, options.TurnUsername ?? "",
                        options.TurnPassword ?? "") { LocalAddress = local }, cancellationToken).ConfigureAwait(false));
                }, cancellationToken));
            foreach (var server in options.TurnServers)
                work.Add(Task.Run(async () => channel.Writer.TryWrite(await AddTurnRelayAsync(server, cancellationToken).ConfigureAwait(false)), cancellationToken));
            Exception? error = null;
            foreach (var t in work)
            {
                try
                {
                    await t.ConfigureAwait(false);
                }
#pragma warning disable CA1031 // reported to the reader through the channel's completion, not swallowed
                catch (Exception e)
#pragma warning restore CA1031
                {
                    logger.LogDebug("ICE gathering ends with an error: {Error}", e.Message);
                    error ??= e;
                }
            }
            channel.Writer.TryComplete(error);
        }, CancellationToken.None);
        return channel.Reader;
    }

    public async Task<IceCandidate> AddTurnRelayAsync(TurnRelayServer server, CancellationToken cancellationToken)
    {
        int index = Interlocked.Increment(ref _relays);
        var family = server.EndPoint.AddressFamily;
        TurnClient turn;
        Socket socket;
        if (server.Transport == TurnTransport.Udp)
        {
            socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(server.LocalAddress ?? (family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any), 0));
            turn = new TurnClient(socket, server.EndPoint, server.Username, server.Password) { Time = time };
        }
        else
        {
            socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Stream? stream = null;
            try
            {
                if (server.LocalAddress is { } local) socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(server.EndPoint, cancellationToken).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: false);
                if (server.Transport == TurnTransport.Tls)
                {
                    var tls = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: false);
                    stream = tls;
                    await tls.AuthenticateAsClientAsync(TurnTls.ClientOptions(server), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
            {
                stream?.Dispose();
                socket.Dispose();
                logger.LogWarning("No relayed candidate from TURN server {Server}: {Error}", server, e.Message);
                throw new RtcFormatException(e is System.Security.Authentication.AuthenticationException ? RtcError.AuthenticationFailed : RtcError.Unsupported,
                    $"TURN server {server}: {(e is System.Security.Authentication.AuthenticationException ? "TLS refused: " : "not reachable: ")}{e.Message}");
            }
            catch
            {
                stream?.Dispose();
                socket.Dispose();
                throw;
            }

            turn = new TurnClient(socket, stream, server.Transport, server.EndPoint, server.Username, server.Password) { Time = time };
        }

        turn.PermissionRefreshInterval = TurnPermissionRefreshInterval;
        turn.ChannelRefreshInterval = TurnChannelRefreshInterval;
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        var placeholder = new IceCandidate("r", 1, "udp", 0, bound.Address, bound.Port, CandidateType.Relay);
        var ls = new IceSocket(receiver, socket, placeholder) { Turn = turn, Relay = server };
        ls.Start();
        try
        {
            var (relayed, mapped) = await turn.AllocateAsync(cancellationToken).ConfigureAwait(false);
            // RFC 8445 5.1.2.1: prefer relays reached over UDP, then TCP, then TLS (each costs more per packet).
            int preference = server.Transport switch { TurnTransport.Udp => 65535, TurnTransport.Tcp => 49151, _ => 32767 } - index;
            ls.Candidate = new IceCandidate((8 + index).ToString(CultureInfo.InvariantCulture), 1, "udp",
                IceCandidate.ComputePriority(CandidateType.Relay, preference, 1),
                relayed.Address, relayed.Port, CandidateType.Relay, mapped.Address, mapped.Port);
        }
        catch (Exception e)
        {
            logger.LogWarning("No relayed candidate from TURN server {Server}: {Error}", server, e.Message);
            ls.Dispose();
            throw;
        }
        register(ls);
        logger.LogInformation("Relayed candidate {Candidate} from TURN server {Server}", ls.Candidate.EndPoint, server);
        return ls.Candidate;
    }
}
