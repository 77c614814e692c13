namespace Room.Bus;

/// <summary>A failure that crosses the bus as a named D-Bus error (see <see cref="BusErrors"/>).</summary>
public sealed class RoomBusException : Exception
{
    public RoomBusException(string errorName, string message)
        : base(message)
    {
        ErrorName = errorName;
    }

    public RoomBusException()
        : this(BusErrors.Failed, "The operation failed.")
    {
    }

    public RoomBusException(string message)
        : this(BusErrors.Failed, message)
    {
    }

    public RoomBusException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorName = BusErrors.Failed;
    }

    public string ErrorName { get; }
}
