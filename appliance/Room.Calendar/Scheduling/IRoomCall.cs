namespace Room.Calendar.Scheduling;

/// <summary>The call as the scheduler sees it.</summary>
public enum RoomCallState
{
    Idle,
    Joining,
    InCall,
    Leaving,

    /// <summary>The last call failed or ended abnormally; a new one may be joined.</summary>
    Failed,
}

/// <summary>The room's call, as far as the calendar scheduler acts on it (roomd adapts its meeting service to this).</summary>
public interface IRoomCall
{
    RoomCallState State { get; }

    /// <summary>The current call's address as it may be shown (no key fragment); empty when idle.</summary>
    string Uri { get; }

    /// <summary>Whether anyone besides the room is still in the call.</summary>
    bool OthersPresent { get; }

    /// <summary>Any of the above changed.</summary>
    event EventHandler? Changed;

    /// <summary>Starts joining; throws when the address or the state does not allow it.</summary>
    Task JoinAsync(string uri);

    Task LeaveAsync();
}
