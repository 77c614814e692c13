using Room.Appliance.Meeting;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Meeting over <see cref="MeetingService"/>.</summary>
public sealed class MeetingInterface : IBusInterface
{
    private readonly MeetingService _meeting;

    public MeetingInterface(MeetingService meeting)
    {
        _meeting = meeting;
        _meeting.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Meeting;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        var s = _meeting.Snapshot;
        var participants = new Array<Struct<string, string, bool>>(s.Participants.Select(p => Struct.Create(p.Id, p.Name, p.Muted)));
        return new Dictionary<string, VariantValue>
        {
            ["State"] = s.State,
            ["Uri"] = s.Uri,
            ["Participants"] = participants,
            ["ParticipantKinds"] = new Array<Struct<string, string, string>>(s.Participants.Select(p => Struct.Create(p.Id, p.Kind, p.InvitedBy))),
            ["MicrophoneMuted"] = s.MicrophoneMuted,
            ["Volume"] = s.Volume,
            ["SecurityCode"] = s.SecurityCode,
            ["StartedAt"] = s.StartedAt?.ToUnixTimeSeconds() ?? 0L,
            ["LastError"] = s.LastError,
            ["Lobby"] = new Array<Struct<string, string, string, string>>(s.Lobby.Select(w => Struct.Create(w.Id, w.Name, w.Kind, w.InvitedBy))),
        };
    }

    public async Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken)
    {
        switch (member)
        {
            case "Join": await _meeting.JoinAsync((string)args[0]); break;
            case "Leave": await _meeting.LeaveAsync(); break;
            case "SetMicrophoneMuted": await _meeting.SetMicrophoneMutedAsync((bool)args[0]); break;
            case "SetVolume": await _meeting.SetVolumeAsync((uint)args[0]); break;
            case "Admit" or "Deny":
                try
                {
                    await (member == "Admit" ? _meeting.AdmitAsync((string)args[0]) : _meeting.DenyAsync((string)args[0]));
                }
                catch (LobbyRefusedException e)
                {
                    throw new RoomBusException(e.Reason switch
                    {
                        LobbyRefusal.NoLobby => BusErrors.WrongState,
                        LobbyRefusal.NotWaiting => BusErrors.InvalidArgument,
                        _ => BusErrors.Failed,
                    }, e.Message);
                }

                break;
            default: throw new RoomBusException(BusErrors.NotSupported, $"Meeting.{member} is not implemented.");
        }

        return null;
    }
}
