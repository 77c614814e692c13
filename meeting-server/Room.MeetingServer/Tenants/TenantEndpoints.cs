using System.Text.Json;
using Microsoft.Extensions.Options;
using Room.MeetingServer.Api;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;
using Room.MeetingServer.Storage;

namespace Room.MeetingServer.Tenants;

public sealed record TenantAdminRequest(string? Name, string? Password);
public sealed record CreateTenantRequest(string? Slug, string? DisplayName, string? PrimaryColor, string? AccentColor, List<string>? HostNames, TenantAdminRequest? Admin);
public sealed record UpdateTenantRequest(string? DisplayName, List<string>? HostNames);
public sealed record TenantDto(string Slug, string DisplayName, string PrimaryColor, string AccentColor, IReadOnlyList<string> HostNames, long CreatedAt, string Path, string CaPin);
public sealed record OperatorLoginResponse(string Token);
public sealed record BrandingRequest(string? DisplayName, string? PrimaryColor, string? AccentColor);

/// <summary>A tenant's branding as clients show it; <c>displayName</c> null: the default tenant, never branded (the client's own name).</summary>
public sealed record BrandingDto(string Tenant, string? DisplayName, string PrimaryColor, string AccentColor, bool Logo);
public sealed record DirectoryRequest(string? Host, int? Port, string? UserDnTemplate);
public sealed record DirectoryDto(string? Host, int Port, string? UserDnTemplate);
public sealed record AddUserRequest(string? Name, string? Password, bool Admin);

/// <summary>
/// Tenants over HTTP. A request to <c>/t/SLUG/...</c> is that tenant's (its API at <c>/t/SLUG/api/</c>, its web client at
/// <c>/t/SLUG/client/</c>): it gets the tenant's CA, token key, storage and services in place of the default tenant's, so
/// nothing of another tenant is reachable from it (a token or device certificate of another tenant is refused there as
/// unknown). Everything without <c>/t/</c> is the default tenant, as before.
/// Operators: <c>/api/operator/...</c> with <c>Authorization: Operator TOKEN</c>. Tenant administrators: <c>/api/admin/...</c> of their tenant.
/// </summary>
public static class TenantEndpoints
{
    /// <summary>
    /// The response header with the entity tag of the caller's tenant's branding, on <c>GET api/branding</c> and on every
    /// answer to a room (device certificate): a room that keeps the branding fetches it again when the tag is not its own.
    /// </summary>
    public const string BrandingHeader = "Room-Branding";

