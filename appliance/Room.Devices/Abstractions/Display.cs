namespace Room.Devices;

public readonly record struct DisplayMode(int Width, int Height, double RefreshHz)
{
    public override string ToString() => $"{Width}x{Height}@{RefreshHz:0.##}";
}

public enum DisplayPower
{
    Unknown,
    On,
    Standby,
    TransitioningToOn,
    TransitioningToStandby,
}

/// <summary>An HDMI/DP output and the screen attached to it (EDID, CEC power control).</summary>
public interface IDisplay : IDevice
{
    string Name { get; }

    bool Connected { get; }

    IReadOnlyList<DisplayMode> Modes { get; }

    DisplayMode? PreferredMode { get; }

    /// <summary>Monitor identity from EDID ("GSM 27UL850 serial 1234"), empty when unknown.</summary>
    string Monitor { get; }

    /// <summary>Power as the screen itself reports it over CEC (Unknown without CEC).</summary>
    ValueTask<DisplayPower> GetPowerAsync(CancellationToken cancellationToken = default);

    /// <summary>Wakes the screen and makes us the active source (CEC Image View On + Active Source).</summary>
    ValueTask WakeAsync(CancellationToken cancellationToken = default);

    /// <summary>Puts the screen in standby (CEC Standby).</summary>
    ValueTask StandbyAsync(CancellationToken cancellationToken = default);
}
