using Room.Appliance.Meeting;
using Room.Bus;
using Room.Calendar.Scheduling;

namespace Room.Appliance.Calendar;

/// <summary>roomd's meeting service as the calendar scheduler sees it.</summary>
public sealed class MeetingRoomCall : IRoomCall
{
    private readonly MeetingService _meeting;

    public MeetingRoomCall(MeetingService meeting)
    {
        _meeting = meeting;
        _meeting.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public event EventHandler? Changed;

    public RoomCallState State => _meeting.Snapshot.State switch
    {
        MeetingStates.Joining => RoomCallState.Joining,
        MeetingStates.InCall => RoomCallState.InCall,
        MeetingStates.Leaving => RoomCallState.Leaving,
        MeetingStates.Error => RoomCallState.Failed,
        _ => RoomCallState.Idle,
    };

    public string Uri => _meeting.Snapshot.Uri;

    /// <summary>
    /// The participant list starts with the room itself; anyone after it is someone else, except the loopback call's
    /// peer, which is the room's own media looped back rather than a person.
    /// </summary>
    public bool OthersPresent => _meeting.Snapshot.Participants.Skip(1).Any(p => p.Id != LoopbackPeerId);

    /// <summary>The id LoopbackTransport gives its simulated peer.</summary>
    internal const string LoopbackPeerId = "loopback-peer";

    public Task JoinAsync(string uri) => _meeting.JoinAsync(uri);

    public Task LeaveAsync() => _meeting.LeaveAsync();
}
