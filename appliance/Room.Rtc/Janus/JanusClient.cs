using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Room.Rtc.Janus;

/// <summary>A message from Janus for one plugin handle: plugin data and an optional JSEP.</summary>
public sealed record JanusEvent(string Kind, JsonObject? Data, string? JsepType, string? Sdp, JsonObject Raw);

/// <summary>
/// Janus's WebSocket API ("janus-protocol"): sessions, plugin handles, transactions, keepalives and asynchronous
/// events. Messages larger than <see cref="MaxMessageBytes"/> close the connection. A keepalive that Janus does not
/// acknowledge within <see cref="KeepaliveAckTimeout"/> closes it too: a TCP connection whose path died (network cut,
/// our address gone) would otherwise look open for many minutes, and nothing above would learn the call is gone.
/// </summary>
public sealed class JanusClient : IAsyncDisposable
{
    public const int MaxMessageBytes = 1024 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly ConcurrentDictionary<long, JanusHandle> _handles = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _reader, _keepalive;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _acks = new();
    private long _transaction;
    private volatile bool _closed;

    /// <summary>How often a keepalive is sent (Janus ends sessions silent for 60 s by default).</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A keepalive not acknowledged within this closes the connection (<see cref="CloseReason"/> says so).</summary>
    public TimeSpan KeepaliveAckTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Why the connection closed, once it has (null while open).</summary>
    public string? CloseReason { get; private set; }

    private JanusClient(ClientWebSocket socket) => _socket = socket;

    private string? _token;

    public long SessionId { get; private set; }

