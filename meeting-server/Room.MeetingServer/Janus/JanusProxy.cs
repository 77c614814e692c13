using System.Buffers;
using System.Net.WebSockets;
using Room.Crypto.Certificates;

namespace Room.MeetingServer.Janus;

/// <summary>
/// Browsers reach Janus's WebSocket API through the meeting server: <c>wss://SERVER/janus</c> (subprotocol
/// janus-protocol) is relayed message by message to Janus's <c>wss://</c>, whose certificate the server checks against
/// the organisation CA as for its own requests. A browser then needs to trust only the server it loaded the client
/// from (one origin, one port, no organisation CA installed on a guest's phone), and Janus's signalling port need not
/// be reachable from the browsers' networks. The relay adds no authority: Janus opens sessions only for the tokens the
/// server hands to members, and rooms only with their PIN and per-participant token.
/// </summary>
public static class JanusProxy
{
    public const string Path = "/janus";

    /// <summary>Janus's own messages (SDP, events) are far smaller; a larger one ends the relay.</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    public static void MapJanusProxy(this WebApplication app)
    {
        app.UseWebSockets();
        app.Map(Path, RelayAsync);
    }

    private static async Task RelayAsync(HttpContext ctx, JanusOrchestrator janus, ILoggerFactory loggers)
    {
        var log = loggers.CreateLogger(typeof(JanusProxy));
        if (!ctx.WebSockets.IsWebSocketRequest || !ctx.WebSockets.WebSocketRequestedProtocols.Contains("janus-protocol"))
        {
            ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
            await ctx.Response.WriteAsJsonAsync(new { error = "malformed", message = "a WebSocket with subprotocol janus-protocol is expected" });
            return;
        }

        // Another site's page may not use this relay (cross-site WebSocket): the Origin, if sent, must be this server.
        string? origin = ctx.Request.Headers.Origin;
        if (origin is not null && (!Uri.TryCreate(origin, UriKind.Absolute, out var o) || !string.Equals(o.Authority, ctx.Request.Host.Value, StringComparison.OrdinalIgnoreCase)))
        {
            log.LogWarning("janus relay refused to origin {Origin}", origin);
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            await ctx.Response.WriteAsJsonAsync(new { error = "forbidden", message = "another site's page may not use this server's Janus relay" });
            return;
        }

        if (janus.Url is not { } url)
        {
            ctx.Response.StatusCode = StatusCodes.Status404NotFound;
            await ctx.Response.WriteAsJsonAsync(new { error = "not-found", message = "this meeting server has no Janus" });
            return;
        }

        using var upstream = new ClientWebSocket();
        upstream.Options.AddSubProtocol("janus-protocol");
        string? refused = null;
        upstream.Options.RemoteCertificateValidationCallback = ServerCertificateTrust.Callback(janus.Trust, why => refused = why);
        try
        {
            await upstream.ConnectAsync(url, ctx.RequestAborted);
        }
        catch (Exception e) when (e is WebSocketException or IOException or HttpRequestException)
        {
            log.LogError("janus relay: janus at {Janus} {Problem}", url.Authority, refused is null ? "is not reachable: " + e.Message : "is not trusted: " + refused);
            ctx.Response.StatusCode = StatusCodes.Status502BadGateway;
            await ctx.Response.WriteAsJsonAsync(new { error = "unavailable", message = "the meeting's media server is not available" });
            return;
        }

        using var browser = await ctx.WebSockets.AcceptWebSocketAsync("janus-protocol");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        var up = PumpAsync(browser, upstream, stop);
        var down = PumpAsync(upstream, browser, stop);
        await Task.WhenAny(up, down);
        foreach (var s in new WebSocket[] { browser, upstream })
        {
            if (s.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                try
                {
                    using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await s.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", bounded.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or InvalidOperationException)
                {
                    // The other direction is still sending on it or it went: it is aborted below.
                }
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(up, down);
    }

    /// <summary>Copies whole messages from one socket to the other until it closes, fails or sends an oversized message.</summary>
    private static async Task PumpAsync(WebSocket from, WebSocket to, CancellationTokenSource stop)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var message = new ArrayBufferWriter<byte>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var r = await from.ReceiveAsync(buffer, stop.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer.AsSpan(0, r.Count));
                if (message.WrittenCount > MaxMessageBytes)
                {
                    break;
                }

                if (r.EndOfMessage)
                {
                    await to.SendAsync(message.WrittenMemory, r.MessageType, true, stop.Token);
                    message.ResetWrittenCount();
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // One side went; the other is closed below.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
