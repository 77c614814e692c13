using Room.Bus;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>roomd with a room display it cannot drive: it says why on D-Bus and the call goes on.</summary>
public sealed class RoomDisplayTests
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_missing_display_card_is_reported_and_a_call_still_runs()
    {
        using var bus = new PrivateBus();
        await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
            "--Display:Device", "/dev/dri/card-not-here", "--Display:RetrySeconds", "1");
        using var client = await Room.Bus.Client.RoomBusClient.ConnectAsync(bus.Address);

        var s = await client.UntilAsync(s => s.Media.Display.StartsWith("unavailable:", StringComparison.Ordinal), s_patience);
        Assert.Contains("/dev/dri/card-not-here", s.Media.Display, StringComparison.Ordinal);

        await client.JoinAsync("test-loopback://meet.example.org/m/display");
        var inCall = await client.UntilAsync(s => s.Meeting.State == MeetingStates.InCall && s.Media.Active, s_patience);
        Assert.StartsWith("unavailable:", inCall.Media.Display, StringComparison.Ordinal);
        await client.LeaveAsync();
    }

    [Fact]
    public async Task A_bad_display_setting_is_refused_at_start_with_the_reason()
    {
        using var bus = new PrivateBus();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
            "--Display:Layout", "Mosaic"));
        Assert.Contains("Display:Layout", ex.Message, StringComparison.Ordinal);
    }
}
