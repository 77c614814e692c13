namespace Room.ImageBuild.Tests;

/// <summary>
/// Bad bundles are refused by the real RAUC before any slot is touched: tampered, signed by a key outside the image's
/// keyring, made for another compatible, truncated. A good bundle installs (so the refusals are not an installer that
/// refuses everything).
/// </summary>
public sealed class RaucBundleRefusalTests(RaucHost host) : IClassFixture<RaucHost>
{
    private string[] Watched => [host.SlotA, host.SlotB, host.Autoboot, Path.Combine(host.Dir, "reboot-param")];

    private async Task AssertRefusedUntouched(string bundle, params string[] reasons)
    {
        var before = Watched.Select(Tool.Sha256).ToArray();

        var (code, o, e) = await Tool.RunAsync("rauc", ["install", host.Bundle(bundle)], host.ClientEnv);

        Assert.True(code != 0, $"rauc installed the {bundle} bundle: {o}{e}");
        // The client prints the service's reason for most refusals; RAUC's Installer.LastError always holds it.
        var (_, lastError, _) = await Tool.RunAsync("busctl", ["--address", host.ClientEnv["DBUS_SESSION_BUS_ADDRESS"], "get-property",
            "de.pengutronix.rauc", "/", "de.pengutronix.rauc.Installer", "LastError"]);
        var said = o + e + lastError;
        Assert.True(reasons.Any(r => said.Contains(r, StringComparison.OrdinalIgnoreCase)),
            $"rauc's refusal of {bundle} does not say why ({string.Join(" | ", reasons)}): {said}");
        Assert.Equal(before, Watched.Select(Tool.Sha256).ToArray());
    }

    [Fact]
    public Task A_tampered_bundle_is_refused() => AssertRefusedUntouched("tampered", "signature verification failed");

    [Fact]
    public Task A_bundle_signed_by_another_key_is_refused() =>
        AssertRefusedUntouched("foreign", "unable to get local issuer certificate");

    [Fact]
    public Task A_bundle_for_another_compatible_is_refused() => AssertRefusedUntouched("other-compatible", "compatible mismatch");

    [Fact]
    public Task A_truncated_bundle_is_refused() => AssertRefusedUntouched("truncated", "Invalid bundle format");

    [Fact]
    public async Task A_verity_bundle_signed_by_another_key_is_refused_at_its_signature()
    {
        var conf = Path.Combine(host.Dir, "system.conf");
        var (code, o, e) = await Tool.RunAsync("rauc", ["--conf", conf, "info", host.Bundle("foreign-verity")]);
        Assert.True(code != 0, $"rauc accepted the foreign verity bundle: {o}{e}");
        Assert.Contains("unable to get local issuer certificate", o + e, StringComparison.Ordinal);

        // The image's own verity bundle passes the same check (its manifest says verity, the compatible is the image's).
        var good = await Tool.RunOkAsync("rauc", ["--conf", conf, "info", host.Bundle("good-verity")]);
        Assert.Contains("verity", good, StringComparison.Ordinal);
        Assert.Contains("room-box-amd64", good, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_good_bundle_installs_into_the_other_slot_and_asks_the_boot_loader_to_try_it()
    {
        var slotA = Tool.Sha256(host.SlotA);

        var (code, o, e) = await Tool.RunAsync("rauc", ["install", host.Bundle("good")], host.ClientEnv);

        Assert.True(code == 0, $"rauc install failed: {o}{e}");
        var payload = File.ReadAllBytes(host.Payload);
        Assert.Equal(payload, File.ReadAllBytes(host.SlotB)[..payload.Length]);
        Assert.Equal(slotA, Tool.Sha256(host.SlotA));
        Assert.Contains("[tryboot]\nboot_partition=3", File.ReadAllText(host.Autoboot), StringComparison.Ordinal);
        Assert.Equal("0 tryboot", File.ReadAllText(Path.Combine(host.Dir, "reboot-param")).Trim());
    }
}
