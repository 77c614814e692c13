using System.Collections.Concurrent;
using Room.Bus;
using Room.Bus.Client;
using Room.Call.E2ee;
using Room.Testing;
using Room.Testing.Network;
using Xunit.Abstractions;

namespace Room.Appliance.Tests.Interop;

/// <summary>
/// A call survives, without anyone touching the panel: Janus restarting, a 30 s network cut, an address change. roomd
/// (real process), Janus and Chromium as in <see cref="JanusCallTests"/>; after the fault roomd is in the call again by
/// itself and media decodes both ways. Every wait is bounded by the test's own timeout, including a bus call that never
/// returns, so a failure keeps roomd's log. The browser participant reloads its page after the fault
/// (its own connection died with it, as a person's would); roomd is never touched.
/// </summary>
[Collection("janus-call")]
[Trait("Category", "Interop")]
public sealed class JanusReconnectTests(ITestOutputHelper output)
{
    private static async Task<MeetingStatus> MeetingAsync(JanusRig rig) => (await rig.Client.GetStatusAsync()).Meeting;

    /// <param name="mustDrop">The fault takes the signalling connection down too, so roomd must go through reconnecting, with its reason.</param>
    private async Task SurvivesAsync(string fault, Func<JanusRig, CancellationToken, Task> inflict, bool mustDrop)
    {
        Skip.IfNot(Environment.UserName == "root", "network namespaces need root");
        Assert.True(JanusServer.IsInstalled && E2eeBrowser.IsInstalled, "janus/chromium not installed (make deps)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(240)); // under the runner's 5-minute hang limit: a failure keeps its log
        var ct = timeout.Token;
        await using var rig = await JanusRig.StartAsync(ct);
        var secret = LinkKey.NewSecretText();
        try
        {
            await rig.Client.JoinAsync(rig.Link(secret)).WaitAsync(ct);
            await rig.BothDecodingAsync(secret, ct);
            var states = new ConcurrentQueue<(string State, string Error)>();
            using var watch = await rig.Client.WatchAsync((iface, changed) =>
            {
                if (iface == BusNames.Meeting && changed.TryGetValue("State", out var v))
                    states.Enqueue((v.GetString(), changed.TryGetValue("LastError", out var e) ? e.GetString() : ""));
            });
            var clock = System.Diagnostics.Stopwatch.StartNew();

            await inflict(rig, ct);

            // Back in the call by itself. A drop shows as reconnecting, with the reason, before it.
            await JanusRig.WaitUntilAsync(async () => (await MeetingAsync(rig)).State == MeetingStates.InCall
                && (!mustDrop || states.Any(s => s.State == MeetingStates.Reconnecting)), ct);

            // Media decodes again both ways (the browser reloads: its connection went with the fault).
            await rig.RestartBrowserAsync().WaitAsync(ct);
            await rig.BothDecodingAsync(secret, ct);
            long backAfter = clock.ElapsedMilliseconds;
            var meeting = await MeetingAsync(rig).WaitAsync(ct);
            Assert.Equal(MeetingStates.InCall, meeting.State);
            Assert.Equal((await rig.Browser.StatsAsync().WaitAsync(ct)).Code, meeting.SecurityCode);
            var report = await rig.ReportAsync().WaitAsync(ct);
            Assert.True(report.Rejected == 0, report.Received);
            var seen = states.ToList();
            Assert.All(seen, s => Assert.NotEqual(MeetingStates.Error, s.State));
            var reconnecting = seen.Where(s => s.State == MeetingStates.Reconnecting).ToList();
            foreach (var r in reconnecting) Assert.False(string.IsNullOrWhiteSpace(r.Error), "reconnecting without a reason");

            var line = $"{fault}: media both ways again {backAfter} ms after the fault began (the browser's reload included); "
                + $"states {(seen.Count == 0 ? "in-call throughout" : string.Join(" -> ", seen.Select(s => s.State)))}"
                + (reconnecting.Count > 0 ? $"; reason shown: {reconnecting[0].Error}" : "");
            output.WriteLine(line);
            MeasurementReport.Add("janus-reconnect", line);
        }
        catch
        {
            output.WriteLine(rig.Roomd.Log);
            throw;
        }
    }

    [SkippableFact]
    public Task When_janus_restarts_roomd_rejoins_the_same_meeting_and_media_decodes_again() =>
        SurvivesAsync("Janus restart", (rig, ct) => rig.RestartJanusAsync(ct), mustDrop: true);

    [SkippableFact]
    public Task After_a_30_second_network_cut_roomd_is_back_in_the_call_and_media_decodes_again() =>
        SurvivesAsync("30 s network cut", async (rig, ct) =>
        {
            rig.Ns.Disconnect();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), ct);
            }
            finally
            {
                rig.Ns.Reconnect();
            }
        }, mustDrop: true); // Janus's keepalive (10 s) ends the signalling connection within the cut

    [SkippableFact]
    public Task When_the_rooms_address_changes_roomd_follows_and_media_decodes_again() =>
        SurvivesAsync("address change", (rig, ct) =>
        {
            // The box gets a new address on the same network (a DHCP renewal) and loses the old one. As a DHCP
            // client does (systemd-networkd sets it on the links it manages), the new address is promoted when the
            // old primary goes; without promote_secondaries the kernel deletes every address of the subnet with it.
            NetNs.Run("sysctl", $"-q -w net.ipv4.conf.{rig.Ns.HostInterface}.promote_secondaries=1");
            var next = System.Net.IPAddress.Parse(rig.Ns.HostAddress.ToString()[..rig.Ns.HostAddress.ToString().LastIndexOf('.')] + ".7");
            NetNs.Run("ip", $"addr add {next}/24 dev {rig.Ns.HostInterface}");
            NetNs.Run("ip", $"addr del {rig.Ns.HostAddress}/24 dev {rig.Ns.HostInterface}");
            return Task.CompletedTask;
        }, mustDrop: true); // the signalling connection went with the old address
}
