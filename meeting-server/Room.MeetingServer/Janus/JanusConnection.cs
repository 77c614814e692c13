using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Room.Crypto.Certificates;

namespace Room.MeetingServer.Janus;

/// <summary>Janus refused a request: its error code and reason (core or plugin).</summary>
public sealed class JanusException(int code, string reason) : Exception($"janus refused ({code}): {reason}")
{
    public int Code { get; } = code;
}

/// <summary>
/// A Janus API session over WebSocket (subprotocol janus-protocol): create, attach to a plugin, synchronous plugin
/// requests and asynchronous ones (ack, then the event). One request at a time.
/// </summary>
public sealed class JanusConnection : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();
    private readonly string? _token;
    private readonly SemaphoreSlim _one = new(1, 1);
    private long _session;

    private JanusConnection(string? token) => _token = token;

    /// <summary>
    /// Connects over <c>wss://</c> (Janus's certificate must chain to <paramref name="trustedCa"/> and be for the host)
    /// and creates a session; a refused certificate or token throws <see cref="JanusException"/> saying why.
    /// </summary>
    public static async Task<JanusConnection> OpenAsync(Uri url, string? token, X509Certificate2 trustedCa, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Scheme != "wss")
        {
            throw new JanusException(0, $"janus at {url} is not wss://: the meeting server talks to Janus only over TLS");
        }

        var c = new JanusConnection(token);
        c._ws.Options.AddSubProtocol("janus-protocol");
        string? refused = null;
        c._ws.Options.RemoteCertificateValidationCallback = ServerCertificateTrust.Callback(trustedCa, why => refused = why);
        try
        {
            try
            {
                await c._ws.ConnectAsync(url, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or IOException or HttpRequestException)
            {
                throw new JanusException(0, refused is null ? $"janus at {url.Authority} is not reachable: {e.Message}" : $"janus at {url.Authority} is not trusted: {refused}");
            }

            var r = await c.CallAsync(new JsonObject { ["janus"] = "create" }, asyncEvent: false, ct).ConfigureAwait(false);
            c._session = r["data"]!["id"]!.GetValue<long>();
            return c;
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Attaches to a plugin; returns the handle id.</summary>
    public async Task<long> AttachAsync(string plugin, CancellationToken ct)
    {
        var r = await CallAsync(new JsonObject { ["janus"] = "attach", ["plugin"] = plugin }, false, ct).ConfigureAwait(false);
        return r["data"]!["id"]!.GetValue<long>();
    }

    /// <summary>A plugin request; returns the plugin's data (an "error" in it throws). Async requests wait for the event.</summary>
    public async Task<JsonObject> MessageAsync(long handle, JsonObject body, bool asyncEvent, CancellationToken ct)
    {
        var r = await CallAsync(new JsonObject { ["janus"] = "message", ["handle_id"] = handle, ["body"] = body }, asyncEvent, ct).ConfigureAwait(false);
        var data = r["plugindata"]?["data"] as JsonObject ?? throw new JanusException(0, "no plugin data in " + r.ToJsonString());
        if (data["error_code"] is { } code)
        {
            throw new JanusException(code.GetValue<int>(), data["error"]?.GetValue<string>() ?? "");
        }

        return data;
    }

    private async Task<JsonObject> CallAsync(JsonObject request, bool asyncEvent, CancellationToken ct)
    {
        await _one.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            string tx = Guid.NewGuid().ToString("N");
            request["transaction"] = tx;
            if (_token is not null)
            {
                request["token"] = _token;
            }

            if (_session != 0)
            {
                request["session_id"] = _session;
            }

            await _ws.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
            while (true)
            {
                var msg = await ReceiveAsync(ct).ConfigureAwait(false);
                if (msg["transaction"]?.GetValue<string>() != tx)
                {
                    continue; // an event of something else
                }

                string kind = msg["janus"]?.GetValue<string>() ?? "";
                if (kind == "error")
                {
                    throw new JanusException(msg["error"]?["code"]?.GetValue<int>() ?? 0, msg["error"]?["reason"]?.GetValue<string>() ?? "");
                }

                if (kind == "ack" && asyncEvent)
                {
                    continue;
                }

                if (kind is "success" or "event" or "ack")
                {
                    return msg;
                }
            }
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<JsonObject> ReceiveAsync(CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var ms = new MemoryStream();
        while (true)
        {
            var r = await _ws.ReceiveAsync(buffer, ct).ConfigureAwait(false);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                throw new JanusException(0, "janus closed the connection");
            }

            ms.Write(buffer, 0, r.Count);
            if (ms.Length > 1024 * 1024)
            {
                throw new JanusException(0, "janus message too large");
            }

            if (r.EndOfMessage)
            {
                return JsonNode.Parse(ms.ToArray()) as JsonObject ?? throw new JsonException("not a JSON object");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ws.State == WebSocketState.Open)
        {
            try
            {
                await _ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).ConfigureAwait(false);
            }
            catch (WebSocketException)
            {
            }
        }

        _ws.Dispose();
        _one.Dispose();
    }
}
