using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices;

namespace Room.Appliance.Automation;

/// <summary>
/// What the room does by itself: the hardware mute button toggles mute, the LEDs follow mute and call state,
/// displays wake when a meeting starts and go to standby after a while without one.
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _idleSince = time.GetUtcNow();
        meeting.Changed += OnMeetingChanged;
        if (devices.Controls is { } controls)
        {
            controls.MuteButtonPressed += OnMuteButton;
        }

        UpdateIndicators();
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30), time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await StandbyIfIdleAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            meeting.Changed -= OnMeetingChanged;
            if (devices.Controls is { } c)
            {
                c.MuteButtonPressed -= OnMuteButton;
            }
        }
    }

    private void OnMuteButton(object? sender, EventArgs e) => _ = Safe(meeting.ToggleMuteAsync, "mute button");

    private void OnMeetingChanged(object? sender, EventArgs e)
    {
        UpdateIndicators();
        var state = meeting.Snapshot.State;
        if (state == _lastState)
        {
            return;
        }

        if (state == MeetingStates.Joining)
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
            await display.WakeAsync();
        }
    }

    private async Task StandbyIfIdleAsync(CancellationToken cancellationToken)
    {
        var minutes = options.Value.DisplayStandbyMinutes;
        if (minutes == 0 || meeting.Snapshot.State is not (MeetingStates.Idle or MeetingStates.Error)
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
