using Microsoft.Extensions.Logging.Abstractions;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.ControllerUi.Tests;

/// <summary>
/// A stand-in for roomd in unit tests of the panel's state service: the real contract (BusObjectServer) with
/// a few properties whose values the test sets. The browser tests use the real roomd.
/// </summary>
public sealed class FakeRoomd : IAsyncDisposable
{
    private readonly DBusConnection _connection;
    private readonly BusObjectServer _server;

    private FakeRoomd(DBusConnection connection, BusObjectServer server, Dictionary<string, FakeInterface> interfaces)
    {
        _connection = connection;
        _server = server;
        Interfaces = interfaces;
    }

    public IReadOnlyDictionary<string, FakeInterface> Interfaces { get; }

    public FakeInterface Meeting => Interfaces[BusNames.Meeting];

    public FakeInterface System => Interfaces[BusNames.System];

    public static async Task<FakeRoomd> StartAsync(string address, string roomName = "Fake room")
    {
        var interfaces = BusNames.Interfaces.ToDictionary(n => n, n => new FakeInterface(n));
        interfaces[BusNames.Meeting].Set("State", MeetingStates.Idle);
        interfaces[BusNames.Meeting].Set("MicrophoneMuted", false);
        interfaces[BusNames.Meeting].Set("Volume", 50u);
        interfaces[BusNames.System].Set("RoomName", roomName);
        interfaces[BusNames.Meeting].OnCall = (member, args) =>
        {
            switch (member)
            {
                case "SetMicrophoneMuted":
                    interfaces[BusNames.Meeting].Set("MicrophoneMuted", (bool)args[0]);
                    return null;
                case "Join":
                    interfaces[BusNames.Meeting].Set("Uri", (string)args[0]);
                    interfaces[BusNames.Meeting].Set("State", MeetingStates.InCall);
                    return null;
                default:
                    throw new RoomBusException(BusErrors.NotSupported, member + " is not faked.");
            }
        };
        interfaces[BusNames.System].OnCall = (member, args) => member == "CheckAdminPin" ? (object)((string)args[0] == "4711") : null;

        var connection = new DBusConnection(address);
        await connection.ConnectAsync();
        var server = new BusObjectServer(BusNames.ObjectPath, interfaces.Values, NullLogger.Instance);
        connection.AddMethodHandler(server);
        server.Attach(connection);
        await connection.RequestNameAsync(BusNames.Service);
        return new FakeRoomd(connection, server, interfaces);
    }

    public ValueTask DisposeAsync()
    {
        _server.Dispose();
        _connection.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class FakeInterface(string name) : IBusInterface
{
    private readonly Dictionary<string, VariantValue> _properties = [];
    private readonly Lock _gate = new();
    private int _reads;

    public event EventHandler? Changed;

    /// <summary>How often the properties were read: by the server to work out a change, or by a client (Get, GetAll).</summary>
    public int Reads => Volatile.Read(ref _reads);

    public string Name { get; } = name;

    public Func<string, IReadOnlyList<object>, object?> OnCall { get; set; } = (_, _) => null;

    public void Set(string property, VariantValue value)
    {
        lock (_gate)
        {
            _properties[property] = value;
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    public IReadOnlyDictionary<string, VariantValue> GetProperties()
    {
        Interlocked.Increment(ref _reads);
        lock (_gate)
        {
            return new Dictionary<string, VariantValue>(_properties);
        }
    }

    public Task<object?> InvokeAsync(string member, IReadOnlyList<object> args, CancellationToken cancellationToken) =>
        Task.FromResult(OnCall(member, args));
}
