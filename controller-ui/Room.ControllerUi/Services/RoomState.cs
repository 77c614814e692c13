using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Room.Bus;
using Room.Bus.Client;
using Tmds.DBus.Protocol;

namespace Room.ControllerUi.Services;

/// <summary>How the panel currently reaches roomd.</summary>
public enum Link
{
    /// <summary>Not yet connected to the bus.</summary>
    Connecting,

    /// <summary>roomd is on the bus and its state is current.</summary>
    Online,

    /// <summary>The bus is there, roomd is not.</summary>
    RoomdAbsent,

    /// <summary>The bus itself cannot be reached.</summary>
    BusDown,
}

/// <summary>
/// The one copy of roomd's state in the panel. Keeps a <see cref="RoomStatus"/> current from PropertiesChanged
/// (no polling), follows roomd leaving and coming back (NameOwnerChanged) and reconnects to the bus with
/// backoff when the connection itself drops. Components subscribe to <see cref="Changed"/>.
/// </summary>
public sealed partial class RoomState : BackgroundService
{
    private static readonly TimeSpan s_minBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(5);

    // A cheap NameHasOwner round trip to notice a dead bus connection, which no signal announces.
    private static readonly TimeSpan s_linkCheck = TimeSpan.FromSeconds(3);

    private readonly string? _address;
    private readonly ILogger<RoomState> _logger;
    private readonly Lock _gate = new();
    private readonly List<(string Iface, IReadOnlyDictionary<string, VariantValue> Changed)> _pending = [];
    private RoomBusClient? _client;
    private bool _loading;
    private long _version;

    public RoomState(IOptions<ControllerUiOptions> options, ILogger<RoomState> logger)
    {
        _address = options.Value.BusAddress is { Length: > 0 } a ? a : RoomBusClient.DefaultAddress;
        _logger = logger;
    }

    /// <summary>Raised after any change of <see cref="Status"/>, <see cref="Link"/> or <see cref="LastFailure"/>.</summary>
    public event Action? Changed;

    public RoomStatus Status { get; private set; } = RoomStatus.Empty;

    public Link Link { get; private set; } = Link.Connecting;

    /// <summary>The reason of the latest Meeting.Failed signal, until the next call starts.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>Increases with every change; lets tests and components tell snapshots apart.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Runs a call against roomd. Throws <see cref="RoomBusException"/> (or <see cref="RoomUnavailableException"/>).</summary>
    public async Task<T> CallAsync<T>(Func<RoomBusClient, Task<T>> call)
    {
        var client = _client;
        if (client is null || Link != Link.Online)
        {
            throw new RoomUnavailableException();
        }

        try
        {
            return await call(client);
        }
        catch (Exception ex) when (ex is not RoomBusException)
        {
            LogCallFailed(ex);
            throw new RoomUnavailableException(ex);
        }
    }

    public Task CallAsync(Func<RoomBusClient, Task> call) =>
        CallAsync(async c =>
        {
            await call(c);
            return true;
        });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = s_minBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunConnectionAsync(() => backoff = s_minBackoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LogBusDown(_address ?? "system bus", ex.Message);
            }

