using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Room.MeetingServer.Identity;

namespace Room.MeetingServer.Tenants;

/// <summary>
/// Operators: accounts of their own (<c>room-meeting-server operator add NAME</c>), signed in with tokens under a key of
/// their own (<c>DataDirectory/operator/token.key</c>), so an operator's token opens no tenant and a tenant's token is
/// no operator's. An operator creates, lists, renames and deletes tenants, and sees nothing inside them.
/// </summary>
public sealed partial class OperatorService
{
    public const int MaxHostNames = 8;

    private readonly TenantStore _store;
    private readonly TenantRegistry _tenants;
    private readonly PasswordHasher _hasher;
    private readonly TokenService _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger<OperatorService> _log;

    public OperatorService(TenantStore store, TenantRegistry tenants, PasswordHasher hasher, IOptions<MeetingServerOptions> options, TimeProvider time, ILogger<OperatorService> log)
    {
        _store = store;
        _tenants = tenants;
        _hasher = hasher;
        _time = time;
        _log = log;
        _tokens = new TokenService(Path.Combine(options.Value.DataDirectory, "operator"), TimeSpan.FromSeconds(options.Value.TokenLifetimeSeconds), time);
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex HostNamePattern();

    private RefusedException Refuse(Refusal r, string who, string message)
    {
        _log.LogWarning("refused {Refusal} for operator {Caller}: {Message}", r, who, message);
        return new RefusedException(r, message);
    }

    public async Task AddOperatorAsync(string name, string password, CancellationToken ct)
    {
        if (!Identities.IsValidName(name) || password.Length < 8)
        {
            throw Refuse(Refusal.Malformed, "command line", "an operator needs a valid name and a password of 8 characters or more");
        }

        if (!await _store.AddOperatorAsync(new OperatorRecord(name, _hasher.Hash(password)), ct).ConfigureAwait(false))
        {
            throw Refuse(Refusal.Duplicate, "command line", $"operator {name} exists");
        }
    }

    public async Task<string> LoginAsync(string? name, string? password, CancellationToken ct)
    {
        var op = Identities.IsValidName(name) ? await _store.GetOperatorAsync(name!, ct).ConfigureAwait(false) : null;
        if (op is null || !PasswordHasher.Verify(password ?? "", op.PasswordHash))
        {
            throw Refuse(Refusal.Unauthenticated, name ?? "", "operator sign-in refused");
        }

        _log.LogInformation("operator {Name} signed in", name);
        return _tokens.Issue(Identities.PersonPrefix + op.Name, true);
    }

    /// <summary>The operator a request's <c>Authorization: Operator TOKEN</c> names; refused otherwise.</summary>
    public string Authenticate(HttpContext ctx)
    {
        string auth = ctx.Request.Headers.Authorization.ToString();
        var t = auth.StartsWith("Operator ", StringComparison.Ordinal) ? _tokens.Check(auth["Operator ".Length..]) : null;
        return t is { Admin: true } ? t.Value.Identity : throw Refuse(Refusal.Unauthenticated, ctx.Connection.RemoteIpAddress?.ToString() ?? "?", "operator sign-in needed (Authorization: Operator TOKEN)");
    }

    /// <summary>A host name as compared and stored: trimmed, lower case, without the trailing dot of a fully qualified name.</summary>
    public static string NormaliseHostName(string? name)
    {
        string n = (name ?? "").Trim().ToLowerInvariant();
        return n.EndsWith('.') ? n[..^1] : n;
    }

    /// <summary>Up to <see cref="MaxHostNames"/> DNS names or addresses, normalised (<see cref="NormaliseHostName"/>), without repeats.</summary>
    public static IReadOnlyList<string> CheckHostNames(IReadOnlyList<string>? names)
    {
        var list = (names ?? []).Select(NormaliseHostName).ToList();
        if (list.Count > MaxHostNames)
        {
            throw new RefusedException(Refusal.Malformed, $"a tenant has at most {MaxHostNames} host names");
        }

        string? bad = list.FirstOrDefault(n => n.Length is 0 or > 253 || !(HostNamePattern().IsMatch(n) || System.Net.IPAddress.TryParse(n, out _)));
        return bad is null ? list.Distinct(StringComparer.Ordinal).ToList() : throw new RefusedException(Refusal.Malformed,
            $"host name '{(bad.Any(char.IsControl) ? "(with control characters)" : bad)}' is no DNS name (labels of a-z 0-9 - of 1-63 characters, not starting or ending with -) or address");
    }

    public async Task<TenantContext> CreateTenantAsync(string op, CreateTenantRequest r, CancellationToken ct) => await Logged(op, async () =>
    {
        var rec = new TenantRecord(Branding.CheckSlug(r.Slug), Branding.CheckDisplayName(r.DisplayName),
            Branding.CheckColor(r.PrimaryColor ?? Branding.DefaultPrimary, "primaryColor"), Branding.CheckColor(r.AccentColor ?? Branding.DefaultAccent, "accentColor"),
            null, 389, null, CheckHostNames(r.HostNames), _time.GetUtcNow().ToUnixTimeSeconds());
        var t = await _tenants.CreateAsync(rec, r.Admin?.Name ?? "", r.Admin?.Password ?? "", ct).ConfigureAwait(false);
        _log.LogInformation("operator {Operator} created tenant {Slug}", op, rec.Slug);
        return t;
    }).ConfigureAwait(false);

    /// <summary>Renames a tenant (display name) and/or gives it other host names; what the request leaves out stays.</summary>
    public async Task<TenantContext> UpdateTenantAsync(string op, string slug, UpdateTenantRequest r, CancellationToken ct) => await Logged(op, async () =>
    {
        var t = FindOther(slug);
        if (r.DisplayName is null && r.HostNames is null)
        {
            throw new RefusedException(Refusal.Malformed, "nothing to change: send displayName and/or hostNames");
        }

        string? name = r.DisplayName is null ? null : Branding.CheckDisplayName(r.DisplayName);
        var hosts = r.HostNames is null ? null : CheckHostNames(r.HostNames);
        var rec = await _tenants.UpdateAsync(t, old => old with { DisplayName = name ?? old.DisplayName, HostNames = hosts ?? old.HostNames }, ct).ConfigureAwait(false);
        _log.LogInformation("operator {Operator} changed tenant {Slug}: name {Name}, host names {Hosts}", op, slug, rec.DisplayName, string.Join(' ', rec.HostNames));
        return t;
    }).ConfigureAwait(false);

    public async Task DeleteTenantAsync(string op, string slug, CancellationToken ct) => await Logged(op, async () =>
    {
        await _tenants.DeleteAsync(FindOther(slug).Slug, ct).ConfigureAwait(false);
        _log.LogInformation("operator {Operator} deleted tenant {Slug}", op, slug);
        return 0;
    }).ConfigureAwait(false);

    /// <summary>A tenant an operator may change: any but the default tenant, which is the server's own.</summary>
    private TenantContext FindOther(string slug)
    {
        var t = Branding.IsSlug(slug) ? _tenants.Find(slug) : null;
        return t is null ? throw new RefusedException(Refusal.NotFound, "no such tenant")
            : t.IsDefault ? throw new RefusedException(Refusal.Malformed, "the default tenant is the server's own: its administrator brands it, and the configuration names its host names")
            : t;
    }

    private async Task<T> Logged<T>(string op, Func<Task<T>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (RefusedException e)
        {
            _log.LogWarning("refused {Refusal} for operator {Caller}: {Message}", e.Refusal, op, e.Message);
            throw;
        }
    }
}
