using Room.Bus;
using Room.Bus.Client;
using Room.ControllerUi.Localization;

namespace Room.ControllerUi.Services;

/// <summary>One consistent snapshot of everything a screen renders; cascaded from the layout.</summary>
public sealed record PanelView(RoomStatus Status, Link Link, string? LastFailure, Texts T, bool HighContrast)
{
    public bool Online => Link == Link.Online;

    /// <summary>A call is being set up, running or being left: the call screen is shown.</summary>
    public bool InCallScreen => Online && Status.Meeting.State is MeetingStates.Joining or MeetingStates.InCall or MeetingStates.Reconnecting or MeetingStates.Leaving;

    /// <summary>The meeting happening now, else the next one (the one the big Join button joins).</summary>
    public CalendarEntry? Featured(DateTimeOffset now) =>
        Status.Upcoming.FirstOrDefault(e => e.Start <= now && now < e.End)
        ?? Status.Upcoming.Where(e => e.Start > now).MinBy(e => e.Start);

    /// <summary>The calendar title of the meeting at <paramref name="uri"/>, if it is in the calendar.</summary>
    public string? TitleOf(string uri) => Status.Upcoming.FirstOrDefault(e => e.Uri == uri)?.Title;
}

/// <summary>Messages for the person at the panel (an action failed), per browser session.</summary>
public sealed class UiFeedback
{
    public event Action? Changed;

    public string? Message { get; private set; }

    public void Show(string message)
    {
        Message = message;
        Changed?.Invoke();
    }

    public void Clear()
    {
        Message = null;
        Changed?.Invoke();
    }

    /// <summary>The words for a failed call, by roomd's error name.</summary>
    public static string Describe(Exception ex, Texts t) => ex switch
    {
        RoomUnavailableException => t["error.unavailable"],
        RoomBusException { ErrorName: BusErrors.InvalidUri } => t["error.invaliduri"],
        RoomBusException { ErrorName: BusErrors.WrongState } => t["error.wrongstate"],
        RoomBusException { ErrorName: BusErrors.LockedOut } => t["pin.locked"],
        RoomBusException b when b.ErrorName.StartsWith("org.freedesktop.DBus.Error.", StringComparison.Ordinal) => t["error.unavailable"],
        RoomBusException b => $"{t["error.generic"]}: {b.Message}",
        _ => t["error.generic"],
    };
}
