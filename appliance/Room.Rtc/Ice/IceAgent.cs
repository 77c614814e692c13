using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Rtc.Sdp;
using Room.Rtc.Stun;

namespace Room.Rtc.Ice;

public enum IceState { New, Checking, Connected, Disconnected, Failed, Closed }

/// <summary>What <see cref="IceAgent.Gather"/> collects beyond the host candidates.</summary>
public sealed record IceGatherOptions
{
    /// <summary>A STUN server for server-reflexive candidates (RFC 8489 Binding).</summary>
    public IPEndPoint? StunServer { get; init; }
    /// <summary>A TURN server (RFC 8656, UDP, long-term credentials) for a relayed candidate.</summary>
    public IPEndPoint? TurnServer { get; init; }
    public string? TurnUsername { get; init; }
    public string? TurnPassword { get; init; }
    /// <summary>The local address to reach the TURN server from (default: the first host address of its family).</summary>
    public IPAddress? TurnLocalAddress { get; init; }
    /// <summary>More TURN servers (UDP, TCP or TLS), one relayed candidate from each, gathered concurrently.</summary>
    public IReadOnlyList<TurnRelayServer> TurnServers { get; init; } = [];
}

/// <summary>Data handed up from the ICE transport: a datagram that is not STUN, from the selected (or a validated) remote.</summary>
public delegate void IceDataHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// A full ICE agent (RFC 8445) for one component (rtcp-mux, BUNDLE), over UDP host candidates on the given local
/// addresses: connectivity checks with short-term credentials, regular nomination (the controlling side nominates
/// one pair, the first that works, with a single USE-CANDIDATE check, so both sides select the same pair: nominating
/// every check let the two sides settle on different pairs when several worked), triggered checks and peer-reflexive candidates, trickled remote candidates, consent freshness
/// (RFC 7675) and ICE restart. Receiving allocates nothing per datagram.
/// </summary>
public sealed class IceAgent : IDisposable
{
    /// <summary>Remote candidates beyond this are ignored (a hostile peer cannot make us check without bound).</summary>
    public const int MaxRemoteCandidates = 64;
    private const int CheckIntervalMs = 50;
    /// <summary>Consent freshness (RFC 7675): a check on the selected pair about this often (randomized 0.8-1.2x).</summary>
    internal TimeSpan ConsentInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Without an answer for this long, consent has expired: the agent fails and stops sending.</summary>
    internal TimeSpan ConsentTimeout { get; set; } = TimeSpan.FromSeconds(30);
    private long _nextConsentDelayMs = 4000;
    /// <summary>Consent checks sent on the selected pair since the last answer.</summary>
    private int _consentUnanswered;
    /// <summary>Unanswered checks needed, beside the timeout, before consent expires.</summary>
    internal const int ConsentChecksBeforeExpiry = 3;
    private long _consentRefreshes;

    private readonly object _gate = new();
    private readonly List<LocalSocket> _sockets = [];
    private readonly List<CandidatePair> _pairs = [];
    private readonly List<IceCandidate> _remoteCandidates = [];
    private readonly ulong _tieBreaker = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private readonly Timer _timer;
    private CandidatePair? _selected;
    /// <summary>The pair the controlling side nominated (USE-CANDIDATE sent on it), until it is selected or fails.</summary>
    private CandidatePair? _nominated;
    private long _lastConsentMs;
    private long _lastConsentSentMs;
    private bool _disposed;
    private readonly List<IPAddress> _unusableAddresses = [];

    /// <summary>Local addresses that could not be bound when the agent was made (gone, or IPv6 still tentative).</summary>
    public IReadOnlyList<IPAddress> UnusableAddresses => _unusableAddresses;

    private readonly ILogger _logger;

    public IceAgent(IEnumerable<IPAddress> localAddresses, bool controlling, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(localAddresses);
        _logger = logger ?? NullLogger.Instance;
        Controlling = controlling;
        NewCredentials();
        int preference = 65535;
        SocketException? unusable = null;
        foreach (var address in localAddresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(address, 0));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                // An address that went away, or an IPv6 address still tentative (duplicate address detection, the
                // first second or two of an interface): no candidate from it, the others still work.
                socket.Dispose();
                _unusableAddresses.Add(address);
                unusable = e;
                continue;
            }

            var local = (IPEndPoint)socket.LocalEndPoint!;
            var candidate = new IceCandidate((_sockets.Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, "udp",
                IceCandidate.ComputePriority(CandidateType.Host, preference--, 1), local.Address, local.Port, CandidateType.Host);
            var ls = new LocalSocket(this, socket, candidate);
            _sockets.Add(ls);
            ls.Start();
        }
        if (_sockets.Count == 0 && unusable is not null)
        {
            throw unusable; // none of the given addresses can be used: joining fails with the reason
        }

