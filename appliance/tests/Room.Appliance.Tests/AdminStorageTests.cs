using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Appliance.Administration;

namespace Room.Appliance.Tests;

/// <summary>Settings and the PIN on the data partition: atomic writes, broken files detected, the last good one used.</summary>
public sealed class AdminStorageTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("room-admin-store-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string File(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public void A_written_file_reads_back_and_leaves_no_temporary_file()
    {
        AtomicFile.Write(File("a"), "eins"u8, (UnixFileMode)0b110_000_000);
        AtomicFile.Write(File("a"), "zwei"u8, (UnixFileMode)0b110_000_000);
        Assert.Equal("zwei", Encoding.UTF8.GetString(AtomicFile.Read(File("a"), out var problem)!));
        Assert.Null(problem);
        Assert.False(System.IO.File.Exists(File("a.tmp")));
        Assert.Equal("eins", Encoding.UTF8.GetString(AtomicFile.Read(File("a.prev"), out _)!));
        Assert.Equal((UnixFileMode)0b110_000_000, System.IO.File.GetUnixFileMode(File("a")));
    }

    [Theory]
    [InlineData("cut short")]
    [InlineData("garbage")]
    [InlineData("flipped byte")]
    [InlineData("empty")]
    [InlineData("appended")]
    [InlineData("bad header")]
    public void A_broken_file_is_detected_and_the_last_good_version_used(string damage)
    {
        AtomicFile.Write(File("s"), "old settings"u8, (UnixFileMode)0b110_000_000);
        AtomicFile.Write(File("s"), "new settings"u8, (UnixFileMode)0b110_000_000);
        var bytes = System.IO.File.ReadAllBytes(File("s"));
        byte[] broken = damage switch
        {
            "cut short" => bytes[..^4],
            "garbage" => "{\"RoomName\": \"x\""u8.ToArray(),
            "flipped byte" => [.. bytes[..^1], (byte)(bytes[^1] ^ 1)],
            "empty" => [],
            "appended" => [.. bytes, .. "more"u8],
            "bad header" => [.. "room-file 1 length=abc sha256=00\n"u8, .. "new settings"u8],
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        System.IO.File.WriteAllBytes(File("s"), broken);

        var read = AtomicFile.Read(File("s"), out var problem);
        Assert.Equal("old settings", Encoding.UTF8.GetString(read!));
        Assert.NotNull(problem);

        // The next write does not let the broken file replace the good fallback.
        AtomicFile.Write(File("s"), "newest"u8, (UnixFileMode)0b110_000_000);
        Assert.Equal("old settings", Encoding.UTF8.GetString(AtomicFile.Read(File("s.prev"), out _)!));
    }

    [Fact]
    public void A_crash_between_the_two_renames_reads_the_old_version()
    {
        AtomicFile.Write(File("s"), "old"u8, (UnixFileMode)0b110_000_000);
        // As left by a crash after NAME went to NAME.prev and before NAME.tmp became NAME.
        System.IO.File.Move(File("s"), File("s.prev"), overwrite: true);
        System.IO.File.WriteAllText(File("s.tmp"), "room-file 1 length=3 sha256=");
        Assert.Equal("old", Encoding.UTF8.GetString(AtomicFile.Read(File("s"), out _)!));
    }

    [Fact]
    public void No_file_at_all_is_no_problem_and_no_content()
    {
        Assert.Null(AtomicFile.Read(File("none"), out var problem));
        Assert.Null(problem);
    }

    [Fact]
    public void Settings_survive_a_restart_and_a_broken_file_falls_back_with_an_error_logged()
    {
        var logger = new ListLogger();
        var store = new AdminSettingsStore(_dir.FullName, NullLogger<AdminSettingsStore>.Instance);
        store.Update(s => s with { RoomName = "Ratssaal", DefaultVolume = 30 });
        store.Update(s => s with { RoomName = "Trausaal" });
        Assert.Equal("Trausaal", new AdminSettingsStore(_dir.FullName, NullLogger<AdminSettingsStore>.Instance).Current.RoomName);

        System.IO.File.WriteAllText(store.Path, "room-file 1 length=5 sha256=00\n{\"Ro");
        var reloaded = AdminSettingsStore.Load(store.Path, logger);
        Assert.Equal("Ratssaal", reloaded.RoomName);
        Assert.Equal(30u, reloaded.DefaultVolume);
        Assert.Contains(logger.Lines, l => l.Contains("broken", StringComparison.Ordinal) && l.Contains("last good", StringComparison.Ordinal));
    }

    [Fact]
    public void Values_on_disk_that_break_a_rule_are_dropped_and_named()
    {
        var payload = """{"RoomName":"","DefaultVolume":400,"Language":"fr","TimeZone":"../../etc/passwd","DisplayStandbyMinutes":-5,"NtpServers":["ok.example.org"],"MaintenanceStart":"25:00","MaintenanceMinutes":30}"""u8;
        AtomicFile.Write(File(AdminSettingsStore.FileName), payload, (UnixFileMode)0b110_000_000);
        var logger = new ListLogger();
        var s = AdminSettingsStore.Load(File(AdminSettingsStore.FileName), logger);
        Assert.Equal(new AdminSettings { NtpServers = s.NtpServers }, s);
        Assert.Equal(["ok.example.org"], s.NtpServers);
        foreach (var name in new[] { "RoomName", "DefaultVolume", "Language", "TimeZone", "DisplayStandbyMinutes", "MaintenanceWindow" })
        {
            Assert.Contains(logger.Lines, l => l.Contains(name, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Intact_but_malformed_json_gives_the_defaults()
    {
        AtomicFile.Write(File(AdminSettingsStore.FileName), "[1,2"u8, (UnixFileMode)0b110_000_000);
        Assert.Equal(new AdminSettings(), AdminSettingsStore.Load(File(AdminSettingsStore.FileName), NullLogger.Instance));
    }

    [Fact]
    public void A_refused_change_leaves_settings_and_file_unchanged()
    {
        var store = new AdminSettingsStore(_dir.FullName, NullLogger<AdminSettingsStore>.Instance);
        store.Update(s => s with { DefaultVolume = 30 });
        var before = System.IO.File.ReadAllBytes(store.Path);
        Assert.Throws<AdminRefusedException>(() => store.Update(s => s with { DefaultVolume = AdminSettingsRules.Volume(101) }));
        Assert.Equal(30u, store.Current.DefaultVolume);
        Assert.Equal(before, System.IO.File.ReadAllBytes(store.Path));
    }

    [Fact]
    public void The_pin_is_stored_only_as_a_salted_argon2id_hash_readable_by_its_owner_alone()
    {
        var pins = new PinStore(_dir.FullName, NullLogger<PinStore>.Instance);
        Assert.False(pins.IsSet);
        pins.Set("20261206");
        var text = System.IO.File.ReadAllText(pins.Path);
        Assert.DoesNotContain("20261206", text, StringComparison.Ordinal);
        Assert.Contains("\"alg\":\"argon2id\"", text, StringComparison.Ordinal);
        Assert.Equal((UnixFileMode)0b110_000_000, System.IO.File.GetUnixFileMode(pins.Path));

        var again = new PinStore(_dir.FullName, NullLogger<PinStore>.Instance);
        Assert.True(again.Verify("20261206"));
        Assert.False(again.Verify("20261207"));
        Assert.False(again.Verify(""));

        // The same PIN set twice gets a different salt, so a different hash.
        pins.Set("20261206");
        Assert.NotEqual(text, System.IO.File.ReadAllText(pins.Path));
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("1234567890123")]
    [InlineData("12345a")]
    [InlineData("١٢٣٤٥٦")] // Arabic-Indic digits are digits to char.IsDigit, not to a keypad
    [InlineData(" 123456")]
    [InlineData("")]
    public void Pins_other_than_6_to_12_ascii_digits_are_refused_and_the_old_one_kept(string pin)
    {
        var pins = new PinStore(_dir.FullName, NullLogger<PinStore>.Instance);
        pins.Set("123456");
        var ex = Assert.Throws<AdminRefusedException>(() => pins.Set(pin));
        Assert.Equal(AdminRefusalKind.InvalidArgument, ex.Kind);
        Assert.DoesNotContain(pin.Length > 0 ? pin : "\u0000", ex.Message, StringComparison.Ordinal);
        Assert.True(pins.Verify("123456"));
    }

    [Fact]
    public void A_broken_pin_file_means_no_pin_rather_than_any_pin()
    {
        var pins = new PinStore(_dir.FullName, NullLogger<PinStore>.Instance);
        pins.Set("123456");
        AtomicFile.Write(pins.Path, """{"alg":"none","m":1,"t":1,"salt":"","hash":""}"""u8, (UnixFileMode)0b110_000_000);
        System.IO.File.Delete(pins.Path + ".prev");
        var reloaded = new PinStore(_dir.FullName, NullLogger<PinStore>.Instance);
        Assert.False(reloaded.IsSet);
        Assert.False(reloaded.Verify("123456"));
        Assert.False(reloaded.Verify(""));
    }

    [Theory]
    [InlineData("Europe/Berlin", true)]
    [InlineData("UTC", true)]
    [InlineData("Mars/Olympus", false)]
    [InlineData("../../../etc/passwd", false)]
    [InlineData("", false)]
    public void Time_zones_must_be_known_to_the_system(string zone, bool ok)
    {
        if (ok)
        {
            Assert.Equal(zone, AdminSettingsRules.TimeZone(zone));
        }
        else
        {
            Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.TimeZone(zone)).Kind);
        }
    }

    [Fact]
    public void Malformed_settings_are_refused_by_name()
    {
        Assert.Equal(AdminRefusalKind.OutOfRange, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.RoomName(new string('x', 81))).Kind);
        Assert.Equal(AdminRefusalKind.OutOfRange, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.RoomName("   ")).Kind);
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.RoomName("a\u0007b")).Kind);
        Assert.Equal(AdminRefusalKind.OutOfRange, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.DisplayStandby(1441)).Kind);
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.Language("fr")).Kind);
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.NtpServers(["bad host!"])).Kind);
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.NtpServers(["a.org", "A.org"])).Kind);
        Assert.Equal(AdminRefusalKind.OutOfRange, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.NtpServers(["a", "b", "c", "d", "e", "f"])).Kind);
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.MaintenanceWindow("24:00", 60)).Kind);
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.MaintenanceWindow("2:00", 60)).Kind);
        Assert.Equal(AdminRefusalKind.OutOfRange, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.MaintenanceWindow("02:00", 0)).Kind);
        Assert.Equal(AdminRefusalKind.OutOfRange, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.MaintenanceWindow("02:00", 721)).Kind);
        Assert.Equal(("", 0u), AdminSettingsRules.MaintenanceWindow("", 0));
        Assert.Equal(("23:59", 720u), AdminSettingsRules.MaintenanceWindow("23:59", 720));
    }

    [Fact]
    public void Log_lines_lose_uri_fragments_that_may_hold_meeting_keys()
    {
        Assert.Equal("joining test-janus-linkkey://h:8188/1234#[redacted] now", RecentLog.Redact("joining test-janus-linkkey://h:8188/1234#k=AAECAwQFBgcICQ now"));
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
