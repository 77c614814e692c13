using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Storage;

namespace Room.MeetingServer.Meetings;

/// <summary>A guest invitation as its host sees it; <see cref="Token"/> only right after it was made.</summary>
public sealed record GuestInvitation(GuestInvitationRecord Record, string State, string? Token)
{
    public string Identity => Identities.GuestPrefix + Record.Id;
}

/// <summary>What a guest gets for a good invitation: its identity, a session token, and which meeting it waits for.</summary>
public sealed record GuestSession(string Identity, string Token, string MeetingId, string Title, string Name, string InvitedBy, long ExpiresAt);

/// <summary>A guest's certificate (guest CA) with the guest CA's and the organisation CA's certificates.</summary>
public sealed record GuestCertificate(byte[] Certificate, byte[] GuestCaCertificate, byte[] CaCertificate);

/// <summary>
/// Guests: a host invites someone by name; the invitation is a random one-time token (its SHA-256 stored) that expires.
/// Redeeming it puts "guest:ID" in the meeting's lobby with a session token; once a host admits it, it gets a
/// short-lived certificate from the guest CA for a key it made, and joins the MLS group like anyone else. Revoking an
/// invitation refuses it from then on, and takes a guest who already came in out of the meeting.
/// </summary>
public sealed class GuestService(IMeetingStore store, MeetingService meetings, GuestCa guestCa, OrganisationCa ca, TokenService tokens,
    IOptions<MeetingServerOptions> options, TimeProvider time, ILogger<GuestService> log)
{
    public const int MaxNameLength = 64;

    private readonly MeetingServerOptions _o = options.Value;

    private long Now => time.GetUtcNow().ToUnixTimeSeconds();

    private RefusedException Refuse(Refusal r, string who, string message)
    {
        log.LogWarning("refused {Refusal} for {Caller}: {Message}", r, who, message);
        return new RefusedException(r, message);
    }

    private async Task RequireHostAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        var (_, me) = await meetings.RequireMemberAsync(caller, meetingId, ct).ConfigureAwait(false);
        if (me.Role != ParticipantRole.Host || Identities.IsGuest(caller.Identity))
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "only a host invites guests");
        }
    }

    /// <summary>A guest's name as a host typed it: trimmed, 1-64 characters, no control characters.</summary>
    public static string? CleanName(string? name)
    {
        string n = (name ?? "").Trim();
        return n.Length is 0 or > MaxNameLength || n.Any(char.IsControl) ? null : n;
    }

    public async Task<GuestInvitation> InviteAsync(Caller caller, string meetingId, string? name, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        string clean = CleanName(name) ?? throw Refuse(Refusal.Malformed, caller.Identity, $"a guest's name is 1-{MaxNameLength} characters, no control characters");
        if (guestCa.Certificate is null)
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "this organisation's CA was made before guests (path length 0): it cannot certify a guest CA");
        }

        string token = OrganisationCa.Base64Url(RandomNumberGenerator.GetBytes(32));
        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var rec = new GuestInvitationRecord(id, meetingId, clean, caller.Identity, HashToken(token), Now, Now + _o.GuestInvitationLifetimeSeconds, null, null);
        await store.AddGuestInvitationAsync(rec, ct).ConfigureAwait(false);
        log.LogInformation("{Caller} invited guest:{Id} to {Meeting} (expires {Expires})", caller.Identity, id, meetingId, rec.ExpiresAt);
        return new GuestInvitation(rec, "open", token);
    }

    public async Task<IReadOnlyList<GuestInvitation>> ListAsync(Caller caller, string meetingId, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        long now = Now;
        return [.. (await store.ListGuestInvitationsAsync(meetingId, ct).ConfigureAwait(false)).Select(r => new GuestInvitation(r, StateOf(r, now), null))];
    }

    private static string StateOf(GuestInvitationRecord r, long now) =>
        r.RevokedAt is not null ? "revoked" : r.UsedAt is not null ? "used" : r.ExpiresAt <= now ? "expired" : "open";

    /// <summary>Revokes the invitation; a guest who came in by it is removed from the meeting (its MLS leaf with the next commit).</summary>
    public async Task RevokeAsync(Caller caller, string meetingId, string invitationId, CancellationToken ct)
    {
        await RequireHostAsync(caller, meetingId, ct).ConfigureAwait(false);
        var rec = await store.GetGuestInvitationAsync(invitationId, ct).ConfigureAwait(false);
        if (rec is null || rec.MeetingId != meetingId)
        {
            throw Refuse(Refusal.NotFound, caller.Identity, $"no guest invitation {invitationId} in meeting {meetingId}");
        }

        await store.RevokeGuestInvitationAsync(invitationId, Now, ct).ConfigureAwait(false);
        log.LogInformation("{Caller} revoked guest invitation {Id} of {Meeting}", caller.Identity, invitationId, meetingId);
        string identity = Identities.GuestPrefix + invitationId;
        if (await store.GetParticipantAsync(meetingId, identity, ct).ConfigureAwait(false) is { State: not ParticipantState.Removed })
        {
            await meetings.RemoveAsync(caller, meetingId, identity, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The guest opens the link: a good token is spent and the guest waits in the lobby; any other is refused with why.</summary>
    public async Task<GuestSession> RedeemAsync(string? token, CancellationToken ct)
    {
        // A token is 32 random bytes, base64url: anything else was never issued.
        if (token is not { Length: 43 } || !token.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
        {
            throw Refuse(Refusal.InvitationInvalid, "guest", "this invitation link is not valid");
        }

        var (outcome, rec) = await store.RedeemGuestInvitationAsync(HashToken(token), Now, ct).ConfigureAwait(false);
        switch (outcome)
        {
            case RedeemOutcome.Unknown: throw Refuse(Refusal.InvitationInvalid, "guest", "this invitation link is not valid");
            case RedeemOutcome.Used: throw Refuse(Refusal.InvitationUsed, "guest:" + rec!.Id, "this invitation link was used already; ask the host for a new one");
            case RedeemOutcome.Expired: throw Refuse(Refusal.InvitationExpired, "guest:" + rec!.Id, "this invitation link has expired; ask the host for a new one");
            case RedeemOutcome.Revoked: throw Refuse(Refusal.InvitationRevoked, "guest:" + rec!.Id, "this invitation was withdrawn by the host");
        }

        var m = await store.GetMeetingAsync(rec!.MeetingId, ct).ConfigureAwait(false);
        string identity = Identities.GuestPrefix + rec.Id;
        var lifetime = TimeSpan.FromHours(_o.GuestCertificateHours);
        log.LogInformation("{Identity} ({Name}, invited by {Host}) waits in the lobby of {Meeting}", identity, rec.Name, rec.InvitedBy, rec.MeetingId);
        return new GuestSession(identity, tokens.Issue(identity, false, lifetime), rec.MeetingId, m?.Title ?? "", rec.Name, rec.InvitedBy, Now + (long)lifetime.TotalSeconds);
    }

    /// <summary>An admitted guest's MLS credential: a short-lived guest CA certificate for a key its client made.</summary>
    public async Task<GuestCertificate> IssueCertificateAsync(Caller caller, byte[] csr, CancellationToken ct)
    {
        if (!Identities.IsGuest(caller.Identity))
        {
            throw Refuse(Refusal.Forbidden, caller.Identity, "guest certificates are for guests");
        }

        var rec = await store.GetGuestInvitationAsync(caller.Identity[Identities.GuestPrefix.Length..], ct).ConfigureAwait(false);
        var p = rec is null ? null : await store.GetParticipantAsync(rec.MeetingId, caller.Identity, ct).ConfigureAwait(false);
        if (rec is null || rec.RevokedAt is not null || p is not { State: ParticipantState.Admitted })
        {
            throw Refuse(Refusal.NotInvited, caller.Identity, "a guest gets a certificate once a host admitted it");
        }

        using var cert = guestCa.Issue(csr, caller.Identity, rec.Name, rec.InvitedBy, TimeSpan.FromHours(_o.GuestCertificateHours));
        return new GuestCertificate(cert.RawData, guestCa.Certificate!.RawData, ca.Certificate.RawData);
    }

    private static string HashToken(string token) => Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
}
