using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Automation;

/// <summary>
/// What the room does by itself: the hardware mute button toggles mute, the LEDs follow mute and call state,
/// displays wake when a meeting starts or someone enters the room (PIR occupancy sensor) and go to standby after a
/// while without a call, once the room is empty.
/// </summary>
public sealed class RoomAutomation(
    MeetingService meeting,
    IDeviceProvider devices,
    IOptions<RoomOptions> options,
    TimeProvider time,
    ILogger<RoomAutomation> logger) : BackgroundService
{
    private string _lastState = MeetingStates.Idle;
    private DateTimeOffset _idleSince;
    private bool _occupied;

    /// <summary>Follows the meeting and the GPIO controls from here on (before the background loop runs).</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _idleSince = time.GetUtcNow();
        meeting.Changed += OnMeetingChanged;
        if (devices.Controls is { } controls)
        {
            controls.MuteButtonPressed += OnMuteButton;
            controls.OccupancyChanged += OnOccupancy;
        }

        UpdateIndicators();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        meeting.Changed -= OnMeetingChanged;
        if (devices.Controls is { } c)
        {
            c.MuteButtonPressed -= OnMuteButton;
            c.OccupancyChanged -= OnOccupancy;
        }

        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30), time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FollowPowerAsync(stoppingToken);
                await StandbyIfIdleAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void OnMuteButton(object? sender, EventArgs e) => _ = Safe(meeting.ToggleMuteAsync, "mute button");

    /// <summary>
    /// Someone entering wakes the displays (the panel and the room's screen are ready before anyone touches them);
    /// the standby countdown starts again when the room empties.
    /// </summary>
    private void OnOccupancy(object? sender, bool occupied)
    {
        _occupied = occupied;
        _idleSince = time.GetUtcNow();
        logger.LogInformation("Room {State}", occupied ? "occupied" : "empty");
        if (occupied)
        {
            _ = Safe(WakeDisplaysAsync, "display wake on occupancy");
        }
    }

    private void OnMeetingChanged(object? sender, EventArgs e)
    {
        UpdateIndicators();
        var state = meeting.Snapshot.State;
        if (state == _lastState)
        {
            return;
        }

        // Entering a call wakes the screens. The state is read when the handler runs, which may already be past
        // "joining" (a quick join raised both changes before it ran): entering either counts, once.
        if (state is MeetingStates.Joining or MeetingStates.InCall
            && _lastState is not (MeetingStates.Joining or MeetingStates.InCall or MeetingStates.Reconnecting))
        {
            _ = Safe(WakeDisplaysAsync, "display wake");
        }

        if (state is MeetingStates.Idle or MeetingStates.Error)
        {
            _idleSince = time.GetUtcNow();
        }

        _lastState = state;
    }

    private void UpdateIndicators()
    {
        if (devices.Controls is not { } controls)
        {
            return;
        }

        var s = meeting.Snapshot;
        controls.SetIndicator(Indicator.Muted, s.MicrophoneMuted);
        controls.SetIndicator(Indicator.InCall, s.State == MeetingStates.InCall);
    }

    private async Task WakeDisplaysAsync()
    {
        foreach (var display in devices.Displays.Where(d => d.Connected))
        {
            try
            {
                await display.WakeAsync();
            }
            catch (DeviceUnavailableException ex)
            {
                // One screen without CEC (or switched off at the wall) must not keep the others dark.
                logger.LogWarning("{Message}", ex.Message);
            }
        }
    }

    /// <summary>
    /// Asks each screen for its power status, so the Devices entry ("power") follows what the screen does, also when
    /// someone uses its remote control; a screen that does not answer is degraded by its driver.
    /// </summary>
    internal async Task FollowPowerAsync(CancellationToken cancellationToken)
    {
        foreach (var display in devices.Displays.Where(d => d.Connected))
        {
            try
            {
                await display.GetPowerAsync(cancellationToken);
            }
            catch (DeviceUnavailableException ex)
            {
                logger.LogDebug("{Message}", ex.Message);
            }
        }
    }

    /// <summary>Standby for every display that is on, after the configured time without a call and with nobody in the room.</summary>
    internal async Task StandbyIfIdleAsync(CancellationToken cancellationToken)
    {
        var minutes = options.Value.DisplayStandbyMinutes;
        if (minutes == 0 || _occupied || meeting.Snapshot.State is not (MeetingStates.Idle or MeetingStates.Error)
            || time.GetUtcNow() - _idleSince < TimeSpan.FromMinutes(minutes))
        {
            return;
        }

        foreach (var display in devices.Displays.Where(d => d.Connected))
        {
            try
            {
                if (await display.GetPowerAsync(cancellationToken) is DisplayPower.On or DisplayPower.TransitioningToOn)
                {
                    logger.LogInformation("No call for {Minutes} min: display {Id} to standby", minutes, display.Id);
                    await display.StandbyAsync(cancellationToken);
                }
            }
            catch (DeviceUnavailableException ex)
            {
                logger.LogWarning("{Message}", ex.Message);
            }
        }
    }

    private async Task Safe(Func<Task> action, string what)
    {
        try
        {
            await action();
        }
#pragma warning disable CA1031 // Automation must never take roomd down.
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Room automation ({What}) failed", what);
        }
#pragma warning restore CA1031
    }
}
