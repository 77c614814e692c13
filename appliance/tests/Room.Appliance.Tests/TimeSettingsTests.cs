using Microsoft.Extensions.Logging.Abstractions;
using Room.Appliance.Administration;
using Room.Appliance.Administration.Time;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Tests;

/// <summary>
/// The parts of applying time settings that need no daemon: how timedated's and systemd's refusals reach the
/// administrator, the drop-in's text, the applied/not-applied verdict, and bad input refused before anything is
/// touched. The daemons themselves: <see cref="AdminTimeTests"/>.
/// </summary>
public sealed class TimeSettingsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("room-time-unit-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    // What Debian 12's timedated answers (seen against the real daemon: unknown zone, and a caller polkit did not allow).
    [InlineData("org.freedesktop.DBus.Error.InvalidArgs", "Invalid or not installed time zone 'Mars/Olympus'", AdminRefusalKind.InvalidArgument, "systemd-timedated does not take the time zone 'Mars/Olympus': Invalid or not installed time zone 'Mars/Olympus'")]
    [InlineData("org.freedesktop.DBus.Error.AccessDenied", "Permission denied", AdminRefusalKind.Failed, "polkit action org.freedesktop.timedate1.set-timezone")]
    [InlineData("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "Interactive authentication required.", AdminRefusalKind.Failed, "polkit action org.freedesktop.timedate1.set-timezone")]
    [InlineData("org.freedesktop.DBus.Error.ServiceUnknown", "The name org.freedesktop.timedate1 was not provided by any .service files", AdminRefusalKind.Failed, "systemd-timedated cannot be reached: org.freedesktop.DBus.Error.ServiceUnknown")]
    [InlineData("org.freedesktop.DBus.Error.Failed", "Failed to set time zone: Read-only file system", AdminRefusalKind.Failed, "systemd-timedated refused: org.freedesktop.DBus.Error.Failed: Failed to set time zone: Read-only file system")]
    public void Timedated_refusals_become_named_admin_errors(string error, string message, AdminRefusalKind kind, string says)
    {
        var refusal = TimeRefusals.Timedated("Mars/Olympus", new DBusErrorReplyException(error, message));
        Assert.Equal(kind, refusal.Kind);
        Assert.Contains(says, refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("org.freedesktop.systemd1.NoSuchUnit", "Unit systemd-timesyncd.service not found.", "systemd has no unit systemd-timesyncd.service to restart")]
    [InlineData("org.freedesktop.DBus.Error.AccessDenied", "Access denied", "polkit action org.freedesktop.systemd1.manage-units")]
    [InlineData("org.freedesktop.DBus.Error.ServiceUnknown", "no systemd1", "systemd (restarting systemd-timesyncd.service) cannot be reached")]
    [InlineData("org.freedesktop.systemd1.UnitMasked", "Unit systemd-timesyncd.service is masked.", "systemd (restarting systemd-timesyncd.service) refused: org.freedesktop.systemd1.UnitMasked")]
    public void Restart_refusals_become_failed_with_the_reason(string error, string message, string says)
    {
        var refusal = TimeRefusals.Timesyncd("systemd-timesyncd.service", new DBusErrorReplyException(error, message));
        Assert.Equal(AdminRefusalKind.Failed, refusal.Kind);
        Assert.Contains(says, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_drop_in_that_cannot_be_written_and_a_service_without_answer_are_failed_with_the_reason()
    {
        var io = TimeRefusals.Timesyncd("systemd-timesyncd.service", new UnauthorizedAccessException("Access to the path '/etc/systemd/timesyncd.conf.d/50-room.conf.tmp' is denied."));
        Assert.Equal((AdminRefusalKind.Failed, "The systemd-timesyncd drop-in could not be written: Access to the path '/etc/systemd/timesyncd.conf.d/50-room.conf.tmp' is denied."), (io.Kind, io.Message));
        var timeout = TimeRefusals.Timedated("Europe/Berlin", new TimeoutException("org.freedesktop.timedate1 gave no answer within 30 s"));
        Assert.Equal((AdminRefusalKind.Failed, "systemd-timedated cannot be reached: org.freedesktop.timedate1 gave no answer within 30 s"), (timeout.Kind, timeout.Message));
    }

    [Fact]
    public void The_drop_in_sets_NTP_in_the_Time_section_and_no_servers_means_no_drop_in()
    {
        Assert.Equal($"{TimesyncdDropIn.Marker}\n[Time]\nNTP=ntp1.example.org 192.0.2.123 2001:db8::1\n",
            System.Text.Encoding.UTF8.GetString(TimesyncdDropIn.Render(["ntp1.example.org", "192.0.2.123", "2001:db8::1"])!));
        Assert.Null(TimesyncdDropIn.Render([]));
    }

    [Theory]
    [InlineData("ntp.example\n[Time]\nFallbackNTP=evil.example")]
    [InlineData("ntp.example FallbackNTP=x")]
    [InlineData("#comment")]
    [InlineData("")]
    public void A_server_that_would_add_a_line_or_a_word_to_the_drop_in_is_refused(string server)
    {
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => TimesyncdDropIn.Render([server])).Kind);
    }

    public static TheoryData<string?, string[]?, string?, TimeReadback?, bool, string> Verdicts => new()
    {
        { null, null, null, new TimeReadback("Etc/UTC", [], "", []), false, "not set through Admin (systemd-timedated reports Etc/UTC, systemd-timesyncd NTP servers [])" },
        { "Europe/Berlin", [], "roomd applies no time settings (Admin:Time is none)", null, false, "stored, not applied: roomd applies no time settings (Admin:Time is none)" },
        { "Europe/Berlin", ["a.example"], null, null, false, "not applied yet: systemd-timedated and systemd-timesyncd not read back since roomd started" },
        { "Europe/Berlin", ["a.example"], null, new TimeReadback("Europe/Berlin", ["a.example"], "a.example", []), true, "applied: systemd-timedated reports Europe/Berlin, systemd-timesyncd NTP servers [a.example] using a.example" },
        { "Europe/Berlin", ["a.example"], null, new TimeReadback("Europe/Vienna", ["a.example"], "", []), false, "not applied: systemd-timedated reports time zone Europe/Vienna, not Europe/Berlin" },
        { "Europe/Berlin", ["a.example"], null, new TimeReadback("Europe/Berlin", ["b.example"], "", []), false, "not applied: systemd-timesyncd uses NTP servers [b.example], not [a.example]" },
        { "Europe/Berlin", ["a.example"], null, new TimeReadback("Europe/Berlin", null, "", ["org.freedesktop.timesync1 SystemNTPServers unreadable: gone"]), false, "not applied: org.freedesktop.timesync1 SystemNTPServers unreadable: gone" },
        { "Europe/Berlin", [], null, new TimeReadback(null, [], "", ["org.freedesktop.timedate1 Timezone unreadable: gone"]), false, "not applied: org.freedesktop.timedate1 Timezone unreadable: gone" },
        { "Europe/Berlin", [], null, new TimeReadback("Europe/Berlin", ["image.example"], "", []), true, "applied: systemd-timedated reports Europe/Berlin, systemd-timesyncd NTP servers [image.example]" },
    };

    [Theory]
    [MemberData(nameof(Verdicts))]
    public void Applied_only_when_the_services_report_what_was_set(string? zone, string[]? ntp, string? unavailable, TimeReadback? readback, bool applied, string text)
    {
        Assert.Equal((applied, text), TimeStatus.Describe(zone, ntp, unavailable, readback));
    }

    [Fact]
    public async Task Bad_input_is_refused_before_timedated_or_the_drop_in_is_touched_and_an_unreachable_timedated_changes_nothing()
    {
        var conf = Path.Combine(_dir.FullName, "timesyncd.conf.d");
        Directory.CreateDirectory(conf);
        var drop = Path.Combine(conf, TimesyncdDropIn.FileName);
        await File.WriteAllTextAsync(drop, "before");
        using var service = new SystemdTimeService($"unix:path={Path.Combine(_dir.FullName, "no-bus")}", conf, "systemd-timesyncd.service", NullLogger<SystemdTimeService>.Instance);

        var tooMany = await Assert.ThrowsAsync<AdminRefusedException>(() => service.ApplyAsync("Europe/Berlin", ["a", "b", "c", "d", "e", "f"], CancellationToken.None));
        Assert.Equal(AdminRefusalKind.OutOfRange, tooMany.Kind);
        var injected = await Assert.ThrowsAsync<AdminRefusedException>(() => service.ApplyAsync("Europe/Berlin", ["a.example\nNTP=b"], CancellationToken.None));
        Assert.Equal(AdminRefusalKind.InvalidArgument, injected.Kind);
        var unreachable = await Assert.ThrowsAsync<AdminRefusedException>(() => service.ApplyAsync("Europe/Berlin", ["a.example"], CancellationToken.None));
        Assert.Equal(AdminRefusalKind.Failed, unreachable.Kind);
        Assert.StartsWith("systemd-timedated cannot be reached", unreachable.Message, StringComparison.Ordinal);

        Assert.Equal("before", await File.ReadAllTextAsync(drop));
        Assert.Equal([TimesyncdDropIn.FileName], Directory.GetFiles(conf).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("Europe/../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("Europe/Berlin\n")]
    [InlineData("Europe\\Berlin")]
    public void Zone_names_with_path_tricks_are_refused(string zone)
    {
        Assert.Equal(AdminRefusalKind.InvalidArgument, Assert.Throws<AdminRefusedException>(() => AdminSettingsRules.TimeZone(zone)).Kind);
    }
}
