using Microsoft.Extensions.Logging.Abstractions;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Call;
using Room.Call.E2ee;
using Room.Bus.Client;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;

namespace Room.MeetingServer.Tests;

/// <summary>Two roomd processes, Janus and media: run alone, not beside the other test classes.</summary>
[CollectionDefinition("roomd-call", DisableParallelization = true)]
public sealed class RoomdCallGroup;

/// <summary>
/// Two roomd processes (private buses, simulated camera and microphones, each with its own enrolled device identity)
/// in one meeting of a real meeting server with Debian's Janus: the MLS-keyed call (issue 13, "one call path"), with the
/// server on SQLite and on PostgreSQL.
/// </summary>
public abstract class RoomdMeetingCallTests(ServerFixture fx)
{
    [Fact]
    public async Task Two_rooms_decrypt_each_others_media_with_MLS_keys_and_show_one_security_code_that_changes_when_a_member_joins_and_leaves()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var ct = timeout.Token;
        string nameA = ServerFixture.NewName("ra"), nameB = ServerFixture.NewName("rb"), nameC = ServerFixture.NewName("rc"), nameD = ServerFixture.NewName("rd");
        var (credsA, clientA, dirA) = await fx.EnrolDeviceAsync(nameA);
        var (credsB, clientB, dirB) = await fx.EnrolDeviceAsync(nameB);
        var (credsC, clientC, _) = await fx.EnrolDeviceAsync(nameC);
        var (credsD, clientD, _) = await fx.EnrolDeviceAsync(nameD);
        using var disposeD = credsD;
        using var disposeClientD = clientD;
        using var disposeA = credsA;
        using var disposeB = credsB;
        using var disposeC = credsC;
        using var disposeClientA = clientA;
        using var disposeClientB = clientB;
        using var disposeClientC = clientC;

        // Room A's identity is the meeting's host (as when an administrator books it for the room); B and C are invited.
        var meeting = await clientA.CreateMeetingAsync("council", [credsB.Identity, credsC.Identity, credsD.Identity]);
        string address = $"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}";

        await using var a = await RoomdBox.StartAsync("Ratssaal", dirA);
        await using var b = await RoomdBox.StartAsync("Buergersaal", dirB);
        string Logs() => $"--- A ---\n{a.Roomd.Log}\n--- B ---\n{b.Roomd.Log}";

        await a.Client.JoinAsync(address);
        await a.InCallAsync(ct);
        await b.Client.JoinAsync(address);
        await b.InCallAsync(ct);

        // Both decrypt each other's video and audio; both show one security code and the other room from the MLS tree.
        await Wait.UntilAsync(async () =>
        {
            var (ra, rb) = (await a.ReportAsync(), await b.ReportAsync());
            return ra.VideoDecoded > 10 && ra.AudioDecoded > 10 && rb.VideoDecoded > 10 && rb.AudioDecoded > 10;
        }, Logs, ct);
        string code1 = await SameCodeAsync(a, b, Logs, ct);
        Assert.Matches(@"^(\d{5} ){11}\d{5}$", code1);
        await Wait.UntilAsync(async () => Others(await a.MeetingAsync()).SequenceEqual([nameB]) && Others(await b.MeetingAsync()).SequenceEqual([nameA]), Logs, ct);
        Assert.Contains("MLS exporter", (await a.ReportAsync()).Text, StringComparison.Ordinal);

        // A third member joins (external commit): a new code on both, the same as the newcomer computes, and C in both rosters.
        using var c = new MeetingMember(clientC, credsC, meeting.Id, meeting.CipherSuite);
        Assert.False(await c.JoinExternalAsync(createIfMissing: false));
        string code2 = c.SecurityCode;
        Assert.NotEqual(code1, code2);
        await Wait.UntilAsync(async () => (await a.MeetingAsync()).SecurityCode == code2 && (await b.MeetingAsync()).SecurityCode == code2, Logs, ct);
        await Wait.UntilAsync(async () => Others(await a.MeetingAsync()).SequenceEqual(new[] { nameB, nameC }.Order(StringComparer.Ordinal)) && Others(await b.MeetingAsync()).SequenceEqual(new[] { nameA, nameC }.Order(StringComparer.Ordinal)), Logs, ct);

        // Media keeps flowing under the new epoch's keys (the counters go on rising after the rekey).
        await MediaFlowsAsync(a, b, Logs, ct);

        // C also takes part in the Janus call (roomd's own Janus session, keyed from C's group, under the publisher id
        // the server handed out): it reads both rooms. Beside it a tap: a session that D (invited, no MLS member)
        // opens, holding C's keys as they are now: a captured copy of the traffic with what C knew.
        var access = await clientC.JanusAsync(meeting.Id);
        var keysC = new MlsCallKeys(c.Group);
        await using var callC = await JanusSession.ConnectAsync(new JanusRoomAccess(access.Url, access.Room, access.SessionToken, access.Pin, access.RoomToken, access.ParticipantId, fx.Server.Ca),
            new StaticKeying(keysC, "captured"), nameC, true, JanusTransport.LocalAddresses(), Room.Appliance.Meeting.CallIceServers.None, NullLogger.Instance, ct);
        var accessD = await clientD.JanusAsync(meeting.Id);
        await using var tap = await JanusSession.ConnectAsync(new JanusRoomAccess(accessD.Url, accessD.Room, accessD.SessionToken, accessD.Pin, accessD.RoomToken, accessD.ParticipantId, fx.Server.Ca),
            new StaticKeying(new MlsCallKeys(c.Group), "captured"), nameD, true, JanusTransport.LocalAddresses(), Room.Appliance.Meeting.CallIceServers.None, NullLogger.Instance, ct);
        using var stopC = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var runC = callC.Subscriber.RunAsync(null, null, stopC.Token);
        var runTap = tap.Subscriber.RunAsync(null, null, stopC.Token);
        var (subC, subTap) = (callC.Subscriber, tap.Subscriber);
        string LogsC() => $"{Logs()}\n--- C ---\n{callC.Statistics}\n--- tap ---\n{tap.Statistics}";
        await Wait.UntilAsync(() => Task.FromResult(subC.Videos.Count(v => v.FramesDecoded > 10) == 2 && subC.Audios.Count(x => x.FramesDecoded > 10) == 2
            && subTap.Videos.Count(v => v.FramesDecoded > 10) == 2 && subTap.Audios.Count(x => x.FramesDecoded > 10) == 2), LogsC, ct);

