using Room.Appliance.Meeting;

namespace Room.Appliance.Tests;

public class LoopbackTransportTests
{
    private static async Task<LoopbackTransport.Session> JoinAsync() =>
        (LoopbackTransport.Session)await new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.Zero }
            .ConnectAsync(new Uri("test-loopback://meet.example.org/m/1"), "Ratssaal", false, CancellationToken.None);

    [Fact]
    public async Task Room_and_peer_form_an_MLS_group_and_derive_the_same_security_code()
    {
        await using var session = await JoinAsync();
        Assert.Equal(1ul, session.Epoch); // created at epoch 0, the Add commit moved it to 1
        Assert.Equal(session.PeerSecurityCode, session.SecurityCode);
        Assert.Matches("^[0-9]{5}( [0-9]{5}){11}$", session.SecurityCode);
    }

    [Fact]
    public async Task Every_call_is_a_new_group_with_a_new_code()
    {
        await using var a = await JoinAsync();
        await using var b = await JoinAsync();
        Assert.NotEqual(a.SecurityCode, b.SecurityCode);
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_join_with_its_name()
    {
        var transport = new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.Zero };
        var ex = await Assert.ThrowsAsync<MeetingFailedException>(() =>
            transport.ConnectAsync(new Uri("test-loopback://nowhere.invalid/m/1"), "Ratssaal", false, CancellationToken.None));
        Assert.Contains("nowhere.invalid", ex.Message, StringComparison.Ordinal);
    }
}