        // No host address is allowed: a relay-only agent gathers only through AddTurnRelayAsync.
        _timer = new Timer(_ => Tick(), null, CheckIntervalMs, CheckIntervalMs);
    }

    public bool Controlling { get; private set; }
    public string LocalUfrag { get; private set; } = "";
    public string LocalPassword { get; private set; } = "";
    public string? RemoteUfrag { get; private set; }
    public string? RemotePassword { get; private set; }
    public IceState State { get; private set; } = IceState.New;
    public IReadOnlyList<IceCandidate> LocalCandidates
    {
        get
        {
            lock (_gate) return _sockets.Select(s => s.Candidate).Concat(_reflexive).ToList();
        }
    }

    private readonly List<IceCandidate> _reflexive = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<IPEndPoint?>> _stunPending = new();

    /// <summary>
    /// Asks a STUN server (RFC 8489 Binding) for the address each host socket is seen from; mapped addresses that
    /// differ from the host address become server-reflexive candidates (sent from the host socket, its base).
    /// Returns every mapped candidate learned.
    /// </summary>
    public async Task<IReadOnlyList<IceCandidate>> GatherServerReflexiveAsync(IPEndPoint stunServer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stunServer);
        var learned = new List<IceCandidate>();
        List<LocalSocket> hosts;
        lock (_gate) hosts = _sockets.Where(s => s.Turn is null && s.Candidate.Address.AddressFamily == stunServer.AddressFamily).ToList();
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
                    await Task.WhenAny(tcs.Task, Task.Delay(200 << attempt, cancellationToken)).ConfigureAwait(false);
                }
            }
            finally
            {
                _stunPending.TryRemove(id, out _);
            }
            if (!tcs.Task.IsCompleted || await tcs.Task.ConfigureAwait(false) is not { } mapped) continue;
            var candidate = new IceCandidate("s" + host.Candidate.Foundation, 1, "udp",
                IceCandidate.ComputePriority(CandidateType.ServerReflexive, 65535, 1), mapped.Address, mapped.Port,
                CandidateType.ServerReflexive, host.Candidate.Address, host.Candidate.Port);
            learned.Add(candidate);
            lock (_gate)
                if (!mapped.Equals(host.Candidate.EndPoint) && !_reflexive.Any(c => c.EndPoint.Equals(mapped))) _reflexive.Add(candidate);
        }
        return learned;
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
        // Bounded by what one gathering can produce: hosts, one srflx per host, one relay.
        var channel = Channel.CreateUnbounded<IceCandidate>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = true });
        List<IceCandidate> hosts;
        lock (_gate) hosts = _sockets.Where(s => s.Turn is null).Select(s => s.Candidate).ToList();
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
                        lock (_gate) advertised = _reflexive.Contains(c);
                        if (advertised) channel.Writer.TryWrite(c);
                    }
                }, cancellationToken));
            if (options.TurnServer is { } turn)
                work.Add(Task.Run(async () =>
                {
                    var local = options.TurnLocalAddress ?? hosts.FirstOrDefault(h => h.Address.AddressFamily == turn.AddressFamily)?.Address
                        ?? throw new InvalidOperationException("no local address to reach the TURN server from");
                    channel.Writer.TryWrite(await AddTurnRelayAsync(local, turn, options.TurnUsername ?? "", options.TurnPassword ?? "",
                        cancellationToken).ConfigureAwait(false));
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
                    error ??= e;
                }
            }
            channel.Writer.TryComplete(error);
        }, CancellationToken.None);
        return channel.Reader;
    }

    /// <summary>The remote endpoint of the selected pair, once connected.</summary>
    public IPEndPoint? SelectedRemote => _selected?.Remote;

    /// <summary>The local candidate of the selected pair, once connected.</summary>
    public IceCandidate? SelectedLocal => _selected?.Local.Candidate;

    public event Action<IceState>? StateChanged;

    /// <summary>Non-STUN datagrams (DTLS, SRTP, SRTCP). Called on the receive thread; copy what you keep.</summary>
    public IceDataHandler? DataReceived { get; set; }

    // "ufrag:" and the password as bytes, so refusing a request that is not for us allocates nothing.
    private byte[] _localUsernamePrefix = [];
    private byte[] _localKey = [];

    private void NewCredentials()
    {
        LocalUfrag = Token(8);
        LocalPassword = Token(24);
        _localUsernamePrefix = Encoding.UTF8.GetBytes(LocalUfrag + ":");
        _localKey = Encoding.UTF8.GetBytes(LocalPassword);
    }

    private static string Token(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var bytes = RandomNumberGenerator.GetBytes(length);
        return string.Create(length, bytes, (span, b) => { for (int i = 0; i < span.Length; i++) span[i] = alphabet[b[i] & 63]; });
    }

    public void SetRemoteCredentials(string ufrag, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(ufrag);
        ArgumentException.ThrowIfNullOrEmpty(password);
        lock (_gate)
        {
            if (RemoteUfrag is not null && RemoteUfrag != ufrag)
            {
                // The peer restarted ICE: forget pairs and start over.
                _pairs.Clear();
                _remoteCandidates.Clear();
                _selected = null;
                _nominated = null;
            }
            RemoteUfrag = ufrag;
            RemotePassword = password;
        }
    }

    /// <summary>Adds a (trickled) remote candidate. Returns false if it was not usable (wrong family, TCP, too many).</summary>
    public bool AddRemoteCandidate(IceCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.Transport != "udp" || candidate.Component != 1) return false;
        lock (_gate)
        {
            if (_remoteCandidates.Count >= MaxRemoteCandidates) return false;
            if (_remoteCandidates.Any(c => c.EndPoint.Equals(candidate.EndPoint))) return false;
            _remoteCandidates.Add(candidate);
            bool added = false;
            foreach (var s in _sockets)
            {
                if (s.Candidate.Address.AddressFamily != candidate.Address.AddressFamily) continue;
                s.Turn?.Permit(candidate.Address);
                _pairs.Add(new CandidatePair(s, candidate.EndPoint, candidate.Priority));
                added = true;
            }
            SortPairs();
            // A new candidate revives an agent whose earlier pairs all failed (never one whose consent expired).
            if (added && (State == IceState.New || (State == IceState.Failed && _selected is null))) SetState(IceState.Checking);
            return added;
        }
    }

    private int _nextFoundation = 100;

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
            var existing = _sockets.FirstOrDefault(s => s.Turn is null && s.Candidate.Address.Equals(address));
            if (existing is not null) return existing.Candidate;
            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(address, 0));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            var local = (IPEndPoint)socket.LocalEndPoint!;
            int preference = 65535 - _sockets.Count;
            var candidate = new IceCandidate((++_nextFoundation).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, "udp",
                IceCandidate.ComputePriority(CandidateType.Host, preference, 1), local.Address, local.Port, CandidateType.Host);
            var ls = new LocalSocket(this, socket, candidate);
            _sockets.Add(ls);
            ls.Start();
            foreach (var c in _remoteCandidates)
                if (c.Address.AddressFamily == address.AddressFamily) _pairs.Add(new CandidatePair(ls, c.EndPoint, c.Priority));
            SortPairs();
            return candidate;
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
        List<LocalSocket> gone;
        lock (_gate)
        {
            gone = _sockets.Where(s => s.Turn is null && s.Candidate.Address.Equals(address)).ToList();
            if (gone.Count == 0) return false;
            foreach (var ls in gone)
            {
                _sockets.Remove(ls);
                _pairs.RemoveAll(p => p.Local == ls);
                if (_selected?.Local == ls) _selected = null;
                if (_nominated?.Local == ls) _nominated = null;
            }
            _reflexive.RemoveAll(c => address.Equals(c.RelatedAddress));
            if (_selected is null && State is IceState.Connected or IceState.Disconnected) SetState(IceState.Checking);
        }
        foreach (var ls in gone) ls.Dispose();
        return true;
    }

    private bool _remoteTrickling, _remoteEnded;

    /// <summary>
    /// The peer trickles its candidates (RFC 8838): until <see cref="SetRemoteEndOfCandidates"/>, pairs that all
    /// failed leave the agent checking, waiting for more candidates, instead of failing it.
    /// </summary>
    public void ExpectTrickledRemoteCandidates()
    {
        lock (_gate)
        {
            _remoteTrickling = true;
            _remoteEnded = false;
        }
    }

    /// <summary>The peer's end-of-candidates (a=end-of-candidates, or Janus's trickle "completed").</summary>
    public void SetRemoteEndOfCandidates()
    {
        lock (_gate) _remoteEnded = true;
    }

    /// <summary>Pairs whose checks ran out (diagnostics, tests).</summary>
    internal int FailedPairCount
    {
        get
        {
            lock (_gate) return _pairs.Count(p => p.Failed);
        }
    }

    /// <summary>ICE restart (RFC 8445 9): new local credentials; the caller signals them in a new offer.</summary>
    public void Restart()
    {
        lock (_gate)
        {
            NewCredentials();
            _pairs.Clear();
            _nominated = null;
            _remoteCandidates.Clear();
            _remoteEnded = false;
            RemoteUfrag = null;
            RemotePassword = null;
            // Keep sending on the old selected pair until a new one is chosen.
            SetState(IceState.Checking);
        }
    }

    /// <summary>Candidate pairs held (bounded: <see cref="MaxRemoteCandidates"/> per local socket).</summary>
    internal int PairCount
    {
        get
        {
            lock (_gate) return _pairs.Count;
        }
    }

    /// <summary>Consent checks on the selected pair that were answered (RFC 7675).</summary>
    public long ConsentRefreshes => Interlocked.Read(ref _consentRefreshes);

    /// <summary>
    /// Sends a datagram on the selected pair; false if there is none yet, or if the peer's consent has expired
    /// (RFC 7675 5.1: no more media to a peer that stopped answering).
    /// </summary>
    public bool Send(ReadOnlySpan<byte> datagram)
    {
        var selected = _selected;
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

    private void SortPairs() =>
        _pairs.Sort((a, b) => PairPriority(b).CompareTo(PairPriority(a)));

    private ulong PairPriority(CandidatePair p)
    {
        ulong g = Controlling ? p.Local.Candidate.Priority : p.RemotePriority;
        ulong d = Controlling ? p.RemotePriority : p.Local.Candidate.Priority;
        return (Math.Min(g, d) << 32) + 2 * Math.Max(g, d) + (g > d ? 1UL : 0UL);
    }

    private void SetState(IceState state)
    {
        if (State == state) return;
        if (state is IceState.Failed or IceState.Disconnected)
            _logger.LogWarning("ICE {State} (was {Previous}): selected {Selected}, {Unanswered} consent checks unanswered, last answer {Silent} ms ago; " +
                "{Checks} checks sent, {Answered} requests answered, {Accepted} responses accepted",
                state, State, _selected?.Remote.ToString() ?? "none", _consentUnanswered, _selected is null ? -1 : Environment.TickCount64 - _lastConsentMs,
                _checksSent, _requestsAnswered, _responsesAccepted);
        else
            _logger.LogDebug("ICE {State} (was {Previous})", state, State);
        State = state;
        var handler = StateChanged;
        if (handler is not null) ThreadPool.QueueUserWorkItem(_ => handler(state));
    }

    private void Tick()
    {
        lock (_gate)
        {
            if (_disposed || RemotePassword is null) return;
            long now = Environment.TickCount64;
            if (_selected is null || State == IceState.Checking)
            {
                // Pace: one new or retransmitted check per tick, highest priority pair first.
                foreach (var p in _pairs)
                {
                    if (p.Succeeded || p.Failed) continue;
                    if (now - p.LastSentMs < p.RetransmitMs) continue;
                    if (p.Attempts >= 12) { p.Failed = true; continue; }
                    SendCheck(p, nominate: Controlling && p == _nominated);
                    p.LastSentMs = now;
                    p.Attempts++;
                    p.RetransmitMs = Math.Min(p.RetransmitMs * 2, 1600);
                    break;
                }
                if (Controlling) NominateOrRetransmit(now); // also after a restart, while the old pair still carries media
                // With a trickling peer, pairs failing is not ICE failing until its end-of-candidates (RFC 8838 8).
                if (_pairs.Count > 0 && _pairs.All(p => p.Failed) && _selected is null && (!_remoteTrickling || _remoteEnded))
                    SetState(IceState.Failed);
            }
            if (_selected is not null && State is IceState.Connected or IceState.Disconnected)
            {
                if (now - _lastConsentSentMs >= _nextConsentDelayMs)
                {
                    SendCheck(_selected, nominate: false);
                    if (_selected.Failed)
                    {
                        LoseSelected("sending the consent check failed");
                        return;
                    }
                    _lastConsentSentMs = now;
                    _consentUnanswered++;
                    _nextConsentDelayMs = (long)(ConsentInterval.TotalMilliseconds * (0.8 + 0.4 * Random.Shared.NextDouble()));
                }
                // Silence counts only while our checks went out unanswered: a process starved of CPU (no ticks, so no
                // checks) must not declare the peer gone the moment it runs again, before its next check is answered.
                long silent = now - _lastConsentMs;
                if (silent > ConsentTimeout.TotalMilliseconds && _consentUnanswered >= ConsentChecksBeforeExpiry) SetState(IceState.Failed);
                else if (silent > 3 * ConsentInterval.TotalMilliseconds && _consentUnanswered >= 2) SetState(IceState.Disconnected);
            }
        }
    }

    private const int MaxNominationAttempts = 8;

    /// <summary>
    /// Controlling side: nominates the best pair that works (highest priority first) with a USE-CANDIDATE check, or
    /// retransmits that check; a nomination that is never answered fails its pair and the next one is nominated.
    /// </summary>
    private void NominateOrRetransmit(long now)
    {
        if (_nominated is { } n && (n.Failed || !_pairs.Contains(n))) _nominated = null;
        if (_nominated is null)
        {
            var best = _pairs.FirstOrDefault(p => p.Succeeded && !p.Failed);
            if (best is null) return;
            _nominated = best;
            best.NominationAttempts = 0;
            best.LastSentMs = 0;
            best.RetransmitMs = 100;
            _logger.LogDebug("ICE nominating {Local} -> {Remote}", best.Local.Candidate.EndPoint, best.Remote);
        }
        var pair = _nominated;
        if (now - pair.LastSentMs < pair.RetransmitMs) return;
        if (pair.NominationAttempts >= MaxNominationAttempts)
        {
            pair.Failed = true;
            _nominated = null;
            return;
        }
        SendCheck(pair, nominate: true);
        pair.LastSentMs = now;
        pair.NominationAttempts++;
        pair.RetransmitMs = Math.Min(pair.RetransmitMs * 2, 1600);
    }

    /// <summary>The selected pair cannot send any more (its local address went away): choose again.</summary>
    private void LoseSelected(string why)
    {
        var lost = _selected;
        if (lost is null) return;
        lost.Failed = true;
        _selected = null;
        if (_nominated == lost) _nominated = null;
        _logger.LogWarning("ICE lost the selected pair {Local} -> {Remote}: {Why}", lost.Local.Candidate.EndPoint, lost.Remote, why);
        SetState(IceState.Checking);
    }

    /// <summary>Connectivity checks sent, requests answered, responses accepted (diagnostics).</summary>
    public (long ChecksSent, long RequestsAnswered, long ResponsesAccepted) Counters => (_checksSent, _requestsAnswered, _responsesAccepted);
    private long _checksSent, _requestsAnswered, _responsesAccepted;

    private void SendCheck(CandidatePair pair, bool nominate)
    {
        _checksSent++;
        Span<byte> buffer = stackalloc byte[256];
        RandomNumberGenerator.Fill(pair.TransactionId);
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.Request, pair.TransactionId);
        b.Add(StunAttributeType.Username, Encoding.UTF8.GetBytes(RemoteUfrag + ":" + LocalUfrag));
        b.AddUInt32(StunAttributeType.Priority, IceCandidate.ComputePriority(CandidateType.PeerReflexive, 65535, 1));
        b.AddUInt64(Controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, _tieBreaker);
        if (nominate) b.Add(StunAttributeType.UseCandidate, default);
        b.AddIntegrity(Encoding.UTF8.GetBytes(RemotePassword!));
        b.AddFingerprint();
        pair.Nominating = nominate;
        pair.SentControlling = Controlling;
        try
        {
            pair.Local.SendTo(b.Written, pair.RemoteAddress, pair.Remote);
        }
        catch (SocketException)
        {
            pair.Failed = true;
        }
    }

    private bool IsValidated(LocalSocket local, SocketAddress from)
    {
        lock (_gate)
        {
            foreach (var p in _pairs)
                if (p.Local == local && (p.Succeeded || p.PeerChecked) && p.RemoteAddress.Equals(from)) return true;
            return false;
        }
    }

    private void OnStun(LocalSocket local, ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        if (StunMessage.TryParse(datagram, out var m) != RtcError.None) return;
        if (m.Method != StunMethod.Binding) return;
        if (m.Class == StunClass.SuccessResponse && _stunPending.TryGetValue(Convert.ToHexString(m.TransactionId), out var pending))
        {
            // Answer from a STUN server (server-reflexive gathering); FINGERPRINT is optional there.
            if (m.Has(StunAttributeType.Fingerprint) && !m.VerifyFingerprint()) return;
            m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped);
            pending.TrySetResult(mapped);
            return;
        }
        if (!m.VerifyFingerprint()) return; // ICE checks always carry FINGERPRINT (RFC 8445 7.1)
        lock (_gate)
        {
            if (_disposed) return;
            if (m.Class == StunClass.Request) OnRequest(local, m, from);
            else if (m.Class is StunClass.SuccessResponse or StunClass.ErrorResponse) OnResponse(m, from);
        }
    }

    private void OnRequest(LocalSocket local, StunMessage m, SocketAddress from)
    {
        if (!m.TryGetAttribute(StunAttributeType.Username, out var user)) return;
        if (!user.StartsWith(_localUsernamePrefix)) return;
        if (!m.VerifyIntegrity(_localKey)) return;
        var remote = (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(from);
        Span<byte> buffer = stackalloc byte[256];

        // Role conflict (RFC 8445 7.3.1.1): both sides claim the same role; the larger tie-breaker keeps it. Whoever
        // keeps its role answers 487 and the other switches.
        bool theyControl = m.TryGetUInt64(StunAttributeType.IceControlling, out ulong theirs);
        if (!theyControl && !m.TryGetUInt64(StunAttributeType.IceControlled, out theirs)) theirs = 0;
        if ((Controlling && theyControl) || (!Controlling && m.Has(StunAttributeType.IceControlled)))
        {
            bool keep = Controlling ? _tieBreaker >= theirs : _tieBreaker < theirs;
            if (keep)
            {
                var e = new StunBuilder(buffer, StunMethod.Binding, StunClass.ErrorResponse, m.TransactionId);
                e.AddErrorCode(487, "Role Conflict");
                e.AddIntegrity(_localKey);
                e.AddFingerprint();
                local.SendTo(e.Written, from, remote);
                return;
            }
            SwitchRole(!Controlling, "the peer's check claims the same role with the larger tie-breaker");
        }

        _requestsAnswered++;
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, m.TransactionId);
        b.AddXorAddress(StunAttributeType.XorMappedAddress, remote);
        b.AddIntegrity(_localKey);
        b.AddFingerprint();
        try
        {
            local.SendTo(b.Written, from, remote);
        }
        catch (SocketException)
        {
            return;
        }

        var pair = _pairs.FirstOrDefault(p => p.Local == local && p.RemoteAddress.Equals(from));
        if (pair is null)
        {
            if (_pairs.Count >= MaxRemoteCandidates * Math.Max(1, _sockets.Count)) return;
            // Peer-reflexive remote candidate (RFC 8445 7.3.1.3).
            m.TryGetUInt32(StunAttributeType.Priority, out uint prio);
            pair = new CandidatePair(local, remote, prio);
            _pairs.Add(pair);
            SortPairs();
            if (State == IceState.New) SetState(IceState.Checking);
        }
        pair.PeerChecked = true;
        // Triggered check (RFC 8445 7.3.1.4), unless one is already in flight for this pair: answering every
        // request with a new check would make the two agents ping-pong and never match a response.
        if (!pair.Succeeded && RemotePassword is not null && Environment.TickCount64 - pair.LastSentMs >= 100)
        {
            SendCheck(pair, nominate: Controlling && pair == _nominated);
            pair.LastSentMs = Environment.TickCount64;
            pair.Attempts++;
        }
        if (!Controlling && m.Has(StunAttributeType.UseCandidate))
        {
            pair.NominatedByPeer = true;
            if (pair.Succeeded || _selected is null) Select(pair);
        }
    }

    private void OnResponse(StunMessage m, SocketAddress from)
    {
        CandidatePair? pair = null;
        foreach (var p in _pairs)
        {
            if (m.TransactionId.SequenceEqual(p.TransactionId)) { pair = p; break; }
        }
        if (pair is null || RemotePassword is null) return;
        if (!m.VerifyIntegrity(Encoding.UTF8.GetBytes(RemotePassword))) return;
        if (!pair.RemoteAddress.Equals(from)) return; // non-symmetric: not valid (RFC 8445 7.2.5.2.1)
        if (m.Class == StunClass.ErrorResponse)
        {
            if (m.ErrorCode == 487)
            {
                // Switch away from the role this check was sent in (RFC 8445 7.2.5.1), not from the current one: the
                // role may have changed since (a request from the peer), and toggling would flip it back.
                if (Controlling == pair.SentControlling) SwitchRole(!pair.SentControlling, "the peer answered 487 Role Conflict");
                pair.LastSentMs = 0;
                if (pair == _selected) _lastConsentSentMs = 0; // check consent again now, in the new role
            }
            else
            {
                pair.Failed = true;
            }
            return;
        }
        pair.Succeeded = true;
        _responsesAccepted++;
        if (pair == _selected)
        {
            _lastConsentMs = Environment.TickCount64; // consent refreshed
            _consentUnanswered = 0;
            _consentRefreshes++;
            if (State == IceState.Disconnected) SetState(IceState.Connected);
            return;
        }
        if (Controlling)
        {
            if (pair.Nominating && pair == _nominated) Select(pair);
            else if ((_selected is null || State == IceState.Checking) && _nominated is null) NominateOrRetransmit(Environment.TickCount64); // the first pair that works
            return;
        }
        if (pair.NominatedByPeer || _selected is null) Select(pair);
    }

    private void SwitchRole(bool controlling, string why)
    {
        Controlling = controlling;
        SortPairs();
        _logger.LogInformation("ICE role now {Role}: {Why}", controlling ? "controlling" : "controlled", why);
    }

    private void Select(CandidatePair pair)
    {
        if (_selected != pair)
            _logger.LogInformation("ICE selected {Local} -> {Remote} ({Role})", pair.Local.Candidate.EndPoint, pair.Remote, Controlling ? "controlling" : "controlled");
        _selected = pair;
        _consentUnanswered = 0;
        _lastConsentMs = Environment.TickCount64;
        _lastConsentSentMs = _lastConsentMs;
        _nextConsentDelayMs = (long)ConsentInterval.TotalMilliseconds;
        SetState(IceState.Connected);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _timer.Dispose();
        foreach (var s in _sockets) s.Dispose();
        SetState(IceState.Closed);
    }

    private sealed class CandidatePair(LocalSocket local, IPEndPoint remote, uint remotePriority)
    {
        public LocalSocket Local { get; } = local;
        public IPEndPoint Remote { get; } = remote;
        public SocketAddress RemoteAddress { get; } = remote.Serialize();
        public uint RemotePriority { get; } = remotePriority;
        public byte[] TransactionId { get; } = new byte[12];
        public long LastSentMs;
        public int RetransmitMs = 100;
        public int Attempts;
        public bool Succeeded, Failed, Nominating, NominatedByPeer, PeerChecked;
        public int NominationAttempts;
        /// <summary>The role the last check on this pair was sent in (a 487 answer means: switch away from it).</summary>
        public bool SentControlling;
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

    private int _relays;

    /// <summary>
    /// Gathers a relayed candidate from <paramref name="server"/>, reached over UDP, TCP or TLS (RFC 8656 3.1; the
    /// relayed address is UDP either way), and uses it like a local socket: checks and media to peers go out through
    /// the relay (Send indications, then ChannelData), what peers send comes back the same way. Over TLS the server's
    /// certificate must chain to <see cref="TurnRelayServer.TrustedRoots"/> (or the system store) and carry
    /// <see cref="TurnRelayServer.ServerName"/>.
    /// </summary>
    public async Task<IceCandidate> AddTurnRelayAsync(TurnRelayServer server, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        int index = Interlocked.Increment(ref _relays);
        var family = server.EndPoint.AddressFamily;
        TurnClient turn;
        Socket socket;
        if (server.Transport == TurnTransport.Udp)
        {
            socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(server.LocalAddress ?? (family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any), 0));
            turn = new TurnClient(socket, server.EndPoint, server.Username, server.Password);
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
                throw new RtcFormatException(e is System.Security.Authentication.AuthenticationException ? RtcError.AuthenticationFailed : RtcError.Unsupported,
                    $"TURN server {server}: {(e is System.Security.Authentication.AuthenticationException ? "TLS refused: " : "not reachable: ")}{e.Message}");
            }
            catch
            {
                stream?.Dispose();
                socket.Dispose();
                throw;
            }

            turn = new TurnClient(socket, stream, server.Transport, server.EndPoint, server.Username, server.Password);
        }

        turn.PermissionRefreshInterval = TurnPermissionRefreshInterval;
        turn.ChannelRefreshInterval = TurnChannelRefreshInterval;
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        var placeholder = new IceCandidate("r", 1, "udp", 0, bound.Address, bound.Port, CandidateType.Relay);
        var ls = new LocalSocket(this, socket, placeholder) { Turn = turn, Relay = server };
        ls.Start();
        try
        {
            var (relayed, mapped) = await turn.AllocateAsync(cancellationToken).ConfigureAwait(false);
            // RFC 8445 5.1.2.1: prefer relays reached over UDP, then TCP, then TLS (each costs more per packet).
            int preference = server.Transport switch { TurnTransport.Udp => 65535, TurnTransport.Tcp => 49151, _ => 32767 } - index;
            ls.Candidate = new IceCandidate((8 + index).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, "udp",
                IceCandidate.ComputePriority(CandidateType.Relay, preference, 1),
                relayed.Address, relayed.Port, CandidateType.Relay, mapped.Address, mapped.Port);
        }
        catch
        {
            ls.Dispose();
            throw;
        }
        lock (_gate)
        {
            _sockets.Add(ls);
            foreach (var c in _remoteCandidates)
            {
                if (c.Address.AddressFamily != ls.Candidate.Address.AddressFamily) continue;
                turn.Permit(c.Address);
                _pairs.Add(new CandidatePair(ls, c.EndPoint, c.Priority));
            }
            SortPairs();
        }
        _logger.LogInformation("Relayed candidate {Candidate} from TURN server {Server}", ls.Candidate.EndPoint, server);
        return ls.Candidate;
    }

    /// <summary>
    /// How the selected pair reaches the peer: null until connected; else the relay server it goes through (with its
    /// transport) or null relay for a direct path.
    /// </summary>
    public (CandidateType Type, TurnRelayServer? Relay)? SelectedPath => _selected is { } s ? (s.Local.Candidate.Type, s.Local.Relay) : null;

    /// <summary>How often relays gathered after this is set refresh their permissions (RFC 8656 9: they last 5 minutes).</summary>
    public TimeSpan TurnPermissionRefreshInterval { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>How often relays gathered after this is set refresh their channel bindings (RFC 8656 12: they last 10 minutes).</summary>
    public TimeSpan TurnChannelRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The TURN allocations this agent holds (diagnostics, tests).</summary>
    internal IReadOnlyList<TurnClient> TurnClients
    {
        get
        {
            lock (_gate) return _sockets.Where(s => s.Turn is not null).Select(s => s.Turn!).ToList();
        }
    }

    private sealed class LocalSocket(IceAgent owner, Socket socket, IceCandidate candidate) : IDisposable
    {
        public Socket Socket { get; } = socket;
        public IceCandidate Candidate { get; set; } = candidate;
        public TurnClient? Turn { get; init; }
        public TurnRelayServer? Relay { get; init; }
        private Thread? _thread;

        public void SendTo(ReadOnlySpan<byte> datagram, SocketAddress remote, IPEndPoint remoteEndPoint)
        {
            if (Turn is not null) Turn.SendIndication(datagram, remoteEndPoint);
            else Socket.SendTo(datagram, SocketFlags.None, remote);
        }

        public void Start()
        {
            _thread = new Thread(Run) { IsBackground = true, Name = "ice-" + Candidate.Port };
            _thread.Start();
        }

        private void Run()
        {
            var buffer = new byte[2048];
            var from = new SocketAddress(Socket.AddressFamily);
            while (true)
            {
                int n;
                if (Turn is { IsStream: true })
                {
                    // TCP or TLS to the TURN server: one framed message at a time, from the server by construction.
                    n = Turn.ReadFrame(buffer);
                    if (n < 0) return;
                    if (!Turn.TryUnwrap(buffer.AsSpan(0, n), out var inner, out var peer)) continue;
                    Deliver(buffer.AsSpan(inner.Start.Value, inner.End.Value - inner.Start.Value), peer!);
                    continue;
                }

                try
                {
                    n = Socket.ReceiveFrom(buffer, SocketFlags.None, from);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
                {
                    continue;
                }
                catch (SocketException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                var datagram = buffer.AsSpan(0, n);
                var source = from;
                if (Turn is not null)
                {
                    // From the TURN server: responses to our requests, or a Data indication carrying a peer's datagram.
                    if (!from.Equals(Turn.ServerAddress) || !Turn.TryUnwrap(datagram, out var inner, out var peer)) continue;
                    datagram = buffer.AsSpan(inner.Start.Value, inner.End.Value - inner.Start.Value);
                    source = peer!;
                }
                Deliver(datagram, source);
            }
        }

        private void Deliver(Span<byte> datagram, SocketAddress source)
        {
            if (StunMessage.LooksLikeStun(datagram))
            {
                owner.OnStun(this, datagram, source);
            }
            else
            {
                var selected = owner._selected;
                // Only accept data from the selected pair's remote, or (while the selection is settling) from a
                // remote that passed an authenticated check on this socket; anything else is dropped.
                if ((selected is not null && selected.Local == this && selected.RemoteAddress.Equals(source)) || owner.IsValidated(this, source))
                    owner.DataReceived?.Invoke(datagram);
            }
        }

        public void Dispose()
        {
            Turn?.Dispose(); // deallocates while the receive thread can still hear the answer
            Socket.Dispose();
            _thread?.Join(1000);
        }
    }
}
