using Room.Bus.Client;
using Room.ControllerUi.Localization;
using Room.ControllerUi.Services;

namespace Room.ControllerUi.Tests;

/// <summary>How the synced calendar reads on the panel (the browser tests show it against the real roomd).</summary>
public sealed class AgendaTextTests
{
    private static readonly DateTimeOffset s_now = DateTimeOffset.Now;

    private static AgendaEntry Entry(string provider = "meeting-server", bool joinable = true, bool isPrivate = false, string title = "Rat", bool allDay = false) =>
        new("x@1", title, s_now.AddHours(1), s_now.AddHours(2), allDay, isPrivate, provider, "https://meet.example.org/meetings/x", joinable);

    private static CalendarStatus Status(string state, DateTimeOffset? lastSync, string error = "") =>
        CalendarStatus.Empty with { SyncState = state, LastSync = lastSync, SyncError = error };

    [Theory]
    [InlineData("", false)]
    [InlineData("not-configured", false)]
    [InlineData("pending", true)]
    [InlineData("ok", true)]
    [InlineData("offline", true)]
    [InlineData("error", true)]
    public void The_agenda_replaces_the_static_list_only_when_a_calendar_is_configured(string state, bool configured) =>
        Assert.Equal(configured, AgendaText.Configured(Status(state, null)));

    [Fact]
    public void A_private_entry_never_shows_its_title_and_an_empty_one_says_so()
    {
        Assert.Equal("Privater Termin", AgendaText.Title(Entry(isPrivate: true, title: "Geheim"), Texts.De));
        Assert.Equal("Private meeting", AgendaText.Title(Entry(isPrivate: true, title: "Geheim"), Texts.En));
        Assert.Equal("Ohne Titel", AgendaText.Title(Entry(title: " "), Texts.De));
        Assert.Equal("Rat", AgendaText.Title(Entry(), Texts.De));
    }

    [Theory]
    [InlineData("teams", "Microsoft Teams – nicht über diesen Raum beitretbar")]
    [InlineData("zoom", "Zoom – nicht über diesen Raum beitretbar")]
    [InlineData("webex", "Webex – nicht über diesen Raum beitretbar")]
    [InlineData("jitsi", "Jitsi – nicht über diesen Raum beitretbar")]
    [InlineData("sip", "SIP – nicht über diesen Raum beitretbar")]
    [InlineData("other", "Externer Besprechungslink – nicht über diesen Raum beitretbar")]
    [InlineData("none", "Ohne Besprechungslink")]
    public void Other_providers_links_are_named_not_dropped(string provider, string expected)
    {
        Assert.Equal(expected, AgendaText.NotJoinable(Entry(provider, joinable: false), Texts.De));
        Assert.Null(AgendaText.NotJoinable(Entry(), Texts.De));
    }

    [Fact]
    public void The_sync_line_says_when_the_agenda_is_the_saved_copy()
    {
        var at = s_now.AddMinutes(-3);
        var hhmm = at.ToLocalTime().ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(($"Kalender abgeglichen: {hhmm}", false), AgendaText.SyncLine(Status("ok", at), Texts.De, s_now));
        Assert.Equal(($"Kalenderserver nicht erreichbar – gespeicherter Stand vom {hhmm}", true), AgendaText.SyncLine(Status("offline", at), Texts.De, s_now));
        Assert.Equal(($"Saved agenda from {hhmm} – syncing …", true), AgendaText.SyncLine(Status("pending", at), Texts.En, s_now));
        Assert.Equal(("Syncing the calendar …", false), AgendaText.SyncLine(Status("pending", null), Texts.En, s_now));
        Assert.Equal(("Kalender nicht verfügbar: 401", true), AgendaText.SyncLine(Status("error", null, "401"), Texts.De, s_now));
        // A sync of another day names the date.
        var old = s_now.AddDays(-2);
        Assert.Contains(old.ToLocalTime().ToString("dd.MM.yyyy", System.Globalization.CultureInfo.InvariantCulture), AgendaText.SyncLine(Status("offline", old), Texts.De, s_now).Text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_featured_entry_is_roomds_next_until_it_has_ended()
    {
        var next = Entry() with { Start = s_now.AddHours(-1), End = s_now.AddMinutes(-1) };
        Assert.Null(AgendaText.Featured(CalendarStatus.Empty with { Next = next }, s_now));
        Assert.Equal("x@1", AgendaText.Featured(CalendarStatus.Empty with { Next = Entry() }, s_now)?.Id);
        Assert.Equal("ganztägig", AgendaText.Time(Entry(allDay: true), Texts.De));
    }
}
