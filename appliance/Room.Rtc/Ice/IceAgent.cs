using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Rtc.Sdp;
using Room.Rtc.Stun;

namespace Room.Rtc.Ice;

/// <summary>Data handed up from the ICE transport: a datagram that is not STUN, from the selected (or a validated) remote.</summary>
public delegate void IceDataHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// A full ICE agent (RFC 8445) for one component (rtcp-mux, BUNDLE), over UDP host candidates on the given local
/// addresses, server-reflexive and relayed candidates: connectivity checks with short-term credentials, regular
/// nomination, triggered checks and peer-reflexive candidates, trickled remote candidates, consent freshness (RFC 7675)
/// and ICE restart. Receiving allocates nothing per datagram.
/// <para>
/// The façade over its parts, one concept each: <see cref="IceSockets"/> (bound sockets and their receive loops),
/// <see cref="IceGatherer"/> (server-reflexive and relayed candidates), <see cref="IceCheckList"/> (pairs, pacing,
/// nomination, role conflicts), <see cref="ConsentFreshness"/> (RFC 7675 timers and counters) and
/// <see cref="IceStateMachine"/> (state changes, logged with why). They share the agent's lock; its timer ticks every
/// 50 ms on the given <see cref="TimeProvider"/>, which times everything (pacing, retransmissions, consent).
/// </para>
/// </summary>
public sealed class IceAgent : IDisposable, IIceSocketReceiver
{
    /// <summary>Remote candidates beyond this are ignored (a hostile peer cannot make us check without bound).</summary>
    public const int MaxRemoteCandidates = IceCheckList.MaxRemoteCandidates;
    /// <summary>How often the agent paces checks and looks at consent.</summary>
    internal static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(50);
    /// <summary>Unanswered checks needed, beside the timeout, before consent expires.</summary>
    internal const int ConsentChecksBeforeExpiry = ConsentFreshness.ChecksBeforeExpiry;

    private readonly object _gate = new();
    private readonly ILogger _logger;
    private readonly IceClock _clock;
    private readonly IceCredentials _credentials = new();
    private readonly IceStateMachine _state;
    private readonly ConsentFreshness _consent = new();
    private readonly IceSockets _sockets;
    private readonly IceGatherer _gatherer;
    private readonly IceCheckList _checks;
    private readonly ITimer _timer;
    private bool _disposed;

    /// <param name="localAddresses">Addresses to bind host candidates on (none: a relay-only agent).</param>
    /// <param name="controlling">The initial role (a role conflict may change it).</param>
    /// <param name="logger">Where the agent says what it does, and why it failed or dropped.</param>
    /// <param name="timeProvider">The clock for every timer and elapsed time (default <see cref="TimeProvider.System"/>).</param>
    public IceAgent(IEnumerable<IPAddress> localAddresses, bool controlling, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(localAddresses);
        _logger = logger ?? NullLogger.Instance;
        _clock = new IceClock(timeProvider ?? TimeProvider.System);
        _state = new IceStateMachine(_logger, Diagnostics);
        _sockets = new IceSockets(this);
        _checks = new IceCheckList(_credentials, _sockets, _state, _consent, _logger, controlling);
        _gatherer = new IceGatherer(_gate, _sockets, this, RegisterRelay, _clock.Provider, _logger);
        _sockets.BindHosts(localAddresses);
        _timer = _clock.Provider.CreateTimer(_ => Tick(), null, TickInterval, TickInterval);
    }

    /// <summary>The clock the agent runs on (shared with what watches it, e.g. <see cref="IceNetworkWatcher"/>).</summary>
    internal TimeProvider TimeProvider => _clock.Provider;

    /// <summary>Consent freshness (RFC 7675): a check on the selected pair about this often (randomized 0.8-1.2x).</summary>
    internal TimeSpan ConsentInterval { get => _consent.Interval; set => _consent.Interval = value; }

    /// <summary>Without an answer for this long, consent has expired: the agent fails and stops sending.</summary>
    internal TimeSpan ConsentTimeout { get => _consent.Timeout; set => _consent.Timeout = value; }

    /// <summary>Local addresses that could not be bound when the agent was made (gone, or IPv6 still tentative).</summary>
    public IReadOnlyList<IPAddress> UnusableAddresses => _sockets.Unusable;

    public bool Controlling => _checks.Controlling;
    public string LocalUfrag => _credentials.LocalUfrag;
    public string LocalPassword => _credentials.LocalPassword;
    public string? RemoteUfrag => _credentials.RemoteUfrag;
    public string? RemotePassword => _credentials.RemotePassword;
    public IceState State => _state.State;

