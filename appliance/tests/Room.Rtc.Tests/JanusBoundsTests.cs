using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Room.Rtc.Janus;

namespace Room.Rtc.Tests;

public class JanusBoundsTests
{
    /// <summary>A WebSocket "Janus" on loopback that answers create, then sends one message of <paramref name="size"/> bytes.</summary>
    private static async Task<(HttpListener Listener, Uri Uri, Task Serving)> FakeJanusAsync(int size, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = Random.Shared.Next(20000, 60000);
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                listener.Close();
                continue;
            }
            var serving = Task.Run(async () =>
            {
                var context = await listener.GetContextAsync().WaitAsync(ct);
                var ws = (await context.AcceptWebSocketAsync("janus-protocol")).WebSocket;
                var buffer = new byte[4096];
                var r = await ws.ReceiveAsync(buffer, ct);
                var create = JsonNode.Parse(buffer.AsSpan(0, r.Count))!.AsObject();
                var reply = new JsonObject { ["janus"] = "success", ["transaction"] = (string?)create["transaction"], ["data"] = new JsonObject { ["id"] = 7 } };
                await ws.SendAsync(Encoding.UTF8.GetBytes(reply.ToJsonString()), WebSocketMessageType.Text, true, ct);
                // One huge message, in 64 KB frames; the client may stop reading (and abort) before the end.
                var chunk = Encoding.UTF8.GetBytes(new string(' ', 64 * 1024));
                try
                {
                    for (int sent = 0; sent < size; sent += chunk.Length)
                        await ws.SendAsync(chunk, WebSocketMessageType.Text, sent + chunk.Length >= size, ct);
                }
                catch (Exception e) when (e is WebSocketException or IOException or HttpListenerException or ObjectDisposedException)
                {
                }
            }, ct);
            return (listener, new Uri($"ws://127.0.0.1:{port}/"), serving);
        }
    }

    [Fact]
    public async Task A_message_over_the_limit_closes_the_session_and_later_requests_fail()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (listener, uri, serving) = await FakeJanusAsync(4 * JanusClient.MaxMessageBytes, timeout.Token);
        try
        {
            await using var janus = await JanusClient.ConnectAsync(uri, timeout.Token);
            Assert.Equal(7, janus.SessionId);
            // The oversized message is refused and the connection given up: requests fail instead of waiting forever.
            var e = await Record.ExceptionAsync(() => janus.AttachAsync(VideoRoomClient.Plugin, timeout.Token));
            Assert.True(e is IOException or WebSocketException, $"attach after the oversized message: {e?.GetType().Name ?? "answered"}");
            e = await Record.ExceptionAsync(() => janus.AttachAsync(VideoRoomClient.Plugin, timeout.Token));
            Assert.True(e is IOException or WebSocketException, $"a second attach: {e?.GetType().Name ?? "answered"}");
            await serving.WaitAsync(timeout.Token);
        }
        finally
        {
            listener.Close();
        }
    }
}
