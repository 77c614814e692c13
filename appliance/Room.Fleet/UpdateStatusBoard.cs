using Room.Fleet.Channel;

namespace Room.Fleet;

/// <summary>
/// The update agent's last job and where it stands, for roomd's org.room.Appliance1.Update interface and the panel:
/// the agent posts, the bus interface reads and announces. Null until the first job.
/// </summary>
public sealed class UpdateStatusBoard
{
    private UpdateProgress? _current;

    public UpdateProgress? Current => Volatile.Read(ref _current);

    public event EventHandler? Changed;

    public void Post(UpdateProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        Volatile.Write(ref _current, progress);
        Changed?.Invoke(this, EventArgs.Empty);
    }
}
