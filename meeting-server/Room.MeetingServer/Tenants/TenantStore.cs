using System.Data;
using System.Data.Common;
using Room.MeetingServer.Storage;
using static Room.MeetingServer.Storage.SqlRunner;

namespace Room.MeetingServer.Tenants;

/// <summary>A tenant (municipality) as stored: its branding and its directory connection. The default tenant may have a row too (its branding).</summary>
public sealed record TenantRecord(string Slug, string DisplayName, string PrimaryColor, string AccentColor, string? LdapHost, int LdapPort, string? LdapUserDnTemplate,
    IReadOnlyList<string> HostNames, long CreatedAt);

/// <summary>An operator account: operators create and list tenants, and see nothing inside them.</summary>
public sealed record OperatorRecord(string Name, string PasswordHash);

/// <summary>
/// The operator's tables, beside the default tenant's own (same SQLite file or the PostgreSQL default schema; added,
/// nothing existing changes): <c>tenants</c> and <c>operators</c>. Each tenant's own data lives apart: its own SQLite
/// file, or its own PostgreSQL schema.
/// </summary>
public sealed class TenantStore(SqlDialect dialect, string connectionString) : IDisposable
{
    private readonly SqlRunner _sql = new(dialect, connectionString);

    public void Dispose() => _sql.Dispose();

    private Task<T> RunAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct) => _sql.RunAsync(work, ct);

    public Task InitializeAsync(CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        Exec(c, tx, $"CREATE TABLE IF NOT EXISTS tenants (slug TEXT PRIMARY KEY, display_name TEXT NOT NULL, primary_color TEXT NOT NULL, accent_color TEXT NOT NULL, " +
            $"logo {dialect.Blob}, logo_type TEXT, ldap_host TEXT, ldap_port BIGINT NOT NULL, ldap_dn_template TEXT, host_names TEXT NOT NULL, created_at BIGINT NOT NULL)");
        Exec(c, tx, "CREATE TABLE IF NOT EXISTS operators (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL)");
        return 0;
    }, ct);

    private const string Columns = "slug, display_name, primary_color, accent_color, ldap_host, ldap_port, ldap_dn_template, host_names, created_at";

    private static TenantRecord Read(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
        (int)r.GetInt64(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetString(7).Split(' ', StringSplitOptions.RemoveEmptyEntries), r.GetInt64(8));

    /// <summary>False (nothing stored) when a tenant of this slug exists.</summary>
    public async Task<bool> AddAsync(TenantRecord t, CancellationToken ct = default)
    {
        try
        {
            return await RunAsync((c, tx) => Exec(c, tx, $"INSERT INTO tenants ({Columns}) VALUES (@s, @n, @p, @a, @h, @port, @dn, @hn, @at)",
                ("@s", t.Slug), ("@n", t.DisplayName), ("@p", t.PrimaryColor), ("@a", t.AccentColor), ("@h", t.LdapHost), ("@port", (long)t.LdapPort),
                ("@dn", t.LdapUserDnTemplate), ("@hn", string.Join(' ', t.HostNames)), ("@at", t.CreatedAt)) == 1, ct).ConfigureAwait(false);
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            return false;
        }
    }

    /// <summary>Inserts or replaces the row (the default tenant's branding is stored on first change).</summary>
    public Task PutAsync(TenantRecord t, CancellationToken ct = default) => RunAsync((c, tx) =>
    {
        if (Exec(c, tx, "UPDATE tenants SET display_name = @n, primary_color = @p, accent_color = @a, ldap_host = @h, ldap_port = @port, ldap_dn_template = @dn, host_names = @hn WHERE slug = @s",
            ("@s", t.Slug), ("@n", t.DisplayName), ("@p", t.PrimaryColor), ("@a", t.AccentColor), ("@h", t.LdapHost), ("@port", (long)t.LdapPort),
            ("@dn", t.LdapUserDnTemplate), ("@hn", string.Join(' ', t.HostNames))) == 0)
        {
            Exec(c, tx, $"INSERT INTO tenants ({Columns}) VALUES (@s, @n, @p, @a, @h, @port, @dn, @hn, @at)",
                ("@s", t.Slug), ("@n", t.DisplayName), ("@p", t.PrimaryColor), ("@a", t.AccentColor), ("@h", t.LdapHost), ("@port", (long)t.LdapPort),
                ("@dn", t.LdapUserDnTemplate), ("@hn", string.Join(' ', t.HostNames)), ("@at", t.CreatedAt));
        }

        return 0;
    }, ct);

    public Task DeleteAsync(string slug, CancellationToken ct = default) => RunAsync((c, tx) => Exec(c, tx, "DELETE FROM tenants WHERE slug = @s", ("@s", slug)), ct);

    public Task<IReadOnlyList<TenantRecord>> ListAsync(CancellationToken ct = default) => RunAsync<IReadOnlyList<TenantRecord>>((c, tx) =>
        Query(c, tx, Read, $"SELECT {Columns} FROM tenants ORDER BY slug"), ct);

    public Task SetLogoAsync(string slug, byte[] logo, string contentType, CancellationToken ct = default) => RunAsync((c, tx) =>
        Exec(c, tx, "UPDATE tenants SET logo = @l, logo_type = @t WHERE slug = @s", ("@s", slug), ("@l", logo), ("@t", contentType)), ct);

    public Task<(byte[] Logo, string ContentType)?> GetLogoAsync(string slug, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, r => r.IsDBNull(0) ? ((byte[], string)?)null : ((byte[])r.GetValue(0), r.GetString(1)), "SELECT logo, logo_type FROM tenants WHERE slug = @s", ("@s", slug))
            .FirstOrDefault(), ct);

    public async Task<bool> AddOperatorAsync(OperatorRecord o, CancellationToken ct = default)
    {
        try
        {
            return await RunAsync((c, tx) => Exec(c, tx, "INSERT INTO operators (name, password_hash) VALUES (@n, @h)", ("@n", o.Name), ("@h", o.PasswordHash)) == 1, ct).ConfigureAwait(false);
        }
        catch (DbException e) when (dialect.IsUniqueViolation(e))
        {
            return false;
        }
    }

    public Task<OperatorRecord?> GetOperatorAsync(string name, CancellationToken ct = default) => RunAsync((c, tx) =>
        Query(c, tx, r => new OperatorRecord(r.GetString(0), r.GetString(1)), "SELECT name, password_hash FROM operators WHERE name = @n", ("@n", name)).FirstOrDefault(), ct);
}
