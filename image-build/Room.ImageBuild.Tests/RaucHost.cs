using Room.Testing.Rauc;

namespace Room.ImageBuild.Tests;

/// <summary>
/// Debian's real RAUC service on this host against file-backed slots, on a private bus, as an xunit fixture: the
/// set-up is Room.Testing's <see cref="RaucService"/> (shared with Room.Fleet's installer tests), with image-build's
/// bundles (good, foreign, another compatible, verity ones; tampered and truncated derived from good).
/// </summary>
public sealed class RaucHost : RaucService, IAsyncLifetime
{
    public Task InitializeAsync() => StartAsync();

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }
}
