using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Automation;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

/// <summary>
/// What the room does by itself: CEC wake when a meeting starts or someone enters, standby after the configured
/// time without a call once the room is empty, the mute button and the LEDs.
/// </summary>
public sealed class RoomAutomationTests : IAsyncDisposable
{
    private readonly ManualTime _time = new();
    private readonly TestRoom _room;
    private readonly MeetingService _meeting;
    private readonly RoomAutomation _automation;

    public RoomAutomationTests()
    {
        _room = new TestRoom(_time);
        var options = Options.Create(new RoomOptions { Name = "Ratssaal", DisplayStandbyMinutes = 15 });
        _meeting = new MeetingService(new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.Zero }, _room, options,
            TimeProvider.System, NullLogger<MeetingService>.Instance);
        _automation = new RoomAutomation(_meeting, _room, options, _time, NullLogger<RoomAutomation>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _automation.StopAsync(CancellationToken.None);
        _automation.Dispose();
        await _meeting.DisposeAsync();
    }

    /// <summary>The screen's power once its transition is over (simulated TVs take 300 ms to switch).</summary>
    private async Task<DisplayPower> SettledPowerAsync()
    {
        _time.Advance(TimeSpan.FromSeconds(1));
        return await _room.Screen.GetPowerAsync();
    }

    private async Task WaitForStateAsync(string state)
    {
        for (var i = 0; i < 3000 && _meeting.Snapshot.State != state; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(state, _meeting.Snapshot.State);
    }

    [Fact]
    public async Task Joining_a_meeting_wakes_the_display_even_when_another_display_has_no_cec()
    {
        await _automation.StartAsync(CancellationToken.None);
        Assert.Equal(DisplayPower.Standby, await SettledPowerAsync());

        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");

        // The automation wakes the displays in the background of the state change: the clock moves on only once both
        // wakes were asked for (moved before, the screen's transition started after it and still read standby).
        for (var i = 0; i < 3000 && (_room.Broken.WakeAttempts == 0 || await _room.Screen.GetPowerAsync() == DisplayPower.Standby); i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(DisplayPower.On, await SettledPowerAsync());
        Assert.Equal(1, _room.Broken.WakeAttempts);
    }

    [Fact]
    public async Task The_display_goes_to_standby_after_the_configured_time_without_a_call()
    {
        await _automation.StartAsync(CancellationToken.None);
        await _room.Screen.WakeAsync();

        _time.Advance(TimeSpan.FromMinutes(14));
        await _automation.StandbyIfIdleAsync(CancellationToken.None);
        Assert.Equal(DisplayPower.On, await SettledPowerAsync());

        _time.Advance(TimeSpan.FromMinutes(2));
        await _automation.StandbyIfIdleAsync(CancellationToken.None);
        Assert.Equal(DisplayPower.Standby, await SettledPowerAsync());
    }

    [Fact]
    public async Task The_display_stays_on_through_a_long_call()
    {
        await _automation.StartAsync(CancellationToken.None);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);

        _time.Advance(TimeSpan.FromHours(3));
        await _automation.StandbyIfIdleAsync(CancellationToken.None);

        Assert.Equal(DisplayPower.On, await SettledPowerAsync());
    }

    [Fact]
    public async Task Someone_entering_wakes_the_display_which_stays_on_until_the_room_has_been_empty_long_enough()
    {
        await _automation.StartAsync(CancellationToken.None);

        _room.Controls.SetOccupied(true);
        Assert.Equal(DisplayPower.On, await SettledPowerAsync());

        _time.Advance(TimeSpan.FromHours(2)); // people in the room, no call: the screen stays on
        await _automation.StandbyIfIdleAsync(CancellationToken.None);
        Assert.Equal(DisplayPower.On, await SettledPowerAsync());

        _room.Controls.SetOccupied(false);
        _time.Advance(TimeSpan.FromMinutes(14));
        await _automation.StandbyIfIdleAsync(CancellationToken.None);
        Assert.Equal(DisplayPower.On, await SettledPowerAsync());

        _time.Advance(TimeSpan.FromMinutes(2));
        await _automation.StandbyIfIdleAsync(CancellationToken.None);
        Assert.Equal(DisplayPower.Standby, await SettledPowerAsync());
    }

    [Fact]
    public async Task The_devices_entry_follows_the_screens_power_even_when_switched_by_its_remote()
    {
        await _automation.StartAsync(CancellationToken.None);
        Assert.Equal("standby", _room.Screen.Describe().Capabilities["power"]);

        await _room.Screen.WakeAsync(); // someone's remote control
        _time.Advance(TimeSpan.FromSeconds(1));
        await _automation.FollowPowerAsync(CancellationToken.None);

        Assert.Equal("on", _room.Screen.Describe().Capabilities["power"]);
        Assert.Equal(1, _room.Broken.PowerQueries); // asked too, and its silence did not stop the round
    }

    [Fact]
    public async Task The_mute_button_toggles_mute_and_the_leds_follow_mute_and_call()
    {
        await _automation.StartAsync(CancellationToken.None);
        Assert.False(_room.Controls.IsLit(Indicator.Muted));

        _room.Controls.PressMuteButton();
        for (var i = 0; i < 3000 && !_meeting.Snapshot.MicrophoneMuted; i++)
        {
            await Task.Delay(10);
        }

        Assert.True(_meeting.Snapshot.MicrophoneMuted);
        Assert.True(_room.Controls.IsLit(Indicator.Muted));
        Assert.False(_room.Controls.IsLit(Indicator.InCall));

        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);
        Assert.True(_room.Controls.IsLit(Indicator.InCall));

        await _meeting.LeaveAsync();
        Assert.False(_room.Controls.IsLit(Indicator.InCall));
    }

