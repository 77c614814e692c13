using System.Net;
using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>Consent freshness (RFC 7675), with the intervals shortened (the defaults are 5 s and 30 s).</summary>
public class IceConsentTests
{
    private static async Task<(IceAgent A, IceAgent B)> ConnectedPairAsync(CancellationToken ct, int intervalMs = 100, int timeoutMs = 1500)
    {
        var a = new IceAgent([IPAddress.Loopback], controlling: true)
        {
            ConsentInterval = TimeSpan.FromMilliseconds(intervalMs), ConsentTimeout = TimeSpan.FromMilliseconds(timeoutMs),
        };
        var b = new IceAgent([IPAddress.Loopback], controlling: false);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.StateChanged += s => { if (s == IceState.Connected) connected.TrySetResult(); };
        a.SetRemoteCredentials(b.LocalUfrag, b.LocalPassword);
        b.SetRemoteCredentials(a.LocalUfrag, a.LocalPassword);
        foreach (var c in b.LocalCandidates) a.AddRemoteCandidate(c);
        foreach (var c in a.LocalCandidates) b.AddRemoteCandidate(c);
        await connected.Task.WaitAsync(ct);
        return (a, b);
    }

    [Fact]
    public async Task Consent_is_refreshed_while_the_peer_answers()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (a, b) = await ConnectedPairAsync(timeout.Token);
        using (a)
        using (b)
        {
            // Twenty answered checks span more than the 1.5 s consent timeout: consent was kept alive, not left over.
            while (a.ConsentRefreshes < 20) await Task.Delay(50, timeout.Token);
            Assert.Equal(IceState.Connected, a.State);
            Assert.True(a.Send([0x80, 0x60, 0, 1]));
        }
    }

    [Fact]
    public async Task When_the_peer_stops_answering_consent_expires_and_sending_stops()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (a, b) = await ConnectedPairAsync(timeout.Token);
        using (a)
        {
            var states = new System.Collections.Concurrent.ConcurrentQueue<IceState>();
            var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            a.StateChanged += s => { states.Enqueue(s); if (s == IceState.Failed) failed.TrySetResult(); };
            b.Dispose(); // the peer goes silent
            await failed.Task.WaitAsync(timeout.Token);
            Assert.Equal([IceState.Disconnected, IceState.Failed], states.Where(s => s is IceState.Disconnected or IceState.Failed));
            Assert.False(a.Send([0x80, 0x60, 0, 1]));
        }
    }

    [Fact]
    public async Task Silence_while_no_check_went_out_does_not_expire_consent()
    {
        // As in a process starved of CPU: the timeout passes while no consent check was sent (the first is due after
        // 20 s here). Consent expires only for checks that went out unanswered.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (a, b) = await ConnectedPairAsync(timeout.Token, intervalMs: 20_000, timeoutMs: 200);
        using (a)
        using (b)
        {
            var states = new System.Collections.Concurrent.ConcurrentQueue<IceState>();
            a.StateChanged += states.Enqueue;
            await Task.Delay(1500, timeout.Token); // seven timeouts long
            Assert.Empty(states);
            Assert.Equal(IceState.Connected, a.State);
            Assert.True(a.Send([0x80, 0x60, 0, 1]));
        }
    }
}
