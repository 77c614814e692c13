using Room.Bus;
using Room.Bus.Client;
using Room.Call.E2ee;
using Room.Testing;
using Room.Testing.Network;
using Xunit.Abstractions;

namespace Room.Appliance.Tests.Interop;

/// <summary>
/// roomd on a network that lets no UDP out (its own namespace, nftables dropping UDP on every link) still gets into a
/// Janus call, through coturn over TLS configured in Room:IceServers: Janus and coturn in the servers' namespace, coturn
/// relaying to Janus there; a Chromium participant on the test's side (UDP allowed) decodes roomd and roomd decodes it.
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
        using var ns = NetNs.Create();
        using var pki = TestCertificates.Create(TurnName);
        using var janus = await JanusServer.StartAsync(ns, ct);
        // roomd's network: a link to the servers' namespace (TURN's name resolves to the servers' end of it), no UDP.
        using var client = ClientNetNs.Create(ns);
        client.AddHost(TurnName, client.ServerSideAddress);
        client.BlockUdp();
        using var turn = await Coturn.StartAsync(ns, ct, tls: (pki.CertFile, pki.KeyFile), listen: [ns.NsAddress, client.ServerSideAddress]);

        using var bus = new PrivateBus();
        string state = Path.Combine(bus.Directory, "state");
        Directory.CreateDirectory(state);
        await File.WriteAllTextAsync(Path.Combine(state, "turn-credential"), Coturn.Password + "\n", ct);
        await using var roomd = await RoomdProcess.StartAsync(new RoomdLaunch(bus.Address, state)
        {
            Prefix = client.Prefix,
            Args =
            [
                "--Room:Name", "Ratssaal",
                // As a box would be configured for every network: STUN, TURN over UDP and over TLS. Here only TLS gets through.
                "--Room:IceServers:0:Urls:0", $"stun:{TurnName}:3478",
                "--Room:IceServers:1:Urls:0", $"turn:{TurnName}:3478?transport=udp",
                "--Room:IceServers:1:Urls:1", $"turns:{TurnName}:{Coturn.TlsPort}",
                "--Room:IceServers:1:Username", Coturn.User,
                "--Room:IceServers:1:CredentialFile", "turn-credential",
                "--Room:IceServers:1:CaFile", pki.CaFile,
            ],
        });
        using var bus2 = await RoomBusClient.ConnectAsync(bus.Address, ct);
        await using var browser = await E2eeBrowser.StartAsync();
        var secret = LinkKey.NewSecretText();
        try
        {
            await bus2.JoinAsync($"janus://{ns.NsAddress}:8188/{JanusServer.Room}#k={secret}");
            await JanusRig.WaitUntilAsync(async () => (await bus2.GetStatusAsync()).Meeting.State == MeetingStates.InCall, ct);
            var roomdFeed = (await bus2.GetStatusAsync()).Meeting.Participants[0].Id;
            await browser.JoinAsync(janus.WebSocketUri, "k=" + secret, "chromium");
            await browser.SubscribeAsync(long.Parse(roomdFeed, System.Globalization.CultureInfo.InvariantCulture));
            await JanusRig.WaitUntilAsync(async () => (await browser.StatsAsync()).FramesDecoded >= 20
                && CallReport.Parse(await bus2.GetMediaReportAsync()).VideoDecoded >= 20, ct);

            var status = await bus2.GetStatusAsync();
            var report = CallReport.Parse(await bus2.GetMediaReportAsync());
            output.WriteLine($"media status transport: {status.Media.Transport}");
            output.WriteLine(report.Text);
            // Both legs chose the relay over TLS (nothing else can work here), and the status says so.
            string via = $"relay over TLS via turns:{TurnName}:{Coturn.TlsPort}";
            Assert.Contains("media " + via, status.Media.Transport, StringComparison.Ordinal);
            Assert.Contains($"call path: sending {via}, receiving {via}", report.Text, StringComparison.Ordinal);
            Assert.Equal(0, report.Rejected);
            Assert.Equal((await browser.StatsAsync()).Code, status.Meeting.SecurityCode);
            // The block was real: roomd's direct UDP checks to Janus were dropped.
            long dropped = client.UdpPacketsDropped();
            output.WriteLine($"UDP packets dropped in roomd's namespace: {dropped}");
            Assert.True(dropped > 0, "no UDP was dropped: the test did not block what it claims to");
            // The servers UDP cannot reach were tried and left out, with the reason in the log.
            Assert.Contains($"ICE server turn:{TurnName}:3478?transport=udp gave the sending leg no candidate", roomd.Log, StringComparison.Ordinal);
            Assert.DoesNotContain(Coturn.Password, roomd.Log, StringComparison.Ordinal);
            MeasurementReport.Add("janus-relay", $"UDP blocked: in the call through TURN over TLS; {dropped} UDP packets dropped; roomd decoded {report.VideoDecoded} frames");
        }
        catch
        {
            output.WriteLine(roomd.Log);
            throw;
        }
    }
}
