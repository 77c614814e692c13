using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Meeting;

/// <summary>
/// The meeting state machine: idle -> joining -> in-call -> leaving -> idle, with error after a failed join or a
/// call that ended abnormally. A call that drops while the meeting goes on (network cut, address change, SFU
/// restart) goes in-call -> reconnecting -> in-call: roomd joins the same meeting again by itself, with growing pauses,
/// until it is back, someone leaves, or <see cref="RoomOptions.ReconnectSeconds"/> have passed (then error).
/// Every refused call leaves the state exactly as it was.
/// </summary>
public sealed class MeetingService : IAsyncDisposable
{
    private static readonly TimeSpan s_joinTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_firstRejoinPause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_longestRejoinPause = TimeSpan.FromSeconds(10);

    private readonly IMeetingTransport _transport;
    private readonly IDeviceProvider _devices;
    private readonly TimeProvider _time;
    private readonly ILogger<MeetingService> _logger;
    private readonly string _roomName;
    private readonly Lock _gate = new();

    private string _state = MeetingStates.Idle;
    private Uri? _uri;
    private IMeetingSession? _session;
    private CancellationTokenSource? _joinCancel;
    private Task _joinTask = Task.CompletedTask;
    private bool _muted;
    private uint _volume;
    private DateTimeOffset? _startedAt;
    private string _lastError = "";
    private readonly TimeSpan _reconnectFor;
    private CancellationTokenSource? _reconnectCancel;
    private Task _reconnectTask = Task.CompletedTask;

    public MeetingService(IMeetingTransport transport, IDeviceProvider devices, IOptions<RoomOptions> options, TimeProvider time, ILogger<MeetingService> logger)
    {
        _transport = transport;
        _devices = devices;
        _time = time;
        _logger = logger;
        _roomName = string.IsNullOrWhiteSpace(options.Value.Name) ? Environment.MachineName : options.Value.Name;
        _volume = options.Value.InitialVolume;
        _reconnectFor = TimeSpan.FromSeconds(options.Value.ReconnectSeconds);
    }

    /// <summary>Calls that dropped and were rejoined by themselves since roomd started.</summary>
    public int Reconnects { get; private set; }

    /// <summary>Any property changed.</summary>
    public event EventHandler? Changed;

    /// <summary>A join failed or a call ended abnormally; the argument is the reason.</summary>
    public event EventHandler<string>? Failed;

    public MeetingSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                IReadOnlyList<MeetingParticipant> participants = _session?.Participants ?? [];
                return new MeetingSnapshot(_state, MeetingUri.Display(_uri), participants, _muted, _volume,
                    _state == MeetingStates.InCall ? _session?.SecurityCode ?? "" : "", _startedAt, _lastError,
                    _state == MeetingStates.InCall ? _session?.Lobby?.Waiting ?? [] : []);
            }
        }
    }

    /// <summary>The current call's SFrame keys, or null outside a call.</summary>
    public MediaKeys? MediaKeys
    {
        get
        {
            lock (_gate)
            {
                return _state == MeetingStates.InCall ? _session?.Keys : null;
            }
        }
    }

    /// <summary>The current call's network media (a Janus call), or null outside one / for the loopback call.</summary>
    public ICallMedia? CallMedia
    {
        get
        {
            lock (_gate)
            {
                return _state == MeetingStates.InCall ? _session?.CallMedia : null;
            }
        }
    }

    public Task JoinAsync(string uriText)
    {
        var uri = MeetingUri.Parse(uriText);
        lock (_gate)
        {
            if (_state is not (MeetingStates.Idle or MeetingStates.Error))
            {
                throw new RoomBusException(BusErrors.WrongState, $"Cannot join while {_state}; leave the current meeting first.");
            }

            _joinCancel?.Dispose();

            _state = MeetingStates.Joining;
            _uri = uri;
            _lastError = "";
            _joinCancel = new CancellationTokenSource(s_joinTimeout, _time);
            _joinTask = ConnectAsync(uri, _muted, _joinCancel.Token);
        }

        _logger.LogInformation("Joining {Uri}", MeetingUri.Display(uri));
        RaiseChanged();
        return Task.CompletedTask;
    }

    public async Task LeaveAsync()
    {
        IMeetingSession? session;
        Task joinTask;
        lock (_gate)
        {
            switch (_state)
            {
                case MeetingStates.Joining:
                    _state = MeetingStates.Leaving;
                    _joinCancel?.Cancel();
                    break;
                case MeetingStates.InCall:
                    _state = MeetingStates.Leaving;
                    break;
                case MeetingStates.Reconnecting:
                    _state = MeetingStates.Leaving;
                    _reconnectCancel?.Cancel();
                    break;
                default:
                    throw new RoomBusException(BusErrors.WrongState, $"Not in a meeting (state {_state}).");
            }

            session = _session;
            joinTask = session is null ? Task.WhenAll(_joinTask, _reconnectTask) : Task.CompletedTask;
        }

        RaiseChanged();
        _logger.LogInformation("Leaving {Uri}", MeetingUri.Display(_uri));
        try
        {
            if (session is not null)
            {
                session.Changed -= OnSessionChanged;
                session.Ended -= OnSessionEnded;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
                await session.LeaveAsync(timeout.Token);
                await session.DisposeAsync();
            }
            else
            {
                await joinTask;
            }
        }
#pragma warning disable CA1031 // Leaving must end in idle whatever the transport does.
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Leaving did not complete cleanly");
        }
