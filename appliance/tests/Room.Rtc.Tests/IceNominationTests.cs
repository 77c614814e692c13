using System.Net;
using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>
/// Regular nomination: when several pairs work, the controlling agent nominates one and both agents select that same
/// pair (nominating every check let roomd and Janus settle on different pairs; roomd then kept consent on a pair through
/// another namespace's address, which failed when that address went away).
/// </summary>
public class IceNominationTests
{
    [Fact]
    public async Task With_several_working_pairs_both_agents_select_the_same_one_and_keep_it()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (int run = 0; run < 5; run++)
        {
            // Two local addresses on each side: four pairs, all of which work.
            using var a = new IceAgent([IPAddress.Parse("127.0.0.1"), IPAddress.Parse("127.0.0.2")], controlling: true)
            {
                ConsentInterval = TimeSpan.FromMilliseconds(50),
            };
            using var b = new IceAgent([IPAddress.Parse("127.0.0.3"), IPAddress.Parse("127.0.0.4")], controlling: false)
            {
                ConsentInterval = TimeSpan.FromMilliseconds(50),
            };
            var bothUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            int up = 0;
            a.StateChanged += s => { if (s == IceState.Connected && Interlocked.Increment(ref up) == 2) bothUp.TrySetResult(); };
            b.StateChanged += s => { if (s == IceState.Connected && Interlocked.Increment(ref up) == 2) bothUp.TrySetResult(); };
            a.SetRemoteCredentials(b.LocalUfrag, b.LocalPassword);
            b.SetRemoteCredentials(a.LocalUfrag, a.LocalPassword);
            foreach (var c in b.LocalCandidates) a.AddRemoteCandidate(c);
            foreach (var c in a.LocalCandidates) b.AddRemoteCandidate(c);
            await bothUp.Task.WaitAsync(timeout.Token);

            // Let every other pair's checks finish (their successes must not move the selection), then compare.
            while (a.ConsentRefreshes < 10 || b.ConsentRefreshes < 10) await Task.Delay(20, timeout.Token);
            var aSelected = (a.SelectedLocal!.EndPoint, a.SelectedRemote!);
            var bSelected = (b.SelectedLocal!.EndPoint, b.SelectedRemote!);
            Assert.Equal(aSelected.Item1, bSelected.Item2);
            Assert.Equal(aSelected.Item2, bSelected.Item1);
            await Task.Delay(300, timeout.Token);
            Assert.Equal(aSelected, (a.SelectedLocal!.EndPoint, a.SelectedRemote!));
            Assert.Equal(IceState.Connected, a.State);
        }
    }
}
