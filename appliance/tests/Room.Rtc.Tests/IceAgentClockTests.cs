using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>
/// The agent's timing on a <see cref="FakeTimeProvider"/>, against a peer the test plays on a loopback socket: consent
/// freshness (RFC 7675) with its default 5 s interval and 30 s timeout, and check pacing, without waiting for any of it.
/// Time moves only when the test advances it, one 50 ms agent tick at a time.
/// </summary>
public sealed class IceAgentClockTests : IDisposable
{
    private static readonly TimeSpan Tick = IceAgent.TickInterval;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10); // for work already triggered on another thread

    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _log = new();
    private readonly ScriptedIcePeer _peer = new();
    private readonly IceAgent _agent;
    private long _elapsedMs;

    public IceAgentClockTests()
    {
        _agent = new IceAgent([IPAddress.Loopback], controlling: false, _log, _time);
        _agent.SetRemoteCredentials(_peer.Ufrag, _peer.Password);
        Assert.True(_agent.AddRemoteCandidate(_peer.Candidate));
    }

    public void Dispose()
    {
        _agent.Dispose();
        _peer.Dispose();
    }

    /// <summary>The peer (controlling) nominates the only pair; the agent selects it at fake time 0.</summary>
    private async Task ConnectAsync()
    {
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _agent.StateChanged += s => { if (s == IceState.Connected) connected.TrySetResult(); };
        _peer.SendCheck(_agent.LocalCandidates[0].EndPoint, _agent.LocalUfrag, _agent.LocalPassword, useCandidate: true);
        await connected.Task.WaitAsync(Bound);
        Assert.Equal(Stun.StunClass.SuccessResponse, _peer.Receive().Class); // the agent answered the nomination
        Assert.Equal(Stun.StunClass.Request, _peer.Receive().Class);             // and sent its triggered check (left unanswered)
        Assert.Equal(0, _agent.ConsentRefreshes);
    }

    /// <summary>Advances one tick at a time until a check goes out or <paramref name="limit"/> passes; returns its time.</summary>
    private long? AdvanceUntilCheckSent(long limitMs)
    {
        long before = _agent.Counters.ChecksSent;
        while (_elapsedMs < limitMs)
        {
            AdvanceOneTick();
            if (_agent.Counters.ChecksSent > before) return _elapsedMs;
        }
        return null;
    }

    private void AdvanceOneTick()
    {
        _time.Advance(Tick);
        _elapsedMs += (long)Tick.TotalMilliseconds;
    }

    private long? AdvanceUntilState(IceState state, long limitMs)
    {
        while (_elapsedMs < limitMs)
        {
            AdvanceOneTick();
            if (_agent.State == state) return _elapsedMs;
        }
        return null;
    }

    [Fact]
    public async Task Consent_is_refreshed_every_4_to_6_seconds_while_the_peer_answers()
    {
        await ConnectAsync();
        var sentAt = new List<long> { 0 }; // selection counts as the first answer
        for (int i = 1; i <= 12; i++)
        {
            var at = AdvanceUntilCheckSent(sentAt[^1] + 10_000);
            Assert.NotNull(at);
            sentAt.Add(at.Value);
            var check = _peer.Receive();
            Assert.Equal(Stun.StunClass.Request, check.Class);
            Assert.False(check.UseCandidate); // consent checks do not nominate
            _peer.Answer(check);
            Assert.True(SpinWait.SpinUntil(() => _agent.ConsentRefreshes == i, Bound), $"answer {i} was not taken as a consent refresh");
            Assert.Equal(IceState.Connected, _agent.State);
        }

        // The first check one interval after selection, then every 0.8-1.2 intervals (RFC 7675 5.1: 4-6 s), each
        // sent on the first 50 ms tick at or after it is due.
        var gaps = sentAt.Zip(sentAt.Skip(1), (a, b) => b - a).ToList();
        Assert.Equal(5000, gaps[0]);
        Assert.All(gaps, g => Assert.InRange(g, 4000, 6000 + (long)Tick.TotalMilliseconds));
        Assert.True(gaps.Skip(1).Distinct().Count() > 1, "the interval is randomised: " + string.Join(", ", gaps));
        Assert.True(_agent.Send([0x80, 0x60, 0, 1]));
    }

    [Fact]
    public async Task Without_answers_the_agent_is_disconnected_after_15_s_fails_after_30_s_and_says_why()
    {
        await ConnectAsync();
        var states = new System.Collections.Concurrent.ConcurrentQueue<IceState>();
        _agent.StateChanged += states.Enqueue;

        // Three intervals of silence with two checks unanswered: Disconnected (still sending, consent not yet lost).
        Assert.Equal(15_050, AdvanceUntilState(IceState.Disconnected, 40_000));
        Assert.True(_agent.Send([0x80, 0x60, 0, 1]));
        // The 30 s consent timeout with at least three checks unanswered: Failed, and no more media to the peer.
        Assert.Equal(30_050, AdvanceUntilState(IceState.Failed, 40_000));
        Assert.False(_agent.Send([0x80, 0x60, 0, 1]));
        Assert.True(_agent.Counters.ChecksSent >= 1 + 3); // the triggered check, then the consent checks

        Assert.StartsWith("consent expired", _agent.FailureReason);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("ICE Failed", StringComparison.Ordinal)
            && e.Message.Contains("consent expired", StringComparison.Ordinal) && e.Message.Contains("consent checks unanswered", StringComparison.Ordinal));
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("ICE Disconnected", StringComparison.Ordinal)
            && e.Message.Contains("consent fading", StringComparison.Ordinal));
        Assert.True(SpinWait.SpinUntil(() => states.Count >= 2, Bound));
        Assert.Equal([IceState.Disconnected, IceState.Failed], states);
    }

    [Fact]
    public async Task An_answer_after_a_disconnect_reconnects_before_consent_expires()
    {
        await ConnectAsync();
        Assert.Equal(15_050, AdvanceUntilState(IceState.Disconnected, 40_000));
        Assert.NotNull(AdvanceUntilCheckSent(40_000));
        var check = LatestCheck();
        _peer.Answer(check);
        Assert.True(SpinWait.SpinUntil(() => _agent.State == IceState.Connected, Bound));
        Assert.Equal(1, _agent.ConsentRefreshes);
        // Silence from here on: the timeout runs from the last answer, not from selection.
        long answeredAt = _elapsedMs;
        Assert.Equal(answeredAt + 30_000 + 50, AdvanceUntilState(IceState.Failed, answeredAt + 40_000));
    }

    /// <summary>
    /// The latest consent check: every one sent so far is queued on the peer's socket (the triggered check was read
    /// while connecting), and only the latest one's transaction is still open.
    /// </summary>
    private ScriptedIcePeer.Received LatestCheck()
    {
        long consentChecks = _agent.Counters.ChecksSent - 1;
        var last = _peer.Receive();
        for (long i = 1; i < consentChecks; i++) last = _peer.Receive();
        return last;
    }

    [Fact]
    public async Task Silence_while_the_agent_was_starved_of_ticks_does_not_expire_consent()
    {
        await ConnectAsync();
        // A minute passes with no tick (a process starved of CPU): no consent check went out unanswered.
        _time.AdjustTime(_time.GetUtcNow() + TimeSpan.FromMinutes(1));
        AdvanceOneTick();
        Assert.Equal(IceState.Connected, _agent.State);
        Assert.True(_agent.Send([0x80, 0x60, 0, 1]));
        // The one check it sends on waking is answered: consent is fresh again.
        var check = _peer.Receive();
        _peer.Answer(check);
        Assert.True(SpinWait.SpinUntil(() => _agent.ConsentRefreshes == 1, Bound));
        for (int i = 0; i < 20; i++) AdvanceOneTick();
        Assert.Equal(IceState.Connected, _agent.State);
    }

    [Fact]
    public void Unanswered_checks_back_off_to_1600_ms_then_the_pair_and_the_agent_fail_and_the_log_says_why()
    {
        var sentAt = new List<long>();
        long? failedAt = null;
        while (_elapsedMs < 30_000 && failedAt is null)
        {
            long before = _agent.Counters.ChecksSent;
            AdvanceOneTick();
            if (_agent.Counters.ChecksSent > before) sentAt.Add(_elapsedMs);
            if (_agent.State == IceState.Failed) failedAt = _elapsedMs;
        }

        // RFC 8445 paced checks: the first on the first tick, then retransmitted at doubling intervals up to 1.6 s,
        // twelve in all; the pair fails when the twelfth goes unanswered for 1.6 s.
        Assert.Equal([50, 250, 650, 1450, 3050, 4650, 6250, 7850, 9450, 11050, 12650, 14250], sentAt);
        Assert.Equal(15_850, failedAt);
        Assert.Equal(1, _agent.FailedPairCount);
        Assert.Equal("all 1 candidate pairs failed: 12 checks unanswered (1)", _agent.FailureReason);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("ICE Failed", StringComparison.Ordinal)
            && e.Message.Contains("12 checks unanswered", StringComparison.Ordinal));
        Assert.False(_agent.Send([0x80, 0x60, 0, 1]));
    }
}
