using System.Net.WebSockets;
using Room.Bus;
using Room.Bus.Client;
using Room.MeetingClient;
using Room.MeetingServer.Janus;
using Room.MeetingServer.Tests.Support;
using Room.Testing;

namespace Room.MeetingServer.Tests;

/// <summary>
/// Janus's WebSocket over TLS (issue 13: "roomd talks wss:// and checks the certificate"): a Janus whose certificate
/// comes from another CA than the organisation's is refused by the meeting server's own connection and by roomd, with
/// the reason in words; the browsers' relay (/janus) refuses another site's pages. Real Janus, server and roomd.
/// (RoomdMeetingCallTests and WebClientTests show rooms and browsers in calls over wss:// with the right certificate.)
/// </summary>
[Collection("roomd-call")]
public sealed class JanusTlsTests : IAsyncLifetime
{
    private string _otherCa = null!;
    private JanusInstance _foreignJanus = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        // A Janus whose certificate another organisation's CA issued (its own data directory, never a server's here).
        _otherCa = MeetingServerProcess.NewDataDirectory();
        _foreignJanus = await JanusInstance.StartAsync(_otherCa);
    }

    public async Task DisposeAsync()
    {
        foreach (var o in Enumerable.Reverse(_owned))
        {
            await o.DisposeAsync();
        }

        await _foreignJanus.DisposeAsync();
        Directory.Delete(_otherCa, true);
    }

    private async Task<(MeetingServerProcess Server, MeetingServerClient Admin)> ServerAsync(params string[] extra)
    {
        var server = await MeetingServerProcess.StartAsync(janus: _foreignJanus, extraConfig: extra);
        _owned.Add(server);
        await server.AddUserAsync("admin", ServerFixture.AdminPassword, admin: true);
        return (server, await server.SignInAsync("admin", ServerFixture.AdminPassword));
    }

    [Fact]
    public async Task The_meeting_server_refuses_a_Janus_whose_certificate_is_not_from_the_organisation_CA_and_says_why()
    {
        var (server, admin) = await ServerAsync();
        using var adminClient = admin;
        var creds = DeviceCredentials.CreateEphemeral();
        using var disposeCreds = creds;
        await MeetingServerClient.EnrolAsync(server.Url, await admin.CreateEnrolmentCodeAsync("tls-host"), creds);
        using var client = new MeetingServerClient(server.Url, creds.OrganisationCa!, creds.TlsCertificate());
        var meeting = await client.CreateMeetingAsync("tls", []);

        var refused = await Assert.ThrowsAsync<MeetingServerException>(() => client.JanusAsync(meeting.Id));
        Assert.Contains("media server is not available", refused.Message, StringComparison.Ordinal);
        string line = await server.WaitForLogAsync("is not trusted");
        Assert.Contains("not from the organisation CA", line, StringComparison.Ordinal);

        // Directly too: the server's connection class refuses it against the organisation CA, and takes it with the right CA.
        var e = await Assert.ThrowsAsync<JanusException>(() => JanusConnection.OpenAsync(_foreignJanus.Url, null, server.Ca, CancellationToken.None));
        Assert.Contains("not trusted", e.Message, StringComparison.Ordinal);
        using var otherCa = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_otherCa, "ca.pem")));
        var noToken = await Assert.ThrowsAsync<JanusException>(() => JanusConnection.OpenAsync(_foreignJanus.Url, null, otherCa, CancellationToken.None));
        Assert.Equal(403, noToken.Code); // TLS accepted: Janus itself answers (no token, no session)
    }

    [Fact]
    public async Task A_room_refuses_a_Janus_whose_certificate_is_not_from_its_organisation_CA_and_shows_why_on_D_Bus()
    {
        // The server is told to trust the foreign CA for its own connection, so it hands the Janus out; the room does not.
        var (server, admin) = await ServerAsync($"--MeetingServer:Janus:CaCertificateFile={Path.Combine(_otherCa, "ca.pem")}");
        using var adminClient = admin;
        string keyDir = Repo.TempDir("room-ms-box");
        try
        {
            using (var creds = DeviceCredentials.LoadOrCreate(keyDir))
            {
                await MeetingServerClient.EnrolAsync(server.Url, await admin.CreateEnrolmentCodeAsync("tls-room"), creds);
                creds.Save(keyDir);
                using var client = new MeetingServerClient(server.Url, creds.OrganisationCa!, creds.TlsCertificate());
                var meeting = await client.CreateMeetingAsync("tls", []);
                Assert.Equal("wss", (await client.JanusAsync(meeting.Id)).Url.Scheme);

                using var bus = new PrivateBus();
                await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
                    "--Room:Name", "TLS room", "--MeetingServer:IdentityDirectory", keyDir, "--MeetingServer:PollMilliseconds", "200");
                using var bc = await RoomBusClient.ConnectAsync(bus.Address);
                await bc.JoinAsync($"meeting://127.0.0.1:{server.Url.Port}/{meeting.Id}");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
                MeetingStatus m;
                while ((m = (await bc.GetStatusAsync()).Meeting).State is not (MeetingStates.Error or MeetingStates.InCall))
                {
                    Assert.False(timeout.IsCancellationRequested, "no end of the join\n" + roomd.Log);
                    await Task.Delay(100);
                }

                Assert.True(m.State == MeetingStates.Error, $"{m.State}\n{roomd.Log}");
                Assert.Contains("media server (Janus) at 127.0.0.1:", m.LastError, StringComparison.Ordinal);
                Assert.Contains("is not trusted", m.LastError, StringComparison.Ordinal);
                Assert.Contains("not from the organisation CA", m.LastError, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(keyDir, true);
        }
    }

    [Fact]
    public async Task The_browsers_Janus_relay_refuses_another_sites_page_and_plain_requests()
    {
        var (server, admin) = await ServerAsync($"--MeetingServer:Janus:CaCertificateFile={Path.Combine(_otherCa, "ca.pem")}");
        using var adminClient = admin;
        var wsUrl = new Uri($"wss://127.0.0.1:{server.Url.Port}/janus");
        using (var foreign = new ClientWebSocket())
        {
            foreign.Options.AddSubProtocol("janus-protocol");
            foreign.Options.SetRequestHeader("Origin", "https://evil.example");
            foreign.Options.RemoteCertificateValidationCallback = Room.Crypto.Certificates.ServerCertificateTrust.Callback(server.Ca, _ => { });
            var e = await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(wsUrl, CancellationToken.None));
            Assert.Contains("403", e.Message, StringComparison.Ordinal);
        }

        // The server's own origin is relayed to Janus: Janus answers "create" without a token with its own refusal.
        using var same = new ClientWebSocket();
        same.Options.AddSubProtocol("janus-protocol");
        same.Options.SetRequestHeader("Origin", $"https://127.0.0.1:{server.Url.Port}");
        same.Options.RemoteCertificateValidationCallback = Room.Crypto.Certificates.ServerCertificateTrust.Callback(server.Ca, _ => { });
        await same.ConnectAsync(wsUrl, CancellationToken.None);
        await same.SendAsync("{\"janus\":\"create\",\"transaction\":\"t1\"}"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[4096];
        var r = await same.ReceiveAsync(buffer, CancellationToken.None);
        string answer = System.Text.Encoding.UTF8.GetString(buffer, 0, r.Count);
        Assert.Contains("\"t1\"", answer, StringComparison.Ordinal);
        Assert.Contains("403", answer, StringComparison.Ordinal);

        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, errs) => Room.Crypto.Certificates.ServerCertificateTrust.Check(c, server.Ca, errs) is null });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.GetAsync(new Uri($"https://127.0.0.1:{server.Url.Port}/janus"))).StatusCode);
    }
}