    /// <summary>Largest JSON body the tenant and operator API reads (a logo: <see cref="Branding.MaxLogoBytes"/>).</summary>
    public const int MaxJsonBytes = 16 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IServiceCollection AddTenants(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<MeetingServerOptions>>().Value;
            if (o.Storage == StorageKind.Postgres)
            {
                return new TenantStore(new PostgresDialect(), o.PostgresConnectionString!);
            }

            Directory.CreateDirectory(o.DataDirectory);
            return new TenantStore(new SqliteDialect(), $"Data Source={Path.Combine(o.DataDirectory, "meetings.db")};Pooling=False");
        });
        services.AddSingleton<TenantRegistry>();
        services.AddSingleton<OperatorService>();
        return services;
    }

    /// <summary>The tenant middleware (before the API's), explicit routing after it (so that routes see the tenant's path), and the tenant API.</summary>
    public static void UseTenants(this WebApplication app)
    {
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.Path.StartsWithSegments("/t", StringComparison.Ordinal, out var rest))
            {
                string r = rest.Value ?? "";
                int slash = r.Length > 1 ? r.IndexOf('/', 1) : -1;
                string slug = r.Length <= 1 ? "" : slash < 0 ? r[1..] : r[1..slash];
                var tenant = Branding.IsSlug(slug) ? ctx.RequestServices.GetRequiredService<TenantRegistry>().Find(slug) : null;
                if (tenant is null || tenant.IsDefault)
                {
                    ctx.Response.StatusCode = StatusCodes.Status404NotFound;
                    await ctx.Response.WriteAsJsonAsync(new ErrorResponse("not-found", "no such tenant", null));
                    return;
                }

                ctx.Request.PathBase = ctx.Request.PathBase.Add("/t/" + slug);
                ctx.Request.Path = slash < 0 ? "/" : r[slash..];
                ctx.Items[TenantRegistry.ItemKey] = tenant;
                ctx.RequestServices = new TenantServiceProvider(ctx.RequestServices, tenant.Services);
            }

            await next(ctx);
        });
        app.UseRouting();
        MapTenantApi(app);
    }

    private static async Task<T> ReadJsonAsync<T>(HttpContext ctx, int max)
    {
        byte[] body = await ReadBodyAsync(ctx, max);
        try
        {
            return JsonSerializer.Deserialize<T>(body, Json) ?? throw new RefusedException(Refusal.Malformed, "malformed request: empty");
        }
        catch (JsonException e)
        {
            throw new RefusedException(Refusal.Malformed, "malformed request: " + e.Message);
        }
    }

    /// <summary>The request body, refused (before reading more) when longer than <paramref name="max"/> bytes.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContext ctx, int max)
    {
        if (ctx.Request.ContentLength > max)
        {
            throw new RefusedException(Refusal.Malformed, $"request too large: at most {max} bytes");
        }

        using var ms = new MemoryStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(buf, ctx.RequestAborted)) > 0)
        {
            if (ms.Length + n > max)
            {
                throw new RefusedException(Refusal.Malformed, $"request too large: at most {max} bytes");
            }

            ms.Write(buf, 0, n);
        }

        return ms.ToArray();
    }

    private static Caller RequireTenantAdmin(HttpContext ctx, string what)
    {
        var caller = Endpoints.CallerOf(ctx);
        if (!caller.Admin || !Identities.IsValid(caller.Identity))
        {
            ctx.RequestServices.GetRequiredService<ILogger<TenantRegistry>>().LogWarning("refused Forbidden for {Caller}: only a tenant administrator {What}", caller.Identity, what);
            throw new RefusedException(Refusal.Forbidden, "only this tenant's administrator " + what);
        }

        return caller;
    }

    private static TenantDto Dto(TenantContext t) => new(t.Slug, t.Record?.DisplayName ?? t.Options.Organisation, t.Record?.PrimaryColor ?? Branding.DefaultPrimary,
        t.Record?.AccentColor ?? Branding.DefaultAccent, t.Record?.HostNames ?? [], t.Record?.CreatedAt ?? 0, t.IsDefault ? "/" : $"/t/{t.Slug}/", t.Ca.Pin);

    private static void MapTenantApi(WebApplication app)
    {
        // ---- operators (the default path only: an operator is no tenant's)
        var op = app.MapGroup("/api/operator");
        op.MapPost("/login", async (HttpContext ctx, OperatorService ops, CancellationToken ct) =>
        {
            var r = await ReadJsonAsync<LoginRequest>(ctx, MaxJsonBytes);
            return new OperatorLoginResponse(await ops.LoginAsync(r.Name, r.Password, ct));
        });
        op.MapGet("/tenants", (HttpContext ctx, OperatorService ops, TenantRegistry reg) =>
        {
            OperatorOnly(ctx);
            ops.Authenticate(ctx);
            return reg.All.OrderBy(t => t.IsDefault ? "" : t.Slug, StringComparer.Ordinal).Select(Dto).ToList();
        });
        op.MapPost("/tenants", async (HttpContext ctx, OperatorService ops, CancellationToken ct) =>
        {
            OperatorOnly(ctx);
            string who = ops.Authenticate(ctx);
            var r = await ReadJsonAsync<CreateTenantRequest>(ctx, MaxJsonBytes);
            var t = await ops.CreateTenantAsync(who, r, ct);
            return Results.Created($"/t/{t.Slug}/", Dto(t));
        });
        op.MapPatch("/tenants/{slug}", async (HttpContext ctx, string slug, OperatorService ops, CancellationToken ct) =>
        {
            OperatorOnly(ctx);
            string who = ops.Authenticate(ctx);
            var r = await ReadJsonAsync<UpdateTenantRequest>(ctx, MaxJsonBytes);
            return Dto(await ops.UpdateTenantAsync(who, slug, r, ct));
        });
        op.MapDelete("/tenants/{slug}", async (HttpContext ctx, string slug, OperatorService ops, CancellationToken ct) =>
        {
            OperatorOnly(ctx);
            await ops.DeleteTenantAsync(ops.Authenticate(ctx), slug, ct);
            return Results.NoContent();
        });

        // ---- every tenant's own (the tenant is the path's)
        app.MapGet("/api/branding", async (HttpContext ctx, TenantRegistry reg, CancellationToken ct) =>
        {
            var t = reg.Of(ctx);
            ctx.Response.Headers[BrandingHeader] = t.BrandingTag;
            ctx.Response.Headers.ETag = t.BrandingTag;
            ctx.Response.Headers.CacheControl = "no-cache";
            return ctx.Request.Headers.IfNoneMatch.Contains(t.BrandingTag) ? Results.StatusCode(StatusCodes.Status304NotModified) : Results.Ok(await reg.BrandingOfAsync(t, ct));
        });
        app.MapGet("/api/branding/logo", async (HttpContext ctx, TenantRegistry reg, CancellationToken ct) =>
        {
            var logo = await reg.Store.GetLogoAsync(reg.Of(ctx).Slug, ct) ?? throw new RefusedException(Refusal.NotFound, "no logo");
            ctx.Response.Headers.CacheControl = "no-cache";
            ctx.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Bytes(logo.Logo, logo.ContentType);
        });
        app.MapGet("/client/branding.css", (HttpContext ctx, TenantRegistry reg) =>
        {
            var rec = reg.Of(ctx).Record;
            // Checked colours only (#rrggbb): nothing else reaches this text.
            string css = rec is null ? "/* default branding */\n" : $":root {{ --brand: {rec.PrimaryColor}; --accent: {rec.AccentColor}; }}\n";
            return Results.Text(css, "text/css");
        });
        app.MapPut("/api/admin/branding", async (HttpContext ctx, TenantRegistry reg, CancellationToken ct) =>
        {
            var caller = RequireTenantAdmin(ctx, "changes its branding");
            var r = await ReadJsonAsync<BrandingRequest>(ctx, MaxJsonBytes);
            var t = reg.Of(ctx);
            string name = Branding.CheckDisplayName(r.DisplayName);
            string primary = Branding.CheckColor(r.PrimaryColor, "primaryColor");
            string accent = Branding.CheckColor(r.AccentColor, "accentColor");
            await reg.UpdateAsync(t, old => old with { DisplayName = name, PrimaryColor = primary, AccentColor = accent }, ct);
            ctx.RequestServices.GetRequiredService<ILogger<TenantRegistry>>().LogInformation("{Admin} changed the branding of tenant {Slug}", caller.Identity, t.Slug);
            return await reg.BrandingOfAsync(t, ct);
        });
        app.MapPut("/api/admin/branding/logo", async (HttpContext ctx, TenantRegistry reg, CancellationToken ct) =>
        {
            var caller = RequireTenantAdmin(ctx, "changes its logo");
            byte[] body = await ReadBodyAsync(ctx, Branding.MaxLogoBytes);
            string type = Branding.CheckLogo(body, ctx.Request.ContentType);
            var t = reg.Of(ctx);
            await reg.SetLogoAsync(t, body, type, ct);
            ctx.RequestServices.GetRequiredService<ILogger<TenantRegistry>>().LogInformation("{Admin} set the logo of tenant {Slug} ({Bytes} bytes)", caller.Identity, t.Slug, body.Length);
            return await reg.BrandingOfAsync(t, ct);
        });
        app.MapGet("/api/admin/directory", (HttpContext ctx, TenantRegistry reg) =>
        {
            RequireTenantAdmin(ctx, "reads its directory settings");
            var l = reg.Of(ctx).Options.Ldap;
            return new DirectoryDto(l.Host, l.Port, l.Host is null ? null : l.UserDnTemplate);
        });
        app.MapPut("/api/admin/directory", async (HttpContext ctx, TenantRegistry reg, CancellationToken ct) =>
        {
            var caller = RequireTenantAdmin(ctx, "changes its directory settings");
            var r = await ReadJsonAsync<DirectoryRequest>(ctx, MaxJsonBytes);
            string? host = string.IsNullOrWhiteSpace(r.Host) ? null : OperatorService.CheckHostNames([r.Host])[0];
            int port = r.Port ?? 389;
            string? template = r.UserDnTemplate?.Trim();
            if (host is not null && (port is < 1 or > 65535 || template is null || template.Length > 512 || !template.Contains("{0}", StringComparison.Ordinal)
                || template.Any(char.IsControl)))
            {
                throw new RefusedException(Refusal.Malformed, "a directory is a host, a port 1-65535 and a user DN template with {0} (at most 512 characters)");
            }

            var t = reg.Of(ctx);
            await reg.UpdateAsync(t, old => old with { LdapHost = host, LdapPort = port, LdapUserDnTemplate = host is null ? null : template }, ct);
            ctx.RequestServices.GetRequiredService<ILogger<TenantRegistry>>().LogInformation("{Admin} set the directory of tenant {Slug} to {Host}:{Port}", caller.Identity, t.Slug, host, port);
            return Results.NoContent();
        });
        app.MapPost("/api/admin/users", async (HttpContext ctx, TenantRegistry reg, CancellationToken ct) =>
        {
            var caller = RequireTenantAdmin(ctx, "adds accounts");
            var r = await ReadJsonAsync<AddUserRequest>(ctx, MaxJsonBytes);
            var t = reg.Of(ctx);
            await t.Meetings.AddLocalUserAsync(r.Name ?? "", r.Password ?? "", r.Admin, ct);
            ctx.RequestServices.GetRequiredService<ILogger<TenantRegistry>>().LogInformation("{Admin} added person:{Name} to tenant {Slug}", caller.Identity, r.Name, t.Slug);
            return Results.Created($"/api/admin/users/{r.Name}", new { identity = Identities.PersonPrefix + r.Name });
        });
    }

    /// <summary>The operator API is the server's, not a tenant's: under <c>/t/SLUG/</c> it does not exist.</summary>
    private static void OperatorOnly(HttpContext ctx)
    {
        if (ctx.Items.ContainsKey(TenantRegistry.ItemKey))
        {
            throw new RefusedException(Refusal.NotFound, "the operator API is not a tenant's");
        }
    }
}

