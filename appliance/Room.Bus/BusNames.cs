namespace Room.Bus;

/// <summary>Names of the roomd D-Bus contract (see Contract/org.room.Appliance1.xml).</summary>
public static class BusNames
{
    public const string Service = "org.room.Appliance1";
    public const string ObjectPath = "/org/room/Appliance1";
    public const string Meeting = "org.room.Appliance1.Meeting";
    public const string Camera = "org.room.Appliance1.Camera";
    public const string Devices = "org.room.Appliance1.Devices";
    public const string System = "org.room.Appliance1.System";
    public const string Calendar = "org.room.Appliance1.Calendar";
    public const string Media = "org.room.Appliance1.Media";
    public const string Admin = "org.room.Appliance1.Admin";
    public const string Update = "org.room.Appliance1.Update";
    public const string Properties = "org.freedesktop.DBus.Properties";

    /// <summary>Every roomd interface, in contract order.</summary>
    public static IReadOnlyList<string> Interfaces { get; } = [Meeting, Camera, Devices, System, Media, Calendar, Admin, Update];
}

/// <summary>Named errors roomd returns. Each comes with a message meant for people.</summary>
public static class BusErrors
{
    public const string InvalidArgument = "org.room.Error.InvalidArgument";
    public const string InvalidUri = "org.room.Error.InvalidUri";
    public const string OutOfRange = "org.room.Error.OutOfRange";
    public const string WrongState = "org.room.Error.WrongState";
    public const string UnknownCamera = "org.room.Error.UnknownCamera";
    public const string UnknownPreset = "org.room.Error.UnknownPreset";
    public const string DeviceUnavailable = "org.room.Error.DeviceUnavailable";
    public const string NotSupported = "org.room.Error.NotSupported";
    public const string LockedOut = "org.room.Error.LockedOut";

    /// <summary>The caller may not do this: an Admin method without root or an admin session (the message says why).</summary>
    public const string NotAuthorized = "org.room.Error.NotAuthorized";
    public const string Failed = "org.room.Error.Failed";

    /// <summary>Standard error for a call whose argument types do not match the signature.</summary>
    public const string InvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
    public const string UnknownProperty = "org.freedesktop.DBus.Error.UnknownProperty";
    public const string UnknownInterface = "org.freedesktop.DBus.Error.UnknownInterface";
    public const string PropertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly";
}

/// <summary>Meeting states as they appear in the Meeting.State property.</summary>
public static class MeetingStates
{
    public const string Idle = "idle";
    public const string Joining = "joining";
    public const string InCall = "in-call";
    public const string Leaving = "leaving";
    /// <summary>The call dropped (network, SFU restart); roomd is joining the same meeting again by itself. LastError says why.</summary>
    public const string Reconnecting = "reconnecting";
    public const string Error = "error";
}
