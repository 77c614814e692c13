using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices.Simulated;

namespace Room.Appliance.Tests;

/// <summary>
/// A call that drops while its meeting goes on is rejoined by roomd itself (in-call -> reconnecting -> in-call), with
/// growing pauses, until it works, the room leaves, or the reconnect window is over. A scripted transport stands in for
/// Janus here; the real drops (Janus restart, network cut) are in Interop/JanusReconnectTests.
/// </summary>
public sealed class MeetingReconnectTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly ScriptedTransport _transport = new();
    private readonly MeetingService _meeting;

    public MeetingReconnectTests()
    {
        _meeting = new MeetingService(_transport, new SimulatedDeviceProvider(),
            Options.Create(new RoomOptions { Name = "Ratssaal", ReconnectSeconds = 60 }), _time, NullLogger<MeetingService>.Instance);
    }

    public ValueTask DisposeAsync() => _meeting.DisposeAsync();

    private static async Task Until(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    private static readonly string Link = "test-janus-linkkey://10.0.0.1:8188/1234#k=" + Room.Call.E2ee.LinkKey.NewSecretText();

    private async Task<ScriptedSession> InCallAsync()
    {
        await _meeting.JoinAsync(Link);
        await Until(() => _meeting.Snapshot.State == MeetingStates.InCall);
        return _transport.Sessions.Last();
    }

    /// <summary>Moves the clock on until the transport has been asked <paramref name="connects"/> times in all.</summary>
    private async Task AdvanceUntilConnects(int connects)
    {
        while (_transport.Connects < connects)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task A_dropped_call_is_rejoined_and_the_reason_shown_while_reconnecting()
    {
        var first = await InCallAsync();
        var started = _meeting.Snapshot.StartedAt;
        _transport.FailNext("Janus is restarting");

        first.Drop("The Janus server at 10.0.0.1:8188 closed the connection.", canRejoin: true);
        var s = _meeting.Snapshot;
        Assert.Equal(MeetingStates.Reconnecting, s.State);
        Assert.Contains("closed the connection", s.LastError, StringComparison.Ordinal);
        Assert.Empty(s.Participants);
        Assert.Equal("", s.SecurityCode);
        Assert.True(first.Disposed);

        // The first attempt fails (the reason is kept and the attempt's failure added), the second works.
        await AdvanceUntilConnects(2);
        await Until(() => _meeting.Snapshot.LastError.Contains("Janus is restarting", StringComparison.Ordinal));
        Assert.Equal(MeetingStates.Reconnecting, _meeting.Snapshot.State);
        await AdvanceUntilConnects(3);
        await Until(() => _meeting.Snapshot.State == MeetingStates.InCall);
        s = _meeting.Snapshot;
        Assert.Equal("", s.LastError);
        Assert.Equal(started, s.StartedAt);
        Assert.NotEmpty(s.Participants);
        Assert.Equal(1, _meeting.Reconnects);
        Assert.Equal(Link, _transport.Uris.Last().OriginalString);
    }

    [Fact]
    public async Task Pauses_between_attempts_grow_to_ten_seconds()
    {
        var first = await InCallAsync();
        _transport.FailAlways = true;
        first.Drop("lost", canRejoin: true);
        var at = new List<DateTimeOffset>();
        for (int n = 2; n <= 7; n++)
        {
            await AdvanceUntilConnects(n);
            at.Add(_time.GetUtcNow());
        }

        var pauses = at.Zip(at.Skip(1), (a, b) => (b - a).TotalSeconds).ToList();
        // 1 s before the first attempt, then 2, 4, 8, 10, 10 (clock moved in 0.5 s steps).
        Assert.Equal([2, 4, 8, 10, 10], pauses.Select(p => Math.Ceiling(p)));
    }

    [Fact]
    public async Task Rejoining_gives_up_after_the_window_with_the_reason()
    {
        var first = await InCallAsync();
        _transport.FailAlways = true;
        first.Drop("The media connection to Janus was lost.", canRejoin: true);
        while (_meeting.Snapshot.State == MeetingStates.Reconnecting)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        var s = _meeting.Snapshot;
        Assert.Equal(MeetingStates.Error, s.State);
        Assert.Contains("The media connection to Janus was lost.", s.LastError, StringComparison.Ordinal);
        Assert.Contains("within 1 min", s.LastError, StringComparison.Ordinal);
        Assert.True(_time.GetUtcNow() - new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero) <= TimeSpan.FromSeconds(75));
    }

    [Fact]
    public async Task Leaving_while_reconnecting_stops_the_attempts_and_ends_idle()
    {
        var first = await InCallAsync();
        _transport.FailAlways = true;
        first.Drop("lost", canRejoin: true);
        await AdvanceUntilConnects(2);
        await _meeting.LeaveAsync();
        Assert.Equal(MeetingStates.Idle, _meeting.Snapshot.State);
        int connects = _transport.Connects;
        _time.Advance(TimeSpan.FromMinutes(2));
        await Task.Delay(50);
        Assert.Equal(connects, _transport.Connects);
        Assert.Equal(MeetingStates.Idle, _meeting.Snapshot.State);
    }

    [Fact]
    public async Task Joining_another_meeting_while_reconnecting_is_refused_and_changes_nothing()
    {
        var first = await InCallAsync();
        _transport.FailAlways = true;
        first.Drop("lost", canRejoin: true);
        var e = await Assert.ThrowsAsync<RoomBusException>(() => _meeting.JoinAsync("test-janus-linkkey://10.0.0.2:8188/9#k=" + Room.Call.E2ee.LinkKey.NewSecretText()));
        Assert.Equal(BusErrors.WrongState, e.ErrorName);
        Assert.Equal(MeetingStates.Reconnecting, _meeting.Snapshot.State);
        Assert.Equal("test-janus-linkkey://10.0.0.1:8188/1234", _meeting.Snapshot.Uri);
    }

    [Fact]
    public async Task A_call_that_cannot_be_rejoined_ends_in_error_at_once()
    {
        var first = await InCallAsync();
        first.Drop("Rekeying the call failed", canRejoin: false);
        Assert.Equal(MeetingStates.Error, _meeting.Snapshot.State);
        Assert.Equal("Rekeying the call failed", _meeting.Snapshot.LastError);
        _time.Advance(TimeSpan.FromMinutes(1));
        await Task.Delay(50);
        Assert.Equal(1, _transport.Connects);
    }

    [Fact]
    public async Task A_second_end_reported_by_the_same_dropped_call_is_ignored()
    {
        var first = await InCallAsync();
        first.Drop("sending leg lost", canRejoin: true);
        first.Drop("receiving leg lost", canRejoin: true);
        Assert.Equal(MeetingStates.Reconnecting, _meeting.Snapshot.State);
        Assert.StartsWith("sending leg lost", _meeting.Snapshot.LastError, StringComparison.Ordinal);
        await AdvanceUntilConnects(2);
        await Until(() => _meeting.Snapshot.State == MeetingStates.InCall);
        Assert.Equal(2, _transport.Connects);
    }

    private sealed class ScriptedTransport : IMeetingTransport
    {
        private readonly ConcurrentQueue<string> _failures = new();

        public ConcurrentQueue<ScriptedSession> Sessions { get; } = new();
        public ConcurrentQueue<Uri> Uris { get; } = new();
        public bool FailAlways { get; set; }
        private int _connects;
        public int Connects => Volatile.Read(ref _connects);

        public void FailNext(string reason) => _failures.Enqueue(reason);

        public Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken)
        {
            Uris.Enqueue(meeting);
            Interlocked.Increment(ref _connects);
            if (FailAlways) throw new MeetingFailedException("unreachable");
            if (_failures.TryDequeue(out var reason)) throw new MeetingFailedException(reason);
            var s = new ScriptedSession(roomName);
            Sessions.Enqueue(s);
            return Task.FromResult<IMeetingSession>(s);
        }
    }

    private sealed class ScriptedSession(string roomName) : IMeetingSession
    {
        public bool Disposed { get; private set; }
        public IReadOnlyList<MeetingParticipant> Participants => [new("1", roomName, false), new("2", "Far end", false)];
        public string SecurityCode => "12345";
        public MediaKeys? Keys => null;
        public event EventHandler? Changed;
        public event EventHandler<CallEnd>? Ended;

        public void Drop(string reason, bool canRejoin) => Ended?.Invoke(this, new CallEnd(reason, canRejoin));

        public void SetMicrophoneMuted(bool muted) => Changed?.Invoke(this, EventArgs.Empty);

        public Task LeaveAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
