namespace Room.Devices;

/// <summary>The device is unplugged, or stopped answering. Affects that device only.</summary>
public sealed class DeviceUnavailableException : Exception
{
    public DeviceUnavailableException(string deviceId, string reason)
        : base($"Device {deviceId} is unavailable: {reason}.")
    {
        DeviceId = deviceId;
    }

    public DeviceUnavailableException()
    {
        DeviceId = "";
    }

    public DeviceUnavailableException(string message)
        : base(message)
    {
        DeviceId = "";
    }

    public DeviceUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
        DeviceId = "";
    }

    public string DeviceId { get; }
}
