using Room.Appliance.Camera;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Camera over <see cref="CameraService"/>.</summary>
public sealed class CameraInterface : IBusInterface
{
    private readonly CameraService _cameras;

    public CameraInterface(CameraService cameras)
    {
        _cameras = cameras;
        _cameras.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Camera;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        var s = _cameras.Snapshot;
        return new Dictionary<string, VariantValue>
        {
            ["Cameras"] = new Array<Struct<string, string>>(s.Cameras.Select(c => Struct.Create(c.Id, c.Name))),
            ["Selected"] = s.Selected,
            ["Pan"] = s.Position.Pan,
            ["Tilt"] = s.Position.Tilt,
            ["Zoom"] = s.Position.Zoom,
            ["Limits"] = Struct.Create(s.Limits.PanMin, s.Limits.PanMax, s.Limits.TiltMin, s.Limits.TiltMax),
            ["Presets"] = VariantValue.Array(s.Presets.ToArray()),
            ["AutoFraming"] = s.AutoFraming,
        };
    }

    public async Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken)
    {
        switch (member)
        {
            case "Select": await _cameras.SelectAsync((string)args[0]); break;
            case "MoveTo": await _cameras.MoveToAsync((double)args[0], (double)args[1], (double)args[2]); break;
            case "MoveBy": await _cameras.MoveByAsync((double)args[0], (double)args[1], (double)args[2]); break;
            case "StorePreset": await _cameras.StorePresetAsync((string)args[0]); break;
            case "RecallPreset": await _cameras.RecallPresetAsync((string)args[0]); break;
            case "DeletePreset": await _cameras.DeletePresetAsync((string)args[0]); break;
            case "SetAutoFraming": await _cameras.SetAutoFramingAsync((bool)args[0]); break;
            default: throw new RoomBusException(BusErrors.NotSupported, $"Camera.{member} is not implemented.");
        }

        return null;
    }
}
