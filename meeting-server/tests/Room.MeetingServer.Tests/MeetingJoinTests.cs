using System.Text.RegularExpressions;
using Room.Appliance.Meeting;
using Room.MeetingClient;
using Room.MeetingServer.Tests.Support;
using Room.Testing;

namespace Room.MeetingServer.Tests;

/// <summary>
/// A room joining a meeting of nine (issue 13, "time from Join to first decrypted frame for a 10-member meeting"):
/// roomd A hosts and sends, eight more members are in the MLS group, then roomd B joins. B's own timeline of the join
/// (MLS group, Janus room, sending path, first picture decrypted and decoded) goes to
/// artifacts/measurements/meeting-join.txt, which `make bench` prints; the test asserts only what happened.
/// </summary>
[Collection("roomd-call")]
public sealed partial class MeetingJoinTests(JanusServerFixture fx) : IClassFixture<JanusServerFixture>
{
    private const int InProcessMembers = 8;

    [Fact]
    public async Task A_room_joining_a_meeting_of_nine_decrypts_the_host_and_all_ten_show_one_security_code()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var ct = timeout.Token;
        var disposables = new List<IDisposable>();
        try
        {
            var (credsA, clientA, dirA) = await fx.EnrolDeviceAsync(ServerFixture.NewName("ja"));
            var (credsB, clientB, dirB) = await fx.EnrolDeviceAsync(ServerFixture.NewName("jb"));
            disposables.AddRange([credsA, clientA, credsB, clientB]);
            var others = new List<(DeviceCredentials Creds, MeetingServerClient Client)>();
            for (int i = 0; i < InProcessMembers; i++)
            {
                var (creds, client, _) = await fx.EnrolDeviceAsync(ServerFixture.NewName($"j{i}"));
                disposables.AddRange([creds, client]);
                others.Add((creds, client));
            }

            var meeting = await clientA.CreateMeetingAsync("plenary", [credsB.Identity, .. others.Select(o => o.Creds.Identity)]);
            string address = $"meeting://127.0.0.1:{fx.Server.Url.Port}/{meeting.Id}";

            await using var a = await RoomdBox.StartAsync("Ratssaal", dirA);
            await a.Client.JoinAsync(address);
            await a.InCallAsync(ct);
            var members = new List<MeetingMember>();
            foreach (var (creds, client) in others)
            {
                var member = new MeetingMember(client, creds, meeting.Id, meeting.CipherSuite);
                disposables.Add(member);
                Assert.False(await member.JoinExternalAsync(createIfMissing: false, ct));
                members.Add(member);
            }

            await using var b = await RoomdBox.StartAsync("Buergersaal", dirB);
            string Logs() => $"--- A ---\n{a.Roomd.Log}\n--- B ---\n{b.Roomd.Log}";
            await b.Client.JoinAsync(address);
            await b.InCallAsync(ct);

            // B decrypts and decodes A's picture and sound, and its report says when the first picture came.
            MediaReport report = null!;
            await Wait.UntilAsync(async () => (report = await b.ReportAsync()) is { VideoDecoded: > 0, AudioDecoded: > 0 }
                && report.Text.Contains(JoinSteps.FirstPicture, StringComparison.Ordinal), Logs, ct);
            var timeline = JoinLine().Match(report.Text);
            Assert.True(timeline.Success, report.Text);
            foreach (var step in new[] { JoinSteps.MlsGroup, JoinSteps.MediaServer, JoinSteps.Sending, JoinSteps.FirstPicture })
            {
                Assert.Matches($@"{Regex.Escape(step)} \d+ ms", timeline.Groups[1].Value);
            }

            // All ten in the roster of both rooms and one security code for everyone once the members caught up.
            await Wait.UntilAsync(async () => (await a.MeetingAsync()).Participants.Count == InProcessMembers + 2
                && (await b.MeetingAsync()).Participants.Count == InProcessMembers + 2, Logs, ct);
            string code = (await b.MeetingAsync()).SecurityCode;
            Assert.Equal(code, (await a.MeetingAsync()).SecurityCode);
            foreach (var member in members)
            {
                await member.SyncAsync(ct);
                Assert.Equal(code, member.SecurityCode);
            }

            // B leaves and joins again: the same steps in a roomd whose code has run once (the first join also pays for
            // the JIT of every step; a published roomd is ReadyToRun, this one is the build output).
            await b.Client.LeaveAsync();
            await Wait.UntilAsync(async () => (await a.MeetingAsync()).Participants.Count == InProcessMembers + 1, Logs, ct);
            await b.Client.JoinAsync(address);
            await b.InCallAsync(ct);
            await Wait.UntilAsync(async () => (report = await b.ReportAsync()).Text.Contains(JoinSteps.FirstPicture, StringComparison.Ordinal), Logs, ct);
            var again = JoinLine().Match(report.Text);
            Assert.True(again.Success, report.Text);

            MeasurementReport.Add("meeting-join", $"{InProcessMembers + 2} members, suite {meeting.CipherSuite}, first join: {timeline.Groups[1].Value}; join again: {again.Groups[1].Value}");
            await b.Client.LeaveAsync();
            await a.Client.LeaveAsync();
        }
        finally
        {
            foreach (var d in disposables)
            {
                d.Dispose();
            }
        }
    }

    [GeneratedRegex(@"call join: (.*) after Join")]
    private static partial Regex JoinLine();
}
