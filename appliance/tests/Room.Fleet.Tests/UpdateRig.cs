using Room.Testing.Rauc;

namespace Room.Fleet.Tests;

/// <summary>
/// The real parts an update goes through, started once for a test class: mosquitto with TLS and the shipped ACL,
/// Debian's RAUC service on a private bus with file-backed slots and the tryboot backend (Room.Testing's RaucService,
/// shared with image-build's tests), and a Kestrel HTTPS server for the bundles.
/// Bundles (image-build's signing step, dev keys): good (1.6.0), old (1.0.0), arm (1.6.0, another compatible);
/// tampered and truncated from good.
/// </summary>
public sealed class UpdateRig : IAsyncLifetime
{
    public MosquittoBroker Broker { get; } = new();

    public RaucService Rauc { get; } = new(
    [
        new("good", "dev", "room-box-amd64", "plain", "1.6.0"),
        new("old", "dev", "room-box-amd64", "plain", "1.0.0"),
        new("arm", "dev", "room-box-arm64-rpi4", "plain", "1.6.0"),
    ]);

    public BundleServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Broker.InitializeAsync();
        await Rauc.StartAsync();
        Server = await BundleServer.StartAsync(Broker.Pki);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Rauc.Dispose();
        await Broker.DisposeAsync();
    }
}
