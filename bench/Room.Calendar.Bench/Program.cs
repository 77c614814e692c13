using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Calendar;
using Room.Calendar.CalDav;
using Room.Calendar.Storage;
using Room.Testing;

// make calendar-bench: a full sync of 5,000 events and an incremental sync of 10 changes against a real Radicale
// (goals: under 2 s and under 100 ms). The events are written into Radicale's storage folder before the first request
// (creating 5,000 over HTTP would measure Radicale, not the room); the 10 changes go over CalDAV as a client makes them.
const int Events = 5000;
const int Changes = 10;
var day = new DateTimeOffset(2026, 10, 26, 0, 0, 0, TimeSpan.Zero);

await using var radicale = await RadicaleServer.StartAsync();
Directory.CreateDirectory(radicale.CollectionFolder);
for (var i = 0; i < Events; i++)
{
    await File.WriteAllTextAsync(Path.Combine(radicale.CollectionFolder, $"e{i}.ics"), Event(i, "Sitzung"));
}

// Radicale indexes its folder on the first request; that is the server's cost, not the room's, so it is paid before timing.
using var http = new DavHttp(TimeSpan.FromSeconds(900), 256L * 1024 * 1024);
var warm = new CalDavSource(radicale.Calendar, radicale.CredentialsFile, http);
await warm.SyncAsync(SourceState.Empty(warm.Key), default);

var options = Options.Create(new CalendarOptions { TimeZone = "Europe/Berlin", MeetingServer = "https://meet.example.org", Sources = [new() { Url = radicale.Calendar.AbsoluteUri }] });
var time = new FixedTime(day.AddHours(6));
// The offline copy is written as roomd writes it (after every sync that changed something).
var state = Directory.CreateTempSubdirectory("room-calendar-bench-");
var cache = new AgendaCache(Path.Combine(state.FullName, "calendar-cache.json"));
using var calendar = new CalendarService(options, [new CalDavSource(radicale.Calendar, radicale.CredentialsFile, http)], cache, time, NullLogger<CalendarService>.Instance);
// The parser's code is compiled before timing, as the HTTP path was above (roomd pays this once per start).
new Room.Calendar.Ics.IcsReader(TimeZoneInfo.Utc, null).Read(Event(0, "warm-up"), day, day.AddDays(60));

var self = System.Diagnostics.Process.GetCurrentProcess();
var serverBefore = radicale.CpuTime;
var roomBefore = self.TotalProcessorTime;
var full = Stopwatch.StartNew();
var ok = await calendar.SyncNowAsync(default);
full.Stop();
var serverFull = radicale.CpuTime - serverBefore;
self.Refresh();
var roomFull = self.TotalProcessorTime - roomBefore;
Check(ok && calendar.Snapshot.Today.Count + calendar.Snapshot.Tomorrow.Count > 0, "full sync");

for (var i = 0; i < Changes; i++)
{
    await radicale.PutAsync($"e{1728 + (i * 7)}.ics", Event(1728 + (i * 7), "Geändert"));
}

serverBefore = radicale.CpuTime;
self.Refresh();
roomBefore = self.TotalProcessorTime;
var incremental = Stopwatch.StartNew();
ok = await calendar.SyncNowAsync(default);
incremental.Stop();
var serverIncremental = radicale.CpuTime - serverBefore;
self.Refresh();
var roomIncremental = self.TotalProcessorTime - roomBefore;
Check(ok && calendar.Window.Any(e => e.Title.StartsWith("Geändert", StringComparison.Ordinal)), "incremental sync");

state.Delete(recursive: true);
// Radicale's CPU time is shown beside each: it walks every item of the collection for any sync-collection report
// (and any collection property), which is the server's cost, not the room's; on a loaded machine the wall time
// includes waiting for a core.
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calendar full sync of {Events} events (fetch, parse, agenda, offline copy): {full.Elapsed.TotalMilliseconds:0} ms (goal < 2000 ms); CPU time: Radicale {serverFull.TotalMilliseconds:0} ms, the room {roomFull.TotalMilliseconds:0} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calendar incremental sync of {Changes} changes: {incremental.Elapsed.TotalMilliseconds:0} ms (goal < 100 ms); CPU time: Radicale {serverIncremental.TotalMilliseconds:0} ms, the room {roomIncremental.TotalMilliseconds:0} ms"));
return 0;

static string Event(int i, string title)
{
    var start = new DateTimeOffset(2026, 10, 20, 6, 0, 0, TimeSpan.Zero).AddMinutes(i * 5 % (14 * 24 * 60));
    return string.Join("\r\n",
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Room//Bench//EN", "BEGIN:VEVENT",
        $"UID:bench-{i}", "DTSTAMP:20261001T000000Z",
        $"DTSTART:{start.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}", $"DTEND:{start.AddMinutes(30).UtcDateTime:yyyyMMdd'T'HHmmss'Z'}",
        $"SUMMARY:{title} {i}", $"URL:https://meet.example.org/meetings/m{i}",
        "END:VEVENT", "END:VCALENDAR", "");
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException($"calendar bench: the {what} did not give the expected agenda.");
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
