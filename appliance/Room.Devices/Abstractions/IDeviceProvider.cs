namespace Room.Devices;

/// <summary>
/// Finds the room's devices and follows hot-plug. The simulated provider backs `make run` and tests;
/// the Linux provider scans sysfs and listens to udev.
/// </summary>
public interface IDeviceProvider
{
    IReadOnlyList<ICamera> Cameras { get; }

    IReadOnlyList<IMicrophone> Microphones { get; }

    IReadOnlyList<ISpeaker> Speakers { get; }

    IReadOnlyList<IDisplay> Displays { get; }

    /// <summary>GPIO controls, when any are configured.</summary>
    IRoomControls? Controls { get; }

    /// <summary>Raised after a device appeared, disappeared or changed health.</summary>
    event EventHandler? DevicesChanged;

    /// <summary>Starts discovery and hot-plug monitoring.</summary>
    Task StartAsync(CancellationToken cancellationToken);
}
