using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Room.MeetingClient;

public sealed record Participant(string Identity, string Role, string State);
public sealed record Handshake(long Epoch, string Sender, byte[] Message);
public sealed record WelcomeMessage(long Epoch, byte[] Welcome);
public sealed record GuestInvitationInfo(string Id, string Identity, string Name, string InvitedBy, long ExpiresAt, string State, string? Link);
public sealed record GuestSessionInfo(string Identity, string Token, string MeetingId, string Title, string Name, string InvitedBy, long ExpiresAt);
public sealed record CreatedMeeting(string Id, byte[] GroupId, ushort CipherSuite);

/// <summary>
/// The meeting's Janus VideoRoom: only members get it; the tokens are this participant's own, and
/// <see cref="ParticipantId"/> the publisher id to join under (the server kicks that id when the participant goes).
/// </summary>
public sealed record JanusAccess(Uri Url, long Room, string Pin, string SessionToken, string RoomToken, long ParticipantId);

/// <summary>
/// The meeting server's API over HTTPS. The server's certificate must chain to the organisation CA (pinned at
/// enrolment); a device authenticates with its certificate (mutual TLS), a person with a token from sign-in.
/// </summary>
public sealed class MeetingServerClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private string? _token;

    /// <param name="proxy">An HTTP(S) proxy to reach the server through (the room's proxy setting); null: the environment's.</param>
    public MeetingServerClient(Uri server, X509Certificate2 organisationCa, X509Certificate2? clientCertificate = null, System.Net.IWebProxy? proxy = null)
    {
        var handler = new SocketsHttpHandler
        {
            Proxy = proxy,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, errors) => cert is X509Certificate2 c && ChainsTo(c, organisationCa, errors),
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            },
        };
        _http = new HttpClient(handler) { BaseAddress = server, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The server certificate is valid for the host name and chains to the CA (and only to it).</summary>
    public static bool ChainsTo(X509Certificate2 serverCert, X509Certificate2 ca, SslPolicyErrors errors)
    {
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(serverCert);
    }

    /// <summary>The header with the entity tag of the tenant's current branding, on every answer to a room.</summary>
    public const string BrandingHeader = "Room-Branding";

    /// <summary>The tenant's current branding tag as the last answer that carried one said (<see cref="TenantBranding.Tag"/>); null before.</summary>
    public string? BrandingTag { get; private set; }

    public string? Token
    {
        get => _token;
        set
        {
            _token = value;
            _http.DefaultRequestHeaders.Authorization = value is null ? null : new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", value);
        }
    }

    /// <summary>
    /// Enrols this box: the code's pin must match the CA the server shows (SHA-256 of its certificate), then the key's
    /// certificate request is sent with the code. The credentials hold the device certificate afterwards.
    /// </summary>
    public static async Task<string> EnrolAsync(Uri server, string code, DeviceCredentials credentials, CancellationToken ct = default)
    {
        int dot = code.LastIndexOf('.');
        if (dot <= 0)
        {
            throw new MeetingServerException("malformed", "an enrolment code looks like SECRET.PIN", 0, null);
        }

        string pin = code[(dot + 1)..];
        // First look: take the CA the server presents, check it against the pin, and only then trust it.
        X509Certificate2? presented = null;
        using (var probe = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
#pragma warning disable CA5359 // nothing is trusted from this look but the CA's bytes, checked against the code's pin below
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    presented = cert is null ? null : X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
                    return true;
                },
#pragma warning restore CA5359
            },
        })
        { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) })
        {
            string pem = await probe.GetStringAsync(new Uri("api/ca", UriKind.Relative), ct).ConfigureAwait(false);
            using var ca = X509Certificate2.CreateFromPem(pem);
            string actual = Convert.ToBase64String(SHA256.HashData(ca.RawData)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(actual), System.Text.Encoding.ASCII.GetBytes(pin)))
            {
                throw new MeetingServerException("ca-pin-mismatch", "the server's CA is not the one the enrolment code names: not enrolled", 0, null);
            }

            using (presented)
            {
                if (presented is null || !ChainsTo(presented, ca, SslPolicyErrors.None))
                {
                    throw new MeetingServerException("ca-pin-mismatch", "the server's TLS certificate is not from the pinned CA: not enrolled", 0, null);
                }
            }

            using var client = new MeetingServerClient(server, ca);
            var r = await client.SendAsync<EnrolResponse>(HttpMethod.Post, "api/enrol", new { code, csr = credentials.CreateSigningRequest() }, ct).ConfigureAwait(false);
            if (!r.CaCertificate.AsSpan().SequenceEqual(ca.RawData))
            {
                throw new MeetingServerException("ca-pin-mismatch", "the certificate came with another CA", 0, null);
            }

            credentials.SetCertificate(r.Certificate, r.CaCertificate);
            return r.Identity;
        }
    }

    private sealed record EnrolResponse(string Identity, byte[] Certificate, byte[] CaCertificate);
    private sealed record LoginResponse(string Identity, string Token);
    private sealed record CodeResponse(string Code);
    private sealed record CertResponse(byte[] Certificate, byte[] CaCertificate);
    private sealed record StoredResponse(int Stored);
    private sealed record KpResponse(byte[] KeyPackage);
    private sealed record GiResponse(long Epoch, byte[] GroupInfo);
    private sealed record EpochResponse(long Epoch);
    private sealed record LobbyResponse(string State);
    private sealed record ExternalSenderResponse(byte[] ExternalSender);
    private sealed record LeaveResponse(int Proposed);
    private sealed record ErrorBody(string? Error, string? Message, long? CurrentEpoch);

    public async Task<string> LoginAsync(string name, string password, CancellationToken ct = default)
    {
        var r = await SendAsync<LoginResponse>(HttpMethod.Post, "api/login", new { name, password }, ct).ConfigureAwait(false);
        Token = r.Token;
        return r.Identity;
    }

    public async Task<string> CreateEnrolmentCodeAsync(string device, CancellationToken ct = default) =>
        (await SendAsync<CodeResponse>(HttpMethod.Post, "api/admin/enrolment-codes", new { device }, ct).ConfigureAwait(false)).Code;

    public Task RevokeDeviceAsync(string device, CancellationToken ct = default) => SendAsync(HttpMethod.Post, $"api/admin/devices/{Uri.EscapeDataString(device)}/revoke", null, ct);

    /// <summary>A signed-in person's certificate for the credentials' key.</summary>
    public async Task RequestPersonCertificateAsync(DeviceCredentials credentials, CancellationToken ct = default)
    {
        var r = await SendAsync<CertResponse>(HttpMethod.Post, "api/person/certificate", new { csr = credentials.CreateSigningRequest() }, ct).ConfigureAwait(false);
        credentials.SetCertificate(r.Certificate, r.CaCertificate);
    }

    /// <summary>A host invites a guest by name; the answer's link carries the one-time token.</summary>
    public Task<GuestInvitationInfo> InviteGuestAsync(string meeting, string name, CancellationToken ct = default) =>
        SendAsync<GuestInvitationInfo>(HttpMethod.Post, $"api/meetings/{meeting}/guests", new { name }, ct);

    public Task<List<GuestInvitationInfo>> GuestInvitationsAsync(string meeting, CancellationToken ct = default) =>
        SendAsync<List<GuestInvitationInfo>>(HttpMethod.Get, $"api/meetings/{meeting}/guests", null, ct);

    public Task RevokeGuestAsync(string meeting, string invitationId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"api/meetings/{meeting}/guests/{invitationId}/revoke", null, ct);

    /// <summary>A guest spends its invitation token; this client then acts as the guest (its session token).</summary>
    public async Task<GuestSessionInfo> RedeemGuestInvitationAsync(string token, CancellationToken ct = default)
    {
        var r = await SendAsync<GuestSessionInfo>(HttpMethod.Post, "api/guest/redeem", new { token }, ct).ConfigureAwait(false);
        Token = r.Token;
        return r;
    }

    private sealed record GuestCertResponse(byte[] Certificate, byte[] GuestCaCertificate, byte[] CaCertificate);

    /// <summary>An admitted guest's certificate from the guest CA; its MLS credential is [certificate, guest CA].</summary>
    public async Task RequestGuestCertificateAsync(DeviceCredentials credentials, CancellationToken ct = default)
    {
        var r = await SendAsync<GuestCertResponse>(HttpMethod.Post, "api/guest/certificate", new { csr = credentials.CreateSigningRequest() }, ct).ConfigureAwait(false);
        credentials.SetCertificate(r.Certificate, r.CaCertificate, r.GuestCaCertificate);
    }

    public Task<CreatedMeeting> CreateMeetingAsync(string title, IEnumerable<string> invite, CancellationToken ct = default) =>
        SendAsync<CreatedMeeting>(HttpMethod.Post, "api/meetings", new { title, invite = invite.ToList() }, ct);

    public Task InviteAsync(string meeting, string identity, bool host = false, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"api/meetings/{meeting}/invitations", new { identity, host }, ct);

    public async Task<string> KnockAsync(string meeting, CancellationToken ct = default) =>
        (await SendAsync<LobbyResponse>(HttpMethod.Post, $"api/meetings/{meeting}/lobby", null, ct).ConfigureAwait(false)).State;

    public Task AdmitAsync(string meeting, string identity, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"api/meetings/{meeting}/lobby/{Uri.EscapeDataString(identity)}/admit", null, ct);

    public Task RemoveAsync(string meeting, string identity, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"api/meetings/{meeting}/participants/{Uri.EscapeDataString(identity)}/remove", null, ct);

    /// <summary>Tells the server this identity leaves the meeting's group: the server proposes the removal of its leaves.</summary>
    public async Task<int> LeaveAsync(string meeting, CancellationToken ct = default) =>
        (await SendAsync<LeaveResponse>(HttpMethod.Post, $"api/meetings/{meeting}/leave", null, ct).ConfigureAwait(false)).Proposed;

    /// <summary>The server's MLS external sender (RFC 9420 ExternalSender: signature key and credential), as encoded.</summary>
    public async Task<byte[]> ExternalSenderAsync(CancellationToken ct = default) =>
        (await SendAsync<ExternalSenderResponse>(HttpMethod.Get, "api/mls/external-sender", null, ct).ConfigureAwait(false)).ExternalSender;

    public Task LockAsync(string meeting, bool locked, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, $"api/meetings/{meeting}/{(locked ? "lock" : "unlock")}", null, ct);

    public Task EndAsync(string meeting, CancellationToken ct = default) => SendAsync(HttpMethod.Post, $"api/meetings/{meeting}/end", null, ct);

    public Task<List<Participant>> ParticipantsAsync(string meeting, CancellationToken ct = default) =>
        SendAsync<List<Participant>>(HttpMethod.Get, $"api/meetings/{meeting}/participants", null, ct);

    public async Task<int> UploadKeyPackagesAsync(IEnumerable<byte[]> keyPackages, byte[]? lastResort, CancellationToken ct = default) =>
        (await SendAsync<StoredResponse>(HttpMethod.Post, "api/key-packages", new { keyPackages = keyPackages.ToList(), lastResort }, ct).ConfigureAwait(false)).Stored;

    public async Task<byte[]> ClaimKeyPackageAsync(string meeting, string identity, CancellationToken ct = default) =>
        (await SendAsync<KpResponse>(HttpMethod.Post, $"api/meetings/{meeting}/key-packages/claim", new { identity }, ct).ConfigureAwait(false)).KeyPackage;

    public Task InitGroupAsync(string meeting, byte[] groupInfo, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Put, $"api/meetings/{meeting}/group", new { groupInfo }, ct);

    public async Task<(long Epoch, byte[] GroupInfo)> GroupInfoAsync(string meeting, CancellationToken ct = default)
    {
        var r = await SendAsync<GiResponse>(HttpMethod.Get, $"api/meetings/{meeting}/group-info", null, ct).ConfigureAwait(false);
        return (r.Epoch, r.GroupInfo);
    }

    public async Task<long> SubmitCommitAsync(string meeting, byte[] commit, byte[] groupInfo, byte[]? welcome, CancellationToken ct = default) =>
        (await SendAsync<EpochResponse>(HttpMethod.Post, $"api/meetings/{meeting}/commits", new { commit, groupInfo, welcome }, ct).ConfigureAwait(false)).Epoch;

    public Task<List<Handshake>> HandshakesAsync(string meeting, long from, CancellationToken ct = default) =>
        SendAsync<List<Handshake>>(HttpMethod.Get, $"api/meetings/{meeting}/handshakes?from={from}", null, ct);

    public Task<JanusAccess> JanusAsync(string meeting, CancellationToken ct = default) =>
        SendAsync<JanusAccess>(HttpMethod.Get, $"api/meetings/{meeting}/janus", null, ct);

    public Task<List<WelcomeMessage>> WelcomesAsync(string meeting, CancellationToken ct = default) =>
        SendAsync<List<WelcomeMessage>>(HttpMethod.Get, $"api/meetings/{meeting}/welcomes", null, ct);

    /// <summary>A binary answer of at most <paramref name="max"/> bytes (a larger one is refused as malformed).</summary>
    public async Task<byte[]> GetBytesAsync(string path, int max, CancellationToken ct = default)
    {
        using var resp = await SendRawAsync(HttpMethod.Get, path, null, ct).ConfigureAwait(false);
        if (resp.Content.Headers.ContentLength > max)
        {
            throw new MeetingServerException("malformed", $"answer larger than {max} bytes", (int)resp.StatusCode, null);
        }

        await using var s = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var ms = new MemoryStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = await s.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > max)
            {
                throw new MeetingServerException("malformed", $"answer larger than {max} bytes", (int)resp.StatusCode, null);
            }

            ms.Write(buf, 0, n);
        }

        return ms.ToArray();
    }

    /// <summary>A raw request (tests of malformed input use it); refusals throw <see cref="MeetingServerException"/>.</summary>
    public async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct = default)
    {
        using var resp = await SendRawAsync(method, path, body, ct).ConfigureAwait(false);
        return await resp.Content.ReadFromJsonAsync<T>(Json, ct).ConfigureAwait(false) ?? throw new MeetingServerException("malformed", "empty answer", (int)resp.StatusCode, null);
    }

    public async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct = default)
    {
        using var resp = await SendRawAsync(method, path, body, ct).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is HttpContent content)
        {
            req.Content = content;
        }
        else if (body is not null)
        {
            req.Content = JsonContent.Create(body, options: Json);
        }

        HttpResponseMessage resp;
        try
        {
            resp = await _http.SendAsync(req, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new MeetingServerException("unreachable", "meeting server unreachable or not trusted: " + e.Message, 0, null, e);
        }

        if (resp.Headers.TryGetValues(BrandingHeader, out var tags))
        {
            BrandingTag = tags.FirstOrDefault();
        }

        if (!resp.IsSuccessStatusCode)
        {
            ErrorBody? err = null;
            try
            {
                err = await resp.Content.ReadFromJsonAsync<ErrorBody>(Json, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
            }

            int status = (int)resp.StatusCode;
            resp.Dispose();
            throw new MeetingServerException(err?.Error ?? "http-" + status, err?.Message ?? "refused with HTTP " + status, status, err?.CurrentEpoch);
        }

        return resp;
    }

    public void Dispose() => _http.Dispose();
}
