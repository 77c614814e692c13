using System.Reflection;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>
/// A roomd whose state folder cannot take writes of presets (a directory where its temporary file goes), with a hot-plug
/// file and no admin PIN: enough to provoke every refusal roomd has.
/// </summary>
public sealed class BrokenRoomdFixture : IAsyncLifetime
{
    public PrivateBus Bus { get; } = new();

    public RoomdProcess Roomd { get; private set; } = null!;

    public RoomBusClient Client { get; private set; } = null!;

    public string HotplugFile => Path.Combine(Bus.Directory, "unplugged");

    public async Task InitializeAsync()
    {
        var state = Path.Combine(Bus.Directory, "state");
        Directory.CreateDirectory(Path.Combine(state, "presets.json.tmp"));
        Roomd = await RoomdProcess.StartAsync(Bus.Address, state, "--Devices:Simulated:HotplugFile", HotplugFile);
        Client = await RoomBusClient.ConnectAsync(Bus.Address);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Roomd.DisposeAsync();
        Bus.Dispose();
    }
}

/// <summary>Every org.room.Error.* provoked with a real D-Bus call: named, explained, state unchanged, roomd still serving.</summary>
public sealed class RoomdErrorTests(BrokenRoomdFixture room) : IClassFixture<BrokenRoomdFixture>
{
    public static TheoryData<string> EveryRoomError => [.. RoomErrors()];

    [Theory]
    [MemberData(nameof(EveryRoomError))]
    public async Task Every_named_error_comes_back_over_the_bus_with_a_message_and_state_unchanged(string error)
    {
        var before = await room.Client.GetStatusAsync();
        var ex = await Assert.ThrowsAsync<RoomBusException>(() => Provoke(error));
        Assert.Equal(error, ex.ErrorName);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));

        var after = await room.Client.GetStatusAsync();
        Assert.Equal(before.Meeting with { Participants = [] }, after.Meeting with { Participants = [] });
        Assert.Equal(before.Camera with { Cameras = [], Presets = [] }, after.Camera with { Cameras = [], Presets = [] });
        Assert.Equal(before.Camera.Presets, after.Camera.Presets);
        Assert.True(await room.Client.IsRoomdPresentAsync());
        Assert.False(room.Roomd.HasExited, room.Roomd.Log);
    }

    /// <summary>Five wrong PINs on a roomd of its own (locking is not undone for 60 s), then the right one: refused.</summary>
    private static async Task LockOutAsync()
    {
        using var bus = new PrivateBus();
        await using var roomd = await RoomdProcess.StartAsync(bus.Address, Path.Combine(bus.Directory, "state"), "--Room:AdminPin", "2468");
        using var client = await RoomBusClient.ConnectAsync(bus.Address);
        for (var i = 0; i < 5; i++)
        {
            Assert.False(await client.CheckAdminPinAsync("0000"));
        }

        try
        {
            await client.CheckAdminPinAsync("2468");
        }
        finally
        {
            Assert.False(roomd.HasExited, roomd.Log);
        }
    }

    private static List<string> RoomErrors() =>
        [.. typeof(BusErrors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (string)f.GetValue(null)!)
            .Where(n => n.StartsWith("org.room.Error.", StringComparison.Ordinal))
            .Order()];

    private async Task Provoke(string error)
    {
        var c = room.Client;
        switch (error)
        {
            case BusErrors.InvalidUri:
                await c.JoinAsync("ftp://meet.example.org/m/1");
                break;
            case BusErrors.OutOfRange:
                await c.MoveToAsync(0, 0, 1.5);
                break;
            case BusErrors.WrongState:
                await c.LeaveAsync();
                break;
            case BusErrors.UnknownCamera:
                await c.SelectCameraAsync("usb:nothing-here");
                break;
            case BusErrors.UnknownPreset:
                await c.RecallPresetAsync("Nowhere");
                break;
            case BusErrors.InvalidArgument:
                await c.StorePresetAsync("../etc/passwd");
                break;
            case BusErrors.NotSupported:
                // No admin PIN is configured on this roomd.
                await c.CheckAdminPinAsync("1234");
                break;
            case BusErrors.Failed:
                // The presets file cannot be written (its temporary file's name is taken by a directory).
                await c.StorePresetAsync("Kept");
                break;
            case BusErrors.DeviceUnavailable:
            {
                var selected = (await c.GetStatusAsync()).Camera.Selected;
                await File.WriteAllTextAsync(room.HotplugFile, selected + "\n");
                try
                {
                    // The camera stays listed but no longer answers; wait until roomd has noticed.
                    await WaitForDeviceHealthAsync(c, selected, h => h != "ok");
                    await c.MoveByAsync(1, 0, 0);
                }
                finally
                {
                    await File.WriteAllTextAsync(room.HotplugFile, "");
                    await WaitForDeviceHealthAsync(c, selected, h => h == "ok");
                }

                break;
            }

            case BusErrors.LockedOut:
                await LockOutAsync();
                break;
            case BusErrors.NotAuthorized:
                // No PIN is set on this roomd, so no session can be opened (root needs none, but may try).
                await c.UnlockAsync("123456");
                break;
            default:
                Assert.Fail($"No way to provoke {error} is known to this test; add one.");
                break;
        }
    }

    private static async Task WaitForDeviceHealthAsync(RoomBusClient c, string id, Func<string, bool> health)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if ((await c.GetStatusAsync()).Devices.FirstOrDefault(d => d.Id == id) is { } d && health(d.Health))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{id} never reached the expected health");
    }
}
