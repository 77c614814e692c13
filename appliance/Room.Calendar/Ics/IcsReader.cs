using System.Globalization;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Evaluation;
using Room.Calendar.Model;

namespace Room.Calendar.Ics;

/// <summary>
/// Turns iCalendar text (RFC 5545) into the occurrences inside a time window: recurrence rules, EXDATE, RECURRENCE-ID
/// overrides (moved or cancelled instances), all-day events, time zones with their DST rules, cancelled events and
/// private events (title, attendees and description withheld). The text is checked against <see cref="IcsLimits"/>
/// before Ical.Net sees it; anything malformed is refused with a <see cref="CalendarFormatException"/>.
/// </summary>
public sealed class IcsReader
{
    private readonly IcsLimits _limits;
    private readonly TimeZoneInfo _roomZone;
    private readonly Uri? _meetingServer;

    static IcsReader() => Ical.Net.TimeZoneResolvers.TimeZoneResolver = IcsTimeZones.Resolve;

    /// <param name="roomZone">The zone of floating times and all-day dates (the room's own).</param>
    /// <param name="meetingServer">Base address of the meeting-server whose meetings are joinable.</param>
    public IcsReader(TimeZoneInfo roomZone, Uri? meetingServer, IcsLimits? limits = null)
    {
        _roomZone = roomZone;
        _meetingServer = meetingServer;
        _limits = limits ?? IcsLimits.Default;
    }

    /// <summary>The occurrences of <paramref name="ics"/> overlapping [from, to), in start order.</summary>
    public IReadOnlyList<AgendaItem> Read(string ics, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(ics);
        Precheck(ics, _limits);
        Ical.Net.Calendar calendar;
        try
        {
            calendar = Ical.Net.Calendar.Load(ics)
                ?? throw new CalendarFormatException("The data holds no VCALENDAR.");
        }
        catch (CalendarFormatException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new CalendarFormatException($"The calendar data cannot be read: {ex.Message}", ex);
        }

        // Impossible events (no start, or an end before the start) are left out one by one rather than failing the rest.
        foreach (var ev in calendar.Events.ToList())
        {
            bool impossible;
            try
            {
                impossible = ev.DtStart is null || (ev.DtEnd is { } e && e < ev.DtStart);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                impossible = true;
            }

            if (impossible)
            {
                calendar.Events.Remove(ev);
            }
        }

        var items = new List<AgendaItem>();
        var options = new EvaluationOptions { MaxUnmatchedIncrementsLimit = _limits.MaxUnmatchedIncrements };
        // Expansion starts a day early so that an all-day or long event that began before the window is included.
        var start = new CalDateTime(from.UtcDateTime.AddDays(-2), CalDateTime.UtcTzId);
        var perSeries = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            CapLongSeries(calendar, start, to, options);
            foreach (var occurrence in calendar.GetOccurrences<CalendarEvent>(start, options))
            {
                var period = occurrence.Period;
                var begin = ToInstant(period.StartTime);
                if (begin >= to)
                {
                    break;
                }

                if (occurrence.Source is not CalendarEvent ev)
                {
                    continue;
                }

                var uid = ev.Uid ?? "";
                var count = perSeries[uid] = perSeries.GetValueOrDefault(uid) + 1;
                if (count > _limits.MaxOccurrencesPerSeries)
                {
                    continue;
                }

                if (items.Count >= _limits.MaxOccurrences)
                {
                    throw new CalendarFormatException($"The calendar has more than {_limits.MaxOccurrences} occurrences in {from:yyyy-MM-dd}..{to:yyyy-MM-dd}.");
                }

                var item = ToItem(ev, period, begin);
                if (item is not null && item.End > from)
                {
                    items.Add(item);
                }
            }
        }
        catch (CalendarFormatException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new CalendarFormatException($"The calendar's dates cannot be worked out: {ex.Message}", ex);
        }

