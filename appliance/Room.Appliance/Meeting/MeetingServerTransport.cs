using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Call.E2ee;
using Room.Crypto;
using Room.Crypto.Certificates;
using Room.Crypto.Mls;
using Room.MeetingClient;

namespace Room.Appliance.Meeting;

/// <summary>Settings of meetings through a meeting server (section <c>MeetingServer</c>).</summary>
public sealed class MeetingServerCallOptions
{
    public const string Section = "MeetingServer";

    /// <summary>The box's enrolled identity (key, device certificate, organisation CA), as <c>roomctl enroll</c> writes it.</summary>
    [Required]
    public string IdentityDirectory { get; set; } =
        Environment.GetEnvironmentVariable("ROOM_MEETING_KEY_DIR") is { Length: > 0 } d ? d : "/var/lib/room/meeting-identity";

    /// <summary>How often the box asks the delivery service for new handshakes and the participant list.</summary>
    [Range(50, 60_000)]
    public int PollMilliseconds { get; set; } = 500;
}

/// <summary>
/// A meeting on the organisation's meeting server (<c>meeting://server[:8443]/MEETING-ID</c>): with the box's enrolled
/// device identity (mutual TLS, X.509 MLS credential) it joins the meeting's MLS group by external commit (the
/// meeting's host creates the group when it is the first), asks the server for the meeting's Janus room and this
/// box's own tokens, and runs the Janus call with SFrame keys per sender from the MLS exporter (<see cref="MlsCallKeys"/>).
/// Roster and security code come from the MLS group, not from Janus.
/// </summary>
public sealed class MeetingServerTransport(IOptions<MeetingServerCallOptions> options, TimeProvider time, ILoggerFactory loggers, IceServerSet? iceServers = null, System.Net.IWebProxy? proxy = null,
    IOptions<CallOptions>? call = null) : IMeetingTransport
{
    public async Task<IMeetingSession> ConnectAsync(Uri meeting, string roomName, bool microphoneMuted, CancellationToken cancellationToken)
    {
        var (server, meetingId) = MeetingUri.ParseMeetingServer(meeting);
        var timeline = new JoinTimeline(time);
        var keying = await MlsKeying.JoinAsync(server, meetingId, options.Value, time, loggers.CreateLogger<MlsKeying>(), proxy, cancellationToken).ConfigureAwait(false);
        timeline.Mark(JoinSteps.MlsGroup);
        try
        {
            var access = await keying.JanusAccessAsync(cancellationToken).ConfigureAwait(false);
            var servers = await JanusTransport.ResolveAsync(iceServers, cancellationToken).ConfigureAwait(false);
            return await JanusSession.ConnectAsync(access, keying, roomName, microphoneMuted, JanusTransport.LocalAddresses(), servers, loggers.CreateLogger<JanusSession>(), cancellationToken,
                timeline, call?.Value).ConfigureAwait(false);
        }
        catch
        {
            await keying.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>The MLS side of a meeting-server call: the group, its keys for the media, and the loop that follows the delivery service.</summary>
internal sealed class MlsKeying : ICallKeying, IMeetingLobby
{
    // Whether this room hosts the meeting: as the server's participant list last said (hosts may make it one meanwhile).
    private volatile bool _host;
    private readonly Lock _lobbyGate = new();
    private IReadOnlyList<LobbyEntry> _waiting = [];
    private Dictionary<string, GuestInvitationInfo> _guests = [];
    private readonly DeviceCredentials _credentials;
    private readonly MeetingServerClient _client;
    private readonly MeetingMember _member;
    private readonly MlsCallKeys _keys;
    private readonly Uri _server;
    private readonly TimeProvider _time;
    private readonly TimeSpan _poll;
    private readonly string _identityDirectory;
    private string? _brandingTag;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    private MlsKeying(DeviceCredentials credentials, MeetingServerClient client, MeetingMember member, Uri server, TimeProvider time, TimeSpan poll, string identityDirectory,
        ILogger logger, bool host)
    {
        _identityDirectory = identityDirectory;
        _host = host;
        _credentials = credentials;
        _client = client;
        _member = member;
        _server = server;
        _time = time;
        _poll = poll;
        _logger = logger;
        _keys = new MlsCallKeys(member.Group);
        _keys.Changed += OnKeysChanged;
    }

    public static async Task<MlsKeying> JoinAsync(Uri server, string meetingId, MeetingServerCallOptions options, TimeProvider time, ILogger logger, System.Net.IWebProxy? proxy, CancellationToken ct)
    {
        string dir = options.IdentityDirectory;
        if (!File.Exists(Path.Combine(dir, DeviceCredentials.CertificateFile)) || !File.Exists(Path.Combine(dir, DeviceCredentials.CaFile))
            || !File.Exists(Path.Combine(dir, DeviceCredentials.KeyFile)))
        {
            throw new MeetingFailedException($"This room is not enrolled with a meeting server (no device certificate in {dir}); enrol it with 'roomctl enroll URL CODE'.");
        }

        DeviceCredentials credentials;
        try
        {
            credentials = DeviceCredentials.LoadOrCreate(dir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or MeetingServerException)
        {
            throw new MeetingFailedException($"The room's meeting identity in {dir} cannot be read: {ex.Message}", ex);
        }

        MeetingServerClient? client = null;
        MeetingMember? member = null;
        try
        {
            client = new MeetingServerClient(server, credentials.OrganisationCa!, credentials.TlsCertificate(), proxy);
            string me = credentials.Identity;
            var participants = await client.ParticipantsAsync(meetingId, ct).ConfigureAwait(false);
            bool host = participants.Any(p => p.Identity == me && p.Role == "host");
            ushort suite = 2;
            try
            {
                var (_, gi) = await client.GroupInfoAsync(meetingId, ct).ConfigureAwait(false);
                suite = MlsMessage.Decode(gi).GroupInfo?.GroupContext.CipherSuite ?? suite;
            }
            catch (MeetingServerException e) when (e.Error == "group-missing")
            {
                if (!host)
                {
                    throw new MeetingFailedException($"Meeting {meetingId} has not started yet: its host has not joined.");
                }
            }

            member = new MeetingMember(client, credentials, meetingId, suite);
            bool created = await member.JoinExternalAsync(createIfMissing: host, ct).ConfigureAwait(false);
            logger.LogInformation("{Identity} {How} the MLS group of meeting {Meeting} at {Server}: epoch {Epoch}, {Members} members",
                me, created ? "created" : "joined (external commit)", meetingId, server, member.Epoch, member.Roster.Count);
            var keying = new MlsKeying(credentials, client, member, server, time, TimeSpan.FromMilliseconds(options.PollMilliseconds), dir, logger, host);
            keying._loop = Task.Run(keying.FollowAsync, CancellationToken.None);
            return keying;
        }
        catch (Exception ex) when (ex is not MeetingFailedException and not OperationCanceledException)
        {
            member?.Dispose();
            client?.Dispose();
            credentials.Dispose();
            throw new MeetingFailedException(Explain(ex, meetingId, server), ex);
        }
        catch
        {
            member?.Dispose();
            client?.Dispose();
            credentials.Dispose();
            throw;
        }
    }

    private static string Explain(Exception ex, string meetingId, Uri server) => ex switch
    {
        MeetingServerException { Error: "not-invited" } => $"This room is not invited to meeting {meetingId} (or there is no such meeting) at {server.Authority}.",
        MeetingServerException { Error: "meeting-ended" } => $"Meeting {meetingId} has ended.",
        MeetingServerException { Error: "unauthenticated" } => $"The meeting server at {server.Authority} does not accept this room's certificate (revoked or from another organisation).",
        MeetingServerException { Error: "unreachable" } e => $"The meeting server at {server.Authority} is not reachable or not trusted: {e.Message}",
        MeetingServerException e => $"The meeting server at {server.Authority} refused: {e.Message} ({e.Error})",
        RoomCryptoException e => $"The meeting's MLS group could not be joined: {e.Message}",
        _ => $"Joining meeting {meetingId} at {server.Authority} failed: {ex.Message}",
    };

    public async Task<JanusRoomAccess> JanusAccessAsync(CancellationToken ct)
    {
        JanusAccess a;
        try
        {
            a = await _client.JanusAsync(_member.MeetingId, ct).ConfigureAwait(false);
        }
        catch (MeetingServerException e)
        {
            throw new MeetingFailedException(Explain(e, _member.MeetingId, _server), e);
        }

        return new JanusRoomAccess(a.Url, a.Room, a.SessionToken, a.Pin, a.RoomToken, a.ParticipantId, _credentials.OrganisationCa);
    }

    public event EventHandler? Changed;

    public event EventHandler<CallEnd>? Ended;

    /// <summary>The group as the call sees it (tests).</summary>
    public MlsCallKeys Keys => _keys;

    public SFrameEncryptor CreateEncryptor(FrameKind kind, uint stream) => new(kind, _keys, stream);

    public ISFrameKeySource ReceiveKeys => _keys;

    public string SecurityCode => _keys.SecurityCode;

    public string Encryption =>
        $"SFrame AES-128-GCM (RFC 9605) per frame, VP8 payload header in clear; keys per sender from the MLS exporter of meeting {_member.MeetingId} " +
        $"at {_server.Authority} (members' X.509 credentials from the organisation CA), new keys on every join and leave";

    public bool EndToEnd => true;

    /// <summary>The current epoch, for the media report.</summary>
    public string? KeyState => $"MLS epoch {_keys.Epoch}, {_keys.Members.Count} members";

    public IReadOnlyList<MeetingParticipant>? Others
    {
        get
        {
            uint me = _keys.MyLeaf;
            return [.. _keys.Members.Where(m => m.Leaf != me).Select(Participant)];
        }
    }

    /// <summary>
    /// A member as the roster shows it, from its certificate (Room.Crypto's MemberCertificate): "device:boardroom" as the
    /// room "boardroom", "person:alice" as the person "alice", a guest by the name its certificate carries and the host
    /// who invited it.
    /// </summary>
    internal static MeetingParticipant Participant(MlsCallMember m) => m.Member is { } who
        ? new MeetingParticipant(m.Identity, who.Name, false, who.Kind switch
        {
            MemberKind.Room => "room",
            MemberKind.Person => "person",
            MemberKind.Guest => "guest",
            _ => "",
        }, who.InvitedByName ?? "")
        : new MeetingParticipant(m.Identity, MemberCertificate.NameOf(m.Identity), false);

    private void OnKeysChanged(object? sender, EventArgs e)
    {
        _logger.LogInformation("Meeting {Meeting}: epoch {Epoch}, members {Members}, security code {Code}",
            _member.MeetingId, _keys.Epoch, string.Join(", ", _keys.Members.Select(m => m.Identity)), _keys.SecurityCode);
        Changed?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>
    /// Follows the delivery service: processes new commits in the server's order (each one a rekey), and commits the
    /// proposals the server made as the group's external sender (the removal of a member a host removed, of one that
    /// left, of a revoked device); when several members commit them at once, one wins and the others follow it.
    /// </summary>
    private async Task FollowAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _member.SyncAsync(ct).ConfigureAwait(false);
                if (_keys.CheckRemoved())
                {
                    _logger.LogWarning("Removed from the MLS group of meeting {Meeting}", _member.MeetingId);
                    Ended?.Invoke(this, new CallEnd("This room was removed from the meeting.", CanRejoin: false));
                    return;
                }

                if (await _member.CommitPendingAsync(ct).ConfigureAwait(false))
                {
                    _logger.LogInformation("Meeting {Meeting}: committed the server's proposals (epoch {Epoch})", _member.MeetingId, _member.Epoch);
                }

                await RefreshLobbyAsync(ct).ConfigureAwait(false);
                await RefreshBrandingAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (MeetingServerException e) when (e.Error is "not-invited" or "meeting-ended")
            {
                Ended?.Invoke(this, new CallEnd(Explain(e, _member.MeetingId, _server), CanRejoin: false));
                return;
            }
            catch (MeetingServerException e)
            {
                _logger.LogWarning("Meeting server: {Message} ({Error}); trying again", e.Message, e.Error);
            }
            catch (Exception e) when (e is OperationCanceledException or System.Text.Json.JsonException or HttpRequestException or IOException)
            {
                // A request that timed out or an answer that does not parse: nothing was applied; ask again.
                _logger.LogWarning("Meeting server: {Message}; trying again", e.Message);
            }
            catch (RoomCryptoException e)
            {
                // A commit this member cannot process: its group state is of no further use; rejoining starts fresh.
                _logger.LogError("Meeting {Meeting}: a handshake could not be processed: {Message}", _member.MeetingId, e.Message);
                Ended?.Invoke(this, new CallEnd($"The meeting's keys could not be followed ({e.Message}).", CanRejoin: true));
                return;
            }

            try
            {
                await Task.Delay(_poll, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The tenant's branding kept beside the key (for the panel: TenantBrandingSource announces the files) is fetched
    /// again when the server's answers name another one than last seen: a change reaches the room without enrolling again.
    /// </summary>
    private async Task RefreshBrandingAsync(CancellationToken ct)
    {
        string? tag = _client.BrandingTag;
        if (tag is null || tag == _brandingTag)
        {
            return;
        }

        // Once per tag: a branding that cannot be fetched or kept is not asked for again until it changes.
        _brandingTag = tag;
        try
        {
            if (await TenantBranding.RefreshAsync(_client, _identityDirectory, ct).ConfigureAwait(false))
            {
                _logger.LogInformation("The tenant's branding changed ({Tag}): kept again in {Directory}", tag, _identityDirectory);
            }
        }
        catch (Exception e) when (e is MeetingServerException or HttpRequestException or System.Text.Json.JsonException or IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("The tenant's new branding was not kept: {Message}", e.Message);
        }
    }

    public bool IsHost => _host;

    public IReadOnlyList<LobbyEntry> Waiting
    {
        get
        {
            lock (_lobbyGate) return _waiting;
        }
    }

    public event EventHandler? LobbyChanged;

    /// <summary>
    /// Whether this room hosts the meeting, and who waits in the lobby (participants in state "waiting") if it does:
    /// guests by the name and host of their invitation (asked again only when a guest appears that is not known yet),
    /// others by their identity's kind and name. Host rights given or taken during the meeting (a host invites the room
    /// again, as host or not) show at the next poll, without rejoining.
    /// </summary>
    private async Task RefreshLobbyAsync(CancellationToken ct)
    {
        var participants = await _client.ParticipantsAsync(_member.MeetingId, ct).ConfigureAwait(false);
        bool host = participants.Any(p => p.Identity == _credentials.Identity && p.Role == "host");
        if (host != _host)
        {
            _host = host;
            _logger.LogInformation("Meeting {Meeting}: this room is {Role}", _member.MeetingId, host ? "now a host (it sees the lobby)" : "no longer a host");
        }

        var waiting = participants.Where(p => host && p.State == "waiting").Select(p => p.Identity).Order(StringComparer.Ordinal).ToList();
        if (waiting.Any(id => MemberCertificate.KindOf(id) == MemberKind.Guest && !_guests.ContainsKey(id)))
        {
            _guests = (await _client.GuestInvitationsAsync(_member.MeetingId, ct).ConfigureAwait(false)).ToDictionary(g => g.Identity, StringComparer.Ordinal);
        }

        List<LobbyEntry> entries = [.. waiting.Select(id => _guests.TryGetValue(id, out var g)
            ? new LobbyEntry(id, g.Name, "guest", MemberCertificate.NameOf(g.InvitedBy))
            : new LobbyEntry(id, MemberCertificate.NameOf(id), MemberCertificate.KindOf(id) switch
            {
                MemberKind.Room => "room",
                MemberKind.Person => "person",
                MemberKind.Guest => "guest",
                _ => "",
            }, ""))];
        lock (_lobbyGate)
        {
            if (entries.SequenceEqual(_waiting))
            {
                return;
            }

            _waiting = entries;
        }

        _logger.LogInformation("Meeting {Meeting}: lobby {Waiting}", _member.MeetingId, string.Join(", ", entries.Select(e => e.Id)));
        LobbyChanged?.Invoke(this, EventArgs.Empty);
    }

    public Task AdmitAsync(string id, CancellationToken cancellationToken) => DecideAsync(id, admit: true, cancellationToken);

    public Task DenyAsync(string id, CancellationToken cancellationToken) => DecideAsync(id, admit: false, cancellationToken);

    private async Task DecideAsync(string id, bool admit, CancellationToken ct)
    {
        if (!_host)
        {
            throw new LobbyRefusedException(LobbyRefusal.NoLobby, "This room is not a host of the meeting: only hosts admit from the lobby.");
        }

        if (!Waiting.Any(e => e.Id == id))
        {
            throw new LobbyRefusedException(LobbyRefusal.NotWaiting, $"'{id}' is not waiting in the lobby.");
        }

        try
        {
            if (admit)
            {
                await _client.AdmitAsync(_member.MeetingId, id, ct).ConfigureAwait(false);
            }
            else if (_guests.TryGetValue(id, out var invitation))
            {
                // A guest's one-time invitation is revoked: it cannot come back with it.
                await _client.RevokeGuestAsync(_member.MeetingId, invitation.Id, ct).ConfigureAwait(false);
            }
            else
            {
                await _client.RemoveAsync(_member.MeetingId, id, ct).ConfigureAwait(false);
            }
        }
        catch (MeetingServerException e) when (e.Error == "not-found")
        {
            throw new LobbyRefusedException(LobbyRefusal.NotWaiting, $"'{id}' is no longer waiting in the lobby ({e.Message}).");
        }
        catch (Exception e) when (e is MeetingServerException or HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            throw new LobbyRefusedException(LobbyRefusal.ServerRefused, $"The meeting server did not take it: {e.Message}");
        }

        _logger.LogInformation("Meeting {Meeting}: {Decision} {Identity} from the lobby", _member.MeetingId, admit ? "admitted" : "denied", id);
        try
        {
            await RefreshLobbyAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MeetingServerException or HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            // Done all the same; the follow loop asks again.
            _logger.LogWarning("Meeting {Meeting}: the lobby could not be read again: {Message}", _member.MeetingId, e.Message);
        }
    }

    /// <summary>
    /// Leaves the meeting: stops following the group, then tells the server, which proposes this box's removal as the
    /// group's external sender (a remaining member commits it, so the others get new keys and a new security code).
    /// </summary>
    public async Task LeaveAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_member.Group.Removed)
        {
            return;
        }

        try
        {
            int proposed = await _member.LeaveAsync(cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("Meeting {Meeting}: left; the server proposed the removal of {Count} leaves", _member.MeetingId, proposed);
        }
        catch (Exception e) when (e is MeetingServerException or HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            // The call ends anyway; the others keep this leaf until a host removes it.
            _logger.LogWarning("Meeting {Meeting}: the server was not told of the leave: {Message}", _member.MeetingId, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _keys.Changed -= OnKeysChanged;
        _keys.Dispose();
        _member.Dispose();
        _client.Dispose();
        _credentials.Dispose();
        _stop.Dispose();
    }
}
