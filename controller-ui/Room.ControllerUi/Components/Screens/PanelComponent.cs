using Microsoft.AspNetCore.Components;
using Room.Bus.Client;
using Room.ControllerUi.Localization;
using Room.ControllerUi.Services;

namespace Room.ControllerUi.Components.Screens;

/// <summary>Base of the screens: the cascaded snapshot, and calls to roomd whose failures are shown, not thrown.</summary>
public abstract class PanelComponent : ComponentBase
{
    [CascadingParameter]
    public PanelView View { get; set; } = null!;

    [Inject]
    protected RoomState State { get; set; } = null!;

    [Inject]
    protected UiFeedback Feedback { get; set; } = null!;

    protected Texts T => View.T;

    protected RoomStatus Status => View.Status;

    /// <summary>True while a call started here is running (buttons show it and do not fire twice).</summary>
    protected bool Busy { get; private set; }

    /// <summary>Runs a call to roomd; on failure shows why and returns false.</summary>
    protected async Task<bool> RunAsync(Func<RoomBusClient, Task> call)
    {
        Busy = true;
        try
        {
            await State.CallAsync(call);
            Feedback.Clear();
            return true;
        }
        catch (Exception ex) when (ex is Room.Bus.RoomBusException or RoomUnavailableException)
        {
            Feedback.Show(UiFeedback.Describe(ex, T));
            return false;
        }
        finally
        {
            Busy = false;
        }
    }
}
