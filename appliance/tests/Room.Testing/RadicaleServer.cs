using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Room.Testing;

/// <summary>
/// Debian's Radicale (CalDAV, RFC 4791) in a private temp folder on a loopback port, with one user and one calendar
/// collection. Events are created and changed over CalDAV itself (PUT/DELETE), as a calendar client would.
/// </summary>
public sealed class RadicaleServer : IAsyncDisposable
{
    public const string User = "room";
    public const string Password = "s3cret-calendar-pw";

    private Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly HttpClient _http;

    private RadicaleServer(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Port = port;
        // Radicale's built-in server answers with HTTP/1.0 and closes each connection after its answer; .NET would keep
        // the connection for the next request all the same (a request's "Connection: close" does not stop that), and
        // a request sent on it before the close arrives ends without an answer. So every request gets its own.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, PooledConnectionIdleTimeout = TimeSpan.Zero });
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        Attach(process);
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>The calendar collection, http://127.0.0.1:PORT/room/calendar/.</summary>
    public Uri Calendar => new($"http://127.0.0.1:{Port}/{User}/calendar/");

    /// <summary>A credentials file in the format roomd reads (user, then password).</summary>
    public string CredentialsFile => Path.Combine(Directory, "credentials");

    /// <summary>The server's own folder of the calendar's items (for the benchmark's bulk loading).</summary>
    public string CollectionFolder => Path.Combine(Directory, "collections", "collection-root", User, "calendar");

    public string Log => string.Join('\n', _log);

    /// <summary>
    /// CPU time the server has used so far (user + system, from /proc): lets a benchmark tell the server's own work
    /// from the room's.
    /// </summary>
    public TimeSpan CpuTime
    {
        get
        {
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are
            // the 14th and 15th fields of the line, in clock ticks (100 per second on Linux).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }
    }

    public static async Task<RadicaleServer> StartAsync()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("room-radicale-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "users"), $"{User}:{Password}\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "credentials"), $"{User}\n{Password}\n");
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var config = Path.Combine(dir, "config");
            await File.WriteAllTextAsync(config, $"""
                [server]
                hosts = 127.0.0.1:{port}
                max_content_length = 100000000
                [auth]
                type = htpasswd
                htpasswd_filename = {dir}/users
                htpasswd_encryption = plain
                delay = 0
                [rights]
                type = owner_only
                [storage]
                filesystem_folder = {dir}/collections
                [web]
                type = none
                [logging]
                level = warning
                mask_passwords = True
                """);
            var process = Launch(config);
            var server = new RadicaleServer(process, dir, port);
            if (await server.WaitReadyAsync())
            {
                await server.CreateCalendarAsync();
                return server;
            }

            var log = server.Log;
            await server.StopAsync(deleteFiles: false);
            if (attempt >= 2)
            {
                System.IO.Directory.Delete(dir, true);
                throw new InvalidOperationException("radicale did not come up:\n" + log);
            }
        }
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/>, on the same port with the same calendar.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        _process.Dispose();
        Attach(Launch(Path.Combine(Directory, "config")));
        if (!await WaitReadyAsync())
        {
            throw new InvalidOperationException("radicale did not come up again:\n" + Log);
        }
    }

    private static Process Launch(string config)
    {
        var psi = new ProcessStartInfo("radicale", ["--config", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(psi) ?? throw new InvalidOperationException("radicale did not start.");
    }

    private void Attach(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Creates or replaces an event resource; returns its href.</summary>
    public async Task<string> PutAsync(string name, string ics)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, new Uri(Calendar, name)) { Content = new StringContent(ics, Encoding.UTF8, "text/calendar") });
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {name}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        }

        return new Uri(Calendar, name).AbsolutePath;
    }

    public async Task DeleteAsync(string name)
    {
        using var r = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, new Uri(Calendar, name)));
        if (!r.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"DELETE {name}: {(int)r.StatusCode}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(deleteFiles: true);
        _http.Dispose();
    }

    /// <summary>Stops the server (the calendar becomes unreachable); the files stay until disposal.</summary>
    public async Task StopAsync(bool deleteFiles = false)
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        if (deleteFiles)
        {
            _process.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    private async Task CreateCalendarAsync()
    {
        using var r = await SendAsync(() => new HttpRequestMessage(new HttpMethod("MKCALENDAR"), Calendar)
        {
            Content = new StringContent("""
                <?xml version="1.0" encoding="utf-8"?>
                <C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
                  <D:set><D:prop><D:displayname>Ratssaal</D:displayname></D:prop></D:set>
                </C:mkcalendar>
                """, Encoding.UTF8, "application/xml"),
        });
        if (r.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"MKCALENDAR: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}\n{Log}");
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> create)
    {
        using var request = create();
        return await _http.SendAsync(request);
    }

    private async Task<bool> WaitReadyAsync()
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }

    private void Record(string? line)
    {
        if (line is not null && _log.Count < 2000)
        {
            _log.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
