using System.Collections.Concurrent;

namespace Room.Fleet.Channel;

/// <summary>
/// The fleet admin's side of the channel (roomctl fleet): reads every room's retained status and publishes jobs
/// (retained) to rooms and groups. Its certificate's CN must be an admin's in the broker's ACL.
/// </summary>
public sealed class FleetAdminClient : IAsyncDisposable
{
    private readonly FleetConnection _connection;
    private readonly ConcurrentDictionary<string, FleetStatus> _rooms = new(StringComparer.Ordinal);

    public FleetAdminClient(FleetChannelOptions options)
    {
        _connection = new FleetConnection(options);
        _connection.MessageReceived += (topic, payload, _) =>
        {
            if (FleetTopics.RoomOfStatus(topic) is { } room)
            {
                // A status must be the room's own (the ACL lets a room write only its own topic; check anyway).
                if (payload.Length > 0 && FleetStatus.Parse(payload) is { } s && s.Room == room)
                {
                    _rooms[room] = s;
                    StatusReceived?.Invoke(s);
                }
                else
                {
                    _rooms.TryRemove(room, out FleetStatus? _);
                }

                return Task.CompletedTask;
            }

            if (topic == SyncTopic)
            {
                if (_syncs.TryGetValue(System.Text.Encoding.ASCII.GetString(payload), out var sync))
                {
                    sync.TrySetResult();
                }

                return Task.CompletedTask;
            }

            var handler = MessageReceived;
            return handler is null ? Task.CompletedTask : handler(topic, payload);
        };
    }

    public string Identity => _connection.Identity;

    /// <summary>The last status of every room seen (retained ones at connect, then each update).</summary>
    public IReadOnlyDictionary<string, FleetStatus> Rooms => _rooms;

    /// <summary>A room's status arrived.</summary>
    public event Action<FleetStatus>? StatusReceived;

    /// <summary>Connects and reads every room's retained status: <see cref="Rooms"/> is complete when it returns.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _connection.ConnectAsync(null, cancellationToken).ConfigureAwait(false);
        await _connection.SubscribeAsync([FleetTopics.AllStatus, SyncTopic], cancellationToken).ConfigureAwait(false);
        await SyncAsync(cancellationToken).ConfigureAwait(false);
    }

    private string SyncTopic => $"{FleetTopics.Root}/admin/{_connection.Identity}/sync";

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _syncs = new(StringComparer.Ordinal);

    /// <summary>
    /// Returns once everything the broker queued for this client before now has arrived: a marker published to this
    /// admin's own topic comes back after the retained messages sent for earlier subscriptions (one connection is ordered).
    /// </summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _syncs[nonce] = tcs;
        try
        {
            await _connection.PublishAsync(SyncTopic, System.Text.Encoding.ASCII.GetBytes(nonce), retain: false, cancellationToken).ConfigureAwait(false);
            await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _syncs.TryRemove(nonce, out _);
        }
    }

    /// <summary>Publishes a signed job document (retained: a room that is offline gets it when it connects).</summary>
    public Task PublishJobToRoomAsync(string room, byte[] signedJob, CancellationToken cancellationToken) =>
        _connection.PublishAsync(FleetTopics.Jobs(room), signedJob, retain: true, cancellationToken);

    public Task PublishJobToGroupAsync(string group, byte[] signedJob, CancellationToken cancellationToken) =>
        _connection.PublishAsync(FleetTopics.GroupJobs(group), signedJob, retain: true, cancellationToken);

    /// <summary>Clears a retained job (an empty retained message).</summary>
    public Task ClearRoomJobAsync(string room, CancellationToken cancellationToken) =>
        _connection.PublishAsync(FleetTopics.Jobs(room), [], retain: true, cancellationToken);

    /// <summary>Subscribes to more topics (tests: to watch a room's job topic).</summary>
    public Task SubscribeAsync(string filter, CancellationToken cancellationToken) => _connection.SubscribeAsync([filter], cancellationToken);

    /// <summary>Any message other than a room status, on a topic subscribed with <see cref="SubscribeAsync"/> (topic, payload).</summary>
    public event Func<string, byte[], Task>? MessageReceived;

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