    public static Task<JanusClient> ConnectAsync(Uri uri, CancellationToken cancellationToken) =>
        ConnectAsync(uri, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), cancellationToken);

    /// <summary>Connects with the given keepalive interval and acknowledgement timeout.</summary>
    public static Task<JanusClient> ConnectAsync(Uri uri, TimeSpan keepaliveInterval, TimeSpan keepaliveAckTimeout, CancellationToken cancellationToken) =>
        ConnectAsync(uri, null, keepaliveInterval, keepaliveAckTimeout, cancellationToken);

    /// <summary>
    /// Connects to a Janus that opens sessions only for signed tokens (<c>token_auth</c>): <paramref name="token"/> goes
    /// with every request (null: none).
    /// </summary>
    public static Task<JanusClient> ConnectAsync(Uri uri, string? token, CancellationToken cancellationToken) =>
        ConnectAsync(uri, token, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), cancellationToken);

    public static Task<JanusClient> ConnectAsync(Uri uri, string? token, TimeSpan keepaliveInterval, TimeSpan keepaliveAckTimeout, CancellationToken cancellationToken) =>
        ConnectAsync(uri, token, null, keepaliveInterval, keepaliveAckTimeout, cancellationToken);

    /// <summary>
    /// Connects over <c>wss://</c> checking Janus's TLS certificate with <paramref name="certificateValidation"/> (null: the
    /// system's trust); a certificate it refuses fails the connection.
    /// </summary>
    public static Task<JanusClient> ConnectAsync(Uri uri, string? token, System.Net.Security.RemoteCertificateValidationCallback? certificateValidation, CancellationToken cancellationToken) =>
        ConnectAsync(uri, token, certificateValidation, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), cancellationToken);

    public static async Task<JanusClient> ConnectAsync(Uri uri, string? token, System.Net.Security.RemoteCertificateValidationCallback? certificateValidation,
        TimeSpan keepaliveInterval, TimeSpan keepaliveAckTimeout, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(keepaliveInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(keepaliveAckTimeout, TimeSpan.Zero);
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("janus-protocol");
        if (certificateValidation is not null) socket.Options.RemoteCertificateValidationCallback = certificateValidation;
        try
        {
            await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var client = new JanusClient(socket) { KeepaliveInterval = keepaliveInterval, KeepaliveAckTimeout = keepaliveAckTimeout, _token = token };
        client._reader = Task.Run(client.ReadLoop, CancellationToken.None);
        var created = await client.RequestAsync(new JsonObject { ["janus"] = "create" }, cancellationToken).ConfigureAwait(false);
        client.SessionId = created["data"]?["id"]?.GetValue<long>() ?? throw new RtcFormatException(RtcError.BadSyntax, "no session id");
        client._keepalive = Task.Run(client.KeepaliveLoop, CancellationToken.None);
        return client;
    }

    public async Task<JanusHandle> AttachAsync(string plugin, CancellationToken cancellationToken)
    {
        var r = await RequestAsync(new JsonObject { ["janus"] = "attach", ["plugin"] = plugin, ["session_id"] = SessionId }, cancellationToken)
            .ConfigureAwait(false);
        long id = r["data"]?["id"]?.GetValue<long>() ?? throw new RtcFormatException(RtcError.BadSyntax, "no handle id");
        var handle = new JanusHandle(this, id);
        _handles[id] = handle;
        return handle;
    }

    internal string NextTransaction() => "t" + Interlocked.Increment(ref _transaction).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Sends a request and waits for the reply with the same transaction that is not an "ack".</summary>
    internal async Task<JsonObject> RequestAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var transaction = NextTransaction();
        message["transaction"] = transaction;
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[transaction] = tcs;
        try
        {
            // After the read loop ended (closed, or an oversized message refused) nothing can answer.
            if (_closed) throw new IOException("Janus connection closed");
            await SendAsync(message, cancellationToken).ConfigureAwait(false);
            var reply = await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if ((string?)reply["janus"] == "error")
                throw new RtcFormatException(RtcError.Unsupported, "Janus error: " + reply["error"]?.ToJsonString());
            return reply;
        }
        finally
        {
            _pending.TryRemove(transaction, out _);
        }
    }

    internal async Task SendAsync(JsonObject message, CancellationToken cancellationToken)
    {
        if (_token is not null) message["token"] = _token;
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (message.Length > MaxMessageBytes)
                {
                    _socket.Abort(); // a peer that sends more than we accept is not read further
                    break;
                }
                if (!r.EndOfMessage) continue;
                JsonObject? json = null;
                try
                {
                    json = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length)) as JsonObject;
                }
                catch (System.Text.Json.JsonException)
                {
                }
                message.SetLength(0);
                if (json is not null) Dispatch(json);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException e)
        {
            CloseReason ??= "the connection broke: " + e.Message;
        }
        CloseReason ??= "Janus closed the connection";
        _closed = true;
        foreach (var p in _pending.Values) p.TrySetException(new IOException("Janus connection closed"));
        foreach (var h in _handles.Values) h.Complete();
    }

    private void Dispatch(JsonObject json)
    {
        var kind = (string?)json["janus"];
        var transaction = (string?)json["transaction"];
        if (kind == "ack")
        {
            if (transaction is not null && _acks.TryRemove(transaction, out var ack)) ack.TrySetResult();
            return;
        }
        if (transaction is not null && _pending.TryGetValue(transaction, out var tcs) && kind is "success" or "error")
        {
            tcs.TrySetResult(json);
            return;
        }
        long sender = json["sender"]?.GetValue<long>() ?? 0;
        if (_handles.TryGetValue(sender, out var handle))
        {
            var jsep = json["jsep"] as JsonObject;
            var evt = new JanusEvent(kind ?? "", json["plugindata"]?["data"] as JsonObject, (string?)jsep?["type"], (string?)jsep?["sdp"], json);
            if (transaction is not null && _pending.TryGetValue(transaction, out var waiter) && kind == "event")
                waiter.TrySetResult(json);
            handle.Post(evt);
        }
    }

    private async Task KeepaliveLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(KeepaliveInterval, _stop.Token).ConfigureAwait(false);
                var transaction = NextTransaction();
                var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _acks[transaction] = acked;
                using var sendTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                sendTimeout.CancelAfter(KeepaliveAckTimeout);
                try
                {
                    await SendAsync(new JsonObject { ["janus"] = "keepalive", ["session_id"] = SessionId, ["transaction"] = transaction }, sendTimeout.Token)
                        .ConfigureAwait(false);
                    await acked.Task.WaitAsync(KeepaliveAckTimeout, _stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is TimeoutException || (e is OperationCanceledException && !_stop.IsCancellationRequested))
                {
                    CloseReason = $"Janus did not answer a keepalive within {KeepaliveAckTimeout.TotalSeconds:0} s";
                    _socket.Abort(); // the read loop ends, every handle's events complete
                    return;
                }
                finally
                {
                    _acks.TryRemove(transaction, out _);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await SendAsync(new JsonObject { ["janus"] = "destroy", ["session_id"] = SessionId, ["transaction"] = NextTransaction() }, cts.Token)
                    .ConfigureAwait(false);
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_reader is not null) await _reader.ConfigureAwait(false);
        if (_keepalive is not null) await _keepalive.ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }
}

