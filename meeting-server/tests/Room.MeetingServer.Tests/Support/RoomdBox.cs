using System.Text.RegularExpressions;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.MeetingServer.Tests.Support;

/// <summary>
/// One room for the meeting tests: roomd (simulated devices) on a private bus with its enrolled device identity, and
/// a bus client for it.
/// </summary>
public sealed class RoomdBox : IAsyncDisposable
{
    private readonly PrivateBus _bus;

    private RoomdBox(string name, PrivateBus bus, RoomdProcess roomd, RoomBusClient client)
    {
        Name = name;
        _bus = bus;
        Roomd = roomd;
        Client = client;
    }

    public string Name { get; }

    public RoomdProcess Roomd { get; }

    public RoomBusClient Client { get; }

    public string BusAddress => _bus.Address;

    /// <summary>roomd named <paramref name="name"/> with the device identity kept in <paramref name="keyDir"/>.</summary>
    public static async Task<RoomdBox> StartAsync(string name, string keyDir)
    {
        var bus = new PrivateBus();
        try
        {
            var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"),
                "--Room:Name", name, "--MeetingServer:IdentityDirectory", keyDir, "--MeetingServer:PollMilliseconds", "200");
            return new RoomdBox(name, bus, roomd, await RoomBusClient.ConnectAsync(bus.Address));
        }
        catch
        {
            bus.Dispose();
            throw;
        }
    }

    public async Task<MeetingStatus> MeetingAsync() => (await Client.GetStatusAsync()).Meeting;

    public async Task<MediaReport> ReportAsync() => MediaReport.Parse(await Client.GetMediaReportAsync());

    /// <summary>Waits for the call to be up (or to fail) and asserts it is up.</summary>
    public async Task<MeetingStatus> InCallAsync(CancellationToken ct)
    {
        await Wait.UntilAsync(async () => (await MeetingAsync()).State is MeetingStates.InCall or MeetingStates.Error, () => Roomd.Log, ct);
        var m = await MeetingAsync();
        Assert.True(m.State == MeetingStates.InCall, $"{Name}: {m.State}: {m.LastError}\n{Roomd.Log}");
        return m;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Roomd.DisposeAsync();
        _bus.Dispose();
    }
}

/// <summary>The counters of roomd's media report the meeting tests read.</summary>
public sealed partial record MediaReport(long VideoDecoded, long AudioDecoded, long Rejected, string Text)
{
    public static MediaReport Parse(string text) =>
        new(N(VideoDecodedLine().Match(text)), N(AudioDecodedLine().Match(text)), N(RejectedLine().Match(text)), text);

    private static long N(Match m) => m.Success ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;

    [GeneratedRegex(@"call received: video (\d+) frames decoded")]
    private static partial Regex VideoDecodedLine();

    [GeneratedRegex(@"audio (\d+) frames decoded")]
    private static partial Regex AudioDecodedLine();

    [GeneratedRegex(@"(\d+) frames rejected by SFrame")]
    private static partial Regex RejectedLine();
}

public static class Wait
{
    /// <summary>Polls until <paramref name="condition"/> holds; the test's overall token bounds it and names the step.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> context, CancellationToken ct,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        while (!await condition())
        {
            if (ct.IsCancellationRequested)
            {
                throw new TimeoutException($"timed out waiting for {what}\n{context()}");
            }

            await Task.Delay(200, CancellationToken.None);
        }
    }
}
