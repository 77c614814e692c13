namespace Room.Devices.Simulated;

/// <summary>GPIO stand-in: tests press the button and read the LEDs.</summary>
public sealed class SimulatedRoomControls : IRoomControls
{
    private readonly bool[] _indicators = new bool[Enum.GetValues<Indicator>().Length];

    public string Id => "gpio:simulated";

    public event EventHandler? MuteButtonPressed;

    public event EventHandler<bool>? OccupancyChanged;

    public DeviceInfo Describe() => new(Id, DeviceKind.Gpio, "Room controls", "simulated", DeviceHealth.Ok, "",
        new Dictionary<string, string>
        {
            ["inputs"] = "mute-button,occupancy",
            ["outputs"] = "led-muted,led-in-call",
            ["led-muted"] = IsLit(Indicator.Muted) ? "on" : "off",
            ["led-in-call"] = IsLit(Indicator.InCall) ? "on" : "off",
            ["occupied"] = Occupied ? "yes" : "no",
        });

    public void SetIndicator(Indicator indicator, bool lit) => _indicators[(int)indicator] = lit;

    public bool IsLit(Indicator indicator) => _indicators[(int)indicator];

    public void PressMuteButton() => MuteButtonPressed?.Invoke(this, EventArgs.Empty);

    /// <summary>What the simulated occupancy sensor last reported.</summary>
    public bool Occupied { get; private set; }

    public void SetOccupied(bool occupied)
    {
        Occupied = occupied;
        OccupancyChanged?.Invoke(this, occupied);
    }
}
