using Room.Bus.Client;
using Room.Testing;

namespace Room.Appliance.Tests;

/// <summary>A private dbus-daemon with a real roomd on it, shared by the tests of one class.</summary>
public sealed class RoomdFixture : IAsyncLifetime
{
    public PrivateBus Bus { get; } = new();

    public RoomdProcess Roomd { get; private set; } = null!;

    public RoomBusClient Client { get; private set; } = null!;

    public string StateDirectory => Path.Combine(Bus.Directory, "state");

    public async Task InitializeAsync()
    {
        var start = DateTimeOffset.UtcNow.AddMinutes(10);
        Roomd = await RoomdProcess.StartAsync(Bus.Address, StateDirectory,
            "--Room:Name", "Ratssaal",
            "--Room:AdminPin", "4711",
            "--Room:Calendar:0:Title", "Bauausschuss",
            "--Room:Calendar:0:Uri", "test-loopback://meet.example.org/m/bau",
            "--Room:Calendar:0:Start", start.ToString("O"),
            "--Room:Calendar:0:End", start.AddHours(1).ToString("O"));
        Client = await RoomBusClient.ConnectAsync(Bus.Address);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Roomd.DisposeAsync();
        Bus.Dispose();
    }
}
