namespace Room.Devices;

/// <summary>Common to every device roomd drives.</summary>
public interface IDevice
{
    /// <summary>Stable identifier (see <see cref="DeviceInfo.Id"/>).</summary>
    string Id { get; }

    /// <summary>Current inventory entry, including health.</summary>
    DeviceInfo Describe();
}
