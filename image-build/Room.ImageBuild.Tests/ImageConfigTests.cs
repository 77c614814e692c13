namespace Room.ImageBuild.Tests;

/// <summary>The image's own configuration files checked by the tools that read them on the box.</summary>
public sealed class ImageConfigTests
{
    [Fact]
    public async Task The_firewall_ruleset_loads_and_drops_what_it_does_not_allow()
    {
        var rules = Tool.ImageBuild("rootfs/etc/nftables.conf");

        var (code, o, e) = await Tool.RunAsync("nft", ["-c", "-f", rules]);

        Assert.True(code == 0, $"nft refuses the image's ruleset: {o}{e}");
        var text = await File.ReadAllTextAsync(rules);
        Assert.Contains("type filter hook input priority filter; policy drop;", text, StringComparison.Ordinal);
        Assert.Contains("type filter hook forward priority filter; policy drop;", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_ruleset_is_refused_by_the_same_check()
    {
        var bad = Path.Combine(Path.GetTempPath(), $"room-nft-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(bad, "table inet room { chain input { type filter hook input priority filter; policy maybe; } }\n");
        try
        {
            Assert.NotEqual(0, (await Tool.RunAsync("nft", ["-c", "-f", bad])).Code);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public async Task Sshd_accepts_the_image_settings_and_allows_keys_only()
    {
        var dir = Directory.CreateTempSubdirectory("room-sshd-").FullName;
        try
        {
            var key = Path.Combine(dir, "host");
            await Tool.RunOkAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
            var conf = (await File.ReadAllTextAsync(Tool.ImageBuild("rootfs/etc/ssh/sshd_config.d/room.conf")))
                .Replace("/data/ssh/ssh_host_ed25519_key", key, StringComparison.Ordinal);
            var file = Path.Combine(dir, "sshd_config");
            await File.WriteAllTextAsync(file, conf);

            // sshd wants its privilege separation folder even to print settings (the package's service makes it at start).
            Directory.CreateDirectory("/run/sshd");
            // -T: sshd parses the file and prints the settings it would run with.
            var effective = await Tool.RunOkAsync("/usr/sbin/sshd", ["-T", "-f", file, "-C", "user=root,host=x,addr=192.0.2.1"]);

            Assert.Contains("passwordauthentication no", effective, StringComparison.Ordinal);
            Assert.Contains("kbdinteractiveauthentication no", effective, StringComparison.Ordinal);
            Assert.Contains("authenticationmethods publickey", effective, StringComparison.Ordinal);
            Assert.Contains("permitrootlogin without-password", effective, StringComparison.Ordinal);
            Assert.Contains("authorizedkeysfile /data/ssh/authorized_keys", effective, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
