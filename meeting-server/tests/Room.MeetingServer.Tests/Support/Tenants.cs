using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Room.MeetingClient;
using Room.MeetingServer.Storage;
using Room.MeetingServer.Tenants;

namespace Room.MeetingServer.Tests.Support;

/// <summary>
/// An operator and tenants on a running server: the operator is added with the server's command line and signs in over
/// the operator API; each tenant's API and client are under <c>/t/SLUG/</c>. Raw HTTP (status and error name) for refusals.
/// </summary>
public sealed class TenantOperator : IDisposable
{
    private readonly MeetingServerProcess _server;
    private readonly HttpClient _http;

    public string Token { get; private set; } = "";

    private TenantOperator(MeetingServerProcess server)
    {
        _server = server;
        _http = Http(server, server.Url);
    }

    /// <summary>An HTTP client that trusts the server's TLS certificate (the default tenant's CA issues it).</summary>
    public static HttpClient Http(MeetingServerProcess server, Uri baseUrl) =>
        new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, errors) => cert is not null && MeetingServerClient.ChainsTo(cert, server.Ca, errors) })
        {
            BaseAddress = baseUrl,
        };

    public static async Task<TenantOperator> AddAsync(MeetingServerProcess server, string name = "op", string password = "operator-password-1")
    {
        var (code, log) = await server.RunCommandAsync(["operator", "add", name], password);
        Assert.True(code == 0 || log.Contains("exists", StringComparison.Ordinal), log);
        var op = new TenantOperator(server);
        var (status, body) = await op.SendAsync(HttpMethod.Post, "api/operator/login", JsonSerializer.Serialize(new { name, password }), null);
        Assert.True(status == HttpStatusCode.OK, body);
        op.Token = JsonDocument.Parse(body).RootElement.GetProperty("token").GetString()!;
        return op;
    }

    public async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? json, string? authorization, string? baseUrl = null)
    {
        using var req = new HttpRequestMessage(method, baseUrl is null ? new Uri(path, UriKind.Relative) : new Uri(new Uri(_server.Url, baseUrl), path));
        if (authorization is not null)
        {
            req.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (json is not null)
        {
            req.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        using var resp = await _http.SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    /// <summary>Creates a tenant with its first administrator (password <see cref="ServerFixture.AdminPassword"/>); returns the tenant's pieces.</summary>
    public async Task<Tenant> CreateAsync(string slug, string displayName, string primary, string accent, string[]? hostNames = null)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "api/operator/tenants", JsonSerializer.Serialize(new
        {
            slug, displayName, primaryColor = primary, accentColor = accent, hostNames = hostNames ?? [], admin = new { name = "admin", password = ServerFixture.AdminPassword },
        }), "Operator " + Token);
        Assert.True(status == HttpStatusCode.Created, body);
        var t = new Tenant(_server, slug);
        t.Admin = await t.SignInAsync("admin", ServerFixture.AdminPassword);
        return t;
    }

    /// <summary>
    /// Whether the certificate the server presents to a TLS client asking for <paramref name="hostName"/> (SNI; connected to
    /// the server's loopback address) is valid for that name and chains to <paramref name="ca"/>.
    /// </summary>
    public async Task<bool> ServesAsync(string hostName, X509Certificate2 ca)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.Url.Host, _server.Url.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, cert, _, errors) =>
        {
            using var c = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return c is not null && MeetingServerClient.ChainsTo(c, ca, errors);
        });
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = hostName });
            return true;
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    /// <summary>Everything the server keeps of a tenant outside its process: its row (branding, logo) and its folder, and (PostgreSQL) its schema.</summary>
    public static async Task<(bool Row, bool Folder, bool Schema)> StoredAsync(ServerFixture f, string slug)
    {
        bool folder = Directory.Exists(Path.Combine(f.Server.DataDirectory, "tenants", slug));
        using var store = f.Postgres is null
            ? new TenantStore(new SqliteDialect(), $"Data Source={Path.Combine(f.Server.DataDirectory, "meetings.db")};Pooling=False")
            : new TenantStore(new PostgresDialect(), f.Postgres);
        bool row = (await store.ListAsync()).Any(t => t.Slug == slug);
        bool schema = false;
        if (f.Postgres is not null)
        {
            await using var c = new Npgsql.NpgsqlConnection(f.Postgres);
            await c.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = @s", c);
            cmd.Parameters.AddWithValue("s", "tenant_" + slug.Replace('-', '_'));
            schema = (long)(await cmd.ExecuteScalarAsync())! > 0;
        }

        return (row, folder, schema);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>One tenant of a running server: its base URL (<c>/t/SLUG/</c>) and its administrator's client.</summary>
public sealed class Tenant(MeetingServerProcess server, string slug) : IDisposable
{
    public string Slug { get; } = slug;

    public Uri Url { get; } = new(server.Url, $"t/{slug}/");

    public MeetingServerClient Admin { get; set; } = null!;

    /// <summary>A person's client for this tenant (TLS checked against the server's certificate, which the default CA issues).</summary>
    public async Task<MeetingServerClient> SignInAsync(string name, string password)
    {
        var c = new MeetingServerClient(Url, server.Ca);
        await c.LoginAsync(name, password);
        return c;
    }

    /// <summary>Adds an account through the tenant administrator's API, signs it in and gets it a person certificate.</summary>
    public async Task<(DeviceCredentials Credentials, MeetingServerClient Client)> PersonAsync(string name, string password = "person-password-1")
    {
        await Admin.SendAsync<JsonElement>(HttpMethod.Post, "api/admin/users", new { name, password, admin = false });
        var client = await SignInAsync(name, password);
        var creds = DeviceCredentials.CreateEphemeral();
        await client.RequestPersonCertificateAsync(creds);
        return (creds, client);
    }

    /// <summary>
    /// A room enrolled with a code from the administrator, by its request sent straight to <c>api/enrol</c> (over the
    /// server's own name, so without the pin check of <see cref="MeetingServerClient.EnrolAsync"/>, which wants a host
    /// name of the tenant); returns its credentials and a client with its certificate.
    /// </summary>
    public async Task<(DeviceCredentials Credentials, MeetingServerClient Client)> EnrolRoomAsync(string name)
    {
        var box = DeviceCredentials.CreateEphemeral();
        using var http = TenantOperator.Http(server, Url);
        var enrol = await http.PostAsJsonAsync("api/enrol", new { code = await Admin.CreateEnrolmentCodeAsync(name), csr = box.CreateSigningRequest() });
        Assert.True(enrol.IsSuccessStatusCode, await enrol.Content.ReadAsStringAsync());
        var enrolled = await enrol.Content.ReadFromJsonAsync<JsonElement>();
        box.SetCertificate(enrolled.GetProperty("certificate").GetBytesFromBase64(), enrolled.GetProperty("caCertificate").GetBytesFromBase64());
        return (box, new MeetingServerClient(Url, server.Ca, box.TlsCertificate()));
    }

    public void Dispose() => Admin?.Dispose();
}