    /// <summary>A room with one CEC screen on a hand-moved clock, one screen whose CEC never answers, and GPIO controls.</summary>
    private sealed class TestRoom(TimeProvider time) : IDeviceProvider
    {
        public SimulatedDisplay Screen { get; } = new("sim:HDMI-A-1", "HDMI-A-1", time);

        public BrokenDisplay Broken { get; } = new();

        public SimulatedRoomControls Controls { get; } = new();

        public IReadOnlyList<ICamera> Cameras { get; } = [];

        public IReadOnlyList<IMicrophone> Microphones { get; } = [];

        public IReadOnlyList<ISpeaker> Speakers { get; } = [];

        public IReadOnlyList<IDisplay> Displays => [Broken, Screen];

        IRoomControls? IDeviceProvider.Controls => Controls;

        public event EventHandler? DevicesChanged
        {
            add { }
            remove { }
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A connected screen whose CEC never answers.</summary>
    private sealed class BrokenDisplay : IDisplay
    {
        public int WakeAttempts { get; private set; }

        public string Id => "drm:HDMI-A-2";

        public string Name => "HDMI-A-2";

        public bool Connected => true;

        public IReadOnlyList<DisplayMode> Modes => [];

        public DisplayMode? PreferredMode => null;

        public string Monitor => "";

        public DeviceInfo Describe() => new(Id, DeviceKind.Display, Name, "test", DeviceHealth.Degraded, "CEC does not answer", new Dictionary<string, string>());

        public int PowerQueries { get; private set; }

        public ValueTask<DisplayPower> GetPowerAsync(CancellationToken cancellationToken = default)
        {
            PowerQueries++;
            throw new DeviceUnavailableException(Id, "CEC does not answer");
        }

        public ValueTask WakeAsync(CancellationToken cancellationToken = default)
        {
            WakeAttempts++;
            throw new DeviceUnavailableException(Id, "CEC does not answer");
        }

        public ValueTask StandbyAsync(CancellationToken cancellationToken = default) =>
            throw new DeviceUnavailableException(Id, "CEC does not answer");
    }
}