        items.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : string.CompareOrdinal(a.Id, b.Id));
        return items;
    }

    /// <summary>
    /// A series with more occurrences in the window than one series may contribute (FREQ=SECONDLY gives a million in
    /// twelve days) ends after that many: the merged expansion of all events below would otherwise walk every one of
    /// them (22 s for one such event on a loaded CI machine, minutes on a Raspberry Pi). Each series is counted alone,
    /// up to the limit, and a rule that goes on is cut short with an UNTIL just before its first surplus occurrence.
    /// </summary>
    private void CapLongSeries(Ical.Net.Calendar calendar, CalDateTime start, DateTimeOffset to, EvaluationOptions options)
    {
        foreach (var ev in calendar.Events)
        {
#pragma warning disable CS0618 // a calendar may still hold several RRULEs (RFC 5545 deprecates, not forbids, them): cap each
            var rules = ev.RecurrenceRules;
#pragma warning restore CS0618
            if (rules.Count == 0 || ev.RecurrenceIdentifier is not null)
            {
                continue;
            }

            var surplus = ev.GetOccurrences(start, options)
                .Select(o => o.Period.StartTime)
                .TakeWhile(t => ToInstant(t) < to)
                .Skip(_limits.MaxOccurrencesPerSeries)
                .FirstOrDefault();
            if (surplus is null)
            {
                continue;
            }

            var until = surplus.AddSeconds(-1);
            foreach (var rule in rules)
            {
                rule.Count = null;
                rule.Until = until;
            }
        }
    }

    private AgendaItem? ToItem(CalendarEvent ev, Period period, DateTimeOffset begin)
    {
        if (string.Equals(ev.Status, "CANCELLED", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var allDay = !period.StartTime.HasTime;
        DateTimeOffset end;
        if (period.EffectiveEndTime is { } e)
        {
            end = ToInstant(e);
        }
        else if (period.EffectiveDuration is { } d)
        {
            end = ToInstant(period.StartTime.Add(d));
        }
        else
        {
            end = allDay ? ToInstant(period.StartTime.AddDays(1)) : begin;
        }

        if (end < begin)
        {
            // An impossible entry (ends before it starts) is left out, not guessed at.
            return null;
        }

        var original = ev.RecurrenceIdentifier?.StartTime is { } rid ? ToInstant(rid) : begin;
        var id = $"{ev.Uid}@{original.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
        var isPrivate = ev.Class is { } c && (c.Equals("PRIVATE", StringComparison.OrdinalIgnoreCase) || c.Equals("CONFIDENTIAL", StringComparison.OrdinalIgnoreCase));
        var texts = new List<string?> { ev.Url?.OriginalString, ev.Location };
        texts.AddRange(ev.Properties.Where(p => p.Name.StartsWith("X-", StringComparison.OrdinalIgnoreCase)).Select(p => p.Value?.ToString()));
        texts.Add(ev.Description);
        var link = MeetingLinks.Find(texts, _meetingServer);
        var title = isPrivate ? AgendaItem.PrivateTitle : Clean(ev.Summary);
        return new AgendaItem(id, title, begin, end, allDay, isPrivate, link);
    }

    /// <summary>Titles are one line of at most 200 characters, without control characters.</summary>
    private static string Clean(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var s = new string(text.Select(ch => char.IsControl(ch) ? ' ' : ch).ToArray()).Trim();
        return s.Length > 200 ? s[..200] : s;
    }

    private DateTimeOffset ToInstant(CalDateTime t)
    {
        if (!t.HasTime || t.IsFloating)
        {
            var local = DateTime.SpecifyKind(t.Value, DateTimeKind.Unspecified);
            if (_roomZone.IsInvalidTime(local))
            {
                local = local.AddHours(1);
            }

            return new DateTimeOffset(local, _roomZone.GetUtcOffset(local));
        }

        return new DateTimeOffset(t.AsUtc, TimeSpan.Zero);
    }

    /// <summary>Structure and size checks before the text reaches the iCalendar library.</summary>
    internal static void Precheck(string ics, IcsLimits limits)
    {
        if (ics.Length > limits.MaxChars)
        {
            throw new CalendarFormatException($"The calendar data is larger than {limits.MaxChars} characters.");
        }

        if (ics.Contains('\0', StringComparison.Ordinal))
        {
            throw new CalendarFormatException("The calendar data contains NUL characters.");
        }

        var stack = new Stack<string>();
        var components = 0;
        var lineLength = 0;
        var lineStart = 0;
        var sawCalendar = false;
        var span = ics.AsSpan();
        for (var i = 0; i <= span.Length; i++)
        {
            if (i < span.Length && span[i] != '\n')
            {
                continue;
            }

            var line = span[lineStart..i].TrimEnd('\r');
            lineStart = i + 1;
            var folded = line.Length > 0 && (line[0] == ' ' || line[0] == '\t');
            lineLength = folded ? lineLength + line.Length : line.Length;
            if (lineLength > limits.MaxLineChars)
            {
                throw new CalendarFormatException($"A content line is longer than {limits.MaxLineChars} characters.");
            }

            if (folded)
            {
                continue;
            }

            if (line.StartsWith("BEGIN:", StringComparison.OrdinalIgnoreCase))
            {
                var name = line[6..].Trim().ToString().ToUpperInvariant();
                if (stack.Count == 0)
                {
                    if (name != "VCALENDAR")
                    {
                        throw new CalendarFormatException($"The data starts with BEGIN:{name}, not BEGIN:VCALENDAR.");
                    }

                    sawCalendar = true;
                }

                if (stack.Count >= limits.MaxDepth)
                {
                    throw new CalendarFormatException($"Components are nested deeper than {limits.MaxDepth} levels.");
                }

                if (++components > limits.MaxComponents)
                {
                    throw new CalendarFormatException($"The data has more than {limits.MaxComponents} components.");
                }

                stack.Push(name);
            }
            else if (line.StartsWith("END:", StringComparison.OrdinalIgnoreCase))
            {
                var name = line[4..].Trim().ToString().ToUpperInvariant();
                if (stack.Count == 0 || stack.Pop() != name)
                {
                    throw new CalendarFormatException($"END:{name} does not close the open component.");
                }
            }
            else if (stack.Count == 0 && !line.IsWhiteSpace())
            {
                throw new CalendarFormatException("There is content outside BEGIN:VCALENDAR ... END:VCALENDAR.");
            }
        }

        if (!sawCalendar)
        {
            throw new CalendarFormatException("The data holds no VCALENDAR.");
        }

        if (stack.Count > 0)
        {
            throw new CalendarFormatException($"BEGIN:{stack.Peek()} is never closed.");
        }
    }
}
