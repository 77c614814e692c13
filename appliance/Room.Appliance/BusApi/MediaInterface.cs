using Room.Appliance.Display;
using Room.Appliance.Media;
using Room.Bus;
using Room.Bus.Server;
using Room.Media;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Media over <see cref="LoopbackMedia"/>.</summary>
public sealed class MediaInterface : IBusInterface
{
    private readonly LoopbackMedia _media;
    private readonly RoomDisplay _display;

    public MediaInterface(LoopbackMedia media, RoomDisplay display)
    {
        _media = media;
        _display = display;
        _media.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        _display.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Media;

    public event EventHandler? Changed;

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        var s = _media.Status;
        return new Dictionary<string, VariantValue>
        {
            ["Active"] = s.Active,
            ["Camera"] = s.Camera,
            ["VideoEncoder"] = s.VideoEncoder,
            ["VideoDecoder"] = s.VideoDecoder,
            ["Audio"] = s.Audio,
            ["Encryption"] = s.Encryption,
            ["Transport"] = s.Transport,
            ["Error"] = s.Error,
            ["Display"] = _display.State,
        };
    }

    public async Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken) => member switch
    {
        "Snapshot" => _media.Snapshot() ?? throw new RoomBusException(BusErrors.WrongState, "No picture yet: media flows only during a call."),
        // Probing opens every candidate codec: keep it off the bus dispatch thread.
        // The codec report, then the network call's transport and counters (frames sent and decoded) when in one.
        "GetReport" => await Task.Run(() => _media.CallStatistics is { } call ? MediaInfo.Report() + "\n" + call : MediaInfo.Report(), cancellationToken),
        _ => throw new RoomBusException(BusErrors.NotSupported, $"Media.{member} is not implemented."),
    };
}
