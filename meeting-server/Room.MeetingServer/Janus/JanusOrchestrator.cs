using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Room.MeetingServer.Identity;

namespace Room.MeetingServer.Janus;

/// <summary>Janus: the SFU of the meetings. Null Url: no Janus (MLS only).</summary>
public sealed class JanusOptions
{
    /// <summary>Janus's WebSocket API as the meeting server reaches it.</summary>
    public Uri? Url { get; set; }

    /// <summary>Janus's WebSocket API as participants reach it (wss:// in production); defaults to Url.</summary>
    public Uri? PublicUrl { get; set; }

    /// <summary>
    /// The CA that issued Janus's TLS certificate, for the meeting server's own connection (PEM file). Null: the
    /// organisation CA (rooms check Janus against the organisation CA only: issue Janus's certificate from it with
    /// <c>room-meeting-server janus-certificate</c>).
    /// </summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>janus.jcfg token_auth_secret: only tokens signed with it open a Janus session.</summary>
    public string? TokenSecret { get; set; }

    /// <summary>janus.plugin.videoroom.jcfg admin_key: only the meeting server creates rooms.</summary>
    public string? AdminKey { get; set; }

    public int Publishers { get; set; } = 16;

    /// <summary>
    /// Janus records every meeting's VideoRoom into RecordDirectory/MEETING-ID (a folder on the Janus host; VideoRoom
    /// "record"/"rec_dir"), for audits of what the media server sees: SFrame ciphertext only. Null: no recording.
    /// </summary>
    public string? RecordDirectory { get; set; }

    public int TokenLifetimeSeconds { get; set; } = 12 * 3600;
}

/// <summary>
/// What a participant needs to join the meeting's VideoRoom, handed out only to those who may join.
/// <see cref="ParticipantId"/>: the publisher id to join under (the server kicks it by this id when the participant
/// is removed or leaves).
/// </summary>
public sealed record JanusAccess(Uri Url, long Room, string Pin, string SessionToken, string RoomToken, long ParticipantId);

/// <summary>
/// One VideoRoom per meeting, created with the admin key, a room secret and a PIN that only this server knows, and an
/// allowed-list of per-participant tokens (VideoRoom "allowed"). Janus itself only opens sessions for HMAC-signed
/// tokens (token_auth_secret) that this server issues: joining Janus without the server is refused.
/// </summary>
public sealed class JanusOrchestrator(IOptions<MeetingServerOptions> options, OrganisationCa ca, TimeProvider time, ILogger<JanusOrchestrator> log) : IDisposable
{
    public void Dispose()
    {
        _gate.Dispose();
        if (_trust.IsValueCreated)
        {
            _trust.Value?.Dispose();
        }
    }

    private readonly Lazy<X509Certificate2?> _trust = new(() => options.Value.Janus.CaCertificateFile is { } file ? X509Certificate2.CreateFromPem(File.ReadAllText(file)) : null);

    /// <summary>What Janus's certificate must chain to: <see cref="JanusOptions.CaCertificateFile"/> or the organisation CA.</summary>
    public X509Certificate2 Trust => _trust.Value ?? ca.Certificate;

    private readonly Dictionary<string, (long Room, string Secret, string Pin)> _rooms = [];
    private readonly Dictionary<(string Meeting, string Identity), List<(string Token, long Participant)>> _tokens = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    private JanusOptions O => options.Value.Janus;

    public bool Configured => O.Url is not null;

    /// <summary>Janus's WebSocket as this server reaches it (wss://), for the browsers' proxy.</summary>
    public Uri? Url => O.Url;

    /// <summary>A Janus core token (token_auth_secret): "expiry,janus,janus.plugin.videoroom:base64(HMAC-SHA1)".</summary>
    public string SessionToken()
    {
        long expiry = time.GetUtcNow().ToUnixTimeSeconds() + O.TokenLifetimeSeconds;
        string data = string.Create(CultureInfo.InvariantCulture, $"{expiry},janus,janus.plugin.videoroom");
#pragma warning disable CA5350 // Janus's signed-token format is HMAC-SHA1; Janus cannot check another MAC
        return data + ":" + Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(O.TokenSecret!), Encoding.UTF8.GetBytes(data)));
