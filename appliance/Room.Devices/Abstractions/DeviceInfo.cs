namespace Room.Devices;

/// <summary>What a device is, as roomd's inventory and the Devices D-Bus interface report it.</summary>
public enum DeviceKind
{
    Camera,
    Microphone,
    Speaker,
    Display,
    Gpio,
}

/// <summary>Health as people in the room and the fleet admin see it.</summary>
public enum DeviceHealth
{
    /// <summary>Working.</summary>
    Ok,
    /// <summary>Working with reduced function (e.g. PTZ not answering, capture at a fallback format).</summary>
    Degraded,
    /// <summary>Configured or previously seen, but not present now (unplugged).</summary>
    Missing,
    /// <summary>Present but not usable (driver error, garbage answers).</summary>
    Failed,
}

/// <summary>
/// One entry of the device inventory. <see cref="Id"/> is stable across restarts and re-plugging
/// (USB serial or bus path for USB devices, connector name for displays, card id for audio).
/// </summary>
public sealed record DeviceInfo(
    string Id,
    DeviceKind Kind,
    string Name,
    string Driver,
    DeviceHealth Health,
    string HealthDetail,
    IReadOnlyDictionary<string, string> Capabilities);
