namespace Room.Devices.Simulated;

/// <summary>An HDMI screen with CEC: power changes pass through a transition state, like real TVs.</summary>
public sealed class SimulatedDisplay(string id, string name, TimeProvider? time = null) : IDisplay
{
    private static readonly TimeSpan s_transition = TimeSpan.FromMilliseconds(300);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private DisplayPower _target = DisplayPower.Standby;
    private DateTimeOffset _changedAt = DateTimeOffset.MinValue;

    public string Id { get; } = id;

    public string Name { get; } = name;

    public bool Connected => true;

    public IReadOnlyList<DisplayMode> Modes { get; } = [new(1920, 1080, 60), new(1280, 720, 60), new(3840, 2160, 30)];

    public DisplayMode? PreferredMode => Modes[0];

    public string Monitor => "SIM Room Display serial 0001";

    public DeviceInfo Describe() => new(Id, DeviceKind.Display, Name, "simulated", DeviceHealth.Ok, "",
        new Dictionary<string, string>
        {
            ["monitor"] = Monitor,
            ["preferred"] = PreferredMode?.ToString() ?? "",
            ["modes"] = string.Join(",", Modes),
            ["cec"] = "yes",
            ["power"] = Display.LinuxDisplay.PowerName(Power()),
        });

    public ValueTask<DisplayPower> GetPowerAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Power());

    private DisplayPower Power()
    {
        lock (_gate)
        {
            if (_time.GetUtcNow() - _changedAt >= s_transition)
            {
                return _target;
            }

            return _target == DisplayPower.On ? DisplayPower.TransitioningToOn : DisplayPower.TransitioningToStandby;
        }
    }

    public ValueTask WakeAsync(CancellationToken cancellationToken = default) => Set(DisplayPower.On);

    public ValueTask StandbyAsync(CancellationToken cancellationToken = default) => Set(DisplayPower.Standby);

    private ValueTask Set(DisplayPower power)
    {
        lock (_gate)
        {
            if (_target != power)
            {
                _target = power;
                _changedAt = _time.GetUtcNow();
            }
        }

        return ValueTask.CompletedTask;
    }
}
