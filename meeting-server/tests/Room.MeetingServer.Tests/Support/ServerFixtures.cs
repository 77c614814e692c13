using Room.MeetingClient;

namespace Room.MeetingServer.Tests.Support;

/// <summary>One meeting server per test class, with an administrator; tests use fresh names so they do not meet.</summary>
public abstract class ServerFixture : IAsyncLifetime
{
    public const string AdminPassword = "admin-password-1";

    public MeetingServerProcess Server { get; private set; } = null!;

    public MeetingServerClient Admin { get; private set; } = null!;

    /// <summary>The PostgreSQL connection string of the server's storage; null: SQLite (in its data directory).</summary>
    public string? Postgres { get; private set; }

    private readonly List<string> _keyDirs = [];

    protected abstract Task<string?> StartStorageAsync();

    protected virtual Task StopStorageAsync() => Task.CompletedTask;

    /// <summary>Debian's Janus for the server's VideoRooms (its certificate from the CA in the server's data directory), or null: no Janus.</summary>
    protected virtual Task<JanusInstance?> StartJanusAsync(string serverDataDirectory) => Task.FromResult<JanusInstance?>(null);

    public JanusInstance? Janus { get; private set; }

    public async Task InitializeAsync()
    {
        string dataDirectory = MeetingServerProcess.NewDataDirectory();
        Janus = await StartJanusAsync(dataDirectory);
        Postgres = await StartStorageAsync();
        Server = await MeetingServerProcess.StartAsync(Postgres, janus: Janus, dataDirectory: dataDirectory);
        await Server.AddUserAsync("admin", AdminPassword, admin: true);
        Admin = await Server.SignInAsync("admin", AdminPassword);
    }

    public async Task DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync();
        await StopStorageAsync();
        if (Janus is not null)
        {
            await Janus.DisposeAsync();
        }

        foreach (var d in _keyDirs)
        {
            Directory.Delete(d, true);
        }
    }

    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    /// <summary>A box enrolled with a code from the administrator: its key folder holds key, certificate and CA.</summary>
    public async Task<(DeviceCredentials Credentials, MeetingServerClient Client, string KeyDir)> EnrolDeviceAsync(string name)
    {
        string code = await Admin.CreateEnrolmentCodeAsync(name);
        string dir = Repo.TempDir("room-ms-box");
        _keyDirs.Add(dir);
        var creds = DeviceCredentials.LoadOrCreate(dir);
        await MeetingServerClient.EnrolAsync(Server.Url, code, creds);
        creds.Save(dir);
        return (creds, new MeetingServerClient(Server.Url, creds.OrganisationCa!, creds.TlsCertificate()), dir);
    }

    /// <summary>A signed-in person with a short-lived certificate for a key made in this client.</summary>
    public async Task<(DeviceCredentials Credentials, MeetingServerClient Client)> PersonAsync(string name, string password = "person-password-1")
    {
        await Server.AddUserAsync(name, password);
        var client = await Server.SignInAsync(name, password);
        var creds = DeviceCredentials.CreateEphemeral();
        await client.RequestPersonCertificateAsync(creds);
        return (creds, client);
    }
}

public sealed class SqliteServerFixture : ServerFixture
{
    protected override Task<string?> StartStorageAsync() => Task.FromResult<string?>(null);
}

/// <summary>SQLite storage and Debian's Janus (token auth, admin key) beside the server.</summary>
public sealed class JanusServerFixture : ServerFixture
{
    protected override Task<string?> StartStorageAsync() => Task.FromResult<string?>(null);

    protected override async Task<JanusInstance?> StartJanusAsync(string serverDataDirectory) => await JanusInstance.StartAsync(serverDataDirectory);
}

public class PostgresServerFixture : ServerFixture
{
    private PostgresInstance? _pg;

    protected sealed override async Task<string?> StartStorageAsync()
    {
        _pg = await PostgresInstance.StartAsync();
        return _pg.ConnectionString;
    }

    protected sealed override async Task StopStorageAsync()
    {
        if (_pg is not null)
        {
            await _pg.DisposeAsync();
        }
    }
}

/// <summary>Debian's PostgreSQL (started by the test) and Debian's Janus beside the server.</summary>
public sealed class PostgresJanusServerFixture : PostgresServerFixture
{
    protected override async Task<JanusInstance?> StartJanusAsync(string serverDataDirectory) => await JanusInstance.StartAsync(serverDataDirectory);
}
