using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Tenants (issue 14, operators) with the server as a real process, on SQLite and again on PostgreSQL: an operator
/// creates two tenants, each with its own CA, accounts, rooms and meetings under <c>/t/SLUG/</c>; nothing of one is
/// visible to or joinable by the other over the HTTP API (tokens, device certificates, meeting ids, guest links,
/// enrolment codes and MLS credentials of one are refused by the other); the default tenant is untouched; bad tenant
/// requests are refused and change nothing.
/// </summary>
public abstract class TenantScenarios(ServerFixture f)
{
    private static async Task<MeetingServerException> Refused(Func<Task> call) => await Assert.ThrowsAsync<MeetingServerException>(call);

    private static string Slug(string prefix) => ServerFixture.NewName(prefix);

    private static string ErrorOf(string body) => JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;

    [Fact]
    public async Task Tenant_A_and_its_users_see_and_join_nothing_of_tenant_B_by_the_HTTP_API()
    {
        using var op = await TenantOperator.AddAsync(f.Server);
        using var a = await op.CreateAsync(Slug("ta"), "Stadt Aheim", "#1b5e20", "#2e7d32");
        using var b = await op.CreateAsync(Slug("tb"), "Gemeinde Bedorf", "#7b1fa2", "#8e24aa", ["localhost"]);

        // The same names live in both tenants as different people.
        var (aliceCreds, alice) = await a.PersonAsync("alice");
        var (bobCreds, bob) = await a.PersonAsync("bob");
        var (bAliceCreds, bAlice) = await b.PersonAsync("alice");
        using var _1 = aliceCreds; using var _2 = alice; using var _3 = bobCreds; using var _4 = bob; using var _5 = bAliceCreds; using var _6 = bAlice;
        Assert.NotEqual(aliceCreds.OrganisationCa!.Thumbprint, bAliceCreds.OrganisationCa!.Thumbprint);
        Assert.NotEqual(f.Server.Ca.Thumbprint, aliceCreds.OrganisationCa.Thumbprint);

        // Tenant A's meeting, invited "person:alice" and "person:bob" (names that exist in B too), with its MLS group.
        var meeting = await alice.CreateMeetingAsync("A council", ["person:bob"]);
        using var ma = new MeetingMember(alice, aliceCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await ma.JoinExternalAsync(createIfMissing: true));
        using var mb = new MeetingMember(bob, bobCreds, meeting.Id, meeting.CipherSuite);
        Assert.False(await mb.JoinExternalAsync(createIfMissing: false));
        await ma.SyncAsync();
        Assert.Equal(["person:alice", "person:bob"], ma.Roster);
        var inv = await alice.InviteGuestAsync(meeting.Id, "Gast von A");
        Assert.Equal($"/t/{a.Slug}/client/", new Uri(inv.Link!).AbsolutePath);
        string guestToken = new Uri(inv.Link!).Fragment["#guest=".Length..];

        // A's meeting link opened in a browser stays in A's web client.
        using (var browser = TenantOperator.Http(f.Server, a.Url))
        using (var page = await browser.GetAsync(new Uri($"meetings/{meeting.Id}", UriKind.Relative)))
        {
            Assert.Equal($"/t/{a.Slug}/client/", page.RequestMessage!.RequestUri!.AbsolutePath);
        }

        // B's admin and B's "alice": A's meeting is not theirs to list, read, knock at or join.
        foreach (var c in new[] { b.Admin, bAlice })
        {
            Assert.DoesNotContain(await c.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null), m => m.GetProperty("id").GetString() == meeting.Id);
            Assert.Equal("not-invited", (await Refused(() => c.ParticipantsAsync(meeting.Id))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.GroupInfoAsync(meeting.Id))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.HandshakesAsync(meeting.Id, 0))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.WelcomesAsync(meeting.Id))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.GuestInvitationsAsync(meeting.Id))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.InviteAsync(meeting.Id, "person:alice"))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.AdmitAsync(meeting.Id, "person:alice"))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.RemoveAsync(meeting.Id, "person:bob"))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.EndAsync(meeting.Id))).Error);
            Assert.Equal("not-found", (await Refused(() => c.KnockAsync(meeting.Id))).Error);
            Assert.Equal("not-invited", (await Refused(() => c.ClaimKeyPackageAsync(meeting.Id, "person:bob"))).Error);
        }

        // Nothing changed in A: same participants, nobody waiting, not ended.
        var parts = await alice.ParticipantsAsync(meeting.Id);
        Assert.Equal(["person:alice:host:invited", "person:bob:participant:invited"], parts.Select(p => $"{p.Identity}:{p.Role}:{p.State}").Order(StringComparer.Ordinal));
        Assert.Contains(await alice.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null), m => m.GetProperty("id").GetString() == meeting.Id && !m.GetProperty("ended").GetBoolean());

        // A's guest link is A's: B does not know it (and it stays unspent for A).
        using (var g = new MeetingServerClient(b.Url, f.Server.Ca))
        {
            Assert.Equal("invitation-invalid", (await Refused(() => g.RedeemGuestInvitationAsync(guestToken))).Error);
        }

        Assert.Equal("open", Assert.Single(await alice.GuestInvitationsAsync(meeting.Id)).State);

        // Tokens are their tenant's: A's at B, at the default tenant, and the default's at A are refused as unknown.
        foreach (var (token, at) in new[] { (alice.Token!, b.Url.ToString()), (alice.Token!, "/"), (f.Admin.Token!, a.Url.ToString()), (b.Admin.Token!, a.Url.ToString()) })
        {
            var (status, body) = await op.SendAsync(HttpMethod.Get, "api/meetings", null, "Bearer " + token, at);
            Assert.True(status == HttpStatusCode.Unauthorized, $"{at}: {status} {body}");
            Assert.Equal("unauthenticated", ErrorOf(body));
        }

        // An operator's token opens no tenant, a tenant administrator's no operator API; the operator API is no tenant's.
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Get, "api/meetings", null, "Bearer " + op.Token, a.Url.ToString())).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, "Operator " + a.Admin.Token)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, "Bearer " + a.Admin.Token)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, "Operator " + op.Token, a.Url.ToString())).Status);
        var (ls, list) = await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, "Operator " + op.Token);
        Assert.Equal(HttpStatusCode.OK, ls);
        var slugs = JsonDocument.Parse(list).RootElement.EnumerateArray().Select(t => t.GetProperty("slug").GetString()).ToList();
        Assert.Contains(a.Slug, slugs);
        Assert.Contains(b.Slug, slugs);
        Assert.Equal("default", slugs[0]);
        Assert.DoesNotContain("meeting", list, StringComparison.OrdinalIgnoreCase);

        // A member credential chained to A's CA is refused in B (KeyPackage and external join), while B's own works.
        var bMeeting = await bAlice.CreateMeetingAsync("B council", ["person:bob"]);
        using var bHost = new MeetingMember(bAlice, bAliceCreds, bMeeting.Id, bMeeting.CipherSuite);
        Assert.True(await bHost.JoinExternalAsync(createIfMissing: true));
        var (bBobCreds, bBob) = await b.PersonAsync("bob");
        using var _7 = bBobCreds; using var _8 = bBob;
        using var crossCreds = DeviceCredentials.CreateEphemeral();
        using (var bobAtA = await a.SignInAsync("bob", "person-password-1"))
        {
            await bobAtA.RequestPersonCertificateAsync(crossCreds);
        }

        Assert.Equal("person:bob", crossCreds.Identity);
        // The same certificate (A's), but checking others against B's CA: only the server can refuse it.
        crossCreds.SetCertificate(crossCreds.Certificate!.RawData, bBobCreds.OrganisationCa!.RawData);
        using (var cross = new MeetingMember(bBob, crossCreds, bMeeting.Id, bMeeting.CipherSuite))
        {
            var kp = await Refused(() => cross.PublishKeyPackagesAsync(1));
            Assert.Equal("malformed", kp.Error);
            Assert.Contains("certificate chain", kp.Message, StringComparison.Ordinal);
            var join = await Refused(() => cross.JoinExternalAsync(createIfMissing: false));
            Assert.Equal("malformed", join.Error);
            Assert.Contains("certificate chain", join.Message, StringComparison.Ordinal);
        }

        using (var own = new MeetingMember(bBob, bBobCreds, bMeeting.Id, bMeeting.CipherSuite))
        {
            Assert.False(await own.JoinExternalAsync(createIfMissing: false));
            await bHost.SyncAsync();
            Assert.Equal(["person:alice", "person:bob"], bHost.Roster);
            Assert.Equal(bHost.SecurityCode, own.SecurityCode);
        }

        // And A knows nothing of B's meeting either.
        Assert.Equal("not-invited", (await Refused(() => alice.GroupInfoAsync(bMeeting.Id))).Error);
        Assert.DoesNotContain(await bob.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null), m => m.GetProperty("id").GetString() == bMeeting.Id);

        // Rooms: an enrolment code is its tenant's. A's code is unknown at B; B's code enrols a box in B under B's own
        // host name (its TLS certificate from B's CA, checked by the box against the code's pin), and that box is refused by A and the default tenant.
        string aCode = await a.Admin.CreateEnrolmentCodeAsync("boardroom");
        string bCode = await b.Admin.CreateEnrolmentCodeAsync("boardroom");
        var bByName = new Uri($"https://localhost:{f.Server.Url.Port}/t/{b.Slug}/");
        string keyDir = Repo.TempDir("room-ms-tenant-box");
        try
        {
            using var box = DeviceCredentials.LoadOrCreate(keyDir);
            var wrong = await Refused(() => MeetingServerClient.EnrolAsync(bByName, aCode, box));
            Assert.Equal("ca-pin-mismatch", wrong.Error); // A's code names A's CA: the box will not even send its request to B
            Assert.Equal("device:boardroom", await MeetingServerClient.EnrolAsync(bByName, bCode, box));
            Assert.Equal(bBobCreds.OrganisationCa!.RawData, box.OrganisationCa!.RawData);
            await bAlice.InviteAsync(bMeeting.Id, "device:boardroom");
            using (var room = new MeetingServerClient(bByName, box.OrganisationCa!, box.TlsCertificate()))
            {
                Assert.Contains(await room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null), m => m.GetProperty("id").GetString() == bMeeting.Id);
                var brand = await room.SendAsync<JsonElement>(HttpMethod.Get, "api/branding", null);
                Assert.Equal("Gemeinde Bedorf", brand.GetProperty("displayName").GetString());
            }

            foreach (var other in new[] { a.Url, f.Server.Url })
            {
                using var room = new MeetingServerClient(other, f.Server.Ca, box.TlsCertificate());
                Assert.Equal("unauthenticated", (await Refused(() => room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null))).Error);
            }

            // roomctl enroll (the real command) into B keeps B's branding and logo beside the key, for the panel.
            byte[] logo = TestPng.Make(24, 24, (123, 31, 162), (255, 255, 255));
            using (var content = new ByteArrayContent(logo))
            {
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
                await b.Admin.SendAsync<JsonElement>(HttpMethod.Put, "api/admin/branding/logo", content);
            }

            string roomDir = Path.Combine(keyDir, "roomctl");
            Directory.CreateDirectory(roomDir);
            string roomctl = Path.Combine(Repo.Root, "appliance", "Room.Cli", "bin", Repo.Configuration, "net10.0", "roomctl.dll");
            var (exit, log) = await ChildProcess.RunAsync("env", ["ROOM_MEETING_KEY_DIR=" + roomDir, "dotnet", roomctl, "enroll", bByName.ToString(), await b.Admin.CreateEnrolmentCodeAsync("lobby")]);
            Assert.True(exit == 0, log);
            Assert.Contains("enrolled as device:lobby", log, StringComparison.Ordinal);
            var stored = TenantBranding.Load(roomDir);
            Assert.Equal(new TenantBranding(b.Slug, "Gemeinde Bedorf", "#7b1fa2", "#8e24aa", "image/png"), stored! with { Tag = null });
            Assert.NotNull(stored.Tag);
            Assert.Equal(logo, File.ReadAllBytes(Path.Combine(roomDir, TenantBranding.LogoFile)));

            // A's code is still good at A, unspent by the try at B.
            using var raw = TenantOperator.Http(f.Server, a.Url);
            using var box2 = DeviceCredentials.CreateEphemeral();
            var resp = await raw.PostAsJsonAsync("api/enrol", new { code = aCode, csr = box2.CreateSigningRequest() });
            Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
        }
        finally
        {
            Directory.Delete(keyDir, true);
        }

        // The default tenant is as before: its admin's meetings are its own, and its CA is the one it always had.
        using var http = TenantOperator.Http(f.Server, f.Server.Url);
        using var defaultCa = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(await http.GetStringAsync("api/ca"));
        Assert.Equal(f.Server.Ca.RawData, defaultCa.RawData);
        Assert.Empty(await f.Admin.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null));
    }

    [Fact]
    public async Task Bad_tenant_requests_are_refused_clearly_and_change_nothing()
    {
        using var op = await TenantOperator.AddAsync(f.Server);
        using var a = await op.CreateAsync(Slug("bad"), "Stadt Cestadt", "#0d47a1", "#1565c0");
        string auth = "Operator " + op.Token;
        async Task<List<string>> Slugs() => JsonDocument.Parse((await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, auth)).Body).RootElement
            .EnumerateArray().Select(t => t.GetProperty("slug").GetString()!).ToList();
        var before = await Slugs();
        string Create(string slug, string name = "X", string primary = "#0d47a1", string accent = "#1565c0", object? admin = null, string[]? hosts = null) =>
            JsonSerializer.Serialize(new { slug, displayName = name, primaryColor = primary, accentColor = accent, hostNames = hosts ?? [], admin = admin ?? new { name = "admin", password = "long-enough-1" } });
        string fresh = Slug("nope");
        foreach (var (what, json, status, error) in new (string, string, HttpStatusCode, string)[]
        {
            ("not JSON", "{slug:", HttpStatusCode.BadRequest, "malformed"),
            ("empty", "", HttpStatusCode.BadRequest, "malformed"),
            ("oversized", Create(fresh, new string('x', 40_000)), HttpStatusCode.BadRequest, "malformed"),
            ("a slug with capitals", Create("Bad-Slug"), HttpStatusCode.BadRequest, "malformed"),
            ("a path in the slug", Create("a/../b"), HttpStatusCode.BadRequest, "malformed"),
            ("the default tenant's name", Create("default"), HttpStatusCode.BadRequest, "malformed"),
            ("a taken slug", Create(a.Slug), HttpStatusCode.Conflict, "duplicate"),
            ("no name", Create(fresh, "  "), HttpStatusCode.BadRequest, "malformed"),
            ("a control character", Create(fresh, "a\u0007b"), HttpStatusCode.BadRequest, "malformed"),
            ("a colour that is no colour", Create(fresh, primary: "red; } body { display:none"), HttpStatusCode.BadRequest, "malformed"),
            ("a colour too light for white text", Create(fresh, accent: "#ffff00"), HttpStatusCode.BadRequest, "malformed"),
            ("a bad host name", Create(fresh, hosts: ["evil host"]), HttpStatusCode.BadRequest, "malformed"),
            ("no administrator password", Create(fresh, admin: new { name = "admin", password = "" }), HttpStatusCode.BadRequest, "malformed"),
            ("a bad administrator name", Create(fresh, admin: new { name = "Admin!", password = "long-enough-1" }), HttpStatusCode.BadRequest, "malformed"),
        })
        {
            var (got, body) = await op.SendAsync(HttpMethod.Post, "api/operator/tenants", json, auth);
            Assert.True(got == status, $"{what}: {got} {body}");
            Assert.True(ErrorOf(body) == error, $"{what}: {body}");
        }

        // Without an operator's sign-in: refused, whatever the body.
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Post, "api/operator/tenants", Create(fresh), null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Post, "api/operator/tenants", Create(fresh), "Operator forged.token")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Post, "api/operator/login", JsonSerializer.Serialize(new { name = "op", password = "wrong-password" }), null)).Status);
        Assert.Equal(before, await Slugs());
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/branding", null, null, $"/t/{fresh}/")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/branding", null, null, "/t/default/")).Status);

        // Branding: only a tenant administrator, only good values, only images; nothing changes on a refusal.
        var (user, userClient) = await a.PersonAsync("user");
        using var _1 = user; using var _2 = userClient;
        string brandingBefore = (await op.SendAsync(HttpMethod.Get, "api/branding", null, null, a.Url.ToString())).Body;
        Assert.Equal("forbidden", (await Refused(() => userClient.SendAsync(HttpMethod.Put, "api/admin/branding", new { displayName = "Mine", primaryColor = "#000000", accentColor = "#000000" }))).Error);
        Assert.Equal("malformed", (await Refused(() => a.Admin.SendAsync(HttpMethod.Put, "api/admin/branding", new { displayName = "Ok", primaryColor = "#fafafa", accentColor = "#000000" }))).Error);
        byte[] png = TestPng.Make(32, 32, (0, 80, 0), (255, 255, 255));
        foreach (var (what, bytes, type) in new (string, byte[], string)[]
        {
            ("text", "hello"u8.ToArray(), "image/png"),
            ("SVG", "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"u8.ToArray(), "image/svg+xml"),
            ("a PNG sent as JPEG", png, "image/jpeg"),
            ("a truncated PNG", png[..20], "image/png"),
            ("a PNG that claims 100000 pixels", PatchWidth(png, 100_000), "image/png"),
            ("too large", [.. png, .. new byte[300 * 1024]], "image/png"),
            ("empty", [], "image/png"),
        })
        {
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
            var e = await Refused(() => a.Admin.SendAsync(HttpMethod.Put, "api/admin/branding/logo", content));
            Assert.True(e.Error == "malformed", $"{what}: {e.Error} {e.Message}");
        }

        using (var content = new ByteArrayContent(png))
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
            Assert.Equal("forbidden", (await Refused(() => userClient.SendAsync(HttpMethod.Put, "api/admin/branding/logo", content))).Error);
        }

        Assert.Equal(brandingBefore, (await op.SendAsync(HttpMethod.Get, "api/branding", null, null, a.Url.ToString())).Body);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/branding/logo", null, null, a.Url.ToString())).Status);

        // Directory settings: refused when malformed; a good one is the tenant's own.
        Assert.Equal("malformed", (await Refused(() => a.Admin.SendAsync(HttpMethod.Put, "api/admin/directory", new { host = "ldap.example", port = 389, userDnTemplate = "uid=x" }))).Error);
        Assert.Equal("malformed", (await Refused(() => a.Admin.SendAsync(HttpMethod.Put, "api/admin/directory", new { host = "ldap.example", port = 70000, userDnTemplate = "uid={0}" }))).Error);
        Assert.Equal("forbidden", (await Refused(() => userClient.SendAsync(HttpMethod.Put, "api/admin/directory", new { host = "ldap.example", port = 389, userDnTemplate = "uid={0}" }))).Error);
        var dir = await a.Admin.SendAsync<JsonElement>(HttpMethod.Get, "api/admin/directory", null);
        Assert.Equal(JsonValueKind.Null, dir.GetProperty("host").ValueKind);
    }

    [Fact]
    public async Task An_operator_renames_a_tenant_and_moves_its_host_names_but_never_onto_the_servers_or_another_tenants()
    {
        using var op = await TenantOperator.AddAsync(f.Server);
        string auth = "Operator " + op.Token;
        string aSlug = Slug("rn"), uSlug = Slug("rn");
        using var a = await op.CreateAsync(aSlug, "Stadt Aheim", "#1b5e20", "#2e7d32", [$"old.{aSlug}.example"]);
        using var u = await op.CreateAsync(uSlug, "Gemeinde Udorf", "#7b1fa2", "#8e24aa", [$"{uSlug}.example"]);
        using var http = TenantOperator.Http(f.Server, f.Server.Url);
        using var aCa = X509Certificate2.CreateFromPem(await http.GetStringAsync(new Uri(a.Url, "api/ca")));
        Assert.True(await op.ServesAsync($"old.{aSlug}.example", aCa));

        // Renamed, and given a new host name (written in capitals with the root's dot: stored as the name it is).
        var (status, body) = await op.SendAsync(HttpMethod.Patch, $"api/operator/tenants/{aSlug}",
            JsonSerializer.Serialize(new { displayName = "Stadt Aheim am See", hostNames = new[] { $"Meet.{aSlug.ToUpperInvariant()}.Example." } }), auth);
        Assert.True(status == HttpStatusCode.OK, body);
        var dto = JsonDocument.Parse(body).RootElement;
        Assert.Equal("Stadt Aheim am See", dto.GetProperty("displayName").GetString());
        Assert.Equal([$"meet.{aSlug}.example"], dto.GetProperty("hostNames").EnumerateArray().Select(h => h.GetString()));
        Assert.Equal(("Stadt Aheim am See", "#1b5e20", "#2e7d32", false), Brand((await op.SendAsync(HttpMethod.Get, "api/branding", null, null, a.Url.ToString())).Body));
        Assert.True(await op.ServesAsync($"meet.{aSlug}.example", aCa));
        Assert.False(await op.ServesAsync($"old.{aSlug}.example", aCa)); // the old name is nobody's: the server's own certificate
        // Only the name: the host names stay.
        Assert.Equal(HttpStatusCode.OK, (await op.SendAsync(HttpMethod.Patch, $"api/operator/tenants/{aSlug}", JsonSerializer.Serialize(new { displayName = "Stadt Aheim" }), auth)).Status);

        async Task<string> Listed() => (await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, auth)).Body;
        string before = await Listed();
        foreach (var (what, path, json, who, code, error) in new (string, string, string, string?, HttpStatusCode, string)[]
        {
            ("the server's own address", aSlug, Hosts("127.0.0.1"), auth, HttpStatusCode.Conflict, "duplicate"),
            ("another tenant's name", aSlug, Hosts($"{uSlug}.example"), auth, HttpStatusCode.Conflict, "duplicate"),
            ("another tenant's name in capitals", aSlug, Hosts($"{uSlug.ToUpperInvariant()}.EXAMPLE"), auth, HttpStatusCode.Conflict, "duplicate"),
            ("another tenant's name with the root's dot", aSlug, Hosts($"{uSlug}.example."), auth, HttpStatusCode.Conflict, "duplicate"),
            ("a free name beside a taken one", aSlug, Hosts("free.example", $"{uSlug}.example"), auth, HttpStatusCode.Conflict, "duplicate"),
            ("an underscore", aSlug, Hosts("bad_name.example"), auth, HttpStatusCode.BadRequest, "malformed"),
            ("a leading hyphen", aSlug, Hosts("-x.example"), auth, HttpStatusCode.BadRequest, "malformed"),
            ("an empty label", aSlug, Hosts("x..example"), auth, HttpStatusCode.BadRequest, "malformed"),
            ("a space", aSlug, Hosts("evil host"), auth, HttpStatusCode.BadRequest, "malformed"),
            ("two dots at the end", aSlug, Hosts("x.example.."), auth, HttpStatusCode.BadRequest, "malformed"),
            ("a label of 64 characters", aSlug, Hosts(new string('a', 64) + ".example"), auth, HttpStatusCode.BadRequest, "malformed"),
            ("a blank name", aSlug, JsonSerializer.Serialize(new { displayName = " " }), auth, HttpStatusCode.BadRequest, "malformed"),
            ("nothing to change", aSlug, "{}", auth, HttpStatusCode.BadRequest, "malformed"),
            ("not JSON", aSlug, "{displayName:", auth, HttpStatusCode.BadRequest, "malformed"),
            ("the default tenant", "default", Hosts("free.example"), auth, HttpStatusCode.BadRequest, "malformed"),
            ("an unknown tenant", Slug("nope"), Hosts("free.example"), auth, HttpStatusCode.NotFound, "not-found"),
            ("no operator", aSlug, Hosts("free.example"), null, HttpStatusCode.Unauthorized, "unauthenticated"),
            ("the tenant's administrator", aSlug, Hosts("free.example"), "Operator " + a.Admin.Token, HttpStatusCode.Unauthorized, "unauthenticated"),
        })
        {
            var (got, answer) = await op.SendAsync(HttpMethod.Patch, $"api/operator/tenants/{path}", json, who);
            Assert.True(got == code && ErrorOf(answer) == error, $"{what}: {got} {answer}");
        }

        Assert.Equal(before, await Listed());
        Assert.True(await op.ServesAsync($"meet.{aSlug}.example", aCa));
        Assert.Equal("Stadt Aheim", Brand((await op.SendAsync(HttpMethod.Get, "api/branding", null, null, a.Url.ToString())).Body).Item1);

        // Creating a tenant is held to the same rule.
        string Create(string host) => JsonSerializer.Serialize(new { slug = Slug("rn"), displayName = "X", hostNames = new[] { host }, admin = new { name = "admin", password = "long-enough-1" } });
        foreach (string taken in new[] { "127.0.0.1", $"MEET.{aSlug}.example.", $"{uSlug}.Example" })
        {
            var (got, answer) = await op.SendAsync(HttpMethod.Post, "api/operator/tenants", Create(taken), auth);
            Assert.True(got == HttpStatusCode.Conflict && ErrorOf(answer) == "duplicate", $"{taken}: {got} {answer}");
        }

        Assert.Equal(before, await Listed());
    }

    private static string Hosts(params string[] hostNames) => JsonSerializer.Serialize(new { hostNames });

    [Fact]
    public async Task A_tenant_is_deleted_with_everything_of_it_but_not_while_one_of_its_meetings_is_in_progress()
    {
        using var op = await TenantOperator.AddAsync(f.Server);
        string auth = "Operator " + op.Token;
        string slug = Slug("del");
        var t = await op.CreateAsync(slug, "Stadt Dehausen", "#0d47a1", "#1565c0", [$"{slug}.example"]);
        string oldPin;
        string oldAdminToken = t.Admin.Token!;
        string meetingId;
        using var http = TenantOperator.Http(f.Server, f.Server.Url);
        using var oldCa = X509Certificate2.CreateFromPem(await http.GetStringAsync(new Uri(t.Url, "api/ca")));
        Assert.True(await op.ServesAsync($"{slug}.example", oldCa));
        async Task<string> PinAsync() => JsonDocument.Parse((await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, auth)).Body).RootElement
            .EnumerateArray().Single(e => e.GetProperty("slug").GetString() == slug).GetProperty("caPin").GetString()!;
        DeviceCredentials? boxCreds = null;
        using (t)
        {
            // Everything a tenant has: branding and logo, people, an enrolled room, a meeting with its MLS group, a guest invitation.
            using (var content = new ByteArrayContent(TestPng.Make(16, 16, (13, 71, 161), (255, 255, 255))))
            {
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
                await t.Admin.SendAsync<JsonElement>(HttpMethod.Put, "api/admin/branding/logo", content);
            }

            var (aliceCreds, alice) = await t.PersonAsync("alice");
            using var _1 = aliceCreds; using var _2 = alice;
            var (box, room) = await t.EnrolRoomAsync("boardroom");
            boxCreds = box;
            using (room)
            {
                Assert.Empty(await room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null));
            }

            var meeting = await alice.CreateMeetingAsync("Rat", ["device:boardroom"]);
            meetingId = meeting.Id;
            await alice.InviteGuestAsync(meeting.Id, "Gast");
            using var host = new MeetingMember(alice, aliceCreds, meeting.Id, meeting.CipherSuite);
            Assert.True(await host.JoinExternalAsync(createIfMissing: true));
            oldPin = await PinAsync();

            // In progress: refused, saying why, and the tenant goes on as before.
            var (status, body) = await op.SendAsync(HttpMethod.Delete, $"api/operator/tenants/{slug}", null, auth);
            Assert.True(status == HttpStatusCode.Conflict, body);
            Assert.Equal("meetings-in-progress", ErrorOf(body));
            Assert.Contains("1 meeting in progress", body, StringComparison.Ordinal);
            Assert.DoesNotContain(meeting.Id, body, StringComparison.Ordinal);
            Assert.DoesNotContain("Rat", body, StringComparison.Ordinal);
            Assert.Equal(["device:boardroom", "person:alice"], (await alice.ParticipantsAsync(meeting.Id)).Select(p => p.Identity).Order(StringComparer.Ordinal));
            Assert.Equal((true, true, f.Postgres is not null), await TenantOperator.StoredAsync(f, slug));

            // Nobody else deletes it: no operator, a tenant's administrator, the operator under the tenant's path; nor the default tenant or an unknown one.
            foreach (var (what, path, who, baseUrl, code) in new (string, string, string?, string?, HttpStatusCode)[]
            {
                ("no operator", slug, null, null, HttpStatusCode.Unauthorized),
                ("the tenant's administrator", slug, "Operator " + oldAdminToken, null, HttpStatusCode.Unauthorized),
                ("under the tenant's path", slug, auth, t.Url.ToString(), HttpStatusCode.NotFound),
                ("the default tenant", "default", auth, null, HttpStatusCode.BadRequest),
                ("an unknown tenant", Slug("nope"), auth, null, HttpStatusCode.NotFound),
                ("a path for a name", "..%2F..%2Fx", auth, null, HttpStatusCode.NotFound),
            })
            {
                var (got, answer) = await op.SendAsync(HttpMethod.Delete, $"api/operator/tenants/{path}", null, who, baseUrl);
                Assert.True(got == code, $"{what}: {got} {answer}");
            }

            // Ended by its host: now it goes, with everything of it.
            await alice.EndAsync(meeting.Id);
            (status, body) = await op.SendAsync(HttpMethod.Delete, $"api/operator/tenants/{slug}", null, auth);
            Assert.True(status == HttpStatusCode.NoContent, body);
        }

        Assert.Equal((false, false, false), await TenantOperator.StoredAsync(f, slug));
        Assert.DoesNotContain($"\"{slug}\"", (await op.SendAsync(HttpMethod.Get, "api/operator/tenants", null, auth)).Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/branding", null, null, $"/t/{slug}/")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/meetings", null, "Bearer " + oldAdminToken, $"/t/{slug}/")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Delete, $"api/operator/tenants/{slug}", null, auth)).Status);
        Assert.False(await op.ServesAsync($"{slug}.example", oldCa));

        // A new tenant of the same short name and host name has nothing of the old one: a new CA, no accounts, tokens, rooms, meetings or logo.
        using var again = await op.CreateAsync(slug, "Stadt Dehausen (neu)", "#0d47a1", "#1565c0", [$"{slug}.example"]);
        Assert.NotEqual(oldPin, await PinAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.SendAsync(HttpMethod.Get, "api/meetings", null, "Bearer " + oldAdminToken, again.Url.ToString())).Status);
        Assert.Equal("unauthenticated", (await Refused(() => again.SignInAsync("alice", "person-password-1"))).Error);
        Assert.Equal("not-invited", (await Refused(() => again.Admin.ParticipantsAsync(meetingId))).Error);
        Assert.Empty(await again.Admin.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null));
        Assert.Equal(HttpStatusCode.NotFound, (await op.SendAsync(HttpMethod.Get, "api/branding/logo", null, null, again.Url.ToString())).Status);
        using (boxCreds)
        using (var room = new MeetingServerClient(again.Url, f.Server.Ca, boxCreds!.TlsCertificate()))
        {
            Assert.Equal("unauthenticated", (await Refused(() => room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null))).Error);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await op.SendAsync(HttpMethod.Delete, $"api/operator/tenants/{slug}", null, auth)).Status);
    }

    [Fact]
    public async Task A_rooms_answers_name_its_tenants_current_branding_and_the_room_keeps_a_new_one_without_enrolling_again()
    {
        using var op = await TenantOperator.AddAsync(f.Server);
        using var a = await op.CreateAsync(Slug("rb"), "Stadt Aheim", "#1b5e20", "#2e7d32");
        using var b = await op.CreateAsync(Slug("rb"), "Gemeinde Bedorf", "#7b1fa2", "#8e24aa");
        var (box, room) = await a.EnrolRoomAsync("boardroom");
        using var _1 = box; using var _2 = room;
        string dir = Repo.TempDir("room-ms-branding");
        try
        {
            // As roomctl enroll keeps it: with its tag, which every answer to the room then names.
            var (kept, noLogo) = await TenantBranding.FetchAsync(room);
            kept.Save(dir, noLogo);
            string first = kept.Tag!;
            await room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null);
            Assert.Equal(first, room.BrandingTag);
            Assert.False(await TenantBranding.RefreshAsync(room, dir));

            // Another tenant's change is not this room's.
            await b.Admin.SendAsync(HttpMethod.Put, "api/admin/branding", new { displayName = "Gemeinde Bedorf-Süd", primaryColor = "#4a148c", accentColor = "#6a1b9a" });
            await room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null);
            Assert.Equal(first, room.BrandingTag);

            // Its own tenant's new name and colours: the next answer names a new tag, and the room keeps the new branding.
            await a.Admin.SendAsync(HttpMethod.Put, "api/admin/branding", new { displayName = "Stadt Aheim am See", primaryColor = "#004d40", accentColor = "#00695c" });
            await room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null);
            Assert.NotEqual(first, room.BrandingTag);
            Assert.True(await TenantBranding.RefreshAsync(room, dir));
            Assert.Equal(new TenantBranding(a.Slug, "Stadt Aheim am See", "#004d40", "#00695c", null, room.BrandingTag), TenantBranding.Load(dir));
            Assert.False(await TenantBranding.RefreshAsync(room, dir));

            // A new logo too.
            byte[] logo = TestPng.Make(20, 20, (0, 77, 64), (255, 255, 255));
            using (var content = new ByteArrayContent(logo))
            {
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
                await a.Admin.SendAsync<JsonElement>(HttpMethod.Put, "api/admin/branding/logo", content);
            }

            string second = TenantBranding.Load(dir)!.Tag!;
            await room.SendAsync<List<JsonElement>>(HttpMethod.Get, "api/meetings", null);
            Assert.NotEqual(second, room.BrandingTag);
            Assert.True(await TenantBranding.RefreshAsync(room, dir));
            Assert.Equal("image/png", TenantBranding.Load(dir)!.LogoType);
            Assert.Equal(logo, File.ReadAllBytes(Path.Combine(dir, TenantBranding.LogoFile)));

            // GET api/branding is a conditional request on the same tag.
            using var http = TenantOperator.Http(f.Server, a.Url);
            foreach (var (tag, expected) in new[] { (room.BrandingTag!, HttpStatusCode.NotModified), (first, HttpStatusCode.OK) })
            {
                using var req = new HttpRequestMessage(HttpMethod.Get, "api/branding");
                req.Headers.TryAddWithoutValidation("If-None-Match", tag);
                using var resp = await http.SendAsync(req);
                Assert.Equal(expected, resp.StatusCode);
                Assert.Equal(room.BrandingTag, resp.Headers.ETag?.ToString());
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static byte[] PatchWidth(byte[] png, int width)
    {
        byte[] p = (byte[])png.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(16), width);
        return p;
    }

    [Fact]
    public async Task A_tenant_administrator_brands_only_their_own_tenant_and_its_directory_signs_in_only_there()
    {
        using var op = await TenantOperator.AddAsync(f.Server);
        using var a = await op.CreateAsync(Slug("br"), "Stadt Aheim", "#1b5e20", "#2e7d32");
        using var b = await op.CreateAsync(Slug("br"), "Gemeinde Bedorf", "#7b1fa2", "#8e24aa");
        var set = await a.Admin.SendAsync<JsonElement>(HttpMethod.Put, "api/admin/branding", new { displayName = "Stadt Aheim am See", primaryColor = "#004D40", accentColor = "#00695c" });
        Assert.Equal("#004d40", set.GetProperty("primaryColor").GetString());
        byte[] png = TestPng.Make(48, 48, (0, 77, 64), (255, 255, 255));
        using (var content = new ByteArrayContent(png))
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
            Assert.True((await a.Admin.SendAsync<JsonElement>(HttpMethod.Put, "api/admin/branding/logo", content)).GetProperty("logo").GetBoolean());
        }

        var (s1, aBrand) = await op.SendAsync(HttpMethod.Get, "api/branding", null, null, a.Url.ToString());
        var (s2, bBrand) = await op.SendAsync(HttpMethod.Get, "api/branding", null, null, b.Url.ToString());
        var (s3, dBrand) = await op.SendAsync(HttpMethod.Get, "api/branding", null, null, "/");
        Assert.True(s1 == HttpStatusCode.OK && s2 == HttpStatusCode.OK && s3 == HttpStatusCode.OK);
        Assert.Equal(("Stadt Aheim am See", "#004d40", "#00695c", true), Brand(aBrand));
        Assert.Equal(("Gemeinde Bedorf", "#7b1fa2", "#8e24aa", false), Brand(bBrand));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(dBrand).RootElement.GetProperty("displayName").ValueKind);
        using var http = TenantOperator.Http(f.Server, f.Server.Url);
        Assert.Equal(png, await http.GetByteArrayAsync(new Uri(a.Url, "api/branding/logo")));
        string css = await http.GetStringAsync(new Uri(a.Url, "client/branding.css"));
        Assert.Contains("--brand: #004d40", css, StringComparison.Ordinal);
        Assert.Contains("--accent: #8e24aa", await http.GetStringAsync(new Uri(b.Url, "client/branding.css")), StringComparison.Ordinal);
        Assert.DoesNotContain("--brand", await http.GetStringAsync(new Uri(f.Server.Url, "client/branding.css")), StringComparison.Ordinal);

        // B's administrator at A (with B's token) is nobody there.
        var (st, _) = await op.SendAsync(HttpMethod.Put, "api/admin/branding", JsonSerializer.Serialize(new { displayName = "Taken over", primaryColor = "#000000", accentColor = "#000000" }),
            "Bearer " + b.Admin.Token, a.Url.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, st);
        Assert.Equal(aBrand, (await op.SendAsync(HttpMethod.Get, "api/branding", null, null, a.Url.ToString())).Body);

        // A's directory (Debian's slapd, started here) signs people in at A only.
        await using var slapd = await SlapdInstance.StartAsync(("dora", "directory-password-1"));
        await a.Admin.SendAsync(HttpMethod.Put, "api/admin/directory", new { host = "127.0.0.1", port = slapd.Port, userDnTemplate = "uid={0},ou=people,dc=example,dc=org" });
        using (var dora = await a.SignInAsync("dora", "directory-password-1"))
        {
            Assert.NotNull(dora.Token);
        }

        Assert.Equal("unauthenticated", (await Refused(() => b.SignInAsync("dora", "directory-password-1"))).Error);
        Assert.Equal("unauthenticated", (await Refused(() => f.Server.SignInAsync("dora", "directory-password-1"))).Error);
        Assert.Equal("unauthenticated", (await Refused(() => a.SignInAsync("dora", "wrong-password"))).Error);
    }

    private static (string?, string?, string?, bool) Brand(string json)
    {
        var e = JsonDocument.Parse(json).RootElement;
        return (e.GetProperty("displayName").GetString(), e.GetProperty("primaryColor").GetString(), e.GetProperty("accentColor").GetString(), e.GetProperty("logo").GetBoolean());
    }
}

public sealed class SqliteTenantTests(SqliteServerFixture f) : TenantScenarios(f), IClassFixture<SqliteServerFixture>;

public sealed class PostgresTenantTests(PostgresServerFixture f) : TenantScenarios(f), IClassFixture<PostgresServerFixture>;
