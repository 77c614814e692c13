namespace Room.Devices;

public enum Indicator
{
    /// <summary>Lit while the microphones are muted.</summary>
    Muted,
    /// <summary>Lit while a call is in progress.</summary>
    InCall,
}

/// <summary>Physical controls wired to GPIO: a mute button, indicator LEDs, an occupancy sensor.</summary>
public interface IRoomControls : IDevice
{
    /// <summary>Raised once per debounced press of the hardware mute button.</summary>
    event EventHandler? MuteButtonPressed;

    /// <summary>Raised when the occupancy sensor changes (true = someone is in the room).</summary>
    event EventHandler<bool>? OccupancyChanged;

    void SetIndicator(Indicator indicator, bool lit);
}
