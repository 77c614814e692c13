using Microsoft.Extensions.Logging;

namespace Room.Fleet.Channel;

/// <summary>An update job as it arrived on one of this room's job topics (still unverified: see Jobs/JobVerifier).</summary>
public sealed record ReceivedJob(string Topic, byte[] Document);

/// <summary>
/// The room's side of the fleet channel: connects with the device certificate, leaves an "offline" status as its last
/// will, publishes its status retained, and hands on every job published to it or to one of its groups.
/// </summary>
public sealed class FleetChannel : IAsyncDisposable
{
    private readonly FleetConnection _connection;
    private readonly FleetChannelOptions _options;
    private readonly ILogger _logger;

    public FleetChannel(FleetChannelOptions options, ILogger<FleetChannel> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = logger;
        _connection = new FleetConnection(options);
        if (!FleetTopics.IsValidName(_connection.Identity))
        {
            throw new ArgumentException($"the device certificate's CN '{_connection.Identity}' cannot name a fleet topic", nameof(options));
        }

        _connection.MessageReceived += OnMessageAsync;
        _connection.Disconnected += reason =>
        {
            _logger.LogWarning("Fleet channel lost: {Reason}", reason);
            Volatile.Read(ref _lost)?.TrySetResult();
            return Task.CompletedTask;
        };
    }

    /// <summary>This room's identity on the broker (the device certificate's CN).</summary>
    public string Room => _connection.Identity;

    public bool IsConnected => _connection.IsConnected;

    /// <summary>A job arrived (retained ones too, at each connect).</summary>
    public event Func<ReceivedJob, Task>? JobReceived;

    /// <summary>The topics this room reads jobs from: its own and its groups'.</summary>
    public IReadOnlyList<string> JobTopics =>
        [FleetTopics.Jobs(Room), .. _options.Groups.Select(FleetTopics.GroupJobs)];

    /// <summary>
    /// Connects with an offline copy of <paramref name="status"/> as last will, publishes <paramref name="status"/>
    /// (retained, online) and subscribes to the job topics.
    /// </summary>
    public async Task ConnectAsync(FleetStatus status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        var will = (status with { Room = Room, Online = false, Update = null, Groups = [.. _options.Groups] }).ToJson();
        await _connection.ConnectAsync((FleetTopics.Status(Room), will), cancellationToken).ConfigureAwait(false);
        await PublishStatusAsync(status, cancellationToken).ConfigureAwait(false);
        await _connection.SubscribeAsync(JobTopics, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Fleet channel up as {Room}; jobs from {Topics}", Room, string.Join(", ", JobTopics));
    }

    private TaskCompletionSource? _lost;

    /// <summary>A connection attempt failed; the next is in <c>Delay</c> (its timer already runs).</summary>
    public event Action<TimeSpan, string>? Retrying;

    /// <summary>
    /// Keeps the channel up until cancelled: connects (publishing <paramref name="status"/>'s current value), and when
    /// the broker goes away reconnects at once and then with exponential back-off (2 s doubling to 5 min, jittered
    /// to ½-1) on <paramref name="time"/>. The broker publishes the room's last will (offline) meanwhile.
    /// </summary>
    public async Task RunAsync(Func<Task<FleetStatus>> status, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(time);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _lost, lost);
            if (!IsConnected)
            {
                try
                {
                    await ConnectAsync(await status().ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                    failures = 0;
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    var ceiling = TimeSpan.FromSeconds(2 * Math.Pow(2, Math.Min(failures - 1, 20)));
                    if (ceiling > TimeSpan.FromMinutes(5))
                    {
                        ceiling = TimeSpan.FromMinutes(5);
                    }

                    var delay = ceiling * (0.5 + (0.5 * Random.Shared.NextDouble()));
                    _logger.LogWarning("Fleet broker not reachable ({Error}); next try in {Delay}", e.Message, delay);
                    var wait = Task.Delay(delay, time, cancellationToken);
                    Retrying?.Invoke(delay, e.Message);
                    await wait.ConfigureAwait(false);
                    continue;
                }
            }

            await lost.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Publishes the room's status (retained, online).</summary>
    public Task PublishStatusAsync(FleetStatus status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        return _connection.PublishAsync(FleetTopics.Status(Room), (status with { Room = Room, Online = true, Groups = [.. _options.Groups] }).ToJson(), retain: true, cancellationToken);
    }

    /// <summary>Any publish (tests show that the broker refuses topics other than the room's own).</summary>
    internal Task PublishRawAsync(string topic, byte[] payload, bool retain, CancellationToken cancellationToken) =>
        _connection.PublishAsync(topic, payload, retain, cancellationToken);

    /// <summary>Any subscription (tests show that the broker refuses other rooms' job topics).</summary>
    internal Task SubscribeRawAsync(string filter, CancellationToken cancellationToken) =>
        _connection.SubscribeAsync([filter], cancellationToken);

    /// <summary>Every message the broker delivered, before any filtering (tests: what the broker let through).</summary>
    internal event Action<string, byte[]>? RawMessageReceived;

    private Task OnMessageAsync(string topic, byte[] payload, bool retained)
    {
        RawMessageReceived?.Invoke(topic, payload);
        if (!JobTopics.Contains(topic, StringComparer.Ordinal))
        {
            _logger.LogWarning("Fleet channel: ignored a message on {Topic}, not one of this room's job topics", topic);
            return Task.CompletedTask;
        }

        var handler = JobReceived;
        return handler is null || payload.Length == 0 ? Task.CompletedTask : handler(new ReceivedJob(topic, payload));
    }

    /// <summary>Leaves cleanly: publishes "offline" (retained) itself, then disconnects (the broker drops the will).</summary>
    public async Task DisconnectAsync(FleetStatus status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (_connection.IsConnected)
        {
            await _connection.PublishAsync(FleetTopics.Status(Room), (status with { Room = Room, Online = false, Update = null, Groups = [.. _options.Groups] }).ToJson(), retain: true, cancellationToken).ConfigureAwait(false);
        }

        await _connection.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
