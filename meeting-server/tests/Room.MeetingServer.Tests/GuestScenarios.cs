using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Mls;
using Room.MeetingClient;
using Room.MeetingServer.Identity;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Guests with the server as a real process (SQLite, and again PostgreSQL) and real MLS members: a host invites a guest
/// by name over the API, the guest opens the link (once), waits in the lobby, is admitted, joins the group with a
/// guest CA certificate and is on the roster as a guest invited by the host; the invitation cannot be used again or
/// forged; revoking it removes the guest, who opens nothing sent after the next commit.
/// </summary>
public abstract class GuestScenarios(ServerFixture f)
{
    private static async Task<MeetingServerException> Refused(Func<Task> call) => await Assert.ThrowsAsync<MeetingServerException>(call);

    [Fact]
    public async Task A_guest_admitted_from_the_lobby_joins_as_guest_and_once_revoked_opens_nothing_after_the_next_commit()
    {
        var (hCreds, h) = await f.PersonAsync(ServerFixture.NewName("host"));
        var (mCreds, m) = await f.PersonAsync(ServerFixture.NewName("memb"));
        using var _1 = hCreds; using var _2 = h; using var _3 = mCreds; using var _4 = m;
        var meeting = await h.CreateMeetingAsync("with a guest", [mCreds.Identity]);
        using var mh = new MeetingMember(h, hCreds, meeting.Id, meeting.CipherSuite);
        using var mm = new MeetingMember(m, mCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await mh.JoinExternalAsync(createIfMissing: true));
        Assert.False(await mm.JoinExternalAsync(createIfMissing: false));
        await mh.SyncAsync();

        // Only a host invites; the link carries the one-time token in its fragment and nothing else.
        Assert.Equal("forbidden", (await Refused(() => m.InviteGuestAsync(meeting.Id, "Nope"))).Error);
        Assert.Equal("malformed", (await Refused(() => h.InviteGuestAsync(meeting.Id, ""))).Error);
        var inv = await h.InviteGuestAsync(meeting.Id, "Erika Mustermann");
        Assert.Equal(("Erika Mustermann", hCreds.Identity, "open"), (inv.Name, inv.InvitedBy, inv.State));
        var link = new Uri(inv.Link!);
        Assert.Equal("/client/", link.AbsolutePath);
        Assert.Equal("", link.Query);
        Assert.StartsWith("#guest=", link.Fragment, StringComparison.Ordinal);
        string token = link.Fragment["#guest=".Length..];
        Assert.Equal(43, token.Length);

        // Forged tokens are refused and spend nothing.
        using var forger = new MeetingServerClient(f.Server.Url, f.Server.Ca);
        string forged = token[..^2] + (token[^2] == 'A' ? "BA" : "AA");
        Assert.Equal("invitation-invalid", (await Refused(() => forger.RedeemGuestInvitationAsync(forged))).Error);
        Assert.Equal(401, (await Refused(() => forger.RedeemGuestInvitationAsync("not a token"))).Status);

        // The guest opens the link: it waits in the lobby and learns nothing of the group yet.
        using var g = new MeetingServerClient(f.Server.Url, f.Server.Ca);
        var session = await g.RedeemGuestInvitationAsync(token);
        Assert.Equal(inv.Identity, session.Identity);
        Assert.Equal(("with a guest", "Erika Mustermann", hCreds.Identity), (session.Title, session.Name, session.InvitedBy));
        Assert.Equal("waiting", await g.KnockAsync(meeting.Id));
        Assert.Equal("not-invited", (await Refused(() => g.GroupInfoAsync(meeting.Id))).Error);
        using var gCreds = DeviceCredentials.CreateEphemeral();
        Assert.Equal("not-invited", (await Refused(() => g.RequestGuestCertificateAsync(gCreds))).Error);

        // The link works once: a second opening (a replay) is refused with a clear reason.
        using var replay = new MeetingServerClient(f.Server.Url, f.Server.Ca);
        var used = await Refused(() => replay.RedeemGuestInvitationAsync(token));
        Assert.Equal(("invitation-used", 410), (used.Error, used.Status));
        Assert.Equal("used", Assert.Single(await h.GuestInvitationsAsync(meeting.Id)).State);

        // A host admits the guest; the guest gets a guest CA certificate and joins the group by external commit.
        Assert.Equal("forbidden", (await Refused(() => m.AdmitAsync(meeting.Id, session.Identity))).Error);
        await h.AdmitAsync(meeting.Id, session.Identity);
        Assert.Equal("admitted", await g.KnockAsync(meeting.Id));
        await g.RequestGuestCertificateAsync(gCreds);
        Assert.Equal(session.Identity, gCreds.Identity);
        Assert.NotNull(gCreds.Intermediate);
        Assert.NotEqual(f.Server.Ca.SubjectName.Name, gCreds.Certificate!.IssuerName.Name);
        using var mg = new MeetingMember(g, gCreds, meeting.Id, meeting.CipherSuite);
        Assert.False(await mg.JoinExternalAsync(createIfMissing: false));
        await mh.SyncAsync();
        await mm.SyncAsync();
        Assert.Equal(mh.SecurityCode, mg.SecurityCode);
        Assert.Equal(mh.SecurityCode, mm.SecurityCode);
        Assert.Contains(session.Identity, mh.Roster);
        Assert.Contains(session.Identity, mm.Roster);

        // Every member reads from the guest's credential in the tree that it is a guest and who invited it.
        uint guestLeaf = mm.Group.Members.Single(l => CredentialIdentity.Of(mm.Group.Tree.Leaf(l)!.Credential) == session.Identity);
        var credential = mm.Group.Tree.Leaf(guestLeaf)!.Credential;
        Assert.Equal(2, credential.Certificates.Count);
        using (var leafCert = X509CertificateLoader.LoadCertificate(credential.Certificates[0]))
        {
            Assert.Equal(("Erika Mustermann", hCreds.Identity), GuestCa.GuestOf(leafCert));
        }

        var hello = mg.Group.EncryptApplication("hello from the guest"u8).ToBytes();
        Assert.Equal("hello from the guest"u8.ToArray(), mh.Group.Process(MlsMessage.Decode(hello)).ApplicationData);

        // The host revokes the invitation: the guest is removed, the server proposes its Remove, a member commits it.
        string withGuest = mh.SecurityCode;
        await h.RevokeGuestAsync(meeting.Id, inv.Id);
        Assert.Equal("revoked", Assert.Single(await h.GuestInvitationsAsync(meeting.Id)).State);
        Assert.True(await mm.CommitPendingAsync());
        await mh.SyncAsync();
        Assert.DoesNotContain(session.Identity, mh.Roster);
        Assert.Equal(mh.SecurityCode, mm.SecurityCode);
        Assert.NotEqual(withGuest, mh.SecurityCode);
        Assert.Equal("not-invited", (await Refused(() => mg.SyncAsync())).Error);
        Assert.Equal("not-invited", (await Refused(() => g.RequestGuestCertificateAsync(gCreds))).Error);
        Assert.Equal("invitation-revoked", (await Refused(() => replay.RedeemGuestInvitationAsync(token))).Error);

        // Even with the removal commit in hand, what the guest holds opens nothing sent after it.
        var commit = (await h.HandshakesAsync(meeting.Id, (long)mh.Epoch - 1)).Last();
        try
        {
            mg.Group.Process(MlsMessage.Decode(commit.Message));
        }
        catch (Room.Crypto.MlsException)
        {
            // A guest removed by the commit may fail to process it at all: either way it has no key of the new epoch.
        }

        var after = mh.Group.EncryptApplication("after the guest left"u8).ToBytes();
        Assert.Equal("after the guest left"u8.ToArray(), mm.Group.Process(MlsMessage.Decode(after)).ApplicationData);
        Assert.ThrowsAny<Room.Crypto.RoomCryptoException>(() => mg.Group.Process(MlsMessage.Decode(after)));
    }
}

public sealed class SqliteGuestTests(SqliteServerFixture f) : GuestScenarios(f), IClassFixture<SqliteServerFixture>;

public sealed class PostgresGuestTests(PostgresServerFixture f) : GuestScenarios(f), IClassFixture<PostgresServerFixture>;
