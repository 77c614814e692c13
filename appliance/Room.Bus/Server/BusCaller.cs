using Tmds.DBus.Protocol;

namespace Room.Bus.Server;

/// <summary>
/// Who sent the method call being handled: the sender's unique bus name and the connection it arrived on (to ask the
/// bus about that sender, e.g. its Unix user). <see cref="BusObjectServer"/> sets <see cref="Current"/> around each
/// <see cref="IBusInterface.InvokeAsync"/>; interfaces that do not care never look.
/// </summary>
public sealed record BusCaller(string UniqueName, DBusConnection Connection)
{
    private static readonly AsyncLocal<BusCaller?> s_current = new();

    /// <summary>The caller of the method call this code runs for; null outside one (e.g. in unit tests).</summary>
    public static BusCaller? Current
    {
        get => s_current.Value;
        internal set => s_current.Value = value;
    }
}
