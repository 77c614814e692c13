using System.Globalization;
using Room.Bus.Client;
using Room.ControllerUi.Localization;

namespace Room.ControllerUi.Services;

/// <summary>
/// How the synced calendar (org.room.Appliance1.Calendar) reads on the panel: entry titles (private ones withheld),
/// what an entry of another provider says instead of a join button, and the sync line, which says plainly when the
/// agenda is the saved copy because the calendar server cannot be reached.
/// </summary>
public static class AgendaText
{
    /// <summary>True when roomd has a calendar source: the panel then shows Today/Tomorrow rather than room.json's list.</summary>
    public static bool Configured(CalendarStatus c) => c.SyncState is { Length: > 0 } s && s != "not-configured";

    /// <summary>The meeting the hero shows: roomd's Next, as long as it has not ended.</summary>
    public static AgendaEntry? Featured(CalendarStatus c, DateTimeOffset now) =>
        c.Next is { } n && n.End > now ? n : null;

    /// <summary>Today's entries still to come or running, and tomorrow's.</summary>
    public static IReadOnlyList<AgendaEntry> Remaining(IReadOnlyList<AgendaEntry> day, DateTimeOffset now) =>
        day.Where(e => e.End > now).ToList();

    public static string Title(AgendaEntry e, Texts t) =>
        e.Private ? t["cal.private"] : string.IsNullOrWhiteSpace(e.Title) ? t["cal.untitled"] : e.Title;

    /// <summary>What stands in for the join button: null when the entry is joinable here.</summary>
    public static string? NotJoinable(AgendaEntry e, Texts t)
    {
        if (e.Joinable)
        {
            return null;
        }

        var provider = ProviderName(e.Provider, t);
        return provider is null ? t["cal.nolink"] : $"{provider} – {t["cal.external"]}";
    }

    /// <summary>The name people know a meeting provider by; null for none.</summary>
    public static string? ProviderName(string provider, Texts t) => provider switch
    {
        "" or "none" => null,
        "teams" => "Microsoft Teams",
        "zoom" => "Zoom",
        "webex" => "Webex",
        "jitsi" => "Jitsi",
        "sip" => "SIP",
        "meeting-server" or "room" => null,
        _ => t["cal.provider.other"],
    };

    /// <summary>The sync line, and whether it is a warning (the agenda may be out of date or missing).</summary>
    public static (string Text, bool Warning) SyncLine(CalendarStatus c, Texts t, DateTimeOffset now)
    {
        var when = c.LastSync is { } last ? Format(last.ToLocalTime(), now.ToLocalTime(), t) : t["cal.unknown"];
        return c.SyncState switch
        {
            "ok" => (Fill(t["cal.synced"], when), false),
            "offline" => (Fill(t["cal.offline"], when), true),
            "pending" when c.LastSync is not null => (Fill(t["cal.pending.cached"], when), true),
            "pending" => (t["cal.pending"], false),
            _ => (string.IsNullOrWhiteSpace(c.SyncError) ? t["cal.error"] : $"{t["cal.error"]}: {c.SyncError}", true),
        };
    }

    /// <summary>Start and end of an entry as the agenda shows them.</summary>
    public static string Time(AgendaEntry e, Texts t) =>
        e.AllDay ? t["cal.allday"] : $"{e.Start.ToLocalTime():HH:mm}–{e.End.ToLocalTime():HH:mm}";

    private static string Format(DateTimeOffset at, DateTimeOffset now, Texts t)
    {
        if (at.Date == now.Date)
        {
            return at.ToString("HH:mm", CultureInfo.InvariantCulture);
        }

        return t.Language == Texts.German
            ? at.ToString("dd.MM.yyyy HH:mm", CultureInfo.InvariantCulture)
            : at.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }

    private static string Fill(string format, string value) => format.Replace("{0}", value, StringComparison.Ordinal);
}
