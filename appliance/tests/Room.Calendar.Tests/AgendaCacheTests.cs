using Room.Calendar.CalDav;
using Room.Calendar.Storage;

namespace Room.Calendar.Tests;

public sealed class AgendaCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-calendar-cache-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static SourceState State(string ics) => new("https://cal.example.org/room/", "token-1", "ctag-1",
        new Dictionary<string, CalendarResource>(StringComparer.Ordinal) { ["/room/a.ics"] = new("\"1\"", ics) });

    [Fact]
    public void What_was_saved_is_loaded_with_its_sync_time_and_no_temporary_file_is_left()
    {
        var cache = new AgendaCache(Path.Combine(_dir, "cache.json"));
        var at = new DateTimeOffset(2026, 10, 25, 6, 30, 0, TimeSpan.Zero);

        cache.Save([State(IcsSamples.Series())], at);
        var loaded = cache.Load();

        Assert.NotNull(loaded);
        Assert.Equal(at, loaded.Value.LastSync);
        var s = Assert.Single(loaded.Value.Sources);
        Assert.Equal(("token-1", "ctag-1", IcsSamples.Series()), (s.SyncToken, s.CTag, s.Resources["/room/a.ics"].Ics));
        Assert.Equal(["cache.json"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_damaged_cache_file_is_refused_with_a_reason_and_a_missing_one_is_no_cache()
    {
        var path = Path.Combine(_dir, "cache.json");
        Assert.Null(new AgendaCache(path).Load());

        File.WriteAllText(path, "{\"Version\":1,\"Sources\":[{\"Key\":");
        Assert.Throws<InvalidDataException>(() => new AgendaCache(path).Load());

        File.WriteAllText(path, "{\"Version\":99}");
        Assert.Throws<InvalidDataException>(() => new AgendaCache(path).Load());
    }

    [Fact]
    public async Task A_calendar_service_shows_the_offline_copy_while_the_server_cannot_be_reached()
    {
        var path = Path.Combine(_dir, "cache.json");
        var synced = new DateTimeOffset(2026, 10, 25, 6, 0, 0, TimeSpan.Zero);
        var source = new MemorySource { Failure = "cal.example.org cannot be reached" };
        new AgendaCache(path).Save([State(IcsSamples.Series()) with { Key = source.Key }], synced);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 10, 25, 6, 30, 0, TimeSpan.Zero));
        using var calendar = new CalendarService(
            Microsoft.Extensions.Options.Options.Create(new CalendarOptions { TimeZone = "Europe/Berlin", MeetingServer = "https://meet.example.org" }),
            [source], new AgendaCache(path), time, Microsoft.Extensions.Logging.Abstractions.NullLogger<CalendarService>.Instance);

        Assert.Equal((SyncStatus.Pending, synced), (calendar.Snapshot.Status, calendar.Snapshot.LastSync));
        Assert.NotEmpty(calendar.Snapshot.Today);

        Assert.False(await calendar.SyncNowAsync(default));
        Assert.Equal(SyncStatus.Offline, calendar.Snapshot.Status);
        Assert.NotEmpty(calendar.Snapshot.Today);
        Assert.Contains("cannot be reached", calendar.Snapshot.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_entry_keeps_its_previous_version_and_is_reported()
    {
        var source = new MemorySource();
        source.Resources["/a.ics"] = IcsSamples.Series();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 10, 25, 6, 30, 0, TimeSpan.Zero));
        using var calendar = new CalendarService(
            Microsoft.Extensions.Options.Options.Create(new CalendarOptions { TimeZone = "Europe/Berlin", MeetingServer = "https://meet.example.org" }),
            [source], null, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<CalendarService>.Instance);
        Assert.True(await calendar.SyncNowAsync(default));
        var before = calendar.Snapshot.Today;

        source.Resources["/a.ics"] = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n";
        Assert.True(await calendar.SyncNowAsync(default));

        Assert.Equal(before, calendar.Snapshot.Today);
        Assert.Contains("refused", calendar.Snapshot.Error, StringComparison.Ordinal);
    }
}