#pragma warning restore CA5350
    }

    /// <summary>The meeting's room (made on first use) and a fresh token for this participant on its allowed list.</summary>
    public async Task<JanusAccess> AccessAsync(string meetingId, string identity, CancellationToken ct)
    {
        if (!Configured)
        {
            throw new RefusedException(Refusal.NotFound, "this meeting server has no Janus");
        }

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await using var janus = await JanusConnection.OpenAsync(O.Url!, SessionToken(), Trust, ct).ConfigureAwait(false);
            long handle = await janus.AttachAsync("janus.plugin.videoroom", ct).ConfigureAwait(false);
            if (!_rooms.TryGetValue(meetingId, out var room))
            {
                room = (RandomNumberGenerator.GetInt32(1, int.MaxValue), Secret(), Secret());
                var create = new JsonObject
                {
                    ["request"] = "create",
                    ["room"] = room.Room,
                    ["admin_key"] = O.AdminKey,
                    ["secret"] = room.Secret,
                    ["pin"] = room.Pin,
                    ["description"] = "meeting " + meetingId,
                    ["publishers"] = O.Publishers,
                    ["audiocodec"] = "opus",
                    ["videocodec"] = "vp8",
                    ["allowed"] = new JsonArray(),
                    ["is_private"] = true,
                    // Subscriptions name their publisher's private_id, so kicking a participant stops its subscriptions too.
                    ["require_pvtid"] = true,
                };
                if (O.RecordDirectory is { } records)
                {
                    create["record"] = true;
                    create["rec_dir"] = Path.Combine(records, meetingId);
                }

                await janus.MessageAsync(handle, create, asyncEvent: false, ct).ConfigureAwait(false);
                _rooms[meetingId] = room;
                log.LogInformation("janus room {Room} made for meeting {Meeting}", room.Room, meetingId);
            }

            string roomToken = Secret();
            await janus.MessageAsync(handle, new JsonObject
            {
                ["request"] = "allowed",
                ["room"] = room.Room,
                ["secret"] = room.Secret,
                ["action"] = "add",
                ["allowed"] = new JsonArray(roomToken),
            }, asyncEvent: false, ct).ConfigureAwait(false);
            if (!_tokens.TryGetValue((meetingId, identity), out var mine))
            {
                _tokens[(meetingId, identity)] = mine = [];
            }

            // A publisher id of 52 random bits (JSON numbers stay exact), one per access.
            long participant = (long)(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) & ((1UL << 52) - 1)) | 1;
            mine.Add((roomToken, participant));
            log.LogInformation("janus token for {Identity} in meeting {Meeting}", identity, meetingId);
            return new JanusAccess(O.PublicUrl ?? O.Url!, room.Room, room.Pin, SessionToken(), roomToken, participant);
        }
        catch (JanusException e)
        {
            log.LogError("janus refused the meeting server: {Error}", e.Message);
            throw new RefusedException(Refusal.NotFound, "the meeting's media server is not available");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Takes the identity's tokens off the room's allowed list (it cannot join the room again with them) and kicks the
    /// participants that joined under the ids handed out with them (VideoRoom "kick" with the room secret): their
    /// publisher connection is closed and their subscriptions get no more media.
    /// </summary>
    public Task RevokeAsync(string meetingId, string identity, CancellationToken ct) => WithRoomAsync(meetingId, async (janus, handle, room) =>
    {
        if (_tokens.Remove((meetingId, identity), out var tokens) && tokens.Count > 0)
        {
            await janus.MessageAsync(handle, new JsonObject
            {
                ["request"] = "allowed",
                ["room"] = room.Room,
                ["secret"] = room.Secret,
                ["action"] = "remove",
                ["allowed"] = new JsonArray([.. tokens.Select(t => (JsonNode)t.Token)]),
            }, asyncEvent: false, ct).ConfigureAwait(false);
            log.LogInformation("janus tokens of {Identity} in meeting {Meeting} revoked", identity, meetingId);
            foreach (var (_, participant) in tokens)
            {
                try
                {
                    await janus.MessageAsync(handle, new JsonObject { ["request"] = "kick", ["room"] = room.Room, ["secret"] = room.Secret, ["id"] = participant },
                        asyncEvent: false, ct).ConfigureAwait(false);
                    log.LogInformation("janus participant {Participant} of {Identity} kicked from meeting {Meeting}", participant, identity, meetingId);
                }
                catch (JanusException e) when (e.Code == NoSuchFeed)
                {
                    // That access was never used to join, or the participant has gone already.
                }
            }
        }
    }, ct);

    /// <summary>JANUS_VIDEOROOM_ERROR_NO_SUCH_FEED.</summary>
    private const int NoSuchFeed = 428;

    /// <summary>Destroys the meeting's room: everyone in it is out.</summary>
    public Task DestroyAsync(string meetingId, CancellationToken ct) => WithRoomAsync(meetingId, async (janus, handle, room) =>
    {
        await janus.MessageAsync(handle, new JsonObject { ["request"] = "destroy", ["room"] = room.Room, ["secret"] = room.Secret }, asyncEvent: false, ct).ConfigureAwait(false);
        _rooms.Remove(meetingId);
        foreach (var k in _tokens.Keys.Where(k => k.Meeting == meetingId).ToList())
        {
            _tokens.Remove(k);
        }

        log.LogInformation("janus room {Room} of meeting {Meeting} destroyed", room.Room, meetingId);
    }, ct);

    private async Task WithRoomAsync(string meetingId, Func<JanusConnection, long, (long Room, string Secret, string Pin), Task> work, CancellationToken ct)
    {
        if (!Configured)
        {
            return;
        }

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_rooms.TryGetValue(meetingId, out var room))
            {
                return;
            }

            await using var janus = await JanusConnection.OpenAsync(O.Url!, SessionToken(), Trust, ct).ConfigureAwait(false);
            long handle = await janus.AttachAsync("janus.plugin.videoroom", ct).ConfigureAwait(false);
            await work(janus, handle, room).ConfigureAwait(false);
        }
        catch (JanusException e)
        {
            // The meeting server's own state is already changed; the media server is told as well as it can be.
            log.LogError("janus refused the meeting server for meeting {Meeting}: {Error}", meetingId, e.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string Secret() => OrganisationCa.Base64Url(RandomNumberGenerator.GetBytes(18));
}