            SetLink(Link.BusDown);
            await Task.Delay(backoff, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, s_maxBackoff.Ticks));
        }
    }

    private async Task RunConnectionAsync(Action connected, CancellationToken ct)
    {
        using var client = await RoomBusClient.ConnectAsync(_address, ct);
        var presence = Channel.CreateUnbounded<bool>();
        using var presenceWatch = await client.WatchPresenceAsync(p => presence.Writer.TryWrite(p));
        using var changeWatch = await client.WatchAsync(OnChange, OnFailed);
        connected();
        LogConnected(_address ?? "system bus");

        var present = await client.IsRoomdPresentAsync();
        while (!ct.IsCancellationRequested)
        {
            if (!present)
            {
                SetLink(Link.RoomdAbsent);
            }
            else if (Link != Link.Online)
            {
                await TryLoadAsync(client, ct);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(!present || Link == Link.Online ? s_linkCheck : s_minBackoff);
            try
            {
                present = await presence.Reader.ReadAsync(wait.Token);
                if (present && Link != Link.Online)
                {
                    // roomd came (back): its state starts fresh, read it all again. (A "present" while online is
                    // the echo of an appearance already handled: a restart always says "gone" first.)
                    SetLink(Link.Connecting);
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Throws when the bus connection is gone, which ends this connection.
                present = await client.IsRoomdPresentAsync();
            }
        }
    }

    /// <summary>Reads the whole state; false when roomd is not (yet) answering.</summary>
    private async Task<bool> TryLoadAsync(RoomBusClient client, CancellationToken ct)
    {
        lock (_gate)
        {
            _loading = true;
            _pending.Clear();
        }

        RoomStatus status;
        try
        {
            status = await client.GetStatusAsync().WaitAsync(ct);
        }
        catch (Exception ex) when (ex is RoomBusException or DBusErrorReplyException)
        {
            // roomd owns its name but does not answer yet (starting) or went away meanwhile.
            LogLoadFailed(ex.Message);
            lock (_gate)
            {
                _loading = false;
            }

            return false;
        }

        lock (_gate)
        {
            foreach (var (iface, changed) in _pending)
            {
                status = status.Apply(iface, changed);
            }

            _pending.Clear();
            _loading = false;
            Status = status;
            _client = client;
            Link = Link.Online;
            Interlocked.Increment(ref _version);
        }

        LogOnline(status.System.RoomName, status.Meeting.State);
        Raise();
        return true;
    }

    private void OnChange(string iface, IReadOnlyDictionary<string, VariantValue> changed)
    {
        lock (_gate)
        {
            if (_loading)
            {
                _pending.Add((iface, changed));
                return;
            }

            if (Link != Link.Online)
            {
                return;
            }

            var before = Status.Meeting.State;
            Status = Status.Apply(iface, changed);
            if (before != MeetingStates.Joining && Status.Meeting.State == MeetingStates.Joining)
            {
                LastFailure = null;
            }

            Interlocked.Increment(ref _version);
        }

        Raise();
    }

    private void OnFailed(string reason)
    {
        lock (_gate)
        {
            LastFailure = reason;
            Interlocked.Increment(ref _version);
        }

        Raise();
    }

    private void SetLink(Link link)
    {
        lock (_gate)
        {
            if (Link == link)
            {
                return;
            }

            Link = link;
            if (link != Link.Online)
            {
                _client = null;
            }

            Interlocked.Increment(ref _version);
        }

        LogLink(link);
        Raise();
    }

    private void Raise()
    {
        foreach (var handler in Changed?.GetInvocationList() ?? [])
        {
            try
            {
                ((Action)handler)();
            }
            catch (Exception ex)
            {
                LogHandlerFailed(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the bus at {Address}")]
    private partial void LogConnected(string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bus at {Address} not reachable: {Reason}")]
    private partial void LogBusDown(string address, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "roomd online: room {Room}, meeting {State}")]
    private partial void LogOnline(string room, string state);

    [LoggerMessage(Level = LogLevel.Information, Message = "Link to roomd: {Link}")]
    private partial void LogLink(Link link);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading roomd's state failed: {Reason}")]
    private partial void LogLoadFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A call to roomd failed")]
    private partial void LogCallFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "A state subscriber failed")]
    private partial void LogHandlerFailed(Exception ex);
}

/// <summary>roomd cannot be reached right now (not on the bus, or the bus is down).</summary>
public sealed class RoomUnavailableException : Exception
{
    public RoomUnavailableException()
        : base("roomd is not reachable.")
    {
    }

    public RoomUnavailableException(Exception innerException)
        : base("roomd is not reachable.", innerException)
    {
    }

    public RoomUnavailableException(string message)
        : base(message)
    {
    }

    public RoomUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
