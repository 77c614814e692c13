using System.Security.Cryptography.X509Certificates;
using Room.MeetingClient;

namespace Room.MeetingServer.Tests.Support;

/// <summary>room-meeting-server as a real process on a loopback port, with its own data directory (removed on dispose).</summary>
public sealed class MeetingServerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly List<string> _config;

    public string DataDirectory { get; }

    public Uri Url { get; }

    public X509Certificate2 Ca { get; }

    public string Log => _process.Log;

    private MeetingServerProcess(ChildProcess process, List<string> config, string dataDir, Uri url)
    {
        _process = process;
        _config = config;
        DataDirectory = dataDir;
        Url = url;
        Ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dataDir, "ca.pem")));
    }

    /// <summary>A fresh data directory for <see cref="StartAsync"/> (a Janus may get its certificate from its CA first).</summary>
    public static string NewDataDirectory() => Repo.TempDir("room-ms");

    public static async Task<MeetingServerProcess> StartAsync(string? postgres = null, (string Host, int Port)? ldap = null, JanusInstance? janus = null,
        string? dataDirectory = null, IEnumerable<string>? extraConfig = null)
    {
        string dir = dataDirectory ?? NewDataDirectory();
        var config = new List<string>
        {
            $"--MeetingServer:DataDirectory={dir}",
            "--MeetingServer:Listen=127.0.0.1:0",
            "--MeetingServer:HostNames:0=127.0.0.1",
            "--MeetingServer:Organisation=Test Org",
            // Tests keep Argon2id cheap; production defaults are 19 MiB, 2 passes.
            "--MeetingServer:Argon2MemoryKiB=8192",
            "--MeetingServer:Argon2Passes=1",
        };
        if (postgres is not null)
        {
            config.Add("--MeetingServer:Storage=Postgres");
            config.Add($"--MeetingServer:PostgresConnectionString={postgres}");
        }

        if (ldap is { } l)
        {
            config.Add($"--MeetingServer:Ldap:Host={l.Host}");
            config.Add($"--MeetingServer:Ldap:Port={l.Port}");
            config.Add("--MeetingServer:Ldap:UserDnTemplate=uid={0},ou=people,dc=example,dc=org");
        }

        if (janus is not null)
        {
            config.Add($"--MeetingServer:Janus:Url={janus.Url}");
            config.Add($"--MeetingServer:Janus:TokenSecret={janus.TokenSecret}");
            config.Add($"--MeetingServer:Janus:AdminKey={janus.AdminKey}");
            if (janus.RecordDirectory is not null)
            {
                config.Add($"--MeetingServer:Janus:RecordDirectory={janus.RecordDirectory}");
            }
        }

        config.AddRange(extraConfig ?? []);
        var p = new ChildProcess("dotnet", [Repo.ServerDll, "serve", .. config]);
        try
        {
            string line = await p.WaitForLineAsync(s => s.StartsWith("room-meeting-server listening on ", StringComparison.Ordinal));
            var url = new Uri(line.Split(' ')[3].TrimEnd('/') + "/");
            return new MeetingServerProcess(p, config, dir, url);
        }
        catch
        {
            p.Dispose();
            Directory.Delete(dir, true);
            throw;
        }
    }

    /// <summary>Adds a local account with the server's own command line (same storage).</summary>
    public async Task AddUserAsync(string name, string password, bool admin = false)
    {
        var (code, log) = await TryAddUserAsync(name, password, admin);
        Assert.True(code == 0, log);
    }

    public Task<(int Code, string Log)> TryAddUserAsync(string name, string password, bool admin = false) =>
        ChildProcess.RunAsync("dotnet", [Repo.ServerDll, "user", "add", name, .. admin ? new[] { "--admin" } : [], .. _config], password);

    /// <summary>Runs one of the server's commands (e.g. <c>operator add NAME</c>) on its configuration, with <paramref name="stdin"/>.</summary>
    public Task<(int Code, string Log)> RunCommandAsync(IEnumerable<string> command, string stdin) =>
        ChildProcess.RunAsync("dotnet", [Repo.ServerDll, .. command, .. _config], stdin);

    /// <summary>A client that signs in as a person (token).</summary>
    public async Task<MeetingServerClient> SignInAsync(string name, string password)
    {
        var c = new MeetingServerClient(Url, Ca);
        await c.LoginAsync(name, password);
        return c;
    }

    public Task<string> WaitForLogAsync(string fragment) => _process.WaitForLineAsync(l => l.Contains(fragment, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        _process.Dispose();
        Ca.Dispose();
        await Task.Yield();
        Directory.Delete(DataDirectory, true);
    }
}