#pragma warning restore CA1031

        lock (_gate)
        {
            _session = null;
            _state = MeetingStates.Idle;
            _uri = null;
            _startedAt = null;
            _lastError = "";
        }

        RaiseChanged();
    }

    public async Task SetMicrophoneMutedAsync(bool muted)
    {
        IMeetingSession? session;
        lock (_gate)
        {
            if (_muted == muted)
            {
                return;
            }

            _muted = muted;
            session = _session;
        }

        session?.SetMicrophoneMuted(muted);
        _logger.LogInformation("Microphones {State}", muted ? "muted" : "unmuted");
        RaiseChanged();
        await Task.CompletedTask;
    }

    public async Task SetVolumeAsync(uint volume)
    {
        if (volume > 100)
        {
            throw new RoomBusException(BusErrors.OutOfRange, $"Volume {volume} is outside 0..100.");
        }

        foreach (var speaker in _devices.Speakers)
        {
            try
            {
                await speaker.SetVolumeAsync((int)volume);
            }
            catch (DeviceUnavailableException ex)
            {
                // One missing speaker must not keep the others at the old volume.
                _logger.LogWarning("Speaker {Id}: {Message}", speaker.Id, ex.Message);
            }
            catch (NotSupportedException ex)
            {
                // A speaker without a hardware volume (snd-aloop, HDMI on some boards) must not keep the others
                // at the old volume either.
                _logger.LogDebug("Speaker {Id}: {Message}", speaker.Id, ex.Message);
            }
        }

        lock (_gate)
        {
            if (_volume == volume)
            {
                return;
            }

            _volume = volume;
        }

        RaiseChanged();
    }

    /// <summary>Toggles mute (the hardware button).</summary>
    public Task ToggleMuteAsync()
    {
        bool target;
        lock (_gate)
        {
            target = !_muted;
        }

        return SetMicrophoneMutedAsync(target);
    }

    public async ValueTask DisposeAsync()
    {
        IMeetingSession? session;
        Task reconnecting;
        lock (_gate)
        {
            _joinCancel?.Cancel();
            _reconnectCancel?.Cancel();
            session = _session;
            _session = null;
            reconnecting = _reconnectTask;
        }

        if (session is not null)
        {
            await session.DisposeAsync();
        }

        await reconnecting;
        _joinCancel?.Dispose();
        _reconnectCancel?.Dispose();
    }

    private async Task ConnectAsync(Uri uri, bool muted, CancellationToken cancellationToken)
    {
        await Task.Yield();
        IMeetingSession session;
        try
        {
            session = await _transport.ConnectAsync(uri, _roomName, muted, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var left = false;
            lock (_gate)
            {
                left = _state == MeetingStates.Leaving;
            }

            if (!left)
            {
                Fail($"Joining {uri.Host} timed out.");
            }

            return;
        }
        catch (MeetingFailedException ex)
        {
            Fail(ex.Message);
            return;
        }
#pragma warning disable CA1031 // Any transport failure becomes the error state with its reason.
        catch (Exception ex)
        {
            _logger.LogError(ex, "Transport failed while joining");
            Fail($"Joining failed: {ex.Message}");
            return;
        }
#pragma warning restore CA1031

        var stale = false;
        lock (_gate)
        {
            if (_state != MeetingStates.Joining)
            {
                stale = true;
            }
            else
            {
                _startedAt = _time.GetUtcNow();
                Attach(session);
            }
        }

        if (stale)
        {
            await DiscardAsync(session);
            return;
        }

        _logger.LogInformation("In call {Uri}", MeetingUri.Display(uri));
        RaiseChanged();
    }

    /// <summary>Makes <paramref name="session"/> the current call (under the lock).</summary>
    private void Attach(IMeetingSession session)
    {
        _session = session;
        _state = MeetingStates.InCall;
        session.SetMicrophoneMuted(_muted);
        session.Changed += OnSessionChanged;
        session.Ended += OnSessionEnded;
        if (session.Lobby is { } lobby)
        {
            lobby.LobbyChanged += OnSessionChanged;
        }
    }

    /// <summary>A call that connected after the room stopped wanting it (left, or gave up): leave it at once.</summary>
    private static async Task DiscardAsync(IMeetingSession session)
    {
        await session.LeaveAsync(CancellationToken.None);
        await session.DisposeAsync();
    }

    private void OnSessionChanged(object? sender, EventArgs e) => RaiseChanged();

    /// <summary>Admits someone waiting in the current meeting's lobby (this room a host); <see cref="LobbyRefusedException"/> says why not.</summary>
    public Task AdmitAsync(string id) => DecideAsync(id, admit: true);

    /// <summary>Keeps someone waiting in the lobby out.</summary>
    public Task DenyAsync(string id) => DecideAsync(id, admit: false);

    private async Task DecideAsync(string id, bool admit)
    {
        IMeetingLobby? lobby;
        lock (_gate)
        {
            lobby = _state == MeetingStates.InCall ? _session?.Lobby : null;
        }

        if (lobby is null)
        {
            throw new LobbyRefusedException(LobbyRefusal.NoLobby, "This room sees no lobby: it is not in a meeting-server meeting it hosts.");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        await (admit ? lobby.AdmitAsync(id, timeout.Token) : lobby.DenyAsync(id, timeout.Token));
        RaiseChanged();
    }

    private void OnSessionEnded(object? sender, CallEnd end)
    {
        Uri? uri;
        bool rejoin;
        lock (_gate)
        {
            // Only the current call's end counts (a session can report more than one failure as it goes down).
            if (sender is not IMeetingSession session || !ReferenceEquals(session, _session) || _state != MeetingStates.InCall)
            {
                return;
            }

            session.Changed -= OnSessionChanged;
            session.Ended -= OnSessionEnded;
            _ = session.DisposeAsync().AsTask();
            _session = null;
            uri = _uri;
            rejoin = end.CanRejoin && _reconnectFor > TimeSpan.Zero && uri is not null;
            if (rejoin)
            {
                _state = MeetingStates.Reconnecting;
                _lastError = end.Reason + " Reconnecting …";
                _reconnectCancel?.Dispose();
                _reconnectCancel = new CancellationTokenSource();
                _reconnectTask = ReconnectAsync(uri!, end.Reason, _reconnectCancel.Token);
            }
        }

        if (!rejoin)
        {
            Fail(end.Reason);
            return;
        }

        _logger.LogWarning("Call dropped, rejoining {Uri}: {Reason}", MeetingUri.Display(uri), end.Reason);
        RaiseChanged();
    }

    /// <summary>
    /// Joins the dropped meeting again, pausing 1, 2, 4, 8, 10, 10 … s between attempts, until it works, the room
    /// leaves (cancelled), or the reconnect window is over (error, with the last reason).
    /// </summary>
    private async Task ReconnectAsync(Uri uri, string why, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var giveUpAt = _time.GetUtcNow() + _reconnectFor;
        var pause = s_firstRejoinPause;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await Task.Delay(pause, _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            pause = pause * 2 > s_longestRejoinPause ? s_longestRejoinPause : pause * 2;
            bool muted;
            lock (_gate)
            {
                muted = _muted;
            }

            IMeetingSession session;
            try
            {
                using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attemptTimeout.CancelAfter(s_joinTimeout);
                session = await _transport.ConnectAsync(uri, _roomName, muted, attemptTimeout.Token);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Every failed attempt is reported and retried until the window is over.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                string last = ex is OperationCanceledException ? "timed out" : ex.Message;
                _logger.LogWarning("Rejoining {Uri} failed (attempt {Attempt}): {Message}", MeetingUri.Display(uri), attempt, last);
                if (_time.GetUtcNow() + pause >= giveUpAt)
                {
                    lock (_gate)
                    {
                        if (_state != MeetingStates.Reconnecting)
                        {
                            return;
                        }
                    }

                    Fail($"{why} Rejoining did not succeed within {_reconnectFor.TotalMinutes:0.#} min (last attempt: {last}).");
                    return;
                }

                lock (_gate)
                {
                    if (_state != MeetingStates.Reconnecting)
                    {
                        return;
                    }

                    _lastError = $"{why} Reconnecting … (attempt {attempt} failed: {last})";
                }

                RaiseChanged();
                continue;
            }

            bool stale;
            lock (_gate)
            {
                stale = _state != MeetingStates.Reconnecting || cancellationToken.IsCancellationRequested;
                if (!stale)
                {
                    _lastError = "";
                    Reconnects++;
                    Attach(session);
                }
            }

            if (stale)
            {
                await DiscardAsync(session);
                return;
            }

            _logger.LogInformation("Rejoined {Uri} after {Attempts} attempt(s); the call had dropped: {Reason}", MeetingUri.Display(uri), attempt, why);
            RaiseChanged();
            return;
        }
    }

    private void Fail(string reason)
    {
        lock (_gate)
        {
            if (_state == MeetingStates.Leaving)
            {
                return; // the room is leaving anyway: Leave ends in idle
            }

            _state = MeetingStates.Error;
            _session = null;
            _startedAt = null;
            _lastError = reason;
        }

        _logger.LogWarning("Meeting failed: {Reason}", reason);
        RaiseChanged();
        Failed?.Invoke(this, reason);
    }

    private void RaiseChanged() => Changed?.Invoke(this, EventArgs.Empty);
}

public sealed record MeetingSnapshot(
    string State,
    string Uri,
    IReadOnlyList<MeetingParticipant> Participants,
    bool MicrophoneMuted,
    uint Volume,
    string SecurityCode,
    DateTimeOffset? StartedAt,
    string LastError,
    IReadOnlyList<LobbyEntry> Lobby);
