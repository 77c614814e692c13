using Tmds.DBus.Protocol;

namespace Room.Appliance.Administration.Time;

/// <summary>What the administrator is told when the operating system's time services do not take a setting.</summary>
public static class TimeRefusals
{
    private static readonly string[] PermissionErrors =
    [
        "org.freedesktop.DBus.Error.AccessDenied",
        "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
    ];

    private static readonly string[] AbsentErrors =
    [
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoReply",
        "org.freedesktop.DBus.Error.Spawn.ChildExited",
    ];

    /// <summary>systemd-timedated did not set <paramref name="zone"/> (SetTimezone failed with <paramref name="ex"/>).</summary>
    public static AdminRefusedException Timedated(string zone, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex switch
        {
            DBusErrorReplyException { ErrorName: "org.freedesktop.DBus.Error.InvalidArgs" } e => new(AdminRefusalKind.InvalidArgument,
                $"systemd-timedated does not take the time zone '{zone}': {e.ErrorMessage}"),
            DBusErrorReplyException e when PermissionErrors.Contains(e.ErrorName) => new(AdminRefusalKind.Failed,
                $"systemd-timedated did not let roomd set the time zone (polkit action org.freedesktop.timedate1.set-timezone for roomd's user): {OsBus.Describe(e)}"),
            _ => Unreachable("systemd-timedated", ex),
        };
    }

    /// <summary>The NTP servers did not reach systemd-timesyncd: the drop-in was not written or <paramref name="unit"/> not restarted.</summary>
    public static AdminRefusedException Timesyncd(string unit, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex switch
        {
            IOException or UnauthorizedAccessException => new(AdminRefusalKind.Failed, $"The systemd-timesyncd drop-in could not be written: {ex.Message}"),
            DBusErrorReplyException { ErrorName: "org.freedesktop.systemd1.NoSuchUnit" or "org.freedesktop.systemd1.LoadFailed" } e => new(AdminRefusalKind.Failed,
                $"systemd has no unit {unit} to restart (is systemd-timesyncd installed?): {OsBus.Describe(e)}"),
            DBusErrorReplyException e when PermissionErrors.Contains(e.ErrorName) => new(AdminRefusalKind.Failed,
                $"systemd did not let roomd restart {unit} (polkit action org.freedesktop.systemd1.manage-units for roomd's user): {OsBus.Describe(e)}"),
            _ => Unreachable($"systemd (restarting {unit})", ex),
        };
    }

    private static AdminRefusedException Unreachable(string who, Exception ex) => new(AdminRefusalKind.Failed,
        ex is DBusErrorReplyException e && !AbsentErrors.Contains(e.ErrorName)
            ? $"{who} refused: {OsBus.Describe(e)}"
            : $"{who} cannot be reached: {OsBus.Describe(ex)}");
}
