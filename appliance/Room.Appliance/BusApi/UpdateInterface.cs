using Room.Bus;
using Room.Bus.Server;
using Room.Fleet;
using Room.Fleet.Channel;
using Tmds.DBus.Protocol;

namespace Room.Appliance.BusApi;

/// <summary>org.room.Appliance1.Update over the update agent's <see cref="UpdateStatusBoard"/> (read-only).</summary>
public sealed class UpdateInterface : IBusInterface
{
    private readonly UpdateStatusBoard _board;

    public UpdateInterface(UpdateStatusBoard board)
    {
        _board = board;
        _board.Changed += (_, _) => Changed?.Invoke(this, EventArgs.Empty);
    }

    public string Name => BusNames.Update;

    public event EventHandler? Changed;

    public const string NoAgentState = "off";

    public const string NoAgentMessage = "no update agent runs in this roomd (no fleet channel configured)";

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        var p = _board.Current;
        return new Dictionary<string, VariantValue>
        {
            // Until an agent posts here, none runs: roomd does not start the fleet agent yet, so say so rather than "idle".
            ["State"] = p is null ? NoAgentState : StateName(p.Phase),
            ["JobId"] = p?.JobId ?? "",
            ["Progress"] = (uint)Math.Clamp(p?.Percent ?? 0, 0, 100),
            ["Message"] = p?.Message ?? NoAgentMessage,
        };
    }

    public Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken) =>
        throw new RoomBusException(BusErrors.NotSupported, $"Update.{member} is not implemented.");

    /// <summary>The contract's state names: waiting-for-reboot for <see cref="UpdatePhase.WaitingForReboot"/>, and so on.</summary>
    public static string StateName(UpdatePhase phase) => phase switch
    {
        UpdatePhase.Accepted => "accepted",
        UpdatePhase.Refused => "refused",
        UpdatePhase.Downloading => "downloading",
        UpdatePhase.Installing => "installing",
        UpdatePhase.WaitingForReboot => "waiting-for-reboot",
        UpdatePhase.Rebooting => "rebooting",
        UpdatePhase.Succeeded => "succeeded",
        UpdatePhase.Failed => "failed",
        UpdatePhase.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, null),
    };
}
