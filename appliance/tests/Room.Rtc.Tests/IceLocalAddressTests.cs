using System.Net;
using System.Net.Sockets;
using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>Local addresses an agent cannot bind (gone, or IPv6 still tentative) cost only their own candidate.</summary>
public class IceLocalAddressTests
{
    // A documentation address (RFC 5737) that is on no interface here: binding it fails; nothing is ever sent to it.
    private static readonly IPAddress NotHere = IPAddress.Parse("192.0.2.1");

    [Fact]
    public void An_address_that_cannot_be_bound_is_skipped_and_the_others_become_candidates()
    {
        using var agent = new IceAgent([NotHere, IPAddress.Loopback], controlling: true);
        var candidate = Assert.Single(agent.LocalCandidates);
        Assert.Equal(IPAddress.Loopback, candidate.Address);
        Assert.Equal([NotHere], agent.UnusableAddresses);
    }

    [Fact]
    public void When_no_given_address_can_be_bound_the_agent_refuses_with_the_reason()
    {
        var e = Assert.Throws<SocketException>(() => new IceAgent([NotHere], controlling: true));
        Assert.Equal(SocketError.AddressNotAvailable, e.SocketErrorCode);
    }
}
