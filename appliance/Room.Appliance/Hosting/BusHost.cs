using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Hosting;

/// <summary>
/// Puts roomd on the bus: connects, exports /org/room/Appliance1, takes the well-known name. If the name is
/// taken or the bus goes away, roomd stops with an error so that systemd restarts it.
/// </summary>
public sealed class BusHost(
    IOptions<BusOptions> options,
    IEnumerable<IBusInterface> interfaces,
    MeetingService meeting,
    IHostApplicationLifetime lifetime,
    ILogger<BusHost> logger,
    ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private DBusConnection? _connection;
    private BusObjectServer? _server;

    /// <summary>True while roomd owns its name on a live connection (the watchdog asks).</summary>
    public bool IsServing { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var address = options.Value.Address is { Length: > 0 } a ? a : DBusAddress.System
            ?? throw new InvalidOperationException("No system bus address is known; pass --bus ADDRESS.");
        _server = new BusObjectServer(BusNames.ObjectPath, interfaces, loggers.CreateLogger<BusObjectServer>());
        _connection = new DBusConnection(new DBusConnectionOptions(address) { AutoConnect = false });
        await _connection.ConnectAsync();
        _connection.AddMethodHandler(_server);
        _server.Attach(_connection);
        meeting.Failed += OnMeetingFailed;

        if (!await _connection.TryRequestNameAsync(BusNames.Service, RequestNameOptions.None))
        {
            throw new InvalidOperationException($"{BusNames.Service} is already owned on {address}: is another roomd running?");
        }

        IsServing = true;
        logger.LogInformation("roomd serving {Service} at {Path} on {Address}", BusNames.Service, BusNames.ObjectPath, address);
        _ = WatchDisconnectAsync(_connection);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        IsServing = false;
        meeting.Failed -= OnMeetingFailed;
        if (_connection is not null)
        {
            try
            {
                await _connection.ReleaseNameAsync(BusNames.Service);
            }
            catch (DBusExceptionBase)
            {
                // Already gone with the connection.
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _server?.Dispose();
        _connection?.Dispose();
        return ValueTask.CompletedTask;
    }

    private void OnMeetingFailed(object? sender, string reason) => _server?.EmitSignal(BusNames.Meeting, "Failed", reason);

    private async Task WatchDisconnectAsync(DBusConnection connection)
    {
        var reason = await connection.DisconnectedAsync();
        if (!IsServing)
        {
            return;
        }

        IsServing = false;
        logger.LogCritical(reason, "Lost the bus connection; stopping so that the service manager restarts roomd");
        Environment.ExitCode = 3;
        lifetime.StopApplication();
    }
}
