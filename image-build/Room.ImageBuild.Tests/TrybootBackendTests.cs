namespace Room.ImageBuild.Tests;

/// <summary>
/// The Raspberry Pi A/B backend (rpi/rauc-tryboot-backend, RAUC's custom bootloader interface) against fake firmware
/// files: autoboot.txt on a folder standing for the boot-selector partition, the firmware's device-tree cells
/// (chosen/bootloader/tryboot and partition) and systemd's reboot parameter file.
/// </summary>
public sealed class TrybootBackendTests : IDisposable
{
    private const string Standard = "[all]\ntryboot_a_b=1\nboot_partition=2\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("room-tryboot-").FullName;

    public TrybootBackendTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "dt"));
        File.WriteAllText(Autoboot, Standard);
        Boot(partition: 2, tryboot: false);
    }

    private string Autoboot => Path.Combine(_dir, "autoboot.txt");

    private string RebootParam => Path.Combine(_dir, "run", "reboot-param");

    /// <summary>What the firmware tells the booted kernel: which partition it booted and whether this is a tryboot.</summary>
    private void Boot(int partition, bool tryboot)
    {
        File.WriteAllBytes(Path.Combine(_dir, "dt", "partition"), [0, 0, 0, (byte)partition]);
        File.WriteAllBytes(Path.Combine(_dir, "dt", "tryboot"), [0, 0, 0, tryboot ? (byte)1 : (byte)0]);
        // /run is empty after any reboot.
        if (File.Exists(RebootParam))
        {
            File.Delete(RebootParam);
        }
    }

    /// <summary>The firmware's choice at reboot: [tryboot] once when the reboot asked for it, else [all].</summary>
    private void RebootAsFirmwareWould()
    {
        var tryboot = File.Exists(RebootParam) && File.ReadAllText(RebootParam).Contains("tryboot", StringComparison.Ordinal);
        var text = File.ReadAllText(Autoboot);
        var section = tryboot ? "[tryboot]" : "[all]";
        var part = text[text.IndexOf(section, StringComparison.Ordinal)..].Split('\n')
            .First(l => l.StartsWith("boot_partition=", StringComparison.Ordinal))["boot_partition=".Length..];
        Boot(int.Parse(part, System.Globalization.CultureInfo.InvariantCulture), tryboot);
    }

    private Task<(int Code, string Out, string Err)> Backend(params string[] args) =>
        Tool.RunAsync(Tool.ImageBuild("rpi/rauc-tryboot-backend"), args, new Dictionary<string, string>
        {
            ["ROOM_TRYBOOT_AUTOBOOT"] = Autoboot,
            ["ROOM_TRYBOOT_DT"] = Path.Combine(_dir, "dt"),
            ["ROOM_TRYBOOT_REBOOT"] = RebootParam,
            ["ROOM_TRYBOOT_SLOTS"] = "A=2 B=3",
        });

    private async Task<string> Ok(params string[] args)
    {
        var (code, o, e) = await Backend(args);
        Assert.True(code == 0, $"backend {string.Join(' ', args)} failed ({code}): {e}");
        return o.Trim();
    }

    [Fact]
    public async Task Reads_the_primary_and_current_slot_from_autoboot_and_the_device_tree()
    {
        Assert.Equal("A", await Ok("get-primary"));
        Assert.Equal("A", await Ok("get-current"));
        Assert.Equal("good", await Ok("get-state", "B"));
    }

    [Fact]
    public async Task Set_primary_asks_for_one_tryboot_and_keeps_the_old_slot_as_default()
    {
        await Ok("set-primary", "B");

        var text = File.ReadAllText(Autoboot);
        Assert.Contains("[all]\ntryboot_a_b=1\nboot_partition=2\n", text, StringComparison.Ordinal);
        Assert.Contains("[tryboot]\nboot_partition=3\n", text, StringComparison.Ordinal);
        Assert.Equal("0 tryboot", File.ReadAllText(RebootParam).Trim());
        Assert.Equal("B", await Ok("get-primary"));
    }

    [Fact]
    public async Task A_tried_slot_that_marks_itself_good_becomes_the_default()
    {
        await Ok("set-primary", "B");
        RebootAsFirmwareWould();
        Assert.Equal("B", await Ok("get-current"));

        await Ok("set-state", "B", "good");

        Assert.Contains("[all]\ntryboot_a_b=1\nboot_partition=3\n", File.ReadAllText(Autoboot), StringComparison.Ordinal);
        RebootAsFirmwareWould();
        Assert.Equal("B", await Ok("get-current"));
        Assert.Equal("B", await Ok("get-primary"));
    }

    [Fact]
    public async Task A_tried_slot_that_never_marks_itself_good_falls_back_at_the_next_reboot()
    {
        await Ok("set-primary", "B");
        RebootAsFirmwareWould();
        Assert.Equal("B", await Ok("get-current"));

        // No mark-good: the box restarts (watchdog, boot check) with a plain reboot.
        RebootAsFirmwareWould();

        Assert.Equal("A", await Ok("get-current"));
        Assert.Equal("A", await Ok("get-primary"));
    }

    [Fact]
    public async Task Marking_the_old_slot_good_during_a_plain_boot_commits_nothing()
    {
        await Ok("set-primary", "B");
        await Ok("set-state", "A", "good");
        Assert.Contains("[all]\ntryboot_a_b=1\nboot_partition=2\n", File.ReadAllText(Autoboot), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Marking_a_pending_slot_bad_cancels_its_try()
    {
        await Ok("set-primary", "B");
        await Ok("set-state", "B", "bad");

        Assert.Equal("bad", await Ok("get-state", "B"));
        Assert.False(File.Exists(RebootParam));
        Assert.Equal("A", await Ok("get-primary"));
        // A later install of B makes it good again.
        await Ok("set-primary", "B");
        Assert.Equal("good", await Ok("get-state", "B"));
    }

    [Theory]
    [InlineData("garbage\n", "tryboot_a_b=1")]
    [InlineData("[all]\nboot_partition=2\n", "tryboot_a_b=1")]
    [InlineData("[all]\ntryboot_a_b=1\n", "boot_partition is missing")]
    [InlineData("[all]\ntryboot_a_b=1\nboot_partition=two\n", "not a number")]
    [InlineData("[all]\ntryboot_a_b=1\nboot_partition=7\n", "partition 7 is no slot's")]
    [InlineData("[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=x\n", "not a number")]
    public async Task A_malformed_autoboot_txt_is_refused_and_left_as_it_was(string content, string reason)
    {
        File.WriteAllText(Autoboot, content);

        var (code, _, err) = await Backend("set-primary", "B");

        Assert.Equal(1, code);
        Assert.Contains(reason, err, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(Autoboot));
        Assert.False(File.Exists(RebootParam));
    }

    [Fact]
    public async Task An_unknown_slot_or_state_is_refused_without_changes()
    {
        var (code, _, err) = await Backend("set-primary", "C");
        Assert.Equal(1, code);
        Assert.Contains("unknown slot 'C'", err, StringComparison.Ordinal);

        (code, _, err) = await Backend("set-state", "B", "maybe");
        Assert.Equal(1, code);
        Assert.Contains("good or bad", err, StringComparison.Ordinal);

        Assert.Equal(Standard, File.ReadAllText(Autoboot));
        Assert.False(File.Exists(RebootParam));
        Assert.Equal(2, (await Backend("frobnicate")).Code);
    }

    [Fact]
    public async Task A_malformed_device_tree_cell_is_reported()
    {
        File.WriteAllBytes(Path.Combine(_dir, "dt", "partition"), [0, 0, 3]);

        var (code, _, err) = await Backend("get-current");

        Assert.Equal(1, code);
        Assert.Contains("holds 3 bytes", err, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
