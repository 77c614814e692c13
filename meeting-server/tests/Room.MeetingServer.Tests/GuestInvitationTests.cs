using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Room.Crypto.Certificates;
using Room.Crypto.Mls;
using Room.MeetingClient;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Meetings;
using Room.MeetingServer.Storage;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Guest invitations in the server's own services (SQLite in a temp folder) with a fake clock: issue, use once,
/// expiry, revocation, forged tokens; and the guest CA's certificates.
/// </summary>
public sealed class GuestInvitationUnitTests : IDisposable
{
    private readonly string _dir = Repo.TempDir("room-ms-guests");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceProvider _sp;
    private readonly GuestService _guests;
    private readonly MeetingService _meetings;
    private readonly Caller _host = new("person:host", false);

    public GuestInvitationUnitTests()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MeetingServer:DataDirectory"] = _dir,
            ["MeetingServer:GuestInvitationLifetimeSeconds"] = "3600",
            ["MeetingServer:Argon2MemoryKiB"] = "8192",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddMeetingServer(config);
        services.AddSingleton<TimeProvider>(_time);
        _sp = services.BuildServiceProvider();
        _sp.GetRequiredService<IMeetingStore>().InitializeAsync().GetAwaiter().GetResult();
        _guests = _sp.GetRequiredService<GuestService>();
        _meetings = _sp.GetRequiredService<MeetingService>();
    }

    public void Dispose()
    {
        _sp.Dispose();
        Directory.Delete(_dir, true);
    }

    private static async Task<RefusedException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RefusedException>(call);

    [Fact]
    public async Task An_invitation_works_once_before_it_expires_and_not_after_revocation()
    {
        string meeting = await _meetings.CreateMeetingAsync(_host, "with guests", [], default);
        var inv = await _guests.InviteAsync(_host, meeting, "  Erika Mustermann ", default);
        Assert.Equal("Erika Mustermann", inv.Record.Name);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds() + 3600, inv.Record.ExpiresAt);
        // Only the token's hash is stored.
        Assert.NotEqual(inv.Token, inv.Record.TokenHash);
        Assert.DoesNotContain(inv.Token!, File.ReadAllText(Path.Combine(_dir, "meetings.db"), System.Text.Encoding.Latin1), StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(59));
        var session = await _guests.RedeemAsync(inv.Token, default);
        Assert.Equal("guest:" + inv.Record.Id, session.Identity);
        Assert.Equal(meeting, session.MeetingId);
        Assert.Equal(("Erika Mustermann", "person:host"), (session.Name, session.InvitedBy));
        Assert.Equal(("guest:" + inv.Record.Id, false), _sp.GetRequiredService<TokenService>().Check(session.Token));
        var lobby = await _meetings.ParticipantsAsync(_host, meeting, default);
        Assert.Contains(lobby, p => p.Identity == session.Identity && p.State == ParticipantState.Waiting);

        // Used: refused again, also after it would have expired; nothing changes.
        Assert.Equal(Refusal.InvitationUsed, (await Refused(() => _guests.RedeemAsync(inv.Token, default))).Refusal);
        Assert.Equal("used", Assert.Single(await _guests.ListAsync(_host, meeting, default)).State);

        // Expired: one second past its lifetime it is refused, and it stays open for nobody.
        var late = await _guests.InviteAsync(_host, meeting, "Late", default);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(Refusal.InvitationExpired, (await Refused(() => _guests.RedeemAsync(late.Token, default))).Refusal);
        Assert.Equal("expired", (await _guests.ListAsync(_host, meeting, default)).Single(i => i.Record.Id == late.Record.Id).State);

        // Revoked before use: refused.
        var withdrawn = await _guests.InviteAsync(_host, meeting, "Withdrawn", default);
        await _guests.RevokeAsync(_host, meeting, withdrawn.Record.Id, default);
        Assert.Equal(Refusal.InvitationRevoked, (await Refused(() => _guests.RedeemAsync(withdrawn.Token, default))).Refusal);

        // Revoked after use: the guest who came in by it is removed from the meeting.
        await _guests.RevokeAsync(_host, meeting, inv.Record.Id, default);
        Assert.Contains(await _meetings.ParticipantsAsync(_host, meeting, default), p => p.Identity == session.Identity && p.State == ParticipantState.Removed);
        Assert.Equal(Refusal.NotInvited, (await Refused(() => _meetings.RequireMemberAsync(new Caller(session.Identity, false), meeting, default))).Refusal);
    }

    [Fact]
    public async Task Forged_malformed_and_unknown_tokens_are_refused_and_only_hosts_invite()
    {
        string meeting = await _meetings.CreateMeetingAsync(_host, "forgery", ["person:member"], default);
        var inv = await _guests.InviteAsync(_host, meeting, "Guest", default);
        string t = inv.Token!;
        string flipped = t[..^1] + (t[^1] == 'A' ? 'B' : 'A');
        foreach (string? bad in new[] { null, "", "x", flipped, t + "A", t[..^1], t.Replace(t[0], '+'), new string('A', 43), "../../etc/passwd", new string('a', 5000) })
        {
            Assert.Equal(Refusal.InvitationInvalid, (await Refused(() => _guests.RedeemAsync(bad, default))).Refusal);
        }

        // None of those spent the good one.
        Assert.Equal("open", Assert.Single(await _guests.ListAsync(_host, meeting, default)).State);
        Assert.Equal(Refusal.Forbidden, (await Refused(() => _guests.InviteAsync(new Caller("person:member", false), meeting, "X", default))).Refusal);
        Assert.Equal(Refusal.NotInvited, (await Refused(() => _guests.InviteAsync(new Caller("person:stranger", false), meeting, "X", default))).Refusal);
        foreach (string name in new[] { "", "   ", new string('n', 65), "a\nb", "tab\there" })
        {
            Assert.Equal(Refusal.Malformed, (await Refused(() => _guests.InviteAsync(_host, meeting, name, default))).Refusal);
        }

        // A guest's session is for its own meeting's lobby only; it creates no meetings and gets no person certificate.
        var s = await _guests.RedeemAsync(t, default);
        var guest = new Caller(s.Identity, false);
        string other = await _meetings.CreateMeetingAsync(_host, "other", [], default);
        Assert.Equal(Refusal.NotFound, (await Refused(() => _meetings.KnockAsync(guest, other, default))).Refusal);
        Assert.Equal(Refusal.Forbidden, (await Refused(() => _meetings.CreateMeetingAsync(guest, "mine", [], default))).Refusal);
        Assert.Equal(Refusal.NotInvited, (await Refused(() => _guests.InviteAsync(guest, meeting, "friend", default))).Refusal);
        Assert.Throws<RefusedException>(() => _meetings.IssuePersonCertificate(guest, []));
    }

    [Fact]
    public async Task A_server_whose_CA_was_made_before_guests_has_no_guest_CA_and_refuses_guest_invitations_saying_why()
    {
        // An organisation CA of path length 0 (as made before guests) may certify no subordinate CA.
        string dir = Repo.TempDir("room-ms-oldca");
        try
        {
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            {
                var req = new CertificateRequest("CN=Old Room CA, O=Old", key, HashAlgorithmName.SHA256);
                req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
                req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
                req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
                using var old = req.CreateSelfSigned(_time.GetUtcNow().AddDays(-1), _time.GetUtcNow().AddYears(5));
                File.WriteAllText(Path.Combine(dir, "ca.pem"), old.ExportCertificatePem());
                File.WriteAllText(Path.Combine(dir, "ca.key"), key.ExportPkcs8PrivateKeyPem());
            }

            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["MeetingServer:DataDirectory"] = dir }).Build();
            var services = new ServiceCollection().AddLogging().AddMeetingServer(config);
            services.AddSingleton<TimeProvider>(_time);
            using var sp = services.BuildServiceProvider();
            await sp.GetRequiredService<IMeetingStore>().InitializeAsync();
            Assert.False(sp.GetRequiredService<OrganisationCa>().AllowsSubordinateCa);
            Assert.Null(sp.GetRequiredService<GuestCa>().Certificate);
            Assert.False(File.Exists(Path.Combine(dir, "guest-ca.key")));
            string meeting = await sp.GetRequiredService<MeetingService>().CreateMeetingAsync(_host, "old", [], default);
            var e = await Refused(() => sp.GetRequiredService<GuestService>().InviteAsync(_host, meeting, "Guest", default));
            Assert.Equal(Refusal.Forbidden, e.Refusal);
            Assert.Contains("path length 0", e.Message, StringComparison.Ordinal);
            Assert.Empty(await sp.GetRequiredService<IMeetingStore>().ListGuestInvitationsAsync(meeting));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task The_guest_CA_issues_short_lived_guest_certificates_only_after_admission()
    {
        string meeting = await _meetings.CreateMeetingAsync(_host, "certs", [], default);
        var inv = await _guests.InviteAsync(_host, meeting, "Jörg Groß", default);
        var s = await _guests.RedeemAsync(inv.Token, default);
        var guest = new Caller(s.Identity, false);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();

        // Waiting in the lobby: no certificate yet.
        Assert.Equal(Refusal.NotInvited, (await Refused(() => _guests.IssueCertificateAsync(guest, csr, default))).Refusal);
        await _meetings.AdmitAsync(_host, meeting, s.Identity, default);
        Assert.Equal(Refusal.Malformed, (await Refused(() => _guests.IssueCertificateAsync(guest, [1, 2, 3], default))).Refusal);
        Assert.Equal(Refusal.Forbidden, (await Refused(() => _guests.IssueCertificateAsync(_host, csr, default))).Refusal);
        var c = await _guests.IssueCertificateAsync(guest, csr, default);

        var org = _sp.GetRequiredService<OrganisationCa>().Certificate;
        using var cert = X509CertificateLoader.LoadCertificate(c.Certificate);
        using var guestCa = X509CertificateLoader.LoadCertificate(c.GuestCaCertificate);
        Assert.Equal(org.RawData, c.CaCertificate);
        Assert.Equal(s.Identity, cert.GetNameInfo(X509NameType.SimpleName, false));
        Assert.Equal(("Jörg Groß", "person:host"), GuestCa.GuestOf(cert));
        Assert.Equal(guestCa.SubjectName.Name, cert.IssuerName.Name);
        Assert.NotEqual(org.SubjectName.Name, guestCa.SubjectName.Name);
        Assert.Equal(_time.GetUtcNow().AddHours(4).UtcDateTime, cert.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        Assert.True(guestCa.Extensions.OfType<X509BasicConstraintsExtension>().Single() is { CertificateAuthority: true, HasPathLengthConstraint: true, PathLengthConstraint: 0 });

        // The MLS credential [guest, guest CA] chains to the organisation CA; the server's member check takes it for
        // a guest only, and refuses a person's name from the guest CA and a guest's from the organisation CA.
        var p = key.ExportParameters(true);
        byte[] pub = [0x04, .. p.Q.X!, .. p.Q.Y!];
        var validator = new OrganisationCredentialValidator(org, _sp.GetRequiredService<GuestCa>().Certificate, () => _time.GetUtcNow().UtcDateTime, requireGuestCa: true);
        Assert.Equal(s.Identity, validator.Validate(Credential.X509([c.Certificate, c.GuestCaCertificate]), pub));
        Assert.Throws<Room.Crypto.MlsException>(() => validator.Validate(Credential.X509([c.Certificate]), pub));
        var ca = _sp.GetRequiredService<GuestCa>();
        using (var asPerson = ca.Issue(csr, "person:host", "Mallory", "person:host", TimeSpan.FromHours(1)))
        {
            Assert.Throws<Room.Crypto.MlsException>(() => validator.Validate(Credential.X509([asPerson.RawData, c.GuestCaCertificate]), pub));
        }

        using (var guestFromOrg = _sp.GetRequiredService<OrganisationCa>().Issue(csr, s.Identity, TimeSpan.FromHours(1)))
        {
            Assert.Throws<Room.Crypto.MlsException>(() => validator.Validate(Credential.X509([guestFromOrg.RawData]), pub));
        }

        // After its lifetime the certificate is refused.
        _time.Advance(TimeSpan.FromHours(4) + TimeSpan.FromMinutes(1));
        Assert.Throws<Room.Crypto.MlsException>(() => validator.Validate(Credential.X509([c.Certificate, c.GuestCaCertificate]), pub));
    }
}
