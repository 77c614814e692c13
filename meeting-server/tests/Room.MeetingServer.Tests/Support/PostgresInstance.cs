namespace Room.MeetingServer.Tests.Support;

/// <summary>
/// Debian's PostgreSQL (initdb + postgres from /usr/lib/postgresql/N/bin), a private cluster in a temp directory on a
/// loopback port, trust authentication for loopback only. PostgreSQL refuses to run as root: as root it runs as the
/// postgres user (runuser).
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    private readonly ChildProcess _server;
    private readonly string _dir;

    public string ConnectionString { get; }

    private PostgresInstance(ChildProcess server, string dir, int port)
    {
        _server = server;
        _dir = dir;
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=room;Database=postgres;Pooling=false";
    }

    private static string Bin(string tool)
    {
        var dir = Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL is not installed (make deps installs Debian's postgresql)");
        return Path.Combine(dir, "bin", tool);
    }

    private static (string File, string[] Args) AsPostgresUser(string tool, params string[] args) =>
        Environment.UserName == "root" ? ("runuser", ["-u", "postgres", "--", Bin(tool), .. args]) : (Bin(tool), args);

    public static async Task<PostgresInstance> StartAsync()
    {
        string dir = Repo.TempDir("room-ms-pg");
        string data = Path.Combine(dir, "data");
        if (Environment.UserName == "root")
        {
            var (c, l) = await ChildProcess.RunAsync("chown", ["postgres:postgres", dir]);
            Assert.True(c == 0, l);
        }

        var (f, a) = AsPostgresUser("initdb", "-D", data, "-U", "room", "--auth=trust", "--no-sync", "-E", "UTF8");
        var (code, log) = await ChildProcess.RunAsync(f, a);
        Assert.True(code == 0, log);
        int port = Repo.FreePort();
        (f, a) = AsPostgresUser("postgres", "-D", data, "-k", dir, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off");
        var server = new ChildProcess(f, a);
        await server.WaitForLineAsync(s => s.Contains("database system is ready to accept connections", StringComparison.Ordinal));
        return new PostgresInstance(server, dir, port);
    }

    public async ValueTask DisposeAsync()
    {
        _server.Dispose();
        await Task.Yield();
        Directory.Delete(_dir, true);
    }
}
