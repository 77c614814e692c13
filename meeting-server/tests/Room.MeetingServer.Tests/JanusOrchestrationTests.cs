using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Room.MeetingClient;
using Room.MeetingServer.Janus;
using Room.MeetingServer.Tests.Support;

namespace Room.MeetingServer.Tests;

/// <summary>The meeting server and Debian's Janus as real processes: a VideoRoom per meeting, joined only with the server's tokens.</summary>
public sealed class JanusOrchestrationTests : IAsyncLifetime
{
    private JanusInstance _janus = null!;
    private MeetingServerProcess _server = null!;
    private MeetingServerClient _admin = null!;
    private readonly List<IDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        string data = MeetingServerProcess.NewDataDirectory();
        _janus = await JanusInstance.StartAsync(data);
        _server = await MeetingServerProcess.StartAsync(janus: _janus, dataDirectory: data);
        await _server.AddUserAsync("admin", ServerFixture.AdminPassword, admin: true);
        _admin = await _server.SignInAsync("admin", ServerFixture.AdminPassword);
    }

    public async Task DisposeAsync()
    {
        _owned.ForEach(o => o.Dispose());
        _admin.Dispose();
        await _server.DisposeAsync();
        await _janus.DisposeAsync();
    }

    private async Task<(DeviceCredentials Creds, MeetingServerClient Client)> Device(string name)
    {
        var creds = DeviceCredentials.CreateEphemeral();
        await MeetingServerClient.EnrolAsync(_server.Url, await _admin.CreateEnrolmentCodeAsync(name), creds);
        var client = new MeetingServerClient(_server.Url, creds.OrganisationCa!, creds.TlsCertificate());
        _owned.Add(creds);
        _owned.Add(client);
        return (creds, client);
    }

    private static async Task<JsonObject> JoinAsync(JanusConnection janus, long room, string? pin, string? roomToken, string display, long? id = null)
    {
        long handle = await janus.AttachAsync("janus.plugin.videoroom", CancellationToken.None);
        var body = new JsonObject { ["request"] = "join", ["ptype"] = "publisher", ["room"] = room, ["display"] = display };
        if (id is not null)
        {
            body["id"] = id;
        }

        if (pin is not null)
        {
            body["pin"] = pin;
        }

        if (roomToken is not null)
        {
            body["token"] = roomToken;
        }

        return await janus.MessageAsync(handle, body, asyncEvent: true, CancellationToken.None);
    }

    private static async Task<long[]> ParticipantIdsAsync(JanusConnection janus, long room)
    {
        long handle = await janus.AttachAsync("janus.plugin.videoroom", CancellationToken.None);
        var r = await janus.MessageAsync(handle, new JsonObject { ["request"] = "listparticipants", ["room"] = room }, asyncEvent: false, CancellationToken.None);
        return [.. r["participants"]!.AsArray().Select(p => p!["id"]!.GetValue<long>()).Order()];
    }

    [Fact]
    public async Task Removing_a_member_kicks_its_participant_out_of_the_VideoRoom_while_the_others_stay()
    {
        var (aCreds, a) = await Device("kick-host");
        var (bCreds, b) = await Device("kick-guest");
        var meeting = await a.CreateMeetingAsync("kick", [bCreds.Identity]);
        var accessA = await a.JanusAsync(meeting.Id);
        var accessB = await b.JanusAsync(meeting.Id);
        Assert.NotEqual(accessA.ParticipantId, accessB.ParticipantId);

        await using var ja = await JanusConnection.OpenAsync(accessA.Url, accessA.SessionToken, _server.Ca, CancellationToken.None);
        await using var jb = await JanusConnection.OpenAsync(accessB.Url, accessB.SessionToken, _server.Ca, CancellationToken.None);
        var joinedA = await JoinAsync(ja, accessA.Room, accessA.Pin, accessA.RoomToken, aCreds.Identity, accessA.ParticipantId);
        var joinedB = await JoinAsync(jb, accessB.Room, accessB.Pin, accessB.RoomToken, bCreds.Identity, accessB.ParticipantId);
        Assert.Equal(accessA.ParticipantId, joinedA["id"]!.GetValue<long>());
        Assert.Equal(accessB.ParticipantId, joinedB["id"]!.GetValue<long>());
        Assert.Equal(new[] { accessA.ParticipantId, accessB.ParticipantId }.Order(), await ParticipantIdsAsync(ja, accessA.Room));

        // B, removed while in the room, is kicked (its publisher and the subscriptions under its private_id end); A stays.
        await a.RemoveAsync(meeting.Id, bCreds.Identity);
        Assert.Equal([accessA.ParticipantId], await ParticipantIdsAsync(ja, accessA.Room));
        await _server.WaitForLogAsync($"janus participant {accessB.ParticipantId} of {bCreds.Identity} kicked");
    }

    [Fact]
    public async Task Invited_members_join_the_meetings_VideoRoom_with_their_own_tokens_and_nobody_joins_Janus_without_the_server()
    {
        var (aCreds, a) = await Device("host-room");
        var (bCreds, b) = await Device("guest-room");
        var (_, c) = await Device("uninvited-room");
        var meeting = await a.CreateMeetingAsync("with media", [bCreds.Identity]);

        var accessA = await a.JanusAsync(meeting.Id);
        var accessB = await b.JanusAsync(meeting.Id);
        Assert.Equal(accessA.Room, accessB.Room);
        Assert.NotEqual(accessA.RoomToken, accessB.RoomToken);
        Assert.Equal("not-invited", (await Assert.ThrowsAsync<MeetingServerException>(() => c.JanusAsync(meeting.Id))).Error);

        // With the server's tokens: both join the room.
        await using (var ja = await JanusConnection.OpenAsync(accessA.Url, accessA.SessionToken, _server.Ca, CancellationToken.None))
        await using (var jb = await JanusConnection.OpenAsync(accessB.Url, accessB.SessionToken, _server.Ca, CancellationToken.None))
        {
            Assert.Equal("joined", (await JoinAsync(ja, accessA.Room, accessA.Pin, accessA.RoomToken, aCreds.Identity))["videoroom"]!.GetValue<string>());
            Assert.Equal("joined", (await JoinAsync(jb, accessB.Room, accessB.Pin, accessB.RoomToken, bCreds.Identity))["videoroom"]!.GetValue<string>());

            // A session token is not enough for the room: without a room token, or with the PIN missing, the join is refused.
            var noToken = await Assert.ThrowsAsync<JanusException>(() => JoinAsync(jb, accessB.Room, accessB.Pin, null, "intruder"));
            Assert.Equal(433, noToken.Code); // JANUS_VIDEOROOM_ERROR_UNAUTHORIZED
            Assert.Equal(429, (await Assert.ThrowsAsync<JanusException>(() => JoinAsync(jb, accessB.Room, null, accessB.RoomToken, "intruder"))).Code); // missing PIN
            Assert.Equal(433, (await Assert.ThrowsAsync<JanusException>(() => JoinAsync(jb, accessB.Room, "0000", accessB.RoomToken, "intruder"))).Code); // wrong PIN
            // Nor can a session holder make rooms: that takes the admin key only the server has.
            long h = await jb.AttachAsync("janus.plugin.videoroom", CancellationToken.None);
            await Assert.ThrowsAsync<JanusException>(() => jb.MessageAsync(h, new JsonObject { ["request"] = "create", ["room"] = 4242 }, false, CancellationToken.None));
        }

        // A removed member's token no longer opens the room; when the host ends the meeting, the room is gone for all.
        await a.RemoveAsync(meeting.Id, bCreds.Identity);
        Assert.Equal("not-invited", (await Assert.ThrowsAsync<MeetingServerException>(() => b.JanusAsync(meeting.Id))).Error);
        await using (var jb = await JanusConnection.OpenAsync(accessB.Url, accessB.SessionToken, _server.Ca, CancellationToken.None))
        {
            Assert.Equal(433, (await Assert.ThrowsAsync<JanusException>(() => JoinAsync(jb, accessB.Room, accessB.Pin, accessB.RoomToken, bCreds.Identity))).Code);
        }

        await a.EndAsync(meeting.Id);
        await using (var ja = await JanusConnection.OpenAsync(accessA.Url, accessA.SessionToken, _server.Ca, CancellationToken.None))
        {
            Assert.Equal(426, (await Assert.ThrowsAsync<JanusException>(() => JoinAsync(ja, accessA.Room, accessA.Pin, accessA.RoomToken, aCreds.Identity))).Code); // no such room
        }

        // Without a token, or with one not signed by the server, Janus opens no session at all.
        Assert.Equal(403, (await Assert.ThrowsAsync<JanusException>(() => JanusConnection.OpenAsync(_janus.Url, null, _server.Ca, CancellationToken.None))).Code);
        string data = $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600},janus,janus.plugin.videoroom";
#pragma warning disable CA5350 // Janus's token format
        string forged = data + ":" + Convert.ToBase64String(HMACSHA1.HashData("not the secret"u8, Encoding.UTF8.GetBytes(data)));
#pragma warning restore CA5350
        Assert.Equal(403, (await Assert.ThrowsAsync<JanusException>(() => JanusConnection.OpenAsync(_janus.Url, forged, _server.Ca, CancellationToken.None))).Code);
    }
}
