using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;
using Room.MeetingServer.Storage;

namespace Room.MeetingServer.Tenants;

/// <summary>
/// One tenant's own parts: its CA and guest CA, token key, directory, storage, and the meeting and guest services on
/// them. The default tenant's are the server's own services (today's single organisation, unchanged); another tenant's
/// live in <c>DataDirectory/tenants/SLUG/</c> (keys, and its SQLite file) or its own PostgreSQL schema <c>tenant_SLUG</c>.
/// </summary>
public sealed class TenantContext : IDisposable
{
    private readonly bool _owned;

    public string Slug { get; }

    public bool IsDefault => Slug == Branding.DefaultSlug;

    public MeetingServerOptions Options { get; }

    public OrganisationCa Ca { get; }

    public GuestCa GuestCa { get; }

    public MeetingService Meetings { get; }

    public GuestService Guests { get; }

    /// <summary>Its storage: its own SQLite file or PostgreSQL schema (the default tenant's: the server's).</summary>
    public IMeetingStore Store { get; }

    /// <summary>The row (branding, directory); null for the default tenant until its branding is first set.</summary>
    public TenantRecord? Record { get; set; }

    /// <summary>The entity tag of its branding as clients get it (<see cref="Branding.Tag"/>).</summary>
    public string BrandingTag { get; set; } = "";

    /// <summary>This tenant's TLS certificate for its own host names (SNI), from its CA; null: the server's.</summary>
    public X509Certificate2? TlsCertificate { get; set; }

    /// <summary>The services a request to this tenant gets in place of the default tenant's (empty for the default tenant).</summary>
    public IReadOnlyDictionary<Type, object> Services { get; }

    internal TenantContext(string slug, MeetingServerOptions options, OrganisationCa ca, GuestCa guestCa, MeetingService meetings, GuestService guests,
        IMeetingStore store, IReadOnlyDictionary<Type, object> services, bool owned)
    {
        Store = store;
        Slug = slug;
        Options = options;
        Ca = ca;
        GuestCa = guestCa;
        Meetings = meetings;
        Guests = guests;
        Services = services;
        _owned = owned;
    }

    public void Dispose()
    {
        TlsCertificate?.Dispose();
        if (!_owned)
        {
            return;
        }

        foreach (var s in Services.Values.Distinct())
        {
            (s as IDisposable)?.Dispose();
        }
    }
}

