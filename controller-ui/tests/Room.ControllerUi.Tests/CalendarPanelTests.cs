using System.Globalization;
using Microsoft.Playwright;
using Room.Bus;
using Room.Bus.Client;
using Room.Testing;

namespace Room.ControllerUi.Tests;

/// <summary>
/// The synced calendar on the panel: Debian's Radicale (CalDAV) started here, the real roomd syncing it, the real panel
/// and Chromium. roomd and the panel run in a fixed-offset zone where it is now around midday, so "today" and
/// "tomorrow" do not depend on when the test runs (no midnight in between).
/// </summary>
public sealed class CalendarPanelFixture : IAsyncLifetime, IDisposable
{
    public const string Haushalt = "test-loopback://meet.nordwind.example/haushalt";
    public const string Bau = "test-loopback://meet.nordwind.example/bau";

    private ChildProcess? _roomd;
    private ChildProcess? _panel;
    private PanelBrowser? _chromium;

    public TestBus Bus { get; } = new();

    public RadicaleServer Radicale { get; private set; } = null!;

    public RoomBusClient Remote { get; private set; } = null!;

    public IBrowser Browser => _chromium!.Browser;

    public string Url { get; private set; } = "";

    /// <summary>Etc/GMT±N, chosen so that the local time is between 11:00 and 13:00 now.</summary>
    public TimeZoneInfo Zone { get; } = MiddayZone();

    /// <summary>Local midnight of today in <see cref="Zone"/>.</summary>
    public DateTimeOffset Today { get; private set; }

    public DateTimeOffset Now => TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, Zone);

    public string Output => $"roomd:\n{_roomd?.Output}\npanel:\n{_panel?.Output}\nradicale:\n{Radicale?.Log}";

    public async Task InitializeAsync()
    {
        Radicale = await RadicaleServer.StartAsync();
        var now = Now;
        Today = new DateTimeOffset(now.Date, now.Offset);
        // Today: a meeting-server meeting in half an hour, a Teams meeting, a private one; tomorrow: one more.
        await Radicale.PutAsync("haushalt.ics", Event("haushalt", now.AddMinutes(30), now.AddMinutes(90), "Haushaltsausschuss", $"URL:{Haushalt}"));
        await Radicale.PutAsync("teams.ics", Event("teams", now.AddHours(2), now.AddHours(3), "Abstimmung Stadtwerke", "URL:https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc"));
        await Radicale.PutAsync("private.ics", Event("private", now.AddHours(4), now.AddHours(5), "Personalgespräch Meier", $"LOCATION:{Bau}", "CLASS:PRIVATE"));
        await Radicale.PutAsync("bau.ics", Event("bau", Today.AddDays(1).AddHours(10), Today.AddDays(1).AddHours(11), "Bauausschuss", $"URL:{Bau}"));

        var env = new Dictionary<string, string> { ["TZ"] = Zone.Id };
        _roomd = new ChildProcess(Repo.Roomd,
        [
            "--bus", Bus.Address, "--Room:StateDirectory", Path.Combine(Bus.Directory, "state"), "--Room:Name", "Ratssaal",
            "--Calendar:Sources:0:Kind", "caldav", "--Calendar:Sources:0:Url", Radicale.Calendar.AbsoluteUri,
            "--Calendar:Sources:0:CredentialsFile", Radicale.CredentialsFile,
            "--Calendar:MeetingServer", "https://meet.example.org", "--Calendar:TimeZone", Zone.Id,
            // The tests tap "join" themselves; the scheduler would join the first meeting 60 s before it starts.
            "--Calendar:AutoJoin", "false",
            // Syncs happen when a test asks (Calendar.Sync), so the sync time on the page is the one the test read.
            "--Calendar:SyncIntervalSeconds", "86400",
        ], env);
        Remote = await RoomBusClient.ConnectAsync(Bus.Address);
        await WaitAsync(async () => await Remote.IsRoomdPresentAsync(), "roomd on the bus");

        var port = Repo.FreePort();
        Url = $"http://127.0.0.1:{port}/";
        _panel = await PanelProcess.StartAsync(Url, ["--bus", Bus.Address, "--Logging:LogLevel:Default", "Warning"], env);
        _chromium = await PanelBrowser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }

        Dispose();
        if (Radicale is not null)
        {
            await Radicale.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _panel?.Dispose();
        Remote?.Dispose();
        _roomd?.Dispose();
        Bus.Dispose();
    }

    public async Task<IPage> OpenAsync(int width = 1280, int height = 800)
    {
        var page = await _chromium!.OpenAsync(Url, width, height);
        if (await page.GetByTestId("lang-de").GetAttributeAsync("aria-pressed") != "true")
        {
            await page.GetByTestId("lang-de").ClickAsync();
            await page.Locator(".panel[lang=de]").WaitForAsync();
        }

        return page;
    }

    /// <summary>roomd's state as roomctl would read it, once it satisfies the condition.</summary>
    public async Task<RoomStatus> WaitForStatusAsync(Func<RoomStatus, bool> condition)
    {
        RoomStatus status = RoomStatus.Empty;
        await WaitAsync(async () => condition(status = await Remote.GetStatusAsync()), "roomd's expected state");
        return status;
    }

    /// <summary>HH:mm of a time in the room's zone, as the panel shows it.</summary>
    public string Clock(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, Zone).ToString("HH:mm", CultureInfo.InvariantCulture);

    public static string Event(string uid, DateTimeOffset start, DateTimeOffset end, string title, params string[] extra) =>
        string.Join("\r\n", new[]
        {
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Room//Panel tests//EN", "BEGIN:VEVENT", $"UID:{uid}", "DTSTAMP:20260101T000000Z",
            $"DTSTART:{start.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}", $"DTEND:{end.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}", $"SUMMARY:{title}",
        }.Concat(extra).Concat(["END:VEVENT", "END:VCALENDAR", ""]));

    private async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + PanelFixture.Patience;
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Waited in vain for {what}.\n{Output}");
    }

    private static TimeZoneInfo MiddayZone()
    {
        var hours = 12 - DateTimeOffset.UtcNow.Hour;
        var id = hours switch
        {
            0 => "Etc/UTC",
            > 0 => $"Etc/GMT-{hours}",
            _ => $"Etc/GMT+{-hours}",
        };
        return TimeZoneInfo.FindSystemTimeZoneById(id);
    }
}