/// <summary>The command line for tenants: <c>operator add NAME</c>, and <c>user add NAME [--admin] --tenant SLUG</c>; passwords on standard input.</summary>
public static class TenantCommands
{
    /// <summary>The exit code when the command is one of these; null: not a tenant command.</summary>
    public static async Task<int?> TryRunAsync(string[] command, string[] args, WebApplicationBuilder builder)
    {
        int ti = Array.IndexOf(args, "--tenant");
        bool isOperator = command is ["operator", "add", _];
        if (!isOperator && !(command is ["user", "add", _] && ti >= 0))
        {
            return null;
        }

        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        using var cli = builder.Build();
        await cli.Services.GetRequiredService<IMeetingStore>().InitializeAsync();
        var reg = cli.Services.GetRequiredService<TenantRegistry>();
        await reg.InitializeAsync();
        string password = (await Console.In.ReadLineAsync()) ?? "";
        try
        {
            if (isOperator)
            {
                await cli.Services.GetRequiredService<OperatorService>().AddOperatorAsync(command[2], password, CancellationToken.None);
                Console.WriteLine($"added operator {command[2]}");
                return 0;
            }

            string slug = ti + 1 < args.Length ? args[ti + 1] : "";
            var t = reg.Find(slug);
            if (t is null)
            {
                await Console.Error.WriteLineAsync($"no tenant {slug}");
                return 2;
            }

            bool admin = args.Contains("--admin");
            await t.Meetings.AddLocalUserAsync(command[2], password, admin, CancellationToken.None);
            Console.WriteLine($"added person:{command[2]} to tenant {slug}{(admin ? " (administrator)" : "")}");
            return 0;
        }
        catch (RefusedException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
    }
}
