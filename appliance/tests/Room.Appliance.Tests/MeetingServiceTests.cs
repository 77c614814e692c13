using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

public sealed class MeetingServiceTests : IAsyncDisposable
{
    private readonly SimulatedDeviceProvider _devices = new();
    private readonly MeetingService _meeting;

    public MeetingServiceTests()
    {
        _meeting = new MeetingService(
            new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.FromMilliseconds(20) },
            _devices,
            Options.Create(new RoomOptions { Name = "Ratssaal", InitialVolume = 40 }),
            TimeProvider.System,
            NullLogger<MeetingService>.Instance);
    }

    public ValueTask DisposeAsync() => _meeting.DisposeAsync();

    private async Task WaitForStateAsync(string state)
    {
        for (var i = 0; i < 500 && _meeting.Snapshot.State != state; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(state, _meeting.Snapshot.State);
    }

    [Fact]
    public async Task Join_goes_through_joining_to_in_call_with_a_remote_participant_and_a_security_code()
    {
        var states = new List<string>();
        _meeting.Changed += (_, _) => states.Add(_meeting.Snapshot.State);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);

        var s = _meeting.Snapshot;
        Assert.Equal(MeetingStates.Joining, states[0]);
        Assert.Equal("test-loopback://meet.example.org/m/1", s.Uri);
        Assert.Contains(s.Participants, p => p.Name == "Ratssaal");
        Assert.Contains(s.Participants, p => p.Id == "loopback-peer");
        Assert.Matches("^[0-9]{5}( [0-9]{5}){11}$", s.SecurityCode);
        Assert.NotNull(s.StartedAt);
    }

    [Fact]
    public async Task Leave_returns_to_idle_and_clears_the_call()
    {
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);
        await _meeting.LeaveAsync();
        var s = _meeting.Snapshot;
        Assert.Equal(MeetingStates.Idle, s.State);
        Assert.Empty(s.Participants);
        Assert.Equal("", s.SecurityCode);
        Assert.Null(s.StartedAt);
    }

    [Fact]
    public async Task Join_while_in_a_call_is_refused_and_the_call_continues()
    {
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);
        var before = _meeting.Snapshot;
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _meeting.JoinAsync("test-loopback://meet.example.org/m/2"));
        Assert.Equal(BusErrors.WrongState, ex.ErrorName);
        var after = _meeting.Snapshot;
        Assert.Equal(before with { Participants = [] }, after with { Participants = [] });
        Assert.Equal(before.Participants, after.Participants);
    }

    [Fact]
    public async Task Leave_when_idle_is_refused()
    {
        var ex = await Assert.ThrowsAsync<RoomBusException>(_meeting.LeaveAsync);
        Assert.Equal(BusErrors.WrongState, ex.ErrorName);
        Assert.Equal(MeetingStates.Idle, _meeting.Snapshot.State);
    }

    [Fact]
    public async Task An_invalid_address_changes_nothing()
    {
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _meeting.JoinAsync("not a uri"));
        Assert.Equal(BusErrors.InvalidUri, ex.ErrorName);
        Assert.Equal(MeetingStates.Idle, _meeting.Snapshot.State);
        Assert.Equal("", _meeting.Snapshot.Uri);
    }

    [Fact]
    public async Task A_failed_join_ends_in_error_with_the_reason_and_a_Failed_event_and_can_be_retried()
    {
        var reasons = new List<string>();
        _meeting.Failed += (_, r) => reasons.Add(r);
        await _meeting.JoinAsync("test-loopback://server.invalid/m/1");
        await WaitForStateAsync(MeetingStates.Error);
        Assert.Contains("server.invalid", Assert.Single(reasons), StringComparison.Ordinal);
        Assert.Contains("not found", _meeting.Snapshot.LastError, StringComparison.Ordinal);

        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);
        Assert.Equal("", _meeting.Snapshot.LastError);
    }

    [Fact]
    public async Task Leaving_while_joining_cancels_the_join()
    {
        await using var slow = new MeetingService(
            new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.FromSeconds(20) },
            _devices,
            Options.Create(new RoomOptions()),
            TimeProvider.System,
            NullLogger<MeetingService>.Instance);
        await slow.JoinAsync("test-loopback://meet.example.org/m/1");
        Assert.Equal(MeetingStates.Joining, slow.Snapshot.State);
        await slow.LeaveAsync();
        Assert.Equal(MeetingStates.Idle, slow.Snapshot.State);
    }

    [Fact]
    public async Task Mute_is_kept_before_joining_and_applies_to_the_call()
    {
        await _meeting.SetMicrophoneMutedAsync(true);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForStateAsync(MeetingStates.InCall);
        Assert.True(_meeting.Snapshot.MicrophoneMuted);
        Assert.True(_meeting.Snapshot.Participants.Single(p => p.Id == "local").Muted);
        await _meeting.ToggleMuteAsync();
        Assert.False(_meeting.Snapshot.Participants.Single(p => p.Id == "local").Muted);
    }

    [Fact]
    public async Task Volume_reaches_the_speakers_and_out_of_range_volume_changes_nothing()
    {
        await _meeting.SetVolumeAsync(75);
        Assert.Equal(75u, _meeting.Snapshot.Volume);
        Assert.Equal(75, _devices.Speakers.OfType<SimulatedSpeaker>().Single().Volume);

        var ex = await Assert.ThrowsAsync<RoomBusException>(() => _meeting.SetVolumeAsync(101));
        Assert.Equal(BusErrors.OutOfRange, ex.ErrorName);
        Assert.Equal(75u, _meeting.Snapshot.Volume);
        Assert.Equal(75, _devices.Speakers.OfType<SimulatedSpeaker>().Single().Volume);
    }

    [Fact]
    public async Task Volume_skips_a_speaker_without_hardware_volume_and_still_reaches_the_others()
    {
        var sim = new SimulatedDeviceProvider();
        var devices = new ExtraSpeakerProvider(sim, new NoMixerSpeaker());
        await using var meeting = new MeetingService(new LoopbackTransport(TimeProvider.System), devices,
            Options.Create(new RoomOptions { InitialVolume = 40 }), TimeProvider.System, NullLogger<MeetingService>.Instance);

        await meeting.SetVolumeAsync(65);

        Assert.Equal(65u, meeting.Snapshot.Volume);
        Assert.Equal(65, sim.Speakers.OfType<SimulatedSpeaker>().Single().Volume);
    }

    /// <summary>A speaker listed first whose card has no mixer (snd-aloop): SetVolume is not supported.</summary>
    private sealed class NoMixerSpeaker : ISpeaker
    {
        public string Id => "test:no-mixer";

        public string Name => "speaker without a mixer";

        public int Channels => 2;

        public int SampleRate => 48000;

        public DeviceInfo Describe() => new(Id, DeviceKind.Speaker, Name, "test", DeviceHealth.Ok, "", new Dictionary<string, string>());

        public ValueTask SetVolumeAsync(int percent, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException($"Speaker {Id} has no hardware volume control.");

        public ValueTask<IAudioPlayback> OpenPlaybackAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    private sealed class ExtraSpeakerProvider(SimulatedDeviceProvider inner, ISpeaker first) : IDeviceProvider
    {
        public IReadOnlyList<ICamera> Cameras => inner.Cameras;

        public IReadOnlyList<IMicrophone> Microphones => inner.Microphones;

        public IReadOnlyList<ISpeaker> Speakers { get; } = [first, .. inner.Speakers];

        public IReadOnlyList<IDisplay> Displays => inner.Displays;

        public IRoomControls? Controls => inner.Controls;

        public event EventHandler? DevicesChanged
        {
            add => inner.DevicesChanged += value;
            remove => inner.DevicesChanged -= value;
        }

        public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);
    }
}
