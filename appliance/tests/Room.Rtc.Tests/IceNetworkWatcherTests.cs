using System.Net;
using Room.Rtc.Ice;
using Room.Rtc.Interop;

namespace Room.Rtc.Tests;

public class IceNetworkWatcherTests
{
    [Fact]
    public async Task An_address_added_and_the_old_one_deleted_give_one_restart_on_the_new_address()
    {
        using var agent = new IceAgent([IPAddress.Parse("127.0.0.1")], controlling: true);
        using var monitor = AddressMonitor.Start();
        using var watcher = new IceNetworkWatcher(agent, monitor)
        {
            // Loopback addresses stand in for a real interface's (the default policy never binds loopback).
            AcceptNewAddress = c => c.InterfaceIndex == 99 && !c.Address.Equals(IPAddress.Loopback), SettleTime = TimeSpan.FromSeconds(2),
        };
        var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Restarted += () => restarted.TrySetResult();
        string ufrag = agent.LocalUfrag;

        // As rtnetlink reports a move (delivered here directly; the interop tests use the real kernel messages).
        watcher.OnChanged(new AddressChange(AddressChangeKind.Added, 98, IPAddress.Parse("127.0.0.4"))); // not accepted
        watcher.OnChanged(new AddressChange(AddressChangeKind.Added, 99, IPAddress.Parse("127.0.0.3")));
        watcher.OnChanged(new AddressChange(AddressChangeKind.Removed, 99, IPAddress.Parse("127.0.0.1")));
        watcher.OnChanged(new AddressChange(AddressChangeKind.Removed, 99, IPAddress.Parse("127.0.0.9"))); // not ours
        watcher.OnChanged(new AddressChange(AddressChangeKind.Added, 99, IPAddress.Loopback));              // refused by the policy
        await restarted.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, watcher.Restarts);
        Assert.NotEqual(ufrag, agent.LocalUfrag);
        Assert.Equal([IPAddress.Parse("127.0.0.3")], agent.LocalCandidates.Select(c => c.Address));
    }
}
