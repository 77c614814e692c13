using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Meeting;

/// <summary>
/// The meeting state machine: idle -> joining -> in-call -> leaving -> idle, with error after a failed join or a
/// call that ended abnormally. Every refused call leaves the state exactly as it was.
/// </summary>
public sealed class MeetingService : IAsyncDisposable
{
    private static readonly TimeSpan s_joinTimeout = TimeSpan.FromSeconds(30);

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

    public MeetingService(IMeetingTransport transport, IDeviceProvider devices, IOptions<RoomOptions> options, TimeProvider time, ILogger<MeetingService> logger)
    {
        _transport = transport;
        _devices = devices;
        _time = time;
        _logger = logger;
        _roomName = string.IsNullOrWhiteSpace(options.Value.Name) ? Environment.MachineName : options.Value.Name;
        _volume = options.Value.InitialVolume;
    }

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
                    _state == MeetingStates.InCall ? _session?.SecurityCode ?? "" : "", _startedAt, _lastError);
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
                default:
                    throw new RoomBusException(BusErrors.WrongState, $"Not in a meeting (state {_state}).");
            }

            session = _session;
            joinTask = _joinTask;
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
        lock (_gate)
        {
            _joinCancel?.Cancel();
            session = _session;
            _session = null;
        }

        if (session is not null)
        {
            await session.DisposeAsync();
        }

        _joinCancel?.Dispose();
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
                _session = session;
                _state = MeetingStates.InCall;
                _startedAt = _time.GetUtcNow();
                session.SetMicrophoneMuted(_muted);
                session.Changed += OnSessionChanged;
                session.Ended += OnSessionEnded;
            }
        }

        if (stale)
        {
            await session.LeaveAsync(CancellationToken.None);
            await session.DisposeAsync();
            return;
        }

        _logger.LogInformation("In call {Uri}", MeetingUri.Display(uri));
        RaiseChanged();
    }

    private void OnSessionChanged(object? sender, EventArgs e) => RaiseChanged();

    private void OnSessionEnded(object? sender, string reason)
    {
        if (sender is IMeetingSession session)
        {
            session.Changed -= OnSessionChanged;
            session.Ended -= OnSessionEnded;
            _ = session.DisposeAsync().AsTask();
        }

        Fail(reason);
    }

    private void Fail(string reason)
    {
        lock (_gate)
        {
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
    string LastError);
