using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Room.MeetingClient;

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

    public void Dispose() => Admin?.Dispose();
}
