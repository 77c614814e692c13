using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Room.Rtc.Sdp;
using Room.Rtc.Stun;

namespace Room.Rtc.Ice;

/// <summary>
/// The check list (RFC 8445 6.1.2, 7): candidate pairs in priority order, paced connectivity checks with
/// retransmission, triggered checks and peer-reflexive candidates, regular nomination (the controlling side nominates
/// one pair, the first that works, with a single USE-CANDIDATE check, so both sides select the same pair: nominating
/// every check let the two sides settle on different pairs when several worked), role conflicts, and the selected pair
/// (whose answered checks refresh <see cref="ConsentFreshness"/>). Not thread-safe: the agent calls it under its lock.
/// </summary>
internal sealed class IceCheckList(IceCredentials credentials, IceSockets sockets, IceStateMachine state,
    ConsentFreshness consent, ILogger logger, bool controlling)
{
    /// <summary>Remote candidates beyond this are ignored (a hostile peer cannot make us check without bound).</summary>
    public const int MaxRemoteCandidates = 64;
    /// <summary>Checks on one pair before it fails (retransmitted at 100, 200, ... 1600 ms).</summary>
    private const int MaxAttempts = 12;
    private const int MaxNominationAttempts = 8;
    /// <summary>A triggered check goes out only if none went out on the pair for this long (no ping-pong).</summary>
    private const int TriggeredCheckSpacingMs = 100;

    private readonly List<CandidatePair> _pairs = [];
    private readonly List<IceCandidate> _remoteCandidates = [];
    private readonly ulong _tieBreaker = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private CandidatePair? _selected;
    /// <summary>The pair the controlling side nominated (USE-CANDIDATE sent on it), until it is selected or fails.</summary>
    private CandidatePair? _nominated;
    private bool _remoteTrickling, _remoteEnded;
    private long _checksSent, _requestsAnswered, _responsesAccepted;

    public bool Controlling { get; private set; } = controlling;

    /// <summary>The selected pair (read without the lock by the data path: one reference).</summary>
    public CandidatePair? Selected => _selected;

    public int PairCount => _pairs.Count;

    public int FailedPairCount => _pairs.Count(p => p.Failed);

    public (long ChecksSent, long RequestsAnswered, long ResponsesAccepted) Counters => (_checksSent, _requestsAnswered, _responsesAccepted);

    /// <summary>The peer restarted ICE (new ufrag): forget its candidates and every pair, and start over.</summary>
    public void ForgetRemote()
    {
        _pairs.Clear();
        _remoteCandidates.Clear();
        _selected = null;
        _nominated = null;
    }

    /// <summary>Our ICE restart: forget the peer's candidates and the pairs, but keep sending on the selected pair until a new one is chosen.</summary>
    public void Restart()
    {
        _pairs.Clear();
        _nominated = null;
        _remoteCandidates.Clear();
        _remoteEnded = false;
    }

    public void ExpectTrickledRemoteCandidates()
    {
        _remoteTrickling = true;
        _remoteEnded = false;
    }

    public void SetRemoteEndOfCandidates() => _remoteEnded = true;

    /// <summary>Pairs a (trickled) remote candidate with every local socket of its family. False if it was not usable.</summary>
    public bool AddRemoteCandidate(IceCandidate candidate)
    {
        if (candidate.Transport != "udp" || candidate.Component != 1) return false;
        if (_remoteCandidates.Count >= MaxRemoteCandidates) return false;
        if (_remoteCandidates.Any(c => c.EndPoint.Equals(candidate.EndPoint))) return false;
        _remoteCandidates.Add(candidate);
        bool added = false;
        foreach (var s in sockets.All)
        {
            if (s.Candidate.Address.AddressFamily != candidate.Address.AddressFamily) continue;
            s.Turn?.Permit(candidate.Address);
            _pairs.Add(new CandidatePair(s, candidate.EndPoint, candidate.Priority));
            added = true;
        }
        SortPairs();
        // A new candidate revives an agent whose earlier pairs all failed (never one whose consent expired).
        if (added && (state.State == IceState.New || (state.State == IceState.Failed && _selected is null)))
            state.Set(IceState.Checking, $"new remote candidate {candidate.EndPoint}");
        return added;
    }

    /// <summary>Pairs a new local socket (a host address that appeared, or a relay) with the known remote candidates.</summary>
    public void PairLocal(IceSocket local)
    {
        foreach (var c in _remoteCandidates)
        {
            if (c.Address.AddressFamily != local.Candidate.Address.AddressFamily) continue;
            local.Turn?.Permit(c.Address);
            _pairs.Add(new CandidatePair(local, c.EndPoint, c.Priority));
        }
        SortPairs();
    }

    /// <summary>Drops the pairs on a local socket that went away; true if it carried the selected pair.</summary>
    public bool RemoveLocal(IceSocket local)
    {
        _pairs.RemoveAll(p => p.Local == local);
        bool wasSelected = _selected?.Local == local;
        if (wasSelected) _selected = null;
        if (_nominated?.Local == local) _nominated = null;
        return wasSelected;
    }

    /// <summary>
    /// While checking: paces one new or retransmitted check per tick (highest priority pair first), nominates on the
    /// controlling side, and fails the agent when every pair failed (and the peer has no more candidates to trickle).
    /// </summary>
    public void Tick(long now)
    {
        foreach (var p in _pairs)
        {
            if (p.Succeeded || p.Failed) continue;
            if (now - p.LastSentMs < p.RetransmitMs) continue;
            if (p.Attempts >= MaxAttempts) { p.Fail($"{MaxAttempts} checks unanswered"); continue; }
            SendCheck(p, nominate: Controlling && p == _nominated);
            p.LastSentMs = now;
            p.Attempts++;
            p.RetransmitMs = Math.Min(p.RetransmitMs * 2, 1600);
            break;
        }
        if (Controlling) NominateOrRetransmit(now); // also after a restart, while the old pair still carries media
        // With a trickling peer, pairs failing is not ICE failing until its end-of-candidates (RFC 8838 8).
        if (state.State != IceState.Failed && _pairs.Count > 0 && _pairs.All(p => p.Failed) && _selected is null && (!_remoteTrickling || _remoteEnded))
            state.Set(IceState.Failed, DescribeFailure());
    }

    /// <summary>Why every pair failed, e.g. "all 3 candidate pairs failed: 12 checks unanswered (2), refused with error 401 (1)".</summary>
    private string DescribeFailure()
    {
        var reasons = _pairs.GroupBy(p => p.FailureReason ?? "failed").Select(g => $"{g.Key} ({g.Count()})");
        return $"all {_pairs.Count} candidate pairs failed: {string.Join(", ", reasons)}";
    }

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
            best.LastSentMs = IceClock.Never;
            best.RetransmitMs = 100;
            logger.LogDebug("ICE nominating {Local} -> {Remote}", best.Local.Candidate.EndPoint, best.Remote);
        }
        var pair = _nominated;
        if (now - pair.LastSentMs < pair.RetransmitMs) return;
        if (pair.NominationAttempts >= MaxNominationAttempts)
        {
            pair.Fail($"nomination unanswered after {MaxNominationAttempts} checks");
            logger.LogInformation("ICE nomination of {Pair} unanswered after {Attempts} checks", pair, MaxNominationAttempts);
            _nominated = null;
            return;
        }
        SendCheck(pair, nominate: true);
        pair.LastSentMs = now;
        pair.NominationAttempts++;
        pair.RetransmitMs = Math.Min(pair.RetransmitMs * 2, 1600);
    }

    /// <summary>A consent check (RFC 7675) on the selected pair; false if it could not be sent (the pair then failed).</summary>
    public bool SendConsentCheck(CandidatePair selected)
    {
        SendCheck(selected, nominate: false);
        return !selected.Failed;
    }

    /// <summary>The selected pair cannot send any more (its local address went away): choose again.</summary>
    public void LoseSelected(string why)
    {
        var lost = _selected;
        if (lost is null) return;
        lost.Fail(why);
        _selected = null;
        if (_nominated == lost) _nominated = null;
        logger.LogWarning("ICE lost the selected pair {Local} -> {Remote}: {Why}", lost.Local.Candidate.EndPoint, lost.Remote, why);
        state.Set(IceState.Checking, "lost the selected pair: " + why);
    }

    private void SendCheck(CandidatePair pair, bool nominate)
    {
        _checksSent++;
        Span<byte> buffer = stackalloc byte[256];
        RandomNumberGenerator.Fill(pair.TransactionId);
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.Request, pair.TransactionId);
        b.Add(StunAttributeType.Username, Encoding.UTF8.GetBytes(credentials.RemoteUfrag + ":" + credentials.LocalUfrag));
        b.AddUInt32(StunAttributeType.Priority, IceCandidate.ComputePriority(CandidateType.PeerReflexive, 65535, 1));
        b.AddUInt64(Controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, _tieBreaker);
        if (nominate) b.Add(StunAttributeType.UseCandidate, default);
        b.AddIntegrity(Encoding.UTF8.GetBytes(credentials.RemotePassword!));
        b.AddFingerprint();
        pair.Nominating = nominate;
        pair.SentControlling = Controlling;
        try
        {
            pair.Local.SendTo(b.Written, pair.RemoteAddress, pair.Remote);
        }
        catch (SocketException e)
        {
            pair.Fail("sending failed: " + e.SocketErrorCode);
        }
    }

    /// <summary>Whether <paramref name="from"/> passed an authenticated check on <paramref name="local"/> (may send data).</summary>
    public bool IsValidated(IceSocket local, SocketAddress from)
    {
        foreach (var p in _pairs)
            if (p.Local == local && (p.Succeeded || p.PeerChecked) && p.RemoteAddress.Equals(from)) return true;
        return false;
    }

    /// <summary>A Binding request from the peer (RFC 8445 7.3): answer it, learn peer-reflexive candidates, trigger a check, accept a nomination.</summary>
    public void OnRequest(IceSocket local, in StunMessage m, SocketAddress from, long now)
    {
        if (!m.TryGetAttribute(StunAttributeType.Username, out var user)) return;
        if (!user.StartsWith(credentials.LocalUsernamePrefix)) return;
        if (!m.VerifyIntegrity(credentials.LocalKey)) return;
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
                e.AddIntegrity(credentials.LocalKey);
                e.AddFingerprint();
                local.SendTo(e.Written, from, remote);
                return;
            }
            SwitchRole(!Controlling, "the peer's check claims the same role with the larger tie-breaker");
        }

        _requestsAnswered++;
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, m.TransactionId);
        b.AddXorAddress(StunAttributeType.XorMappedAddress, remote);
        b.AddIntegrity(credentials.LocalKey);
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
            if (_pairs.Count >= MaxRemoteCandidates * Math.Max(1, sockets.Count)) return;
            // Peer-reflexive remote candidate (RFC 8445 7.3.1.3).
            m.TryGetUInt32(StunAttributeType.Priority, out uint prio);
            pair = new CandidatePair(local, remote, prio);
            _pairs.Add(pair);
            SortPairs();
            if (state.State == IceState.New) state.Set(IceState.Checking, $"a check from peer-reflexive {remote}");
        }
        pair.PeerChecked = true;
        // Triggered check (RFC 8445 7.3.1.4), unless one is already in flight for this pair: answering every
        // request with a new check would make the two agents ping-pong and never match a response.
        if (!pair.Succeeded && credentials.RemotePassword is not null && now - pair.LastSentMs >= TriggeredCheckSpacingMs)
        {
            SendCheck(pair, nominate: Controlling && pair == _nominated);
            pair.LastSentMs = now;
            pair.Attempts++;
        }
        if (!Controlling && m.Has(StunAttributeType.UseCandidate))
        {
            pair.NominatedByPeer = true;
            if (pair.Succeeded || _selected is null) Select(pair, now, "nominated by the controlling peer");
        }
    }

    /// <summary>A response to one of our checks (RFC 8445 7.2.5): a working pair, a nomination answered, consent refreshed, or a role conflict.</summary>
    public void OnResponse(in StunMessage m, SocketAddress from, long now)
    {
        CandidatePair? pair = null;
        foreach (var p in _pairs)
        {
            if (m.TransactionId.SequenceEqual(p.TransactionId)) { pair = p; break; }
        }
        if (pair is null || credentials.RemotePassword is null) return;
        if (!m.VerifyIntegrity(Encoding.UTF8.GetBytes(credentials.RemotePassword))) return;
        if (!pair.RemoteAddress.Equals(from)) return; // non-symmetric: not valid (RFC 8445 7.2.5.2.1)
        if (m.Class == StunClass.ErrorResponse)
        {
            if (m.ErrorCode == 487)
            {
                // Switch away from the role this check was sent in (RFC 8445 7.2.5.1), not from the current one: the
                // role may have changed since (a request from the peer), and toggling would flip it back.
                if (Controlling == pair.SentControlling) SwitchRole(!pair.SentControlling, "the peer answered 487 Role Conflict");
                pair.LastSentMs = IceClock.Never;
                if (pair == _selected) consent.CheckNow(); // check consent again now, in the new role
            }
            else
            {
                pair.Fail($"refused with error {m.ErrorCode}");
                logger.LogInformation("ICE check on {Pair} refused with error {Code}", pair, m.ErrorCode);
            }
            return;
        }
        pair.Succeeded = true;
        _responsesAccepted++;
        if (pair == _selected)
        {
            consent.OnAnswer(now); // consent refreshed
            if (state.State == IceState.Disconnected) state.Set(IceState.Connected, "consent answered again");
            return;
        }
        if (Controlling)
        {
            if (pair.Nominating && pair == _nominated) Select(pair, now, "our nomination was answered");
            else if ((_selected is null || state.State == IceState.Checking) && _nominated is null) NominateOrRetransmit(now); // the first pair that works
            return;
        }
        if (pair.NominatedByPeer || _selected is null) Select(pair, now, pair.NominatedByPeer ? "nominated by the controlling peer" : "the first pair that works");
    }

    private void SwitchRole(bool controlling, string why)
    {
        Controlling = controlling;
        SortPairs();
        logger.LogInformation("ICE role now {Role}: {Why}", controlling ? "controlling" : "controlled", why);
    }

    private void Select(CandidatePair pair, long now, string why)
    {
        if (_selected != pair)
            logger.LogInformation("ICE selected {Local} -> {Remote} ({Role})", pair.Local.Candidate.EndPoint, pair.Remote, Controlling ? "controlling" : "controlled");
        _selected = pair;
        consent.Start(now);
        if (state.State != IceState.Connected) state.Set(IceState.Connected, $"selected {pair}: {why}");
    }

    private void SortPairs() =>
        _pairs.Sort((a, b) => PairPriority(b).CompareTo(PairPriority(a)));

    private ulong PairPriority(CandidatePair p)
    {
        ulong g = Controlling ? p.Local.Candidate.Priority : p.RemotePriority;
        ulong d = Controlling ? p.RemotePriority : p.Local.Candidate.Priority;
        return (Math.Min(g, d) << 32) + 2 * Math.Max(g, d) + (g > d ? 1UL : 0UL);
    }
}
