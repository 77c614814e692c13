using Microsoft.Extensions.Logging.Abstractions;
using Room.Appliance.BusApi;
using Room.Bus;
using Room.Bus.Client;
using Room.Bus.Server;
using Room.Fleet;
using Room.Fleet.Channel;
using Room.Testing;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Tests;

/// <summary>org.room.Appliance1.Update on a real dbus-daemon: the update agent's progress, announced as it changes.</summary>
public sealed class UpdateInterfaceTests
{
    [Fact]
    public async Task Update_progress_is_announced_and_read_as_the_contract_says()
    {
        using var bus = new PrivateBus();
        var board = new UpdateStatusBoard();
        using var server = new BusObjectServer(BusNames.ObjectPath, [new UpdateInterface(board)], NullLogger.Instance);
        using var connection = new DBusConnection(new DBusConnectionOptions(bus.Address) { AutoConnect = false });
        await connection.ConnectAsync();
        connection.AddMethodHandler(server);
        server.Attach(connection);
        Assert.True(await connection.TryRequestNameAsync(BusNames.Service, RequestNameOptions.None));

        using var client = await RoomBusClient.ConnectAsync(bus.Address);
        // Before any agent posts, the interface says none runs (roomd does not start one yet), not that one is idle.
        var off = RoomStatus.Empty.Apply(BusNames.Update, await client.GetAllAsync(BusNames.Update)).Update;
        Assert.Equal(new UpdateStatus("off", "", 0, UpdateInterface.NoAgentMessage), off);

        var changes = new List<IReadOnlyDictionary<string, VariantValue>>();
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = await client.WatchAsync((iface, changed) =>
        {
            if (iface != BusNames.Update)
            {
                return;
            }

            lock (changes)
            {
                changes.Add(changed);
            }

            if (changed.TryGetValue("State", out var s) && s.GetString() == "failed")
            {
                failed.TrySetResult();
            }
        });

        board.Post(new UpdateProgress("job-7", UpdatePhase.Downloading, 40));
        board.Post(new UpdateProgress("job-7", UpdatePhase.Failed, 0, "download: HashMismatch: the bundle does not have the job's SHA-256"));
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var status = RoomStatus.Empty.Apply(BusNames.Update, await client.GetAllAsync(BusNames.Update)).Update;
        Assert.Equal(new UpdateStatus("failed", "job-7", 0, "download: HashMismatch: the bundle does not have the job's SHA-256"), status);
        lock (changes)
        {
            Assert.Contains(changes, c => c.TryGetValue("State", out var s) && s.GetString() == "downloading"
                && c.TryGetValue("Progress", out var p) && p.GetUInt32() == 40 && c["JobId"].GetString() == "job-7");
        }
    }

    [Theory]
    [InlineData(UpdatePhase.WaitingForReboot, "waiting-for-reboot")]
    [InlineData(UpdatePhase.Refused, "refused")]
    [InlineData(UpdatePhase.Succeeded, "succeeded")]
    public void Phases_map_to_the_contracts_state_names(UpdatePhase phase, string name) =>
        Assert.Equal(name, UpdateInterface.StateName(phase));
}