[CollectionDefinition(Name)]
public sealed class CalendarPanelGroup : ICollectionFixture<CalendarPanelFixture>
{
    public const string Name = "calendar on the panel";
}

[Collection(CalendarPanelGroup.Name)]
public sealed class CalendarPanelTests(CalendarPanelFixture fx) : IAsyncLifetime
{
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        var s = await fx.Remote.GetStatusAsync();
        if (s.Meeting.State is MeetingStates.InCall or MeetingStates.Joining)
        {
            await fx.Remote.LeaveAsync();
        }

        await fx.WaitForStatusAsync(x => x.Meeting.State is MeetingStates.Idle or MeetingStates.Error && x.Calendar.SyncState is "ok" or "offline");
        _page = await fx.OpenAsync();
    }

    public async Task DisposeAsync() => await _page.CloseAsync();

    private ILocator Id(string testId) => _page.GetByTestId(testId);

    private ILocator Entry(string uid) => _page.Locator($"[data-testid=agenda-entry][data-id^='{uid}@']");

    [Fact]
    public async Task The_agenda_shows_today_and_tomorrow_the_next_meeting_and_the_sync_time_and_joins_with_one_tap()
    {
        var status = await fx.WaitForStatusAsync(s => s.Calendar.SyncState == "ok" && s.Calendar.Today.Count == 3);
        Assert.NotNull(status.Calendar.LastSync);

        await Assertions.Expect(Id("sync-line")).ToHaveTextAsync($"Kalender abgeglichen: {fx.Clock(status.Calendar.LastSync!.Value)}");
        await Assertions.Expect(Id("sync-line")).ToHaveAttributeAsync("data-state", "ok");
        await Assertions.Expect(Id("featured-title")).ToHaveTextAsync("Haushaltsausschuss");
        await Assertions.Expect(Id("agenda-today").Locator("li")).ToHaveCountAsync(3);
        await Assertions.Expect(Id("agenda-tomorrow").Locator("li")).ToHaveCountAsync(1);
        await Assertions.Expect(Id("agenda-today").Locator(".meeting-title")).ToHaveTextAsync(["Haushaltsausschuss", "Abstimmung Stadtwerke", "Privater Termin"]);
        await Assertions.Expect(Id("agenda-tomorrow").Locator(".meeting-title")).ToHaveTextAsync(["Bauausschuss"]);

        // Times in the room's zone; the meeting-server meeting has a join button, the Teams one says why it has none.
        var haushalt = status.Calendar.Today.Single(e => e.Id.StartsWith("haushalt@", StringComparison.Ordinal));
        await Assertions.Expect(Entry("haushalt").Locator(".meeting-time")).ToHaveTextAsync($"{fx.Clock(haushalt.Start)}–{fx.Clock(haushalt.End)}");
        await Assertions.Expect(Entry("haushalt").GetByTestId("agenda-join")).ToBeVisibleAsync();
        await Assertions.Expect(Entry("teams").GetByTestId("agenda-join")).ToHaveCountAsync(0);
        await Assertions.Expect(Entry("teams").GetByTestId("not-joinable")).ToHaveTextAsync("Microsoft Teams – nicht über diesen Raum beitretbar");
        await Assertions.Expect(Entry("teams")).ToHaveAttributeAsync("data-provider", "teams");

        // A private meeting shows no title anywhere on the page.
        await Assertions.Expect(_page.Locator("body")).Not.ToContainTextAsync("Personalgespräch");
        await Assertions.Expect(Entry("private")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("private"));

        await PanelFixture.ScreenshotAsync(_page, "home-calendar");
        await PanelFixture.AssertAccessibleAsync(_page, "home with the synced calendar");

        await Id("lang-en").TapAsync();
        await Assertions.Expect(Id("sync-line")).ToHaveTextAsync($"Calendar synced: {fx.Clock(status.Calendar.LastSync!.Value)}");
        await Assertions.Expect(Entry("private").Locator(".meeting-title")).ToHaveTextAsync("Private meeting");
        await Assertions.Expect(Entry("teams").GetByTestId("not-joinable")).ToHaveTextAsync("Microsoft Teams – cannot be joined from this room");
        await PanelFixture.ScreenshotAsync(_page, "home-calendar-en");
        await PanelFixture.AssertAccessibleAsync(_page, "home with the synced calendar, English");
        await Id("contrast").TapAsync();
        await Assertions.Expect(_page.Locator(".panel.hc")).ToBeVisibleAsync();
        await PanelFixture.AssertAccessibleAsync(_page, "home with the synced calendar, high contrast");
        await Id("contrast").TapAsync();
        await Id("lang-de").TapAsync();
        await Assertions.Expect(_page.Locator(".panel.hc")).ToHaveCountAsync(0);

        // One tap: roomd joins the entry by its id.
        await Entry("haushalt").GetByTestId("agenda-join").TapAsync();

        var joined = await fx.WaitForStatusAsync(s => s.Meeting.State == MeetingStates.InCall);
        Assert.Equal(CalendarPanelFixture.Haushalt, joined.Meeting.Uri);
        await Assertions.Expect(Id("call-screen")).ToHaveAttributeAsync("data-state", MeetingStates.InCall);
    }

    [Fact]
    public async Task The_agenda_is_keyboard_operable()
    {
        await Assertions.Expect(Entry("haushalt").GetByTestId("agenda-join")).ToBeVisibleAsync();

        // Tab through the page until the join button of the meeting in half an hour has the focus, then press Enter.
        var found = false;
        for (var i = 0; i < 40 && !found; i++)
        {
            await _page.Keyboard.PressAsync("Tab");
            found = await _page.EvaluateAsync<bool>("() => { const a = document.activeElement; return !!a && a.dataset.testid === 'agenda-join' && a.closest('li').dataset.id.startsWith('haushalt@'); }");
        }

        Assert.True(found, "the agenda's join button cannot be reached with the keyboard");
        await _page.Keyboard.PressAsync("Enter");

        var joined = await fx.WaitForStatusAsync(s => s.Meeting.State == MeetingStates.InCall);
        Assert.Equal(CalendarPanelFixture.Haushalt, joined.Meeting.Uri);
    }

    [Fact]
    public async Task A_change_on_the_calendar_server_reaches_the_panel_and_an_unreachable_server_is_said_plainly()
    {
        await Assertions.Expect(Id("agenda-tomorrow").Locator(".meeting-title")).ToHaveTextAsync(["Bauausschuss"]);
        var stopped = false;
        try
        {
            // Added on the server; roomd syncs (as every few minutes, here at once) and the page follows by itself.
            await fx.Radicale.PutAsync("klausur.ics", CalendarPanelFixture.Event("klausur", fx.Today.AddDays(1).AddHours(14), fx.Today.AddDays(1).AddHours(16), "Klausurtagung", "LOCATION:https://zoom.us/j/123456789"));
            await fx.Remote.SyncCalendarAsync();
            await Assertions.Expect(Id("agenda-tomorrow").Locator(".meeting-title")).ToHaveTextAsync(["Bauausschuss", "Klausurtagung"]);
            await Assertions.Expect(Entry("klausur").GetByTestId("not-joinable")).ToHaveTextAsync("Zoom – nicht über diesen Raum beitretbar");

            // The server goes away: the agenda stays, and the panel says it is the saved copy and from when.
            var before = (await fx.Remote.GetStatusAsync()).Calendar.LastSync!.Value;
            stopped = true;
            await fx.Radicale.StopAsync();
            await fx.Remote.SyncCalendarAsync();
            await fx.WaitForStatusAsync(s => s.Calendar.SyncState == "offline");
            await Assertions.Expect(Id("sync-line")).ToHaveAttributeAsync("data-state", "offline");
            await Assertions.Expect(Id("sync-line")).ToHaveTextAsync($"Kalenderserver nicht erreichbar – gespeicherter Stand vom {fx.Clock(before)}");
            await Assertions.Expect(Id("agenda-today").Locator("li")).ToHaveCountAsync(3);
            await Assertions.Expect(Id("agenda-tomorrow").Locator("li")).ToHaveCountAsync(2);
            await PanelFixture.ScreenshotAsync(_page, "home-calendar-offline");
            await PanelFixture.AssertAccessibleAsync(_page, "home with the saved calendar");

            // Back: the warning goes.
            stopped = false;
            await fx.Radicale.RestartAsync();
            await fx.Remote.SyncCalendarAsync();
            await Assertions.Expect(Id("sync-line")).ToHaveAttributeAsync("data-state", "ok");
        }
        finally
        {
            // The calendar as the other tests expect it.
            if (stopped)
            {
                await fx.Radicale.RestartAsync();
            }

            await fx.Radicale.DeleteAsync("klausur.ics");
            await fx.Remote.SyncCalendarAsync();
        }

        await Assertions.Expect(Id("agenda-tomorrow").Locator(".meeting-title")).ToHaveTextAsync(["Bauausschuss"]);
    }
}
