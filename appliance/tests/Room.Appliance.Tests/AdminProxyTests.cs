using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>The administrator's proxy carries roomd's own outgoing HTTP (the calendar), tried with a tiny proxy on loopback.</summary>
public sealed class AdminProxyTests : IDisposable
{
    private const string Feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Room tests//proxy//EN\r\nEND:VCALENDAR\r\n";
    private readonly PrivateBus _bus = new();

    public void Dispose() => _bus.Dispose();

    [Fact]
    public async Task The_calendar_is_fetched_through_the_proxy_set_with_Admin_and_directly_again_once_it_is_cleared()
    {
        using var proxy = new TinyProxy(Feed);
        // A name that resolves nowhere (.invalid, RFC 6761): only a proxy can fetch it.
        await using var roomd = await RoomdProcess.StartAsync(_bus.Address, Path.Combine(_bus.Directory, "state"),
            "--Calendar:Sources:0:Kind", "ics", "--Calendar:Sources:0:Url", "http://calendar.invalid/room.ics",
            "--Calendar:Sources:1:Kind", "ics", "--Calendar:Sources:1:Url", "https://secure.invalid/room.ics",
            "--Calendar:SyncIntervalSeconds", "3600");
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);

        // Without a proxy the names do not resolve: both sources fail (Sync returns once a sync has run).
        await client.SyncCalendarAsync();
        var direct = (await client.GetStatusAsync()).Calendar;
        Assert.NotEqual("ok", direct.SyncState);
        Assert.Contains("calendar.invalid", direct.SyncError, StringComparison.Ordinal);
        Assert.Empty(proxy.Requests);

        await client.SetProxyAsync($"http://127.0.0.1:{proxy.Port}");
        Assert.Equal($"http://127.0.0.1:{proxy.Port}", (await client.GetStatusAsync()).Admin.Proxy);
        await client.SyncCalendarAsync();
        Assert.Contains("GET http://calendar.invalid/room.ics HTTP/1.1", proxy.Requests);
        // https goes through the proxy too, by CONNECT; this proxy refuses tunnels, so only that source still fails.
        Assert.Contains("CONNECT secure.invalid:443 HTTP/1.1", proxy.Requests);
        var proxied = (await client.GetStatusAsync()).Calendar;
        Assert.DoesNotContain("calendar.invalid", proxied.SyncError, StringComparison.Ordinal);
        Assert.Contains("secure.invalid", proxied.SyncError, StringComparison.Ordinal);

        await client.SetProxyAsync("");
        var before = proxy.Requests.Count;
        await client.SyncCalendarAsync();
        Assert.Equal(before, proxy.Requests.Count);
        Assert.Contains("calendar.invalid", (await client.GetStatusAsync()).Calendar.SyncError, StringComparison.Ordinal);
        Assert.Equal("", (await client.GetStatusAsync()).Admin.Proxy);
    }

    [Fact]
    public async Task A_malformed_proxy_or_one_with_credentials_is_refused_by_name_changes_nothing_and_is_never_logged()
    {
        await using var roomd = await RoomdProcess.StartAsync(_bus.Address, Path.Combine(_bus.Directory, "state"));
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        await client.SetProxyAsync("http://proxy.example:3128/");
        Assert.Equal("http://proxy.example:3128", (await client.GetStatusAsync()).Admin.Proxy);
        var file = Path.Combine(_bus.Directory, "state", "settings.json");
        var fileBefore = await File.ReadAllBytesAsync(file);
        (string Url, string Error)[] cases =
        [
            ("http://user:Geheim-42@proxy.example:3128", BusErrors.InvalidArgument),
            ("http://Geheim-42@proxy.example:3128", BusErrors.InvalidArgument),
            ("proxy.example:3128", BusErrors.InvalidArgument),
            ("ftp://proxy.example", BusErrors.InvalidArgument),
            ("socks5://proxy.example:1080", BusErrors.InvalidArgument),
            ("http://proxy.example:3128/path", BusErrors.InvalidArgument),
            ("http://proxy.example:3128/?q=1", BusErrors.InvalidArgument),
            ("http://proxy.example:3128/#x", BusErrors.InvalidArgument),
            ("http://proxy.example:99999", BusErrors.InvalidArgument),
            ("http://proxy example:3128", BusErrors.InvalidArgument),
            ("http://", BusErrors.InvalidArgument),
            ("http://proxy.example:3128\n", BusErrors.InvalidArgument),
        ];
        foreach (var (url, error) in cases)
        {
            var ex = await Assert.ThrowsAsync<RoomBusException>(() => client.SetProxyAsync(url));
            Assert.True(error == ex.ErrorName, $"'{url}': {ex.ErrorName} {ex.Message}");
            Assert.DoesNotContain("Geheim-42", ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal("http://proxy.example:3128", (await client.GetStatusAsync()).Admin.Proxy);
        Assert.Equal(fileBefore, await File.ReadAllBytesAsync(file));
        Assert.DoesNotContain("Geheim-42", roomd.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Geheim-42", await client.GetDiagnosticsAsync(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A tiny HTTP proxy on loopback: records each request line; answers absolute-form GETs itself with the feed (as if
    /// it had fetched it), and refuses CONNECT tunnels with 502.
    /// </summary>
    private sealed class TinyProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _requests = new();
        private readonly Task _loop;
        private readonly string _feed;

        public TinyProxy(string feed)
        {
            _feed = feed;
            _listener.Start();
            _loop = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public IReadOnlyList<string> Requests => [.. _requests];

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(10));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient c;
                try
                {
                    c = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = ServeAsync(c);
            }
        }

        private async Task ServeAsync(TcpClient c)
        {
            using (c)
            {
                try
                {
                    var stream = c.GetStream();
                    using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                    var line = await reader.ReadLineAsync(_stop.Token);
                    if (line is null)
                    {
                        return;
                    }

                    while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 })
                    {
                    }

                    _requests.Enqueue(line);
                    var body = Encoding.UTF8.GetBytes(line.StartsWith("GET http://", StringComparison.Ordinal) ? _feed : "");
                    var status = line.StartsWith("GET http://", StringComparison.Ordinal) ? "200 OK" : "502 Bad Gateway";
                    var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: text/calendar\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(head, _stop.Token);
                    await stream.WriteAsync(body, _stop.Token);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
                {
                }
            }
        }
    }
}
