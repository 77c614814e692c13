using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>roomd starting, stopping and restarting as a process.</summary>
public sealed class RoomdLifecycleTests : IDisposable
{
    private readonly PrivateBus _bus = new();

    public void Dispose() => _bus.Dispose();

    private string State => Path.Combine(_bus.Directory, "state");

    [Fact]
    public async Task Presets_survive_a_roomd_restart()
    {
        await using (var first = await RoomdProcess.StartAsync(_bus.Address, State))
        {
            using var client = await RoomBusClient.ConnectAsync(_bus.Address);
            await client.MoveToAsync(-40, 20, 0.7);
            await client.StorePresetAsync("Window");
            first.Kill();
        }

        await using var second = await RoomdProcess.StartAsync(_bus.Address, State);
        using var again = await RoomBusClient.ConnectAsync(_bus.Address);
        Assert.Contains("Window", (await again.GetStatusAsync()).Camera.Presets);
        await again.RecallPresetAsync("Window");
        var camera = (await again.GetStatusAsync()).Camera;
        Assert.Equal((-40.0, 20.0, 0.7), (camera.Pan, camera.Tilt, camera.Zoom));
    }

    [Fact]
    public async Task A_second_roomd_on_the_same_bus_refuses_to_start_and_the_first_keeps_serving()
    {
        await using var first = await RoomdProcess.StartAsync(_bus.Address, State);
        await using var second = RoomdProcess.Start(_bus.Address, State + "-2");
        Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("already owned", second.Log, StringComparison.Ordinal);
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        Assert.True(await client.IsRoomdPresentAsync());
        Assert.False(first.HasExited);
    }

    [Theory]
    [InlineData("--Room:InitialVolume", "500")]
    [InlineData("--Room:AdminPin", "12")]
    [InlineData("--Room:Devices", "imaginary")]
    public async Task Invalid_configuration_stops_roomd_with_a_clear_message(string key, string value)
    {
        await using var roomd = RoomdProcess.Start(_bus.Address, State, key, value);
        Assert.Equal(2, await roomd.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("invalid configuration", roomd.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Roomd_exits_when_the_bus_goes_away_so_the_service_manager_restarts_it()
    {
        var bus = new PrivateBus();
        await using var roomd = await RoomdProcess.StartAsync(bus.Address, State);
        bus.Dispose();
        Assert.Equal(3, await roomd.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task With_the_linux_provider_roomd_serves_whatever_hardware_the_machine_has()
    {
        // This machine may have no camera, microphone or display at all: roomd must still serve, and say so.
        await using var roomd = await RoomdProcess.StartAsync(_bus.Address, State, "--Room:Devices", "linux");
        using var client = await RoomBusClient.ConnectAsync(_bus.Address);
        var status = await client.GetStatusAsync();
        Assert.All(status.Devices, d => Assert.Contains(d.Health, new[] { "ok", "degraded", "missing", "failed" }));
        if (status.Camera.Cameras.Count == 0)
        {
            var ex = await Assert.ThrowsAsync<Room.Bus.RoomBusException>(() => client.MoveToAsync(1, 1, 0));
            Assert.Equal(Room.Bus.BusErrors.UnknownCamera, ex.ErrorName);
        }

        var cli = await CliProcess.RunAsync(_bus.Address, "devices");
        Assert.Equal(0, cli.ExitCode);
        Assert.False(roomd.HasExited, roomd.Log);
    }
}
