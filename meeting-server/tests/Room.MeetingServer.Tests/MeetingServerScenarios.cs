using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Room.Crypto.Mls;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>
/// The meeting server as a real process (with SQLite, and again with PostgreSQL): enrolment, sign-in, who may see a
/// meeting, and the MLS delivery service with real members (X.509 credentials from the organisation CA).
/// </summary>
public abstract class MeetingServerScenarios(ServerFixture f)
{
    private static async Task<MeetingServerException> Refused(Func<Task> call) => await Assert.ThrowsAsync<MeetingServerException>(call);

    [Fact]
    public async Task A_box_enrols_with_a_one_time_code_and_gets_a_device_certificate_from_the_organisation_CA()
    {
        string name = ServerFixture.NewName("box");
        string code = await f.Admin.CreateEnrolmentCodeAsync(name);
        using var creds = DeviceCredentials.CreateEphemeral();
        string identity = await MeetingServerClient.EnrolAsync(f.Server.Url, code, creds);

        Assert.Equal("device:" + name, identity);
        Assert.Equal(identity, creds.Identity);
        Assert.Equal(f.Server.Ca.RawData, creds.OrganisationCa!.RawData);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(f.Server.Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(creds.Certificate!));
        // The certificate is for the box's own key (made on the box; only the request left it).
        using var pub = creds.Certificate!.GetECDsaPublicKey()!;
        Assert.Equal(creds.Key.ExportSubjectPublicKeyInfo(), pub.ExportSubjectPublicKeyInfo());

        // The code is used up: a second box (or a replay) with it is refused.
        using var other = DeviceCredentials.CreateEphemeral();
        var e = await Refused(() => MeetingServerClient.EnrolAsync(f.Server.Url, code, other));
        Assert.Equal("enrolment-code-invalid", e.Error);
        Assert.Null(other.Certificate);
    }

    [Fact]
    public async Task My_meetings_are_the_ones_I_am_invited_to_with_my_role_and_whether_they_started()
    {
        var (aCreds, a) = await f.PersonAsync(ServerFixture.NewName("mya"));
        var (bCreds, b) = await f.PersonAsync(ServerFixture.NewName("myb"));
        using var d1 = aCreds;
        using var d2 = bCreds;
        using var d3 = a;
        using var d4 = b;
        var m = await a.CreateMeetingAsync("listed", [bCreds.Identity]);
        await a.CreateMeetingAsync("not for b", []);
        using var host = new MeetingMember(a, aCreds, m.Id, m.CipherSuite);
        Assert.True(await host.JoinExternalAsync(createIfMissing: true));

        var mine = await b.SendAsync<List<System.Text.Json.JsonElement>>(HttpMethod.Get, "api/meetings", null);
        var only = Assert.Single(mine);
        Assert.Equal(m.Id, only.GetProperty("id").GetString());
        Assert.Equal("participant", only.GetProperty("role").GetString());
        Assert.True(only.GetProperty("started").GetBoolean());
        Assert.Equal(aCreds.Identity, only.GetProperty("createdBy").GetString());
        Assert.Equal(2, (await a.SendAsync<List<System.Text.Json.JsonElement>>(HttpMethod.Get, "api/meetings", null)).Count);
    }

