using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Room.MeetingServer.Identity;

namespace Room.MeetingServer.Tenants;

/// <summary>
/// Operators: accounts of their own (<c>room-meeting-server operator add NAME</c>), signed in with tokens under a key of
/// their own (<c>DataDirectory/operator/token.key</c>), so an operator's token opens no tenant and a tenant's token is
/// no operator's. An operator creates and lists tenants, and sees nothing inside them.
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

    public static IReadOnlyList<string> CheckHostNames(IReadOnlyList<string>? names)
    {
        var list = (names ?? []).Select(n => (n ?? "").Trim().ToLowerInvariant()).ToList();
        if (list.Count > MaxHostNames || list.Any(n => n.Length is 0 or > 253 || !(HostNamePattern().IsMatch(n) || System.Net.IPAddress.TryParse(n, out _))))
        {
            throw new RefusedException(Refusal.Malformed, $"host names are up to {MaxHostNames} DNS names or addresses");
        }

        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    public async Task<TenantContext> CreateTenantAsync(string op, CreateTenantRequest r, CancellationToken ct)
    {
        try
        {
            var rec = new TenantRecord(Branding.CheckSlug(r.Slug), Branding.CheckDisplayName(r.DisplayName),
                Branding.CheckColor(r.PrimaryColor ?? Branding.DefaultPrimary, "primaryColor"), Branding.CheckColor(r.AccentColor ?? Branding.DefaultAccent, "accentColor"),
                null, 389, null, CheckHostNames(r.HostNames), _time.GetUtcNow().ToUnixTimeSeconds());
            if (rec.HostNames.Any(h => _tenants.All.Any(t => t.Record?.HostNames.Contains(h, StringComparer.Ordinal) == true)))
            {
                throw new RefusedException(Refusal.Duplicate, "a host name is another tenant's");
            }

            var t = await _tenants.CreateAsync(rec, r.Admin?.Name ?? "", r.Admin?.Password ?? "", ct).ConfigureAwait(false);
            _log.LogInformation("operator {Operator} created tenant {Slug}", op, rec.Slug);
            return t;
        }
        catch (RefusedException e)
        {
            _log.LogWarning("refused {Refusal} for operator {Caller}: {Message}", e.Refusal, op, e.Message);
            throw;
        }
    }
}
