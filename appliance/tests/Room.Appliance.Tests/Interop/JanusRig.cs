using Room.Bus;
using Room.Bus.Client;
using Room.Testing;
using Room.Testing.Network;

namespace Room.Appliance.Tests.Interop;

/// <summary>
/// roomd (a real process on a private bus, simulated camera and microphones), a real Janus in a network namespace and
/// a headless Chromium participant: what the Janus call tests share.
/// </summary>
internal sealed class JanusRig : IAsyncDisposable
{
    public required NetNs Ns { get; init; }
    public required JanusServer Janus { get; set; }
    public required PrivateBus Bus { get; init; }
    public required RoomdProcess Roomd { get; init; }
    public required RoomBusClient Client { get; init; }
    public required E2eeBrowser Browser { get; set; }

    /// <summary>In a rig without UDP (<see cref="StartWithoutUdpAsync"/>): roomd's own network, which drops all UDP.</summary>
    public ClientNetNs? RoomdNet { get; init; }

    /// <summary>In a rig without UDP: coturn beside Janus (UDP, TCP and TLS), relaying to it.</summary>
    public Coturn? Turn { get; init; }

    /// <summary>In a rig without UDP: the CA and coturn's certificate for the TURN server's name.</summary>
    public TestCertificates? Pki { get; init; }

    /// <summary>Waits (no time limit of its own: the test's overall timeout) and names the step if that runs out, also when
    /// one evaluation of the condition never returns (a roomd that stopped answering on the bus fails the test, with its log).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        try
        {
            while (!await condition().WaitAsync(ct))
            {
                await Task.Delay(250, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw new TimeoutException("timed out waiting for " + what);
        }
    }

    public string Link(string secret) => $"test-janus-linkkey://{Ns.NsAddress}:8188/{JanusServer.Room}#k={secret}";

    /// <summary>roomd, Janus and the browser on one link (media held <paramref name="oneWayMediaDelay"/> each way when given).</summary>
    public static Task<JanusRig> StartAsync(CancellationToken ct, TimeSpan? oneWayMediaDelay = null) =>
        StartAsync(NetNs.Create(oneWayMediaDelay), turnName: null, ct);

    /// <summary>
    /// roomd in a namespace of its own that lets no UDP out, configured (Room:IceServers) as a box would be for every
    /// network: STUN, TURN over UDP and TURN over TLS at <paramref name="turnName"/>, which resolves to coturn beside
    /// Janus. Only TLS gets through. The browser stays on the servers' side (UDP allowed).
    /// </summary>
    public static Task<JanusRig> StartWithoutUdpAsync(string turnName, CancellationToken ct) => StartAsync(NetNs.Create(), turnName, ct);

    private static async Task<JanusRig> StartAsync(NetNs ns, string? turnName, CancellationToken ct)
    {
        TestCertificates? pki = null;
        JanusServer? janus = null;
        ClientNetNs? roomdNet = null;
        Coturn? turn = null;
        PrivateBus? bus = null;
        RoomdProcess? roomd = null;
        try
        {
            janus = await JanusServer.StartAsync(ns, ct);
            bus = new PrivateBus();
            // 640x360 at 15 fps, as these interop tests were written for (their picture checks and their CPU on a loaded
            // box); the ladder's own steps are tested in Room.Call.Tests and measured by make call-quality-bench.
            var launch = new RoomdLaunch(bus.Address, Path.Combine(bus.Directory, "state"))
            {
                Args = ["--Room:Name", "Ratssaal", "--Call:MaxWidth", "640", "--Call:MaxHeight", "360", "--Call:MaxFramesPerSecond", "15"],
            };
            if (turnName is not null)
            {
                pki = TestCertificates.Create(turnName);
                // roomd's network: a link to the servers' namespace (TURN's name resolves to the servers' end of it), no UDP.
                roomdNet = ClientNetNs.Create(ns);
                roomdNet.AddHost(turnName, roomdNet.ServerSideAddress);
                roomdNet.BlockUdp();
                turn = await Coturn.StartAsync(ns, ct, tls: (pki.CertFile, pki.KeyFile), listen: [ns.NsAddress, roomdNet.ServerSideAddress]);
                Directory.CreateDirectory(launch.StateDirectory);
                await File.WriteAllTextAsync(Path.Combine(launch.StateDirectory, "turn-credential"), Coturn.Password + "\n", ct);
                launch = launch with
                {
                    Prefix = roomdNet.Prefix,
                    Args =
                    [
                        .. launch.Args,
                        "--Room:IceServers:0:Urls:0", $"stun:{turnName}:3478",
                        "--Room:IceServers:1:Urls:0", $"turn:{turnName}:3478?transport=udp",
                        "--Room:IceServers:1:Urls:1", $"turns:{turnName}:{Coturn.TlsPort}",
                        "--Room:IceServers:1:Username", Coturn.User,
                        "--Room:IceServers:1:CredentialFile", "turn-credential",
                        "--Room:IceServers:1:CaFile", pki.CaFile,
                    ],
                };
            }

            roomd = await RoomdProcess.StartAsync(launch);
            var client = await RoomBusClient.ConnectAsync(bus.Address, ct);
            var browser = await E2eeBrowser.StartAsync();
            return new JanusRig { Ns = ns, Janus = janus, Bus = bus, Roomd = roomd, Client = client, Browser = browser, RoomdNet = roomdNet, Turn = turn, Pki = pki };
        }
        catch
        {
            if (roomd is not null) await roomd.DisposeAsync();
            bus?.Dispose();
            turn?.Dispose();
            roomdNet?.Dispose();
            janus?.Dispose();
            pki?.Dispose();
            ns.Dispose();
            throw;
        }
    }

    /// <summary>roomd in the call, the browser publishing and subscribed to roomd, both decoding; returns roomd's feed id.</summary>
    public async Task<string> BothDecodingAsync(string secret, CancellationToken ct)
    {
        await WaitUntilAsync(async () => (await Client.GetStatusAsync()).Meeting.State == MeetingStates.InCall, ct);
        var roomdFeed = (await Client.GetStatusAsync()).Meeting.Participants[0].Id;
        await Browser.JoinAsync(Janus.WebSocketUri, "k=" + secret, "chromium").WaitAsync(ct);
        await Browser.SubscribeAsync(long.Parse(roomdFeed, System.Globalization.CultureInfo.InvariantCulture)).WaitAsync(ct);
        long roomdBefore = (await ReportAsync()).VideoDecoded;
        await WaitUntilAsync(async () => (await Browser.StatsAsync()).FramesDecoded >= 20 && (await ReportAsync()).VideoDecoded >= roomdBefore + 20, ct);
        return roomdFeed;
    }

    public async Task<CallReport> ReportAsync() => CallReport.Parse(await Client.GetMediaReportAsync());

    /// <summary>The browser participant reloads (its own connection may have died with the fault): a fresh page.</summary>
    public async Task RestartBrowserAsync()
    {
        await Browser.DisposeAsync();
        Browser = await E2eeBrowser.StartAsync();
    }

    /// <summary>Stops Janus and starts it again in the same place (same address, port and room): every session on it is gone.</summary>
    public async Task RestartJanusAsync(CancellationToken ct)
    {
        Janus.Dispose();
        Janus = await JanusServer.StartAsync(Ns, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        Client.Dispose();
        await Roomd.DisposeAsync();
        Bus.Dispose();
        Turn?.Dispose();
        RoomdNet?.Dispose();
        Janus.Dispose();
        Pki?.Dispose();
        Ns.Dispose();
    }
}