/// <summary>One attached plugin handle.</summary>
public sealed class JanusHandle
{
    private readonly JanusClient _client;
    private readonly Channel<JanusEvent> _events = Channel.CreateBounded<JanusEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });

    internal JanusHandle(JanusClient client, long id)
    {
        _client = client;
        Id = id;
    }

    public long Id { get; }

    /// <summary>Asynchronous events for this handle (plugin events, webrtcup, media, hangup, trickle, slowlink).</summary>
    public ChannelReader<JanusEvent> Events => _events.Reader;

    /// <summary>
    /// Janus trickled one of its candidates (the "candidate:..." line), or null at its end-of-candidates. Raised on
    /// the reading thread; hand the line to <see cref="Sdp.IceCandidate.TryParse"/> and <see cref="Ice.IceAgent.AddRemoteCandidate"/>.
    /// </summary>
    public event Action<string?>? RemoteCandidate;

    internal void Post(JanusEvent e)
    {
        if (e.Kind == "trickle" && e.Raw["candidate"] is JsonObject c)
        {
            var handler = RemoteCandidate;
            if (c["completed"] is JsonValue done && done.TryGetValue(out bool completed) && completed) handler?.Invoke(null);
            else if (c["candidate"] is JsonValue line && line.TryGetValue(out string? text)) handler?.Invoke(text);
        }
        _events.Writer.TryWrite(e);
    }

    /// <summary>
    /// Trickles our candidates to Janus as they are gathered (RFC 8838; <see cref="Ice.IceAgent.Gather"/>), then
    /// end-of-candidates. <paramref name="mid"/> is the first bundled m-section's mid. Returns how many were sent.
    /// </summary>
    public async Task<int> TrickleAllAsync(ChannelReader<Sdp.IceCandidate> candidates, string mid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        int sent = 0;
        await foreach (var c in candidates.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await TrickleAsync(c.ToString(), mid, 0, cancellationToken).ConfigureAwait(false);
            sent++;
        }
        await TrickleCompletedAsync(cancellationToken).ConfigureAwait(false);
        return sent;
    }

    internal void Complete() => _events.Writer.TryComplete();

    /// <summary>Sends a plugin message (with an optional JSEP) and returns Janus's first event or synchronous success for it.</summary>
    public async Task<JanusEvent> MessageAsync(JsonObject body, string? jsepType, string? sdp, CancellationToken cancellationToken)
    {
        var message = new JsonObject { ["janus"] = "message", ["session_id"] = _client.SessionId, ["handle_id"] = Id, ["body"] = body };
        if (jsepType is not null) message["jsep"] = new JsonObject { ["type"] = jsepType, ["sdp"] = sdp };
        var reply = await _client.RequestAsync(message, cancellationToken).ConfigureAwait(false);
        var jsep = reply["jsep"] as JsonObject;
        return new JanusEvent((string?)reply["janus"] ?? "", reply["plugindata"]?["data"] as JsonObject, (string?)jsep?["type"], (string?)jsep?["sdp"], reply);
    }

    public Task TrickleAsync(string candidate, string mid, int mLineIndex, CancellationToken cancellationToken) =>
        _client.SendAsync(new JsonObject
        {
            ["janus"] = "trickle", ["session_id"] = _client.SessionId, ["handle_id"] = Id, ["transaction"] = _client.NextTransaction(),
            ["candidate"] = new JsonObject { ["candidate"] = candidate, ["sdpMid"] = mid, ["sdpMLineIndex"] = mLineIndex },
        }, cancellationToken);

    public Task TrickleCompletedAsync(CancellationToken cancellationToken) =>
        _client.SendAsync(new JsonObject
        {
            ["janus"] = "trickle", ["session_id"] = _client.SessionId, ["handle_id"] = Id, ["transaction"] = _client.NextTransaction(),
            ["candidate"] = new JsonObject { ["completed"] = true },
        }, cancellationToken);
}
