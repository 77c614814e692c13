using Tmds.DBus.Protocol;

namespace Room.Bus.Server;

/// <summary>
/// One D-Bus interface of an exported object. The server validates argument signatures against the
/// contract before calling <see cref="InvokeAsync"/>, so implementations only see well-typed arguments.
/// </summary>
public interface IBusInterface
{
    /// <summary>Interface name as in the contract.</summary>
    string Name { get; }

    /// <summary>Current value of every property (a snapshot; the server diffs it to emit PropertiesChanged).</summary>
    IReadOnlyDictionary<string, VariantValue> GetProperties();

    /// <summary>
    /// Runs a method. Arguments are boxed basic values in signature order (string, bool, uint, int, long, double, string[] for 'as').
    /// <see cref="BusCaller.Current"/> says who called.
    /// Returns the single out value, or null for methods without one. Throw <see cref="RoomBusException"/> for
    /// named errors; the state must be unchanged when it is thrown.
    /// </summary>
    Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken);

    /// <summary>Raised after any property may have changed; the server works out which did.</summary>
    event EventHandler? Changed;
}
