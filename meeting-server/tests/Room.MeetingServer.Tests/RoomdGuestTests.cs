using Room.Bus;
using Room.Bus.Client;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Guests and a roomd room in one meeting (issue 14): a real server with Janus, a real roomd on a private bus, a guest
/// who redeems its link, waits in the lobby, is admitted and joins the MLS group with a guest CA certificate. The
/// room's roster on D-Bus shows the guest by the name and host its certificate carries. A room made host during the
/// meeting gets the lobby then; a tenant's changed branding reaches the room in the meeting.
/// </summary>
[Collection("roomd-call")]
public sealed partial class RoomdGuestTests(JanusServerFixture fx) : IClassFixture<JanusServerFixture>
{
    /// <summary>A guest opens its invitation link, waits in the lobby; returns its session and a client for it.</summary>
    private async Task<(GuestSessionInfo Session, MeetingServerClient Client)> GuestKnocksAsync(MeetingServerClient host, string meetingId, string name)
    {
        var inv = await host.InviteGuestAsync(meetingId, name);
        var g = new MeetingServerClient(fx.Server.Url, fx.Server.Ca);
        var session = await g.RedeemGuestInvitationAsync(new Uri(inv.Link!).Fragment["#guest=".Length..]);
        Assert.Equal("waiting", await g.KnockAsync(meetingId));
        return (session, g);
    }

    /// <summary>Once admitted: the guest's certificate from the guest CA and its external join.</summary>
    private static async Task<MeetingMember> GuestJoinsAsync(MeetingServerClient g, DeviceCredentials creds, CreatedMeeting meeting, CancellationToken ct)
    {
        Assert.Equal("admitted", await g.KnockAsync(meeting.Id, ct));
        await g.RequestGuestCertificateAsync(creds, ct);
        var member = new MeetingMember(g, creds, meeting.Id, meeting.CipherSuite);
        Assert.False(await member.JoinExternalAsync(createIfMissing: false, ct));
        return member;
    }

    [Fact]
    public async Task A_guest_admitted_into_a_meeting_shows_on_the_rooms_roster_by_its_name_and_inviting_host()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        string hostName = ServerFixture.NewName("host");
        var (hCreds, h) = await fx.PersonAsync(hostName);
        var (rCreds, r, rDir) = await fx.EnrolDeviceAsync(ServerFixture.NewName("room"));
        using var d1 = hCreds; using var d2 = h; using var d3 = rCreds; using var d4 = r;
        var meeting = await h.CreateMeetingAsync("Bürgersprechstunde", [rCreds.Identity]);
        using var hm = new MeetingMember(h, hCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await hm.JoinExternalAsync(createIfMissing: true, ct));

        await using var box = await RoomdBox.StartAsync("Ratssaal", rDir);
        await box.Client.JoinAsync($"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}");
        await box.InCallAsync(ct);

        var (session, g) = await GuestKnocksAsync(h, meeting.Id, "Erika Mustermann");
        using var disposeG = g;
        await h.AdmitAsync(meeting.Id, session.Identity, ct);
        using var gCreds = DeviceCredentials.CreateEphemeral();
        using var gm = await GuestJoinsAsync(g, gCreds, meeting, ct);

