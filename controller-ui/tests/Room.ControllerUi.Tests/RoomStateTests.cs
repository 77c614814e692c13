using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Bus;
using Room.ControllerUi.Services;

namespace Room.ControllerUi.Tests;

/// <summary>The panel's state service against a private dbus-daemon and a stand-in roomd.</summary>
public sealed class RoomStateTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(20);
    private readonly TestBus _bus = new();
    private RoomState _state = null!;

    public async Task InitializeAsync()
    {
        _state = new RoomState(Options.Create(new ControllerUiOptions { BusAddress = _bus.Address }), NullLogger<RoomState>.Instance);
        await _state.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _state.StopAsync(CancellationToken.None);
    }

    public void Dispose()
    {
        _state.Dispose();
        _bus.Dispose();
    }

    [Fact]
    public async Task Without_roomd_the_state_says_roomd_is_absent()
    {
        await WaitForAsync(s => s.Link == Link.RoomdAbsent);
        await Assert.ThrowsAsync<RoomUnavailableException>(() => _state.CallAsync(c => c.SetMicrophoneMutedAsync(true)));
    }

    [Fact]
    public async Task Comes_online_with_roomds_state_when_roomd_appears()
    {
        await using var roomd = await FakeRoomd.StartAsync(_bus.Address, "Aquarium");
        await WaitForAsync(s => s.Link == Link.Online);
        Assert.Equal("Aquarium", _state.Status.System.RoomName);
        Assert.Equal(50u, _state.Status.Meeting.Volume);
    }

    [Fact]
    public async Task A_property_change_reaches_the_state_as_an_event()
    {
        await using var roomd = await FakeRoomd.StartAsync(_bus.Address);
        await WaitForAsync(s => s.Link == Link.Online);
        var changed = new TaskCompletionSource();
        _state.Changed += () =>
        {
            if (_state.Status.Meeting.MicrophoneMuted)
            {
                changed.TrySetResult();
            }
        };

        roomd.Meeting.Set("MicrophoneMuted", true);

        await changed.Task.WaitAsync(s_patience);
        Assert.True(_state.Status.Meeting.MicrophoneMuted);
    }

    [Fact]
    public async Task Changes_arrive_pushed_by_signal_the_panel_never_reads_roomd_to_learn_them()
    {
        await using var roomd = await FakeRoomd.StartAsync(_bus.Address);
        await WaitForAsync(s => s.Link == Link.Online);
        var reads = roomd.Meeting.Reads;

        for (var volume = 1u; volume <= 20; volume++)
        {
            roomd.Meeting.Set("Volume", volume);
        }

        await WaitForAsync(s => s.Status.Meeting.Volume == 20);
        // One read per change, the server's own (to work out what changed); a panel that polled, or re-read on a
        // signal, would add Get/GetAll calls.
        Assert.Equal(reads + 20, roomd.Meeting.Reads);
    }

    [Fact]
    public async Task Calls_reach_roomd_and_their_effect_comes_back()
    {
        await using var roomd = await FakeRoomd.StartAsync(_bus.Address);
        await WaitForAsync(s => s.Link == Link.Online);

        await _state.CallAsync(c => c.JoinAsync("room:standup"));

        await WaitForAsync(s => s.Status.Meeting.State == MeetingStates.InCall);
        Assert.Equal("room:standup", _state.Status.Meeting.Uri);
    }

    [Fact]
    public async Task Roomd_errors_arrive_with_their_name()
    {
        await using var roomd = await FakeRoomd.StartAsync(_bus.Address);
        await WaitForAsync(s => s.Link == Link.Online);

        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _state.CallAsync(c => c.LeaveAsync()));
        Assert.Equal(BusErrors.NotSupported, ex.ErrorName);
    }

    [Fact]
    public async Task Follows_roomd_going_away_and_coming_back()
    {
        var first = await FakeRoomd.StartAsync(_bus.Address, "First");
        await WaitForAsync(s => s.Link == Link.Online && s.Status.System.RoomName == "First");

        await first.DisposeAsync();
        await WaitForAsync(s => s.Link == Link.RoomdAbsent);

        await using var second = await FakeRoomd.StartAsync(_bus.Address, "Second");
        await WaitForAsync(s => s.Link == Link.Online && s.Status.System.RoomName == "Second");
    }

    [Fact]
    public async Task Reconnects_when_the_bus_itself_goes_away_and_returns()
    {
        var first = await FakeRoomd.StartAsync(_bus.Address, "Before");
        await WaitForAsync(s => s.Link == Link.Online);

        _bus.Stop();
        await WaitForAsync(s => s.Link == Link.BusDown);
        await first.DisposeAsync();

        _bus.Start();
        await using var second = await FakeRoomd.StartAsync(_bus.Address, "After");
        await WaitForAsync(s => s.Link == Link.Online && s.Status.System.RoomName == "After");
    }

    private async Task WaitForAsync(Func<RoomState, bool> condition)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (condition(_state))
            {
                done.TrySetResult();
            }
        }

        _state.Changed += Check;
        try
        {
            Check();
            await done.Task.WaitAsync(s_patience);
        }
        finally
        {
            _state.Changed -= Check;
        }
    }
}
