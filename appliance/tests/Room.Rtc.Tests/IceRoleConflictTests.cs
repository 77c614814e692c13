using System.Net;
using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>
/// Role conflicts (RFC 8445 7.3.1.1, 7.2.5.1): two agents that start in the same role end in opposite roles, connect,
/// and keep their consent refreshed (a check answered 487 switches away from the role it was sent in; toggling the
/// current role instead flipped an agent back into the conflict, and its consent checks then went unanswered).
/// </summary>
public class IceRoleConflictTests
{
    private static async Task ConnectAndKeepConsentAsync(bool aControlling, bool bControlling, CancellationToken ct)
    {
        using var a = new IceAgent([IPAddress.Loopback], aControlling) { ConsentInterval = TimeSpan.FromMilliseconds(60), ConsentTimeout = TimeSpan.FromSeconds(20) };
        using var b = new IceAgent([IPAddress.Loopback], bControlling) { ConsentInterval = TimeSpan.FromMilliseconds(60), ConsentTimeout = TimeSpan.FromSeconds(20) };
        var aUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.StateChanged += s => { if (s == IceState.Connected) aUp.TrySetResult(); };
        b.StateChanged += s => { if (s == IceState.Connected) bUp.TrySetResult(); };
        a.SetRemoteCredentials(b.LocalUfrag, b.LocalPassword);
        b.SetRemoteCredentials(a.LocalUfrag, a.LocalPassword);
        foreach (var c in b.LocalCandidates) a.AddRemoteCandidate(c);
        foreach (var c in a.LocalCandidates) b.AddRemoteCandidate(c);
        await Task.WhenAll(aUp.Task, bUp.Task).WaitAsync(ct);

        // Consent flows both ways, many times over: neither side is stuck in a role the other rejects.
        while (a.ConsentRefreshes < 8 || b.ConsentRefreshes < 8) await Task.Delay(20, ct);
        Assert.NotEqual(a.Controlling, b.Controlling);
        Assert.Equal(IceState.Connected, a.State);
        Assert.Equal(IceState.Connected, b.State);
    }

    [Fact]
    public async Task Two_controlling_agents_settle_on_opposite_roles_and_keep_consent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // The tie-breakers are random: several pairs cover both outcomes.
        for (int i = 0; i < 6; i++) await ConnectAndKeepConsentAsync(true, true, timeout.Token);
    }

    [Fact]
    public async Task Two_controlled_agents_settle_on_opposite_roles_and_keep_consent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (int i = 0; i < 6; i++) await ConnectAndKeepConsentAsync(false, false, timeout.Token);
    }
}