        // The host removes C: the server kicks C's Janus participant and, as the group's external sender, proposes the
        // removal of C's leaf; a room commits it (C's leaf leaves the tree), and both show a third code.
        await clientA.RemoveAsync(meeting.Id, credsC.Identity);
        await Wait.UntilAsync(async () =>
        {
            var (ma, mb) = (await a.MeetingAsync(), await b.MeetingAsync());
            return ma.SecurityCode == mb.SecurityCode && ma.SecurityCode != code2 && Others(ma).SequenceEqual([nameB]) && Others(mb).SequenceEqual([nameA]);
        }, Logs, ct);
        string code3 = (await a.MeetingAsync()).SecurityCode;
        Assert.NotEqual(code1, code3);
        Assert.NotEqual(code2, code3);
        await MediaFlowsAsync(a, b, Logs, ct);

        // The captured copy (the tap, with C's keys and no commit processed) keeps receiving packets, but not one frame
        // sent after the removal opens. (Once frames from before it have left the jitter buffers, the decoded counts
        // stand still while the refused ones grow.) C's own Janus session was kicked: it receives nothing any more.
        long Rejected() => subTap.VideoFramesRejected + subTap.AudioFramesRejected;
        long Packets(CallSubscriber s) => s.Videos.Sum(v => v.Packets) + s.Audios.Sum(x => x.Packets);
        long r0 = Rejected();
        await Wait.UntilAsync(() => Task.FromResult(Rejected() > r0 + 100), LogsC, ct);
        var (v1, a1, p1, r1, c1) = (subTap.VideoFramesDecoded, subTap.AudioFramesDecoded, Packets(subTap), Rejected(), Packets(subC));
        await Wait.UntilAsync(() => Task.FromResult(Rejected() > r1 + 200 && Packets(subTap) > p1 + 200), LogsC, ct);
        Assert.Equal(v1, subTap.VideoFramesDecoded);
        Assert.Equal(a1, subTap.AudioFramesDecoded);
        Assert.True(Packets(subC) == c1, $"C's kicked session still received {Packets(subC) - c1} packets\n{LogsC()}");
        await stopC.CancelAsync();
        foreach (var run in new[] { runC, runTap })
        {
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
        }

        // B leaves (roomd Leave): B tells the server, the server proposes B's removal, A commits it: A alone in the
        // roster with a fourth code.
        await b.Client.LeaveAsync();
        await Wait.UntilAsync(async () => (await a.MeetingAsync()) is { } m && !Others(m).Any() && m.SecurityCode.Length > 0 && m.SecurityCode != code3, Logs, ct);
        await a.Client.LeaveAsync();
        Assert.Equal(MeetingStates.Idle, (await a.MeetingAsync()).State);
    }

    private static IEnumerable<string> Others(MeetingStatus m) => m.Participants.Skip(1).Select(p => p.Name).Order(StringComparer.Ordinal);

    private static async Task<string> SameCodeAsync(RoomdBox a, RoomdBox b, Func<string> logs, CancellationToken ct)
    {
        string code = "";
        await Wait.UntilAsync(async () =>
        {
            var (ma, mb) = (await a.MeetingAsync(), await b.MeetingAsync());
            code = ma.SecurityCode;
            return code.Length > 0 && code == mb.SecurityCode;
        }, logs, ct);
        return code;
    }

    /// <summary>Both rooms decode more video and audio of each other from now on.</summary>
    private static async Task MediaFlowsAsync(RoomdBox a, RoomdBox b, Func<string> logs, CancellationToken ct)
    {
        var (a0, b0) = (await a.ReportAsync(), await b.ReportAsync());
        await Wait.UntilAsync(async () =>
        {
            var (ra, rb) = (await a.ReportAsync(), await b.ReportAsync());
            return ra.VideoDecoded > a0.VideoDecoded + 10 && ra.AudioDecoded > a0.AudioDecoded + 10 && rb.VideoDecoded > b0.VideoDecoded + 10 && rb.AudioDecoded > b0.AudioDecoded + 10;
        }, () => $"{logs()}\n--- reports ---\n{a0.Text}\n{b0.Text}", ct);
    }
}

[Collection("roomd-call")]
public sealed class SqliteRoomdMeetingCallTests(JanusServerFixture fx) : RoomdMeetingCallTests(fx), IClassFixture<JanusServerFixture>;

[Collection("roomd-call")]
public sealed class PostgresRoomdMeetingCallTests(PostgresJanusServerFixture fx) : RoomdMeetingCallTests(fx), IClassFixture<PostgresJanusServerFixture>;