    [Fact]
    public async Task Roomctl_enroll_makes_the_key_on_the_box_and_stores_the_certificate_beside_it()
    {
        string name = ServerFixture.NewName("box");
        string code = await f.Admin.CreateEnrolmentCodeAsync(name);
        string dir = Repo.TempDir("room-ms-roomctl");
        try
        {
            string roomctl = Path.Combine(Repo.Root, "appliance", "Room.Cli", "bin", Repo.Configuration, "net10.0", "roomctl.dll");
            var (exit, log) = await ChildProcess.RunAsync("env", ["ROOM_MEETING_KEY_DIR=" + dir, "dotnet", roomctl, "enroll", f.Server.Url.ToString(), code]);
            Assert.True(exit == 0, log);
            Assert.Contains($"enrolled as device:{name}", log, StringComparison.Ordinal);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, DeviceCredentials.KeyFile)));
            using var creds = DeviceCredentials.LoadOrCreate(dir);
            Assert.Equal("device:" + name, creds.Identity);

            // The same code again: refused, exit 1, the stored certificate untouched.
            byte[] before = await File.ReadAllBytesAsync(Path.Combine(dir, DeviceCredentials.CertificateFile));
            (exit, log) = await ChildProcess.RunAsync("env", ["ROOM_MEETING_KEY_DIR=" + dir, "dotnet", roomctl, "enroll", f.Server.Url.ToString(), code]);
            Assert.Equal(1, exit);
            Assert.Contains("enrolment-code-invalid", log, StringComparison.Ordinal);
            Assert.Equal(before, await File.ReadAllBytesAsync(Path.Combine(dir, DeviceCredentials.CertificateFile)));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_malformed_certificate_request_is_refused_and_does_not_use_up_the_code()
    {
        string name = ServerFixture.NewName("box");
        string code = await f.Admin.CreateEnrolmentCodeAsync(name);
        using var anon = new MeetingServerClient(f.Server.Url, f.Server.Ca);
        var e = await Refused(() => anon.SendAsync(HttpMethod.Post, "api/enrol", new { code, csr = new byte[] { 0x30, 0x03, 1, 2, 3 } }));
        Assert.Equal("malformed", e.Error);
        e = await Refused(() => anon.SendAsync(HttpMethod.Post, "api/enrol", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")));
        Assert.Equal("malformed", e.Error);
        e = await Refused(() => anon.SendAsync(HttpMethod.Post, "api/enrol", new { code = "WRONGCODE1." + code.Split('.')[1], csr = Array.Empty<byte>() }));
        Assert.Equal("malformed", e.Error);

        using var creds = DeviceCredentials.CreateEphemeral();
        Assert.Equal("device:" + name, await MeetingServerClient.EnrolAsync(f.Server.Url, code, creds));
    }

    [Fact]
    public async Task A_box_refuses_to_enrol_with_a_server_whose_CA_is_not_the_one_the_code_names()
    {
        string code = await f.Admin.CreateEnrolmentCodeAsync(ServerFixture.NewName("box"));
        string forged = code.Split('.')[0] + "." + Convert.ToBase64String(SHA256.HashData("another CA"u8)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        using var creds = DeviceCredentials.CreateEphemeral();
        var e = await Refused(() => MeetingServerClient.EnrolAsync(f.Server.Url, forged, creds));
        Assert.Equal("ca-pin-mismatch", e.Error);
        Assert.Null(creds.Certificate);
    }

    [Fact]
    public async Task Unauthenticated_forged_token_and_foreign_CA_certificate_requests_are_refused_and_logged()
    {
        using var anon = new MeetingServerClient(f.Server.Url, f.Server.Ca);
        Assert.Equal("unauthenticated", (await Refused(() => anon.CreateMeetingAsync("x", []))).Error);
        Assert.Equal("unauthenticated", (await Refused(() => anon.CreateEnrolmentCodeAsync("box-x"))).Error);

        anon.Token = f.Admin.Token![..^4] + "AAAA";
        Assert.Equal("unauthenticated", (await Refused(() => anon.CreateMeetingAsync("x", []))).Error);
        await f.Server.WaitForLogAsync("token refused");

        // A certificate from another CA, with the right-looking name: TLS completes, the API refuses it.
        using var otherCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caReq = new CertificateRequest("CN=Test Org Room CA", otherCaKey, HashAlgorithmName.SHA256);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        // One "now" for both: a second boundary between two clock reads made the device's notAfter outlast its CA's.
        var now = DateTimeOffset.UtcNow;
        using var otherCa = caReq.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        using var devKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var devReq = new CertificateRequest("CN=device:impostor", devKey, HashAlgorithmName.SHA256);
        using var devCert = devReq.Create(otherCa, now.AddDays(-1), now.AddDays(30), [1, 2, 3, 4]);
        using var withKey = devCert.CopyWithPrivateKey(devKey);
        using var tls = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        using var impostor = new MeetingServerClient(f.Server.Url, f.Server.Ca, tls);
        Assert.Equal("unauthenticated", (await Refused(() => impostor.CreateMeetingAsync("x", []))).Error);
        await f.Server.WaitForLogAsync("device:impostor refused");
    }

    [Fact]
    public async Task A_revoked_device_is_refused()
    {
        string name = ServerFixture.NewName("box");
        var (creds, client, _) = await f.EnrolDeviceAsync(name);
        using (creds)
        using (client)
        {
            string id = (await client.CreateMeetingAsync("before revocation", [])).Id;
            Assert.NotEmpty(id);
            await f.Admin.RevokeDeviceAsync(name);
            Assert.Equal("unauthenticated", (await Refused(() => client.CreateMeetingAsync("after", []))).Error);
        }
    }

    [Fact]
    public async Task Local_accounts_sign_in_with_their_password_only_and_only_administrators_make_enrolment_codes()
    {
        string name = ServerFixture.NewName("ann");
        await f.Server.AddUserAsync(name, "correct horse");
        using var c = new MeetingServerClient(f.Server.Url, f.Server.Ca);
        Assert.Equal("unauthenticated", (await Refused(() => c.LoginAsync(name, "wrong horse"))).Error);
        Assert.Equal("unauthenticated", (await Refused(() => c.LoginAsync("nobody-" + name, "correct horse"))).Error);
        Assert.Equal("person:" + name, await c.LoginAsync(name, "correct horse"));
        Assert.Equal("forbidden", (await Refused(() => c.CreateEnrolmentCodeAsync("box-by-ann"))).Error);
        // An account is added once; a second add with the same name is refused by the command line.
        var (code, log) = await f.Server.TryAddUserAsync(name, "another password");
        Assert.NotEqual(0, code);
        Assert.Contains("exists", log, StringComparison.Ordinal);
    }

    /// <summary>Host device A, invited device B, then a person: same security code for all, new on every join and leave.</summary>
    [Fact]
    public async Task Invited_members_join_the_MLS_group_share_the_security_code_and_get_a_new_one_on_join_and_leave()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("hall"));
        var (bCreds, b, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("room"));
        var (pCreds, p) = await f.PersonAsync(ServerFixture.NewName("pat"));
        using var _1 = aCreds; using var _2 = a; using var _3 = bCreds; using var _4 = b; using var _5 = pCreds; using var _6 = p;

        var meeting = await a.CreateMeetingAsync("town hall", [bCreds.Identity, pCreds.Identity]);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        using var mb = new MeetingMember(b, bCreds, meeting.Id, meeting.CipherSuite);
        using var mp = new MeetingMember(p, pCreds, meeting.Id, meeting.CipherSuite);
        await mb.PublishKeyPackagesAsync(2);
        await mp.PublishKeyPackagesAsync(2);
        await ma.CreateGroupAsync(meeting.GroupId);
        await ma.AddAsync(bCreds.Identity);
        Assert.True(await mb.TryJoinFromWelcomeAsync());
        Assert.Equal(ma.SecurityCode, mb.SecurityCode);
        Assert.Equal([aCreds.Identity, bCreds.Identity], mb.Roster.Order(StringComparer.Ordinal));
        string twoCode = ma.SecurityCode;

        // A third member joins: a new code, the same on all three.
        await mb.AddAsync(pCreds.Identity);
        Assert.True(await mp.TryJoinFromWelcomeAsync());
        await ma.SyncAsync();
        Assert.Equal(mb.SecurityCode, ma.SecurityCode);
        Assert.Equal(mb.SecurityCode, mp.SecurityCode);
        Assert.NotEqual(twoCode, ma.SecurityCode);
        Assert.Equal(3, mp.Roster.Count);
        string threeCode = ma.SecurityCode;

        // An application message from one is read by the others.
        var hello = mp.Group.EncryptApplication("hello"u8).ToBytes();
        Assert.Equal("hello"u8.ToArray(), ma.Group.Process(MlsMessage.Decode(hello)).ApplicationData);

        // Media keys come from the group (SFrame, RFC 9605 section 5.2): all three read each other's frames.
        using var mediaA = new Room.Crypto.Media.MlsSFrameBinding(ma.Group, sendSwitchDelay: TimeSpan.Zero);
        using var mediaP = new Room.Crypto.Media.MlsSFrameBinding(mp.Group, sendSwitchDelay: TimeSpan.Zero);
        byte[] frame = new byte[1200];
        Random.Shared.NextBytes(frame);
        byte[] sealedFrame = new byte[frame.Length + mediaA.MaxOverhead], opened = new byte[sealedFrame.Length];
        int n = mediaA.Encrypt([], frame, sealedFrame);
        Assert.Equal(frame, opened.AsSpan(0, mediaP.Decrypt([], sealedFrame.AsSpan(0, n), opened)).ToArray());

        // The host removes the person: the server stops answering them and, as the group's external sender, proposes
        // the removal of their leaf; a remaining member (here B) commits it; the others move to a new code.
        await a.RemoveAsync(meeting.Id, pCreds.Identity);
        Assert.True(await mb.CommitPendingAsync());
        await ma.SyncAsync();
        Assert.Equal(ma.Epoch, mb.Epoch);
        Assert.Equal(ma.SecurityCode, mb.SecurityCode);
        Assert.NotEqual(threeCode, ma.SecurityCode);
        Assert.Equal(2, mb.Roster.Count);
        Assert.Equal("not-invited", (await Refused(() => mp.SyncAsync())).Error);
        Assert.Equal("not-invited", (await Refused(() => p.GroupInfoAsync(meeting.Id))).Error);
        // What the removed member still holds cannot open what is sent after the removal commit.
        var after = ma.Group.EncryptApplication("after removal"u8).ToBytes();
        Assert.Throws<Room.Crypto.MlsException>(() => mp.Group.Process(MlsMessage.Decode(after)));
        // A captured copy of a frame sent after the removal commit does not open for the removed member.
        n = mediaA.Encrypt([], frame, sealedFrame);
        byte[] captured = sealedFrame.AsSpan(0, n).ToArray();
        Assert.ThrowsAny<Room.Crypto.RoomCryptoException>(() => mediaP.Decrypt([], captured, opened));
    }

    /// <summary>Host A, members B and C (C a person): C leaves by telling the server, which proposes C's removal.</summary>
    [Fact]
    public async Task A_member_that_leaves_is_taken_out_by_the_servers_Remove_proposal_which_a_remaining_member_commits()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("la"));
        var (bCreds, b, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("lb"));
        var (cCreds, c) = await f.PersonAsync(ServerFixture.NewName("lc"));
        using var _1 = aCreds; using var _2 = a; using var _3 = bCreds; using var _4 = b; using var _5 = cCreds; using var _6 = c;
        var meeting = await a.CreateMeetingAsync("leave", [bCreds.Identity, cCreds.Identity]);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        using var mb = new MeetingMember(b, bCreds, meeting.Id, meeting.CipherSuite);
        using var mc = new MeetingMember(c, cCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await ma.JoinExternalAsync(createIfMissing: true));
        // The group names the server (and only it) as external sender, with a credential from the organisation CA.
        var sender = Assert.Single(ExternalSender.Of(ma.Group.Context));
        Assert.Equal(MeetingMember.ServerIdentity, CredentialIdentity.Of(sender.Credential));
        Assert.False(await mb.JoinExternalAsync(createIfMissing: false));
        Assert.False(await mc.JoinExternalAsync(createIfMissing: false));
        await ma.SyncAsync();
        await mb.SyncAsync();
        Assert.Equal([aCreds.Identity, bCreds.Identity, cCreds.Identity], ma.Roster.Order(StringComparer.Ordinal));
        string before = ma.SecurityCode;
        Assert.Equal(before, mc.SecurityCode);

        // C leaves: the server proposes its removal; C may not commit it itself (nor anything while it is pending).
        Assert.Equal(1, await mc.LeaveAsync());
        Assert.Equal(1, await mc.SyncAsync()); // the one handshake: the server's proposal
        Assert.True(mc.Group.RemovalPending);
        Assert.False(await mc.CommitPendingAsync());
        await Assert.ThrowsAsync<Room.Crypto.MlsException>(() => mc.UpdateAsync());
        var proposal = Assert.Single(await a.HandshakesAsync(meeting.Id, (long)ma.Epoch));
        Assert.Equal("server", proposal.Sender);
        Assert.Equal(SenderType.External, MlsMessage.Decode(proposal.Message).PublicMessage!.Content.Sender.Type);

        // A commits an update without having fetched the proposal: the server refuses it (the epoch's proposals are
        // left out); A catches up and commits again with the proposal by reference.
        var stale = ma.Group.StageCommit();
        var missing = await Refused(() => a.SubmitCommitAsync(meeting.Id, stale.Commit.ToBytes(), new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = stale.GroupInfo }.ToBytes(), null));
        Assert.Equal("proposals-missing", missing.Error);
        Assert.Equal(409, missing.Status);
        ma.Group.DiscardStagedCommit();
        // Both remaining members commit the proposal at once: one commit takes it, the other member follows that one.
        var committed = await Task.WhenAll(Task.Run(() => ma.CommitPendingAsync()), Task.Run(() => mb.CommitPendingAsync()));
        Assert.Single(committed, x => x);
        await ma.SyncAsync();
        await mb.SyncAsync();
        await mc.SyncAsync();

        // C is out of the tree: the roster and the security code change on every remaining member; C reads nothing after.
        Assert.True(mc.Group.Removed);
        Assert.Equal([aCreds.Identity, bCreds.Identity], ma.Roster.Order(StringComparer.Ordinal));
        Assert.Equal([aCreds.Identity, bCreds.Identity], mb.Roster.Order(StringComparer.Ordinal));
        Assert.Equal(ma.SecurityCode, mb.SecurityCode);
        Assert.NotEqual(before, ma.SecurityCode);
        var after = mb.Group.EncryptApplication("after the leave"u8).ToBytes();
        Assert.Equal("after the leave"u8.ToArray(), ma.Group.Process(MlsMessage.Decode(after)).ApplicationData);
        Assert.ThrowsAny<Room.Crypto.RoomCryptoException>(() => mc.Group.Process(MlsMessage.Decode(after)));
        using (var mediaB = new Room.Crypto.Media.MlsSFrameBinding(mb.Group, sendSwitchDelay: TimeSpan.Zero))
        using (var mediaC = new Room.Crypto.Media.MlsSFrameBinding(mc.Group, sendSwitchDelay: TimeSpan.Zero))
        {
            byte[] frame = new byte[800], sealedFrame = new byte[800 + mediaB.MaxOverhead], opened = new byte[sealedFrame.Length];
            int n = mediaB.Encrypt([], frame, sealedFrame);
            Assert.ThrowsAny<Room.Crypto.RoomCryptoException>(() => mediaC.Decrypt([], sealedFrame.AsSpan(0, n), opened));
        }

        // Leaving is not a removal: C is still invited and joins again (a new leaf, a new code for all).
        using var again = new MeetingMember(c, cCreds, meeting.Id, meeting.CipherSuite);
        Assert.False(await again.JoinExternalAsync(createIfMissing: false));
        await ma.SyncAsync();
        Assert.Equal(3, ma.Roster.Count);
        Assert.Equal(again.SecurityCode, ma.SecurityCode);
    }

    [Fact]
    public async Task A_revoked_device_is_taken_out_of_its_meetings_by_the_servers_Remove_proposal()
    {
        string gone = ServerFixture.NewName("gone");
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("ha"));
        var (gCreds, g, _) = await f.EnrolDeviceAsync(gone);
        using var _1 = aCreds; using var _2 = a; using var _3 = gCreds; using var _4 = g;
        var meeting = await a.CreateMeetingAsync("revocation", [gCreds.Identity]);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        using var mg = new MeetingMember(g, gCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await ma.JoinExternalAsync(createIfMissing: true));
        Assert.False(await mg.JoinExternalAsync(createIfMissing: false));
        await ma.SyncAsync();
        string before = ma.SecurityCode;

        await f.Admin.RevokeDeviceAsync(gone);
        Assert.True(await ma.CommitPendingAsync());
        Assert.Equal([aCreds.Identity], ma.Roster);
        Assert.NotEqual(before, ma.SecurityCode);
        Assert.Equal("unauthenticated", (await Refused(() => mg.SyncAsync())).Error);
    }

    [Fact]
    public async Task The_delivery_service_refuses_groups_without_it_as_external_sender_and_references_to_proposals_it_did_not_make()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("xa"));
        using var _1 = aCreds; using var _2 = a;
        var meeting = await a.CreateMeetingAsync("external senders", []);
        var suite = MlsCipherSuite.Get(meeting.CipherSuite);
        var opts = new MlsGroupOptions { HandshakeAsPublic = true };
        byte[] Gi(GroupInfo gi) => new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = gi }.ToBytes();

        // A group without the server as external sender, or naming another sender, is refused.
        using (var plain = MlsGroup.Create(aCreds.MlsIdentity(suite), meeting.GroupId, opts))
        {
            Assert.Contains("external sender", (await Refused(() => a.InitGroupAsync(meeting.Id, Gi(plain.CreateGroupInfo())))).Message, StringComparison.Ordinal);
        }

        var (_, otherPub) = suite.GenerateSignatureKeyPair();
        var impostor = ExternalSender.ToExtension([new ExternalSender { SignatureKey = otherPub, Credential = Credential.Basic("server:meetings"u8.ToArray()) }]);
        using (var wrong = MlsGroup.Create(aCreds.MlsIdentity(suite), meeting.GroupId, opts, [impostor]))
        {
            Assert.Contains("external sender", (await Refused(() => a.InitGroupAsync(meeting.Id, Gi(wrong.CreateGroupInfo())))).Message, StringComparison.Ordinal);
        }

        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        await ma.CreateGroupAsync(meeting.GroupId);

        // A commit that references a proposal the server did not make (a member's own, which the server does not relay)
        // is refused: no other member could resolve it.
        ma.Group.Propose(new Proposal { Type = ProposalType.GroupContextExtensions, Extensions = ma.Group.Context.Extensions });
        var withRef = ma.Group.StageCommit();
        Assert.NotNull(Assert.Single(withRef.Commit.PublicMessage!.Content.Commit!.Proposals).Reference);
        Assert.Contains("did not make", (await Refused(() => a.SubmitCommitAsync(meeting.Id, withRef.Commit.ToBytes(), Gi(withRef.GroupInfo), null))).Message, StringComparison.Ordinal);
        ma.Group.DiscardStagedCommit();
        Assert.Equal(0, (await a.GroupInfoAsync(meeting.Id)).Epoch);

        // A commit that takes the server out of the group context (GroupContextExtensions) is refused too.
        using var mb = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        Assert.False(await mb.JoinExternalAsync(createIfMissing: false));
        var dropped = mb.Group.StageCommit(other: [new Proposal { Type = ProposalType.GroupContextExtensions, Extensions = [] }]);
        Assert.Empty(dropped.GroupInfo.GroupContext.Extensions);
        Assert.Contains("external sender", (await Refused(() => a.SubmitCommitAsync(meeting.Id, dropped.Commit.ToBytes(), Gi(dropped.GroupInfo), null))).Message, StringComparison.Ordinal);
        mb.Group.DiscardStagedCommit();
        Assert.Equal(1, (await a.GroupInfoAsync(meeting.Id)).Epoch);
    }

    [Fact]
    public async Task An_uninvited_identity_gets_nothing_until_a_host_admits_it_from_the_lobby()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("host"));
        var (cCreds, c, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("guest"));
        using var _1 = aCreds; using var _2 = a; using var _3 = cCreds; using var _4 = c;
        var meeting = await a.CreateMeetingAsync("closed", []);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        using var mc = new MeetingMember(c, cCreds, meeting.Id, meeting.CipherSuite);
        await ma.CreateGroupAsync(meeting.GroupId);
        await mc.PublishKeyPackagesAsync(1);

        Assert.Equal("not-invited", (await Refused(() => c.GroupInfoAsync(meeting.Id))).Error);
        Assert.Equal("not-invited", (await Refused(() => c.HandshakesAsync(meeting.Id, 0))).Error);
        Assert.Equal("not-invited", (await Refused(() => c.WelcomesAsync(meeting.Id))).Error);
        Assert.Equal("not-invited", (await Refused(() => c.ParticipantsAsync(meeting.Id))).Error);
        Assert.Equal("not-invited", (await Refused(() => ma.AddAsync(cCreds.Identity))).Error);
        Assert.Equal(0UL, ma.Epoch);

        Assert.Equal("waiting", await c.KnockAsync(meeting.Id));
        Assert.Equal("not-invited", (await Refused(() => c.GroupInfoAsync(meeting.Id))).Error);
        Assert.Equal("not-invited", (await Refused(() => c.AdmitAsync(meeting.Id, cCreds.Identity))).Error);
        // Admitted: the server claims C's KeyPackage and proposes C's Add as the group's external sender; a member
        // commits it and its Welcome goes to C.
        await a.AdmitAsync(meeting.Id, cCreds.Identity);
        var add = Assert.Single(await a.HandshakesAsync(meeting.Id, 0));
        Assert.Equal("server", add.Sender);
        Assert.Equal(ProposalType.Add, MlsMessage.Decode(add.Message).PublicMessage!.Content.Proposal!.Type);
        Assert.True(await ma.CommitPendingAsync());
        Assert.True(await mc.TryJoinFromWelcomeAsync());
        Assert.Equal(ma.SecurityCode, mc.SecurityCode);
        Assert.Equal(new[] { aCreds.Identity, cCreds.Identity }.Order(StringComparer.Ordinal), mc.Roster);

        // Locked: nobody new knocks. Ended: nothing more for anyone.
        await a.LockAsync(meeting.Id, true);
        var (dCreds, d, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("late"));
        using var _5 = dCreds; using var _6 = d;
        Assert.Equal("meeting-locked", (await Refused(() => d.KnockAsync(meeting.Id))).Error);
        await a.EndAsync(meeting.Id);
        Assert.Equal("meeting-ended", (await Refused(() => c.GroupInfoAsync(meeting.Id))).Error);
        Assert.Equal("meeting-ended", (await Refused(() => mc.UpdateAsync())).Error);
    }

    [Fact]
    public async Task Two_commits_racing_for_one_epoch_end_with_one_winner_and_both_members_in_the_same_epoch()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("ra"));
        var (bCreds, b, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("rb"));
        using var _1 = aCreds; using var _2 = a; using var _3 = bCreds; using var _4 = b;
        var meeting = await a.CreateMeetingAsync("race", [bCreds.Identity]);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        using var mb = new MeetingMember(b, bCreds, meeting.Id, meeting.CipherSuite);
        await mb.PublishKeyPackagesAsync(1);
        await ma.CreateGroupAsync(meeting.GroupId);
        await ma.AddAsync(bCreds.Identity);
        Assert.True(await mb.TryJoinFromWelcomeAsync());
        Assert.Equal(1UL, mb.Epoch);

        // Both stage a commit for epoch 1 before either is sent: exactly one can win epoch 1.
        var sa = ma.Group.StageCommit();
        var sb = mb.Group.StageCommit();
        byte[] Gi(CommitOutput o) => new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = o.GroupInfo }.ToBytes();
        var ta = Submit(a, sa);
        var tb = Submit(b, sb);
        var results = await Task.WhenAll(ta, tb);
        Assert.Single(results, r => r is null);
        var loser = Assert.Single(results, r => r is not null)!;
        Assert.Equal("epoch-conflict", loser.Error);
        Assert.Equal(2, loser.CurrentEpoch);

        var (winner, other) = await ta is null ? (ma, mb) : (mb, ma);
        winner.Group.MergeStagedCommit();
        other.Group.DiscardStagedCommit();
        Assert.Equal(1, await other.SyncAsync());
        Assert.Equal(winner.SecurityCode, other.SecurityCode);

        // The loser's retry goes on top; both end in epoch 3 with one code.
        await other.UpdateAsync();
        await winner.SyncAsync();
        Assert.Equal(3UL, winner.Epoch);
        Assert.Equal(3UL, other.Epoch);
        Assert.Equal(winner.SecurityCode, other.SecurityCode);

        async Task<MeetingServerException?> Submit(MeetingServerClient c, CommitOutput o)
        {
            try
            {
                await c.SubmitCommitAsync(meeting.Id, o.Commit.ToBytes(), Gi(o), null);
                return null;
            }
            catch (MeetingServerException e)
            {
                return e;
            }
        }
    }

    [Fact]
    public async Task Two_members_committing_at_once_both_land_the_loser_on_top_of_the_winner_in_one_epoch()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("ca"));
        var (bCreds, b, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("cb"));
        using var _1 = aCreds; using var _2 = a; using var _3 = bCreds; using var _4 = b;
        var meeting = await a.CreateMeetingAsync("concurrent commits", [bCreds.Identity]);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        using var mb = new MeetingMember(b, bCreds, meeting.Id, meeting.CipherSuite);
        Assert.True(await ma.JoinExternalAsync(createIfMissing: true));
        Assert.False(await mb.JoinExternalAsync(createIfMissing: false));
        await ma.SyncAsync();
        Assert.Equal(1UL, ma.Epoch);
        Assert.Equal(1UL, mb.Epoch);

        // Each member stages its first attempt for epoch 1 and waits for the other's before sending: the two race.
        using var bothStaged = new Barrier(2);
        int attemptsA = 0, attemptsB = 0;
        CommitOutput Stage(MlsGroup g, ref int attempts)
        {
            var o = g.StageCommit();
            if (Interlocked.Increment(ref attempts) == 1)
            {
                Assert.Equal(2UL, o.GroupInfo.GroupContext.Epoch);
                Assert.True(bothStaged.SignalAndWait(TimeSpan.FromMinutes(2)));
            }

            return o;
        }

        var epochs = await Task.WhenAll(
            Task.Run(() => ma.CommitAsync(g => Stage(g, ref attemptsA))),
            Task.Run(() => mb.CommitAsync(g => Stage(g, ref attemptsB))));

        // Exactly one took epoch 1 at the first attempt; the loser was refused, processed the winner's commit and
        // committed again on top (epoch 2). After following each other both are in epoch 3 with one authenticator.
        Assert.Equal([2L, 3L], epochs.Order());
        Assert.Equal([1, 2], new[] { attemptsA, attemptsB }.Order());
        await ma.SyncAsync();
        await mb.SyncAsync();
        Assert.Equal(3UL, ma.Epoch);
        Assert.Equal(3UL, mb.Epoch);
        Assert.Equal(ma.Group.EpochAuthenticator, mb.Group.EpochAuthenticator);
        Assert.Equal(ma.SecurityCode, mb.SecurityCode);
        var commits = (await a.HandshakesAsync(meeting.Id, 1)).Select(h => h.Sender).ToList();
        Assert.Equal([aCreds.Identity, bCreds.Identity], commits.Order(StringComparer.Ordinal));
        await f.Server.WaitForLogAsync("refused EpochConflict");
    }

    [Fact]
    public async Task Malformed_replayed_and_foreign_handshakes_and_key_packages_are_refused_and_change_nothing()
    {
        var (aCreds, a, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("ma"));
        var (bCreds, b, _) = await f.EnrolDeviceAsync(ServerFixture.NewName("mb"));
        using var _1 = aCreds; using var _2 = a; using var _3 = bCreds; using var _4 = b;
        var meeting = await a.CreateMeetingAsync("bad input", [bCreds.Identity]);
        using var ma = new MeetingMember(a, aCreds, meeting.Id, meeting.CipherSuite);
        await ma.CreateGroupAsync(meeting.GroupId);
        var gi = new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = ma.Group.CreateGroupInfo() }.ToBytes();
        Assert.Equal("group-exists", (await Refused(() => a.InitGroupAsync(meeting.Id, gi))).Error);
        Assert.Equal("malformed", (await Refused(() => a.InitGroupAsync(meeting.Id, ma.Group.CreateGroupInfo().ToBytes()))).Error);

        // Malformed bytes.
        Assert.Equal("malformed", (await Refused(() => a.SubmitCommitAsync(meeting.Id, [0, 1, 2, 3], gi, null))).Error);
        Assert.Equal("malformed", (await Refused(() => a.SubmitCommitAsync(meeting.Id, [], gi, null))).Error);

        // A commit of another group.
        using var elsewhere = MlsGroup.Create(aCreds.MlsIdentity(MlsCipherSuite.Get(meeting.CipherSuite)), "another group"u8.ToArray(), new MlsGroupOptions { HandshakeAsPublic = true });
        var foreign = elsewhere.Commit();
        Assert.Equal("malformed", (await Refused(() => a.SubmitCommitAsync(meeting.Id, foreign.Commit.ToBytes(),
            new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = foreign.GroupInfo }.ToBytes(), null))).Error);

        // A commit must be the caller's own, validly signed, and a PublicMessage the server can check.
        var bCommitted = ma.Group.StageCommit();
        byte[] aCommit = bCommitted.Commit.ToBytes(), aGi = new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = bCommitted.GroupInfo }.ToBytes();
        Assert.Contains("not as the caller", (await Refused(() => b.SubmitCommitAsync(meeting.Id, aCommit, aGi, null))).Message, StringComparison.Ordinal);
        var tampered = MlsMessage.Decode(aCommit);
        tampered.PublicMessage!.Auth.Signature[^1] ^= 1;
        Assert.Contains("signature invalid", (await Refused(() => a.SubmitCommitAsync(meeting.Id, tampered.ToBytes(), aGi, null))).Message, StringComparison.Ordinal);
        ma.Group.DiscardStagedCommit();
        using (var privateHandshakes = MlsGroup.Create(aCreds.MlsIdentity(MlsCipherSuite.Get(meeting.CipherSuite)), meeting.GroupId, new MlsGroupOptions { HandshakeAsPublic = false }))
        {
            var priv = privateHandshakes.Commit();
            Assert.Contains("PublicMessage", (await Refused(() => a.SubmitCommitAsync(meeting.Id, priv.Commit.ToBytes(),
                new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = priv.GroupInfo }.ToBytes(), null))).Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, (await a.GroupInfoAsync(meeting.Id)).Epoch);
        Assert.Empty(await a.HandshakesAsync(meeting.Id, 0));

        // An accepted commit, then its replay: a conflict naming the current epoch; nothing stored twice.
        var staged = ma.Group.StageCommit();
        byte[] commit = staged.Commit.ToBytes(), nextGi = new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = staged.GroupInfo }.ToBytes();
        Assert.Equal(1, await a.SubmitCommitAsync(meeting.Id, commit, nextGi, null));
        ma.Group.MergeStagedCommit();
        var replay = await Refused(() => a.SubmitCommitAsync(meeting.Id, commit, nextGi, null));
        Assert.Equal("epoch-conflict", replay.Error);
        Assert.Equal(1, replay.CurrentEpoch);
        await f.Server.WaitForLogAsync("refused EpochConflict");
        Assert.Single(await a.HandshakesAsync(meeting.Id, 0));
        Assert.Equal(1, (await a.GroupInfoAsync(meeting.Id)).Epoch);

        // KeyPackages: a basic credential, another CA's certificate, someone else's identity, and a replay are refused.
        var suite = MlsCipherSuite.Get(meeting.CipherSuite);
        byte[] Kp(MlsIdentity id) => new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = id.CreateKeyPackage().KeyPackage }.ToBytes();
        Assert.Equal("malformed", (await Refused(() => b.UploadKeyPackagesAsync([Kp(MlsIdentity.CreateBasic(suite, bCreds.Identity))], null))).Error);
        Assert.Equal("malformed", (await Refused(() => b.UploadKeyPackagesAsync([Kp(aCreds.MlsIdentity(suite))], null))).Error);
        using var foreignCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var fcReq = new CertificateRequest("CN=Other CA", foreignCaKey, HashAlgorithmName.SHA256);
        fcReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var now = DateTimeOffset.UtcNow; // one clock read: the certificate must not outlast its CA by a second
        using var foreignCa = fcReq.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        using var foreignCert = new CertificateRequest("CN=" + bCreds.Identity, bCreds.Key, HashAlgorithmName.SHA256)
            .Create(foreignCa, now.AddDays(-1), now.AddDays(30), [9, 9, 9]);
        var p = bCreds.Key.ExportParameters(true);
        var foreignId = new MlsIdentity(suite, Credential.X509([foreignCert.RawData]), p.D!, [0x04, .. p.Q.X!, .. p.Q.Y!]);
        Assert.Equal("malformed", (await Refused(() => b.UploadKeyPackagesAsync([Kp(foreignId)], null))).Error);
        Assert.Equal("malformed", (await Refused(() => b.UploadKeyPackagesAsync([[1, 2, 3]], null))).Error);
        byte[] good = Kp(bCreds.MlsIdentity(suite));
        Assert.Equal(1, await b.UploadKeyPackagesAsync([good], null));
        Assert.Equal("duplicate", (await Refused(() => b.UploadKeyPackagesAsync([good], null))).Error);

        // One-use: the KeyPackage is handed out once; with no last-resort one there is none after.
        Assert.Equal(good, await a.ClaimKeyPackageAsync(meeting.Id, bCreds.Identity));
        Assert.Equal("no-key-package", (await Refused(() => a.ClaimKeyPackageAsync(meeting.Id, bCreds.Identity))).Error);
        // A last-resort KeyPackage is handed out again and again.
        byte[] lastResort = Kp(bCreds.MlsIdentity(suite));
        await b.UploadKeyPackagesAsync([], lastResort);
        Assert.Equal(lastResort, await a.ClaimKeyPackageAsync(meeting.Id, bCreds.Identity));
        Assert.Equal(lastResort, await a.ClaimKeyPackageAsync(meeting.Id, bCreds.Identity));
    }
}

public sealed class SqliteMeetingServerTests(SqliteServerFixture f) : MeetingServerScenarios(f), IClassFixture<SqliteServerFixture>;

public sealed class PostgresMeetingServerTests(PostgresServerFixture f) : MeetingServerScenarios(f), IClassFixture<PostgresServerFixture>;
