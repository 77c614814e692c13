using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;
using Room.MeetingServer.Storage;

namespace Room.MeetingServer.Api;

public sealed record LoginRequest(string Name, string Password);
public sealed record LoginResponse(string Identity, string Token);
public sealed record EnrolmentCodeRequest(string Device);
public sealed record EnrolmentCodeResponse(string Code);
public sealed record EnrolRequest(string Code, byte[] Csr);
public sealed record EnrolResponse(string Identity, byte[] Certificate, byte[] CaCertificate);
public sealed record CsrRequest(byte[] Csr);
public sealed record CertificateResponse(byte[] Certificate, byte[] CaCertificate);
public sealed record CreateMeetingRequest(string Title, List<string>? Invite);
public sealed record CreateMeetingResponse(string Id, byte[] GroupId, ushort CipherSuite);
public sealed record InviteRequest(string Identity, bool Host);
public sealed record ParticipantDto(string Identity, string Role, string State);
public sealed record LobbyResponse(string State);
public sealed record KeyPackagesRequest(List<byte[]> KeyPackages, byte[]? LastResort);
public sealed record KeyPackagesResponse(int Stored);
public sealed record ClaimRequest(string Identity);
public sealed record KeyPackageResponse(byte[] KeyPackage);
public sealed record GroupInfoMessage(byte[] GroupInfo);
public sealed record GroupInfoResponse(long Epoch, byte[] GroupInfo);
public sealed record CommitRequest(byte[] Commit, byte[] GroupInfo, byte[]? Welcome);
public sealed record CommitResponse(long Epoch);
public sealed record HandshakeDto(long Epoch, string Sender, byte[] Message);
public sealed record WelcomeDto(long Epoch, byte[] Welcome);
public sealed record ExternalSenderResponse(byte[] ExternalSender);
public sealed record LeaveResponse(int Proposed);
/// <summary>One of the caller's meetings: <c>started</c> once its host created the MLS group.</summary>
public sealed record MeetingSummaryDto(string Id, string Title, string CreatedBy, long CreatedAt, string Role, bool Started, bool Locked, bool Ended);
public sealed record GuestInviteRequest(string Name);
/// <summary>A guest invitation; <c>link</c> (with the one-time token in its fragment) only in the answer that made it.</summary>
public sealed record GuestInvitationDto(string Id, string Identity, string Name, string InvitedBy, long ExpiresAt, string State, string? Link);
public sealed record GuestRedeemRequest(string Token);
public sealed record GuestSessionResponse(string Identity, string Token, string MeetingId, string Title, string Name, string InvitedBy, long ExpiresAt);
public sealed record GuestCertificateResponse(byte[] Certificate, byte[] GuestCaCertificate, byte[] CaCertificate);
public sealed record ErrorResponse(string Error, string Message, long? CurrentEpoch);

/// <summary>The HTTP API (JSON; byte arrays are base64). Refusals are <see cref="ErrorResponse"/> with a stable error name.</summary>
public static class Endpoints
{
    private const string CallerKey = "room.caller";

    public static string ErrorName(Refusal r) => r switch
    {
        Refusal.Unauthenticated => "unauthenticated",
        Refusal.Forbidden => "forbidden",
        Refusal.NotFound => "not-found",
        Refusal.Malformed => "malformed",
        Refusal.CodeInvalid => "enrolment-code-invalid",
        Refusal.EpochConflict => "epoch-conflict",
        Refusal.Duplicate => "duplicate",
        Refusal.MeetingEnded => "meeting-ended",
        Refusal.MeetingLocked => "meeting-locked",
        Refusal.NotInvited => "not-invited",
        Refusal.NoKeyPackage => "no-key-package",
        Refusal.GroupExists => "group-exists",
        Refusal.GroupMissing => "group-missing",
        Refusal.ProposalsMissing => "proposals-missing",
        Refusal.InvitationInvalid => "invitation-invalid",
        Refusal.InvitationUsed => "invitation-used",
        Refusal.InvitationExpired => "invitation-expired",
        Refusal.InvitationRevoked => "invitation-revoked",
        Refusal.MeetingsInProgress => "meetings-in-progress",
        _ => "refused",
    };

