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

    /// <summary>Waits (no time limit of its own: the test's overall timeout) and names the step if that runs out.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        while (!await condition())
        {
            if (ct.IsCancellationRequested) throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(250, CancellationToken.None);
        }
    }

    public string Link(string secret) => $"janus://{Ns.NsAddress}:8188/{JanusServer.Room}#k={secret}";

    public static async Task<JanusRig> StartAsync(CancellationToken ct, TimeSpan? oneWayMediaDelay = null)
    {
        var ns = NetNs.Create(oneWayMediaDelay);
        JanusServer? janus = null;
        PrivateBus? bus = null;
        RoomdProcess? roomd = null;
        try
        {
            janus = await JanusServer.StartAsync(ns, ct);
            bus = new PrivateBus();
            roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"), "--Room:Name", "Ratssaal");
            var client = await RoomBusClient.ConnectAsync(bus.Address, ct);
            var browser = await E2eeBrowser.StartAsync();
            return new JanusRig { Ns = ns, Janus = janus, Bus = bus, Roomd = roomd, Client = client, Browser = browser };
        }
        catch
        {
            if (roomd is not null) await roomd.DisposeAsync();
            bus?.Dispose();
            janus?.Dispose();
            ns.Dispose();
            throw;
        }
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
        Janus.Dispose();
        Ns.Dispose();
    }
}
