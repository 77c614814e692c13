using Room.Call.E2ee;
using Room.Testing;
using Room.Testing.Network;
using Xunit.Abstractions;

namespace Room.Appliance.Tests.Interop;

/// <summary>
/// roomd on a network that lets no UDP out (its own namespace, nftables dropping UDP on every link) still gets into a
/// Janus call, through coturn over TLS configured in Room:IceServers (<see cref="JanusRig.StartWithoutUdpAsync"/>): Janus
/// and coturn in the servers' namespace, coturn relaying to Janus there; a Chromium participant on the test's side (UDP
/// allowed) decodes roomd and roomd decodes it.
/// </summary>
[Collection("janus-call")]
[Trait("Category", "Interop")]
public sealed class JanusRelayTests(ITestOutputHelper output)
{
    private const string TurnName = "turn.room.test";

    [SkippableFact]
    public async Task On_a_network_without_udp_roomd_reaches_janus_through_the_tls_relay_and_media_decodes_both_ways()
    {
        Skip.IfNot(Environment.UserName == "root", "network namespaces need root");
        Assert.True(JanusServer.IsInstalled && Coturn.IsInstalled && E2eeBrowser.IsInstalled, "janus/coturn/chromium not installed (make deps)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var ct = timeout.Token;
        await using var rig = await JanusRig.StartWithoutUdpAsync(TurnName, ct);
        var secret = LinkKey.NewSecretText();
        try
        {
            await rig.Client.JoinAsync(rig.Link(secret));
            await rig.BothDecodingAsync(secret, ct);

            var status = await rig.Client.GetStatusAsync();
            var report = await rig.ReportAsync();
            output.WriteLine($"media status transport: {status.Media.Transport}");
            output.WriteLine(report.Text);
            // Both legs chose the relay over TLS (nothing else can work here), and the status says so.
            string via = $"relay over TLS via turns:{TurnName}:{Coturn.TlsPort}";
            Assert.Contains("media " + via, status.Media.Transport, StringComparison.Ordinal);
            Assert.Contains($"call path: sending {via}, receiving {via}", report.Text, StringComparison.Ordinal);
            Assert.True(report.Rejected == 0, report.Received);
            Assert.Equal((await rig.Browser.StatsAsync()).Code, status.Meeting.SecurityCode);
            // The block was real: roomd's direct UDP checks to Janus were dropped.
            long dropped = rig.RoomdNet!.UdpPacketsDropped();
            output.WriteLine($"UDP packets dropped in roomd's namespace: {dropped}");
            Assert.True(dropped > 0, "no UDP was dropped: the test did not block what it claims to");
            // The servers UDP cannot reach were tried and left out, with the reason in the log.
            Assert.Contains($"ICE server turn:{TurnName}:3478?transport=udp gave the sending leg no candidate", rig.Roomd.Log, StringComparison.Ordinal);
            Assert.DoesNotContain(Coturn.Password, rig.Roomd.Log, StringComparison.Ordinal);
            MeasurementReport.Add("janus-relay", $"UDP blocked: in the call through TURN over TLS; {dropped} UDP packets dropped; roomd decoded {report.VideoDecoded} frames");
        }
        catch
        {
            output.WriteLine(rig.Roomd.Log);
            throw;
        }
    }
}