    public static int Status(Refusal r) => r switch
    {
        Refusal.Unauthenticated or Refusal.CodeInvalid or Refusal.InvitationInvalid => StatusCodes.Status401Unauthorized,
        Refusal.InvitationUsed or Refusal.InvitationExpired or Refusal.InvitationRevoked => StatusCodes.Status410Gone,
        Refusal.Forbidden or Refusal.NotInvited or Refusal.MeetingLocked => StatusCodes.Status403Forbidden,
        Refusal.NotFound or Refusal.NoKeyPackage => StatusCodes.Status404NotFound,
        Refusal.EpochConflict or Refusal.Duplicate or Refusal.GroupExists or Refusal.GroupMissing or Refusal.ProposalsMissing or Refusal.MeetingsInProgress => StatusCodes.Status409Conflict,
        Refusal.MeetingEnded => StatusCodes.Status410Gone,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Refusals and unreadable bodies become one JSON error shape; the caller is found from its certificate or token.</summary>
    public static void UseMeetingServerApi(this WebApplication app)
    {
        app.Use(async (ctx, next) =>
        {
            try
            {
                var svc = ctx.RequestServices.GetRequiredService<MeetingService>();
                var tokens = ctx.RequestServices.GetRequiredService<TokenService>();
                if (ctx.Connection.ClientCertificate is { } cert)
                {
                    // A certificate that is presented must be good: a bad one is refused, not ignored.
                    ctx.Items[CallerKey] = await svc.AuthenticateDeviceAsync(cert, ctx.RequestAborted)
                        ?? throw new RefusedException(Refusal.Unauthenticated, "client certificate refused");
                    // Rooms keep their tenant's branding: every answer tells them which one is current.
                    ctx.Response.Headers[Tenants.TenantEndpoints.BrandingHeader] = ctx.RequestServices.GetRequiredService<Tenants.TenantRegistry>().Of(ctx).BrandingTag;
                }
                else if (ctx.Request.Headers.Authorization.ToString() is { Length: > 7 } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal))
                {
                    var t = tokens.Check(auth[7..]);
                    if (t is null)
                    {
                        app.Logger.LogWarning("token refused from {Remote}", ctx.Connection.RemoteIpAddress);
                        throw new RefusedException(Refusal.Unauthenticated, "token invalid or expired");
                    }

                    ctx.Items[CallerKey] = new Caller(t.Value.Identity, t.Value.Admin);
                }

                await next(ctx);
            }
            catch (RefusedException e)
            {
                await WriteError(ctx, e.Refusal, e.Message, e.CurrentEpoch);
            }
            catch (BadHttpRequestException e)
            {
                app.Logger.LogWarning("malformed request {Path}: {Message}", ctx.Request.Path, e.Message);
                await WriteError(ctx, Refusal.Malformed, "malformed request: " + e.Message, null);
            }
        });

        var api = app.MapGroup("/api");
        api.MapGet("/ca", (OrganisationCa ca) => Results.Text(ca.Certificate.ExportCertificatePem(), "application/x-pem-file"));
        api.MapPost("/login", async (LoginRequest r, MeetingService s, CancellationToken ct) =>
        {
            var (identity, token) = await s.LoginAsync(r.Name ?? "", r.Password ?? "", ct);
            return new LoginResponse(identity, token);
        });
        api.MapPost("/enrol", async (EnrolRequest r, MeetingService s, CancellationToken ct) =>
        {
            var e = await s.EnrolAsync(r.Code ?? "", r.Csr ?? [], ct);
            return new EnrolResponse(e.Identity, e.Certificate, e.CaCertificate);
        });
        api.MapPost("/person/certificate", (HttpContext ctx, CsrRequest r, MeetingService s, OrganisationCa ca) =>
            new CertificateResponse(s.IssuePersonCertificate(Caller(ctx), r.Csr ?? []), ca.Certificate.RawData));
        api.MapPost("/admin/enrolment-codes", async (HttpContext ctx, EnrolmentCodeRequest r, MeetingService s, CancellationToken ct) =>
            new EnrolmentCodeResponse(await s.CreateEnrolmentCodeAsync(Caller(ctx), r.Device ?? "", ct)));
        api.MapPost("/admin/devices/{name}/revoke", async (HttpContext ctx, string name, MeetingService s, CancellationToken ct) =>
        {
            await s.RevokeDeviceAsync(Caller(ctx), name, ct);
            return Results.NoContent();
        });
        api.MapGet("/mls/external-sender", (HttpContext ctx, MlsExternalSender sender) =>
        {
            _ = Caller(ctx);
            return new ExternalSenderResponse(sender.Encoded);
        });
        api.MapPost("/key-packages", async (HttpContext ctx, KeyPackagesRequest r, MeetingService s, CancellationToken ct) =>
            new KeyPackagesResponse(await s.UploadKeyPackagesAsync(Caller(ctx), r.KeyPackages ?? [], r.LastResort, ct)));

        var m = api.MapGroup("/meetings");
        m.MapPost("/", async (HttpContext ctx, CreateMeetingRequest r, MeetingService s, Microsoft.Extensions.Options.IOptions<MeetingServerOptions> o, CancellationToken ct) =>
        {
            string id = await s.CreateMeetingAsync(Caller(ctx), r.Title ?? "", r.Invite ?? [], ct);
            return new CreateMeetingResponse(id, MeetingService.GroupIdOf(id), o.Value.CipherSuite);
        });
        m.MapGet("/", async (HttpContext ctx, MeetingService s, CancellationToken ct) =>
            (await s.MyMeetingsAsync(Caller(ctx), ct)).Select(x => new MeetingSummaryDto(x.Meeting.Id, x.Meeting.Title, x.Meeting.CreatedBy, x.Meeting.CreatedAt,
                x.Me.Role.ToString().ToLowerInvariant(), x.Meeting.Epoch is not null, x.Meeting.Locked, x.Meeting.Ended)));
        m.MapGet("/{id}/participants", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
            (await s.ParticipantsAsync(Caller(ctx), id, ct)).Select(p => new ParticipantDto(p.Identity, p.Role.ToString().ToLowerInvariant(), p.State.ToString().ToLowerInvariant())));
        m.MapPost("/{id}/invitations", async (HttpContext ctx, string id, InviteRequest r, MeetingService s, CancellationToken ct) =>
        {
            await s.InviteAsync(Caller(ctx), id, r.Identity ?? "", r.Host ? ParticipantRole.Host : ParticipantRole.Participant, ct);
            return Results.NoContent();
        });
        m.MapPost("/{id}/lobby", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
            new LobbyResponse((await s.KnockAsync(Caller(ctx), id, ct)).ToString().ToLowerInvariant()));
        m.MapPost("/{id}/lobby/{identity}/admit", async (HttpContext ctx, string id, string identity, MeetingService s, CancellationToken ct) =>
        {
            await s.AdmitAsync(Caller(ctx), id, identity, ct);
            return Results.NoContent();
        });
        m.MapPost("/{id}/participants/{identity}/remove", async (HttpContext ctx, string id, string identity, MeetingService s, CancellationToken ct) =>
        {
            await s.RemoveAsync(Caller(ctx), id, identity, ct);
            return Results.NoContent();
        });
        m.MapPost("/{id}/leave", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
            new LeaveResponse(await s.LeaveAsync(Caller(ctx), id, ct)));
        m.MapPost("/{id}/lock", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
        {
            await s.SetLockedAsync(Caller(ctx), id, true, ct);
            return Results.NoContent();
        });
        m.MapPost("/{id}/unlock", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
        {
            await s.SetLockedAsync(Caller(ctx), id, false, ct);
            return Results.NoContent();
        });
        m.MapPost("/{id}/end", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
        {
            await s.EndAsync(Caller(ctx), id, ct);
            return Results.NoContent();
        });
        m.MapPost("/{id}/key-packages/claim", async (HttpContext ctx, string id, ClaimRequest r, MeetingService s, CancellationToken ct) =>
            new KeyPackageResponse(await s.ClaimKeyPackageAsync(Caller(ctx), id, r.Identity ?? "", ct)));
        m.MapPut("/{id}/group", async (HttpContext ctx, string id, GroupInfoMessage r, MeetingService s, CancellationToken ct) =>
        {
            await s.InitGroupAsync(Caller(ctx), id, r.GroupInfo ?? [], ct);
            return Results.NoContent();
        });
        m.MapGet("/{id}/group-info", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
        {
            var (epoch, gi) = await s.GroupInfoAsync(Caller(ctx), id, ct);
            return new GroupInfoResponse(epoch, gi);
        });
        m.MapPost("/{id}/commits", async (HttpContext ctx, string id, CommitRequest r, MeetingService s, CancellationToken ct) =>
            new CommitResponse(await s.SubmitCommitAsync(Caller(ctx), id, r.Commit ?? [], r.GroupInfo ?? [], r.Welcome, ct)));
        m.MapGet("/{id}/handshakes", async (HttpContext ctx, string id, long? from, MeetingService s, CancellationToken ct) =>
            (await s.HandshakesAsync(Caller(ctx), id, from ?? 0, ct)).Select(h => new HandshakeDto(h.Epoch, h.Sender, h.Message)));
        m.MapGet("/{id}/janus", async (HttpContext ctx, string id, MeetingService s, Janus.JanusOrchestrator janus, CancellationToken ct) =>
        {
            var caller = Caller(ctx);
            await s.RequireMemberAsync(caller, id, ct);
            var access = await janus.AccessAsync(id, caller.Identity, ct);
            // A tenant's rooms trust only their tenant's CA, which did not issue Janus's certificate: they reach Janus's
            // signalling through this server's relay under the tenant's path and host name (whose certificate is the
            // tenant's). Media still goes to Janus directly.
            return ctx.Items.ContainsKey(Tenants.TenantRegistry.ItemKey)
                ? access with { Url = new Uri($"wss://{ctx.Request.Host}{ctx.Request.PathBase}{Janus.JanusProxy.Path}") }
                : access;
        });
        m.MapPost("/{id}/guests", async (HttpContext ctx, string id, GuestInviteRequest r, GuestService g, CancellationToken ct) =>
        {
            var i = await g.InviteAsync(Caller(ctx), id, r.Name, ct);
            // The token goes in the fragment: browsers do not send it to the server with the page request, so no access log keeps it.
            string link = $"{ctx.Request.Scheme}://{ctx.Request.Host}{ctx.Request.PathBase}/client/#guest={i.Token}";
            return Dto(i, link);
        });
        m.MapGet("/{id}/guests", async (HttpContext ctx, string id, GuestService g, CancellationToken ct) =>
            (await g.ListAsync(Caller(ctx), id, ct)).Select(i => Dto(i, null)));
        m.MapPost("/{id}/guests/{invitation}/revoke", async (HttpContext ctx, string id, string invitation, GuestService g, CancellationToken ct) =>
        {
            await g.RevokeAsync(Caller(ctx), id, invitation, ct);
            return Results.NoContent();
        });
        api.MapPost("/guest/redeem", async (GuestRedeemRequest r, GuestService g, CancellationToken ct) =>
        {
            var s = await g.RedeemAsync(r.Token, ct);
            return new GuestSessionResponse(s.Identity, s.Token, s.MeetingId, s.Title, s.Name, s.InvitedBy, s.ExpiresAt);
        });
        api.MapPost("/guest/certificate", async (HttpContext ctx, CsrRequest r, GuestService g, CancellationToken ct) =>
        {
            var c = await g.IssueCertificateAsync(Caller(ctx), r.Csr ?? [], ct);
            return new GuestCertificateResponse(c.Certificate, c.GuestCaCertificate, c.CaCertificate);
        });
        m.MapGet("/{id}/welcomes", async (HttpContext ctx, string id, MeetingService s, CancellationToken ct) =>
            (await s.WelcomesAsync(Caller(ctx), id, ct)).Select(w => new WelcomeDto(w.Epoch, w.Message)));
    }

    private static GuestInvitationDto Dto(GuestInvitation i, string? link) =>
        new(i.Record.Id, i.Identity, i.Record.Name, i.Record.InvitedBy, i.Record.ExpiresAt, i.State, link);

    /// <summary>The request's caller (device or person), refused when there is none.</summary>
    internal static Caller CallerOf(HttpContext ctx) => Caller(ctx);

    private static Caller Caller(HttpContext ctx) =>
        ctx.Items.TryGetValue(CallerKey, out var c) && c is Caller caller ? caller : throw new RefusedException(Refusal.Unauthenticated, "sign in or present a device certificate");

    private static Task WriteError(HttpContext ctx, Refusal r, string message, long? epoch)
    {
        ctx.Response.StatusCode = Status(r);
        return ctx.Response.WriteAsJsonAsync(new ErrorResponse(ErrorName(r), message, epoch));
    }
}