    /// <summary>Why the agent last failed (all pairs failed, consent expired, ...); null until it does.</summary>
    public string? FailureReason => _state.FailureReason;

    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_gate) return _sockets.All.Select(s => s.Candidate).Concat(_gatherer.Reflexive).ToList();
        }
    }

    /// <summary>
    /// Asks a STUN server (RFC 8489 Binding) for the address each host socket is seen from; mapped addresses that
    /// differ from the host address become server-reflexive candidates (sent from the host socket, its base).
    /// Returns every mapped candidate learned.
    /// </summary>
    public Task<IReadOnlyList<IceCandidate>> GatherServerReflexiveAsync(IPEndPoint stunServer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stunServer);
        return _gatherer.GatherServerReflexiveAsync(stunServer, cancellationToken);
    }

    /// <summary>
    /// Trickle ICE (RFC 8838): gathers asynchronously and hands out every local candidate as it appears — host
    /// candidates at once, then server-reflexive (from <see cref="IceGatherOptions.StunServer"/>) and relayed (from
    /// <see cref="IceGatherOptions.TurnServer"/>) ones as their servers answer, concurrently. The channel completing is
    /// end-of-candidates; if a server failed, it completes with that error after delivering what was gathered.
    /// Send each candidate to the peer as it arrives (e.g. <see cref="Janus.JanusHandle.TrickleAllAsync"/>).
    /// </summary>
    public ChannelReader<IceCandidate> Gather(IceGatherOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _gatherer.Gather(options, cancellationToken);
    }

    /// <summary>The remote endpoint of the selected pair, once connected.</summary>
    public IPEndPoint? SelectedRemote => _checks.Selected?.Remote;

    /// <summary>The local candidate of the selected pair, once connected.</summary>
    public IceCandidate? SelectedLocal => _checks.Selected?.Local.Candidate;

    public event Action<IceState>? StateChanged
    {
        add => _state.Changed += value;
        remove => _state.Changed -= value;
    }

    /// <summary>Non-STUN datagrams (DTLS, SRTP, SRTCP). Called on the receive thread; copy what you keep.</summary>
    public IceDataHandler? DataReceived { get; set; }

    public void SetRemoteCredentials(string ufrag, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(ufrag);
        ArgumentException.ThrowIfNullOrEmpty(password);
        lock (_gate)
        {
            if (_credentials.RemoteUfrag is not null && _credentials.RemoteUfrag != ufrag)
            {
                // The peer restarted ICE: forget pairs and start over.
                _logger.LogInformation("ICE: the peer restarted (ufrag {Old} -> {New})", _credentials.RemoteUfrag, ufrag);
                _checks.ForgetRemote();
            }
            _credentials.RemoteUfrag = ufrag;
            _credentials.RemotePassword = password;
        }
    }

    /// <summary>Adds a (trickled) remote candidate. Returns false if it was not usable (wrong family, TCP, too many).</summary>
    public bool AddRemoteCandidate(IceCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        lock (_gate) return _checks.AddRemoteCandidate(candidate);
    }

    /// <summary>
    /// Binds a host candidate on a local address that appeared (network change, see <see cref="IceNetworkWatcher"/>);
    /// returns it (or the existing one). Pairs it with the known remote candidates.
    /// </summary>
    public IceCandidate AddHostAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_sockets.HostOn(address) is { } existing) return existing.Candidate;
            var socket = _sockets.BindHost(address);
            _checks.PairLocal(socket);
            return socket.Candidate;
        }
    }

    /// <summary>
    /// Drops the host candidate (and its server-reflexive one) on an address that went away, with its pairs; if it
    /// carried the selected pair, nothing is selected until checks on the remaining or new addresses succeed.
    /// Returns false if no host candidate used the address.
    /// </summary>
    public bool RemoveHostAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        List<IceSocket> gone;
        lock (_gate)
        {
            gone = _sockets.RemoveHosts(address);
            if (gone.Count == 0) return false;
            bool lostSelected = false;
            foreach (var ls in gone) lostSelected |= _checks.RemoveLocal(ls);
            _gatherer.ForgetReflexiveOf(address);
            if (_checks.Selected is null && State is IceState.Connected or IceState.Disconnected)
                _state.Set(IceState.Checking, lostSelected ? $"local address {address} of the selected pair went away" : $"local address {address} went away");
        }
        foreach (var ls in gone) ls.Dispose();
        return true;
    }

    /// <summary>
    /// The peer trickles its candidates (RFC 8838): until <see cref="SetRemoteEndOfCandidates"/>, pairs that all
    /// failed leave the agent checking, waiting for more candidates, instead of failing it.
    /// </summary>
    public void ExpectTrickledRemoteCandidates()
    {
        lock (_gate) _checks.ExpectTrickledRemoteCandidates();
    }

    /// <summary>The peer's end-of-candidates (a=end-of-candidates, or Janus's trickle "completed").</summary>
    public void SetRemoteEndOfCandidates()
    {
        lock (_gate) _checks.SetRemoteEndOfCandidates();
    }

    /// <summary>Pairs whose checks ran out (diagnostics, tests).</summary>
    internal int FailedPairCount
    {
        get
        {
            lock (_gate) return _checks.FailedPairCount;
        }
    }

    /// <summary>ICE restart (RFC 8445 9): new local credentials; the caller signals them in a new offer.</summary>
    public void Restart()
    {
        lock (_gate)
        {
            _credentials.Renew();
            _checks.Restart();
            _credentials.RemoteUfrag = null;
            _credentials.RemotePassword = null;
            // Keep sending on the old selected pair until a new one is chosen.
            _state.Set(IceState.Checking, "ICE restart");
        }
    }

    /// <summary>Candidate pairs held (bounded: <see cref="MaxRemoteCandidates"/> per local socket).</summary>
    internal int PairCount
    {
        get
        {
            lock (_gate) return _checks.PairCount;
        }
    }

    /// <summary>Consent checks on the selected pair that were answered (RFC 7675).</summary>
    public long ConsentRefreshes => _consent.Refreshes;

    /// <summary>
    /// Sends a datagram on the selected pair; false if there is none yet, or if the peer's consent has expired
    /// (RFC 7675 5.1: no more media to a peer that stopped answering).
    /// </summary>
    public bool Send(ReadOnlySpan<byte> datagram)
    {
        var selected = _checks.Selected;
        if (selected is null || State == IceState.Failed) return false;
        try
        {
            selected.Local.SendTo(datagram, selected.RemoteAddress, selected.Remote);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Connectivity checks sent, requests answered, responses accepted (diagnostics).</summary>
    public (long ChecksSent, long RequestsAnswered, long ResponsesAccepted) Counters => _checks.Counters;

    private string Diagnostics()
    {
        var selected = _checks.Selected;
        var (checks, answered, accepted) = _checks.Counters;
        return $"selected {selected?.Remote.ToString() ?? "none"}, " +
            (selected is null ? "" : _consent.Explain(_clock.NowMs) + "; ") +
            $"{checks} checks sent, {answered} requests answered, {accepted} responses accepted";
    }

    /// <summary>Every <see cref="TickInterval"/>: check pacing while checking, consent while connected.</summary>
    private void Tick()
    {
        lock (_gate)
        {
            if (_disposed || _credentials.RemotePassword is null) return;
            long now = _clock.NowMs;
            if (_checks.Selected is null || State == IceState.Checking) _checks.Tick(now);
            if (_checks.Selected is { } selected && State is IceState.Connected or IceState.Disconnected) KeepConsent(selected, now);
        }
    }

    /// <summary>Consent freshness on the selected pair (RFC 7675): a check when due; Disconnected, then Failed, while unanswered.</summary>
    private void KeepConsent(CandidatePair selected, long now)
    {
        if (_consent.CheckDue(now))
        {
            if (!_checks.SendConsentCheck(selected))
            {
                _checks.LoseSelected("sending the consent check failed (" + selected.FailureReason + ")");
                return;
            }
            _consent.OnCheckSent(now);
        }
        switch (_consent.Evaluate(now))
        {
            case ConsentVerdict.Expired:
                _state.Set(IceState.Failed, "consent expired: " + _consent.Explain(now));
                break;
            case ConsentVerdict.Fading when State != IceState.Disconnected:
                _state.Set(IceState.Disconnected, "consent fading: " + _consent.Explain(now));
                break;
        }
    }

    void IIceSocketReceiver.OnStun(IceSocket local, ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        if (StunMessage.TryParse(datagram, out var m) != RtcError.None) return;
        if (m.Method != StunMethod.Binding) return;
        if (_gatherer.TryCompleteBinding(in m)) return;
        if (!m.VerifyFingerprint()) return; // ICE checks always carry FINGERPRINT (RFC 8445 7.1)
        lock (_gate)
        {
            if (_disposed) return;
            if (m.Class == StunClass.Request) _checks.OnRequest(local, in m, from, _clock.NowMs);
            else if (m.Class is StunClass.SuccessResponse or StunClass.ErrorResponse) _checks.OnResponse(in m, from, _clock.NowMs);
        }
    }

    void IIceSocketReceiver.OnData(IceSocket local, ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        var selected = _checks.Selected;
        // Only accept data from the selected pair's remote, or (while the selection is settling) from a remote that
        // passed an authenticated check on this socket; anything else is dropped.
        if ((selected is not null && selected.Local == local && selected.RemoteAddress.Equals(from)) || IsValidated(local, from))
            DataReceived?.Invoke(datagram);
    }

    private bool IsValidated(IceSocket local, SocketAddress from)
    {
        lock (_gate) return _checks.IsValidated(local, from);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _timer.Dispose();
        _sockets.DisposeAll();
        _state.Set(IceState.Closed, "disposed");
    }

    /// <summary>
    /// Gathers a relayed candidate from a TURN server (RFC 8656, UDP, long-term credentials) and uses it like a
    /// local socket: checks and media to peers go out as Send indications, Data indications come back in.
    /// </summary>
    public Task<IceCandidate> AddTurnRelayAsync(IPAddress localAddress, IPEndPoint server, string username, string password,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(localAddress);
        ArgumentNullException.ThrowIfNull(server);
        return AddTurnRelayAsync(new TurnRelayServer(server, TurnTransport.Udp, username, password) { LocalAddress = localAddress }, cancellationToken);
    }

    /// <summary>
    /// Gathers a relayed candidate from <paramref name="server"/>, reached over UDP, TCP or TLS (RFC 8656 3.1; the
    /// relayed address is UDP either way), and uses it like a local socket: checks and media to peers go out through
    /// the relay (Send indications, then ChannelData), what peers send comes back the same way. Over TLS the server's
    /// certificate must chain to <see cref="TurnRelayServer.TrustedRoots"/> (or the system store) and carry
    /// <see cref="TurnRelayServer.ServerName"/>.
    /// </summary>
    public Task<IceCandidate> AddTurnRelayAsync(TurnRelayServer server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        return _gatherer.AddTurnRelayAsync(server, cancellationToken);
    }

    /// <summary>
    /// Allocates every TURN relay again from the current host addresses, then drops the old allocation (make before
    /// break: an old relay stays when its new one cannot be made). An allocation belongs to the 5-tuple it was made on
    /// (RFC 8656 2.2): once the box's address changed, the server no longer hears it on the old one. A relay made
    /// from an address that went away is made from a current address of the same family. Returns the new relay
    /// candidates, for the renegotiated offer.
    /// </summary>
    public async Task<IReadOnlyList<IceCandidate>> ReallocateRelaysAsync(CancellationToken cancellationToken)
    {
        List<IceSocket> old;
        List<IPAddress> hosts;
        lock (_gate)
        {
            old = _sockets.Relays.ToList();
            hosts = _sockets.Hosts.Select(h => h.Candidate.Address).ToList();
        }

        var made = new List<IceCandidate>();
        foreach (var relay in old)
        {
            var server = relay.Relay!;
            if (server.LocalAddress is { } from && !hosts.Contains(from))
            {
                server = server with { LocalAddress = hosts.FirstOrDefault(h => h.AddressFamily == server.EndPoint.AddressFamily) };
            }

            try
            {
                made.Add(await _gatherer.AddTurnRelayAsync(server, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is RtcFormatException or TimeoutException or System.Net.Sockets.SocketException or IOException)
            {
                _logger.LogWarning("TURN relay {Server} not allocated again after a network change, the old one stays: {Error}", server, e.Message);
                continue;
            }

            lock (_gate)
            {
                _sockets.RemoveRelay(relay);
                _checks.RemoveLocal(relay);
            }

            relay.Dispose();
        }

        return made;
    }

    /// <summary>An allocated relay joins the sockets and is paired with the known remote candidates.</summary>
    private void RegisterRelay(IceSocket relay)
    {
        lock (_gate)
        {
            _sockets.AddRelay(relay);
            _checks.PairLocal(relay);
        }
    }

    /// <summary>
    /// How the selected pair reaches the peer: null until connected; else the relay server it goes through (with its
    /// transport) or null relay for a direct path.
    /// </summary>
    public (CandidateType Type, TurnRelayServer? Relay)? SelectedPath => _checks.Selected is { } s ? (s.Local.Candidate.Type, s.Local.Relay) : null;

    /// <summary>How often relays gathered after this is set refresh their permissions (RFC 8656 9: they last 5 minutes).</summary>
    public TimeSpan TurnPermissionRefreshInterval
    {
        get => _gatherer.TurnPermissionRefreshInterval;
        set => _gatherer.TurnPermissionRefreshInterval = value;
    }

    /// <summary>How often relays gathered after this is set refresh their channel bindings (RFC 8656 12: they last 10 minutes).</summary>
    public TimeSpan TurnChannelRefreshInterval
    {
        get => _gatherer.TurnChannelRefreshInterval;
        set => _gatherer.TurnChannelRefreshInterval = value;
    }

    /// <summary>The TURN allocations this agent holds (diagnostics, tests).</summary>
    internal IReadOnlyList<TurnClient> TurnClients
    {
        get
        {
            lock (_gate) return _sockets.Relays.Select(s => s.Turn!).ToList();
        }
    }
}