        // The room follows the guest's external join: the guest by its certificate's name, as a guest, and its host.
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).Participants.Any(p => p.Id == session.Identity), () => box.Roomd.Log, ct);
        var m = await box.MeetingAsync();
        var guest = m.Participants.Single(p => p.Id == session.Identity);
        Assert.Equal(("Erika Mustermann", "guest", hostName), (guest.Name, guest.Kind, guest.InvitedBy));
        var host = m.Participants.Single(p => p.Id == hCreds.Identity);
        Assert.Equal((hostName, "person", ""), (host.Name, host.Kind, host.InvitedBy));
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).SecurityCode == gm.SecurityCode, () => box.Roomd.Log, ct);

        // roomctl says the same.
        var (exit, status) = await ChildProcess.RunAsync("dotnet", [Roomctl, "--bus", box.BusAddress, "status"]);
        Assert.True(exit == 0, status);
        Assert.Contains($"Erika Mustermann (guest, invited by {hostName})", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_room_shows_its_lobby_on_D_Bus_and_admits_a_guest_and_denies_a_person_from_there()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        string roomName = ServerFixture.NewName("host-room"), strangerName = ServerFixture.NewName("knock");
        var (rCreds, r, rDir) = await fx.EnrolDeviceAsync(roomName);
        var (sCreds, s) = await fx.PersonAsync(strangerName);
        using var d1 = rCreds; using var d2 = r; using var d3 = sCreds; using var d4 = s;
        // The room is the meeting's host (as when it is booked for the room).
        var meeting = await r.CreateMeetingAsync("Ratssitzung", []);

        await using var box = await RoomdBox.StartAsync("Ratssaal", rDir);
        // Outside a meeting there is no lobby: a clear refusal.
        var idle = await Assert.ThrowsAsync<RoomBusException>(() => box.Client.AdmitAsync("guest:nobody"));
        Assert.Equal(BusErrors.WrongState, idle.ErrorName);

        await box.Client.JoinAsync($"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}");
        await box.InCallAsync(ct);
        Assert.Empty((await box.MeetingAsync()).Lobby);

        // A guest invited by the room opens its link, and someone uninvited knocks: both wait, shown on D-Bus.
        var (session, g) = await GuestKnocksAsync(r, meeting.Id, "Erika Mustermann");
        using var disposeG = g;
        Assert.Equal("waiting", await s.KnockAsync(meeting.Id, ct));
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).Lobby.Count == 2, () => box.Roomd.Log, ct);
        var lobby = (await box.MeetingAsync()).Lobby;
        Assert.Contains(new LobbyEntry(session.Identity, "Erika Mustermann", "guest", roomName), lobby);
        Assert.Contains(new LobbyEntry(sCreds.Identity, strangerName, "person", ""), lobby);
        var (exit, printed) = await ChildProcess.RunAsync("dotnet", [Roomctl, "--bus", box.BusAddress, "lobby"]);
        Assert.True(exit == 0, printed);
        Assert.Contains($"Erika Mustermann (guest, invited by {roomName})  [{session.Identity}]", printed, StringComparison.Ordinal);

        // Someone who does not wait cannot be admitted: a clear refusal, nothing changes.
        var notWaiting = await Assert.ThrowsAsync<RoomBusException>(() => box.Client.AdmitAsync("person:nobody"));
        Assert.Equal(BusErrors.InvalidArgument, notWaiting.ErrorName);
        Assert.Equal(2, (await box.MeetingAsync()).Lobby.Count);

        // Admit the guest from the room (roomctl, as the panel does over D-Bus): the server lets it in, it joins the
        // group with its guest certificate and the room shows it as a guest of the room.
        (exit, printed) = await ChildProcess.RunAsync("dotnet", [Roomctl, "--bus", box.BusAddress, "admit", session.Identity]);
        Assert.True(exit == 0, printed);
        using var gCreds = DeviceCredentials.CreateEphemeral();
        using var gm = await GuestJoinsAsync(g, gCreds, meeting, ct);
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).Participants.Any(p => p.Id == session.Identity), () => box.Roomd.Log, ct);
        var guest = (await box.MeetingAsync()).Participants.Single(p => p.Id == session.Identity);
        Assert.Equal(("Erika Mustermann", "guest", roomName), (guest.Name, guest.Kind, guest.InvitedBy));
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).SecurityCode == gm.SecurityCode, () => box.Roomd.Log, ct);

        // Deny the person over D-Bus: out of the lobby, and the server keeps them out.
        await box.Client.DenyAsync(sCreds.Identity);
        Assert.Equal("removed", await s.KnockAsync(meeting.Id, ct));
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).Lobby.Count == 0, () => box.Roomd.Log, ct);
    }

    [Fact]
    public async Task A_room_made_host_during_the_meeting_sees_the_lobby_and_admits_from_it_without_rejoining()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        string strangerName = ServerFixture.NewName("knock");
        var (hCreds, h) = await fx.PersonAsync(ServerFixture.NewName("host"));
        var (rCreds, r, rDir) = await fx.EnrolDeviceAsync(ServerFixture.NewName("promoted"));
        var (sCreds, s) = await fx.PersonAsync(strangerName);
        using var d1 = hCreds; using var d2 = h; using var d3 = rCreds; using var d4 = r; using var d5 = sCreds; using var d6 = s;
        var meeting = await h.CreateMeetingAsync("Ausschuss", [rCreds.Identity]);
        using var hm = new MeetingMember(h, hCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await hm.JoinExternalAsync(createIfMissing: true, ct));
        await using var box = await RoomdBox.StartAsync("Ratssaal", rDir);
        await box.Client.JoinAsync($"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}");
        await box.InCallAsync(ct);

        // Someone knocks; the room, a mere participant, sees no lobby and admits nobody.
        Assert.Equal("waiting", await s.KnockAsync(meeting.Id, ct));
        var refused = await Assert.ThrowsAsync<RoomBusException>(() => box.Client.AdmitAsync(sCreds.Identity));
        Assert.Equal(BusErrors.WrongState, refused.ErrorName);
        Assert.Empty((await box.MeetingAsync()).Lobby);
        string code = (await box.MeetingAsync()).SecurityCode;

        // The host makes the room a host: the lobby shows on its D-Bus in the same call, and it admits from there.
        await h.InviteAsync(meeting.Id, rCreds.Identity, host: true, ct);
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).Lobby.Count == 1, () => box.Roomd.Log, ct);
        Assert.Equal(new LobbyEntry(sCreds.Identity, strangerName, "person", ""), Assert.Single((await box.MeetingAsync()).Lobby));
        await box.Client.AdmitAsync(sCreds.Identity);
        Assert.Equal("admitted", await s.KnockAsync(meeting.Id, ct));
        await Wait.UntilAsync(async () => (await box.MeetingAsync()).Lobby.Count == 0, () => box.Roomd.Log, ct);
        var m = await box.MeetingAsync();
        // Not joined again: the same call, and the same MLS epoch (a new join would have committed and changed the code).
        Assert.Equal((MeetingStates.InCall, code), (m.State, m.SecurityCode));
        await hm.SyncAsync(ct);
        Assert.Equal(hm.SecurityCode, m.SecurityCode);
    }

    [Fact]
    public async Task A_rooms_panel_gets_its_tenants_changed_branding_during_a_meeting_without_enrolling_again()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var ct = timeout.Token;
        var (rCreds, r, rDir) = await fx.EnrolDeviceAsync(ServerFixture.NewName("brand-room"));
        using var d1 = rCreds; using var d2 = r;
        // Kept at enrolment, as roomctl enroll keeps it (the server's default tenant: not branded yet).
        var (enrolled, noLogo) = await TenantBranding.FetchAsync(r, ct);
        enrolled.Save(rDir, noLogo);
        var meeting = await r.CreateMeetingAsync("Ratssitzung", []);
        await using var box = await RoomdBox.StartAsync("Ratssaal", rDir);
        await box.Client.JoinAsync($"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}");
        await box.InCallAsync(ct);
        Assert.Equal("", (await box.Client.GetStatusAsync()).System.Branding?.Name);

        // The administrator brands the tenant while the room is in the meeting: the room's next answers name the new
        // branding, roomd keeps it beside its key, and D-Bus (the panel) shows it; no enrolment, no restart.
        await fx.Admin.SendAsync<System.Text.Json.JsonElement>(HttpMethod.Put, "api/admin/branding", new { displayName = "Stadt Roomdorf", primaryColor = "#1b5e20", accentColor = "#2e7d32" }, ct);
        await Wait.UntilAsync(async () => (await box.Client.GetStatusAsync()).System.Branding?.Name == "Stadt Roomdorf", () => box.Roomd.Log, ct);
        Assert.Equal(new TenantBrandingStatus("Stadt Roomdorf", "#1b5e20", "#2e7d32", ""), (await box.Client.GetStatusAsync()).System.Branding);
        byte[] logo = TestPng.Make(24, 24, (27, 94, 32), (255, 255, 255));
        using (var content = new ByteArrayContent(logo))
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
            await fx.Admin.SendAsync<System.Text.Json.JsonElement>(HttpMethod.Put, "api/admin/branding/logo", content, ct);
        }

        await Wait.UntilAsync(async () => (await box.Client.GetStatusAsync()).System.BrandingLogo.SequenceEqual(logo), () => box.Roomd.Log, ct);
        Assert.Equal("image/png", (await box.Client.GetStatusAsync()).System.Branding?.LogoType);
        Assert.Equal(enrolled.Tenant, TenantBranding.Load(rDir)?.Tenant);
        Assert.Equal(MeetingStates.InCall, (await box.MeetingAsync()).State); // the call went on throughout
    }

    private static string Roomctl => Path.Combine(Repo.Root, "appliance", "Room.Cli", "bin", Repo.Configuration, "net10.0", "roomctl.dll");
}