/// <summary>The tenants this server hosts: the default tenant (always) and those an operator created.</summary>
public sealed class TenantRegistry(IServiceProvider services, TenantStore store, IOptions<MeetingServerOptions> options, TimeProvider time, ILogger<TenantRegistry> log)
    : IDisposable
{
    public const string ItemKey = "room.tenant";

    private readonly ConcurrentDictionary<string, TenantContext> _tenants = new(StringComparer.Ordinal);
    // One change of the set of tenants or of a tenant's row at a time: host names are checked against all of them.
    private readonly SemaphoreSlim _change = new(1, 1);
    private TenantContext? _default;

    public TenantStore Store => store;

    public TenantContext Default => _default ?? throw new InvalidOperationException("tenants not initialised");

    /// <summary>The tenant of a request (set by the tenant middleware from the path); the default tenant otherwise.</summary>
    public TenantContext Of(HttpContext ctx) => ctx.Items.TryGetValue(ItemKey, out var t) && t is TenantContext c ? c : Default;

    public TenantContext? Find(string slug) => _tenants.GetValueOrDefault(slug);

    public IEnumerable<TenantContext> All => _tenants.Values;

    /// <summary>Creates the tables (added beside the default tenant's) and opens every stored tenant.</summary>
    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await store.InitializeAsync(ct).ConfigureAwait(false);
        var rows = await store.ListAsync(ct).ConfigureAwait(false);
        _default = new TenantContext(Branding.DefaultSlug, options.Value, services.GetRequiredService<OrganisationCa>(), services.GetRequiredService<GuestCa>(),
            services.GetRequiredService<MeetingService>(), services.GetRequiredService<GuestService>(), services.GetRequiredService<IMeetingStore>(),
            new Dictionary<Type, object>(), owned: false)
        {
            Record = rows.FirstOrDefault(r => r.Slug == Branding.DefaultSlug),
        };
        await RefreshBrandingTagAsync(_default, ct).ConfigureAwait(false);
        _tenants[Branding.DefaultSlug] = _default;
        foreach (var r in rows.Where(r => r.Slug != Branding.DefaultSlug))
        {
            _tenants[r.Slug] = await OpenAsync(r, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A new tenant with its own CA, guest CA, storage and first administrator. Refused (nothing kept) for a bad or taken
    /// short name, bad branding, or a bad administrator account.
    /// </summary>
    public async Task<TenantContext> CreateAsync(TenantRecord record, string adminName, string adminPassword, CancellationToken ct)
    {
        if (!Identities.IsValidName(adminName) || adminPassword.Length < 8)
        {
            throw new RefusedException(Refusal.Malformed, "the tenant's first administrator needs a valid name and a password of 8 characters or more");
        }

        await _change.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            CheckHostNamesFree(record.HostNames, record.Slug);
            if (!await store.AddAsync(record, ct).ConfigureAwait(false))
            {
                throw new RefusedException(Refusal.Duplicate, $"tenant {record.Slug} exists");
            }

            TenantContext? t = null;
            try
            {
                t = await OpenAsync(record, ct).ConfigureAwait(false);
                await t.Meetings.AddLocalUserAsync(adminName, adminPassword, true, ct).ConfigureAwait(false);
            }
            catch
            {
                t?.Dispose();
                await store.DeleteAsync(record.Slug, CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            _tenants[record.Slug] = t;
            log.LogInformation("tenant {Slug} ({Name}) created with administrator person:{Admin}", record.Slug, record.DisplayName, adminName);
            return t;
        }
        finally
        {
            _change.Release();
        }
    }

    /// <summary>
    /// Changes a tenant's row (branding, directory, host names) as <paramref name="change"/> says, one change at a time:
    /// the client and the directory use it from the next request on, and TLS connections for its host names get a
    /// certificate for the new ones. Host names the server or another tenant has are refused, changing nothing.
    /// </summary>
    public async Task<TenantRecord> UpdateAsync(TenantContext tenant, Func<TenantRecord, TenantRecord> change, CancellationToken ct)
    {
        await _change.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var before = RecordOf(tenant);
            var record = change(before);
            bool newNames = !record.HostNames.SequenceEqual(before.HostNames, StringComparer.Ordinal);
            if (newNames)
            {
                if (tenant.IsDefault)
                {
                    throw new RefusedException(Refusal.Malformed, "the default tenant's host names are the server's own (HostNames in its configuration)");
                }

                CheckHostNamesFree(record.HostNames, tenant.Slug);
            }

            await store.PutAsync(record, ct).ConfigureAwait(false);
            if (newNames)
            {
                // The old certificate is left to the collector: a handshake may be using it right now.
                tenant.TlsCertificate = record.HostNames.Count == 0 ? null : tenant.Ca.IssueServerCertificate(record.HostNames);
            }

            tenant.Record = record;
            tenant.Options.Ldap = new LdapOptions
            {
                Host = record.LdapHost,
                Port = record.LdapPort,
                UserDnTemplate = record.LdapUserDnTemplate ?? new LdapOptions().UserDnTemplate,
            };
            await RefreshBrandingTagAsync(tenant, ct).ConfigureAwait(false);
            return record;
        }
        finally
        {
            _change.Release();
        }
    }

    /// <summary>Sets a tenant's logo (its row is made first for the default tenant, unbranded until then).</summary>
    public async Task SetLogoAsync(TenantContext tenant, byte[] logo, string contentType, CancellationToken ct)
    {
        await _change.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (tenant.Record is null)
            {
                tenant.Record = RecordOf(tenant);
                await store.PutAsync(tenant.Record, ct).ConfigureAwait(false);
            }

            await store.SetLogoAsync(tenant.Slug, logo, contentType, ct).ConfigureAwait(false);
            await RefreshBrandingTagAsync(tenant, ct).ConfigureAwait(false);
        }
        finally
        {
            _change.Release();
        }
    }

    /// <summary>The branding clients get (<c>GET api/branding</c>); <c>logo</c>: whether there is one.</summary>
    public async Task<BrandingDto> BrandingOfAsync(TenantContext t, CancellationToken ct) =>
        new(t.Slug, t.Record?.DisplayName, t.Record?.PrimaryColor ?? Branding.DefaultPrimary, t.Record?.AccentColor ?? Branding.DefaultAccent,
            t.Record is not null && await store.GetLogoAsync(t.Slug, ct).ConfigureAwait(false) is not null);

    private async Task RefreshBrandingTagAsync(TenantContext t, CancellationToken ct)
    {
        var logo = t.Record is null ? null : await store.GetLogoAsync(t.Slug, ct).ConfigureAwait(false);
        t.BrandingTag = Branding.Tag(t.Record?.DisplayName, t.Record?.PrimaryColor ?? Branding.DefaultPrimary, t.Record?.AccentColor ?? Branding.DefaultAccent,
            logo?.Logo, logo?.ContentType);
    }

    /// <summary>
    /// Deletes a tenant and everything of it: its meetings, participants, guest invitations, accounts, enrolled rooms and
    /// MLS state (its SQLite file, or its PostgreSQL schema), its keys and CAs (its data directory) and its row (branding,
    /// logo, directory, host names). Refused while one of its meetings is in progress (not ended, its MLS group made),
    /// and for the default tenant, which is the server's own; nothing is deleted then.
    /// </summary>
    public async Task DeleteAsync(string slug, CancellationToken ct)
    {
        await _change.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var t = Find(slug) ?? throw new RefusedException(Refusal.NotFound, $"no tenant {slug}");
            if (t.IsDefault)
            {
                throw new RefusedException(Refusal.Malformed, "the default tenant is the server's own and cannot be deleted");
            }

            await RefuseWhileInProgressAsync(t, ct).ConfigureAwait(false);
            // No new request reaches it from here on; asked again for a meeting that started meanwhile.
            _tenants.TryRemove(slug, out _);
            try
            {
                await RefuseWhileInProgressAsync(t, ct).ConfigureAwait(false);
            }
            catch
            {
                _tenants[slug] = t;
                throw;
            }

            t.Dispose();
            if (options.Value.Storage == StorageKind.Postgres)
            {
                await ExecPostgresAsync($"DROP SCHEMA IF EXISTS {SchemaOf(slug)} CASCADE", ct).ConfigureAwait(false);
            }

            Directory.Delete(t.Options.DataDirectory, recursive: true);
            // The row last: should the server stop before, the tenant is still listed and can be deleted again.
            await store.DeleteAsync(slug, CancellationToken.None).ConfigureAwait(false);
            log.LogInformation("tenant {Slug} deleted with all its data", slug);
        }
        finally
        {
            _change.Release();
        }
    }

    private static async Task RefuseWhileInProgressAsync(TenantContext t, CancellationToken ct)
    {
        int n = await t.Store.CountMeetingsInProgressAsync(ct).ConfigureAwait(false);
        if (n > 0)
        {
            throw new RefusedException(Refusal.MeetingsInProgress,
                $"tenant {t.Slug} has {n} meeting{(n == 1 ? "" : "s")} in progress: its hosts end {(n == 1 ? "it" : "them")} first (nothing was deleted)");
        }
    }

    /// <summary>
    /// Refuses host names that are the server's own (<c>HostNames</c>) or another tenant's: the TLS certificate of a
    /// name goes to one of them only. Names compare as <see cref="OperatorService.NormaliseHostName"/> makes them.
    /// </summary>
    private void CheckHostNamesFree(IReadOnlyList<string> names, string slug)
    {
        var own = options.Value.ServerHostNames.Select(OperatorService.NormaliseHostName).ToHashSet(StringComparer.Ordinal);
        foreach (string n in names.Select(OperatorService.NormaliseHostName))
        {
            if (own.Contains(n))
            {
                throw new RefusedException(Refusal.Duplicate, $"host name {n} is the server's own");
            }

            var other = _tenants.Values.FirstOrDefault(t => t.Slug != slug && t.Record?.HostNames.Any(h => OperatorService.NormaliseHostName(h) == n) == true);
            if (other is not null)
            {
                throw new RefusedException(Refusal.Duplicate, $"host name {n} is tenant {other.Slug}'s");
            }
        }
    }

    /// <summary>The record to change for a tenant (the default tenant's is made from the configuration the first time).</summary>
    public TenantRecord RecordOf(TenantContext t) => t.Record ?? new TenantRecord(t.Slug, t.Options.Organisation, Branding.DefaultPrimary, Branding.DefaultAccent,
        t.Options.Ldap.Host, t.Options.Ldap.Port, t.Options.Ldap.Host is null ? null : t.Options.Ldap.UserDnTemplate, [], time.GetUtcNow().ToUnixTimeSeconds());

    /// <summary>The TLS certificate for a host name a tenant claims (SNI); null: the server's own.</summary>
    public X509Certificate2? CertificateFor(string? hostName)
    {
        string? n = hostName is null ? null : OperatorService.NormaliseHostName(hostName);
        return n is null ? null : _tenants.Values.FirstOrDefault(t => !t.IsDefault && t.Record?.HostNames.Contains(n, StringComparer.Ordinal) == true)?.TlsCertificate;
    }

    private static string SchemaOf(string slug) => "tenant_" + slug.Replace('-', '_');

    private async Task ExecPostgresAsync(string sql, CancellationToken ct)
    {
        await using var c = new NpgsqlConnection(options.Value.PostgresConnectionString);
        await c.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
#pragma warning disable CA2100 // schema names are made of a checked slug (a-z 0-9 _)
        cmd.CommandText = sql;
#pragma warning restore CA2100
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task<TenantContext> OpenAsync(TenantRecord r, CancellationToken ct)
    {
        var root = options.Value;
        var o = JsonSerializer.Deserialize<MeetingServerOptions>(JsonSerializer.Serialize(root))!;
        o.DataDirectory = Path.Combine(root.DataDirectory, "tenants", r.Slug);
        o.Organisation = r.Slug;
        o.Ldap = new LdapOptions { Host = r.LdapHost, Port = r.LdapPort, UserDnTemplate = r.LdapUserDnTemplate ?? new LdapOptions().UserDnTemplate };
        Directory.CreateDirectory(o.DataDirectory);
        var io = Microsoft.Extensions.Options.Options.Create(o);
        SqlMeetingStore tenantStore;
        if (root.Storage == StorageKind.Postgres)
        {
            string schema = SchemaOf(r.Slug);
            await ExecPostgresAsync($"CREATE SCHEMA IF NOT EXISTS {schema}", ct).ConfigureAwait(false);

            tenantStore = new SqlMeetingStore(new PostgresDialect(), new NpgsqlConnectionStringBuilder(root.PostgresConnectionString) { SearchPath = schema }.ConnectionString);
        }
        else
        {
            tenantStore = new SqlMeetingStore(new SqliteDialect(), $"Data Source={Path.Combine(o.DataDirectory, "meetings.db")};Pooling=False");
        }

        await tenantStore.InitializeAsync(ct).ConfigureAwait(false);
        var ca = new OrganisationCa(io, time);
        var guestCa = new GuestCa(ca, io, time);
        var sender = new MlsExternalSender(io, ca, time);
        var tokens = new TokenService(io, time);
        var ldap = new LdapAuthenticator(io, services.GetRequiredService<ILogger<LdapAuthenticator>>());
        var meetings = ActivatorUtilities.CreateInstance<MeetingService>(services, tenantStore, ca, guestCa, ldap, tokens, sender, io);
        var guests = ActivatorUtilities.CreateInstance<GuestService>(services, tenantStore, meetings, guestCa, ca, tokens, io);
        var map = new Dictionary<Type, object>
        {
            [typeof(IMeetingStore)] = tenantStore,
            [typeof(OrganisationCa)] = ca,
            [typeof(GuestCa)] = guestCa,
            [typeof(MlsExternalSender)] = sender,
            [typeof(TokenService)] = tokens,
            [typeof(LdapAuthenticator)] = ldap,
            [typeof(MeetingService)] = meetings,
            [typeof(GuestService)] = guests,
            [typeof(IOptions<MeetingServerOptions>)] = io,
        };
        var t = new TenantContext(r.Slug, o, ca, guestCa, meetings, guests, tenantStore, map, owned: true)
        {
            Record = r,
            TlsCertificate = r.HostNames.Count == 0 ? null : ca.IssueServerCertificate(r.HostNames),
        };
        await RefreshBrandingTagAsync(t, ct).ConfigureAwait(false);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in _tenants.Values)
        {
            t.Dispose();
        }

        _change.Dispose();
    }
}

/// <summary>A request's services with its tenant's in place of the default tenant's; everything else from the request's own scope.</summary>
internal sealed class TenantServiceProvider(IServiceProvider inner, IReadOnlyDictionary<Type, object> overrides) : IServiceProvider, ISupportRequiredService, IKeyedServiceProvider
{
    public object? GetService(Type serviceType) => overrides.TryGetValue(serviceType, out var o) ? o : inner.GetService(serviceType);

    public object GetRequiredService(Type serviceType) => overrides.TryGetValue(serviceType, out var o) ? o : inner.GetRequiredService(serviceType);

    public object? GetKeyedService(Type serviceType, object? serviceKey) => ((IKeyedServiceProvider)inner).GetKeyedService(serviceType, serviceKey);

    public object GetRequiredKeyedService(Type serviceType, object? serviceKey) => ((IKeyedServiceProvider)inner).GetRequiredKeyedService(serviceType, serviceKey);
}
