using Room.Calendar.Ics;
using Room.Calendar.Model;

namespace Room.Calendar.Tests;

public sealed class IcsReaderTests
{
    private static readonly TimeZoneInfo s_berlin = TimeZoneInfo.FindSystemTimeZoneById(IcsSamples.Zone);
    private static readonly Uri s_server = new("https://meet.example.org");
    private static readonly DateTimeOffset s_from = new(2026, 10, 20, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_to = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static IcsReader Reader(IcsLimits? limits = null) => new(s_berlin, s_server, limits);

    [Fact]
    public void A_series_keeps_local_time_across_the_DST_change_with_its_exception_moved_and_cancelled_instances()
    {
        var items = Reader().Read(IcsSamples.Series(), s_from, s_to);

        Assert.Equal(
        [
            "2026-10-22T07:00:00Z Bauausschuss",
            "2026-10-23T07:00:00Z Bauausschuss",
            // 24th: EXDATE. 25th: winter time, still 09:00 in Berlin.
            "2026-10-25T08:00:00Z Bauausschuss",
            // 26th: moved to 11:00. 27th: cancelled.
            "2026-10-26T10:00:00Z Bauausschuss (verlegt)",
        ], items.Select(i => $"{i.Start.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} {i.Title}"));
        Assert.All(items, i => Assert.Equal(TimeSpan.FromHours(1), i.End - i.Start));
        Assert.All(items, i => Assert.Equal(new MeetingLink(MeetingProvider.MeetingServer, "https://meet.example.org/meetings/bau2026"), i.Link));
        // The moved instance keeps the id of its original slot.
        Assert.Equal("series-1@20261026T080000Z", items[3].Id);
    }

    [Fact]
    public void A_private_event_shows_neither_title_nor_attendees()
    {
        var item = Assert.Single(Reader().Read(IcsSamples.Private(), s_from, s_to));

        Assert.Equal(AgendaItem.PrivateTitle, item.Title);
        Assert.True(item.Private);
        Assert.DoesNotContain("Müller", item.ToString(), StringComparison.Ordinal);
        Assert.True(item.Joinable);
    }

    [Fact]
    public void An_all_day_event_spans_the_local_day_and_is_never_joined()
    {
        var item = Assert.Single(Reader().Read(IcsSamples.AllDay(), s_from, s_to));

        Assert.True(item.AllDay);
        Assert.False(item.Joinable);
        Assert.Equal(new DateTimeOffset(2026, 10, 26, 0, 0, 0, TimeSpan.FromHours(1)), item.Start);
        Assert.Equal(new DateTimeOffset(2026, 10, 27, 0, 0, 0, TimeSpan.FromHours(1)), item.End);
    }

    [Fact]
    public void A_cancelled_event_is_left_out()
    {
        var ics = IcsSamples.Single("c1", s_from.AddDays(1), s_from.AddDays(1).AddHours(1), "Abgesagt", "test-loopback://x/y", "STATUS:CANCELLED");
        Assert.Empty(Reader().Read(ics, s_from, s_to));
    }

    [Fact]
    public void Prefixed_time_zone_names_resolve_and_unknown_ones_are_refused()
    {
        var prefixed = IcsSamples.Cal("""
            BEGIN:VEVENT
            UID:p1
            DTSTAMP:20261001T000000Z
            DTSTART;TZID=/freeassociation.sourceforge.net/Tzfile/Europe/Berlin:20261023T090000
            DTEND;TZID=/freeassociation.sourceforge.net/Tzfile/Europe/Berlin:20261023T100000
            SUMMARY:Prefixed
            END:VEVENT
            """);
        Assert.Equal(new DateTimeOffset(2026, 10, 23, 7, 0, 0, TimeSpan.Zero), Assert.Single(Reader().Read(prefixed, s_from, s_to)).Start);

        var unknown = prefixed.Replace("/freeassociation.sourceforge.net/Tzfile/Europe/Berlin", "Mars/Olympus_Mons", StringComparison.Ordinal);
        var ex = Assert.Throws<CalendarFormatException>(() => Reader().Read(unknown, s_from, s_to));
        Assert.Contains("time zone", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "empty", "" },
        { "not a calendar", "hello world\r\n" },
        { "unclosed", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n" },
        { "mismatched END", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR\r\n" },
        { "deeply nested", "BEGIN:VCALENDAR\r\n" + string.Concat(Enumerable.Repeat("BEGIN:VEVENT\r\n", 50)) + string.Concat(Enumerable.Repeat("END:VEVENT\r\n", 50)) + "END:VCALENDAR\r\n" },
        { "NUL bytes", "BEGIN:VCALENDAR\r\nX:\0\r\nEND:VCALENDAR\r\n" },
        { "content after the calendar", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VEVENT\r\n" },
        { "huge folded line", "BEGIN:VCALENDAR\r\nDESCRIPTION:x\r\n" + string.Concat(Enumerable.Repeat(" " + new string('a', 70) + "\r\n", 5000)) + "END:VCALENDAR\r\n" },
        { "impossible date", IcsSamples.Cal("BEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20261001T000000Z\r\nDTSTART:20261345T250000Z\r\nSUMMARY:x\r\nEND:VEVENT") },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_calendar_data_is_refused_with_a_reason(string what, string ics)
    {
        var ex = Assert.Throws<CalendarFormatException>(() => Reader(IcsLimits.Default with { MaxLineChars = 200_000 }).Read(ics, s_from, s_to));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message), what);
    }

    [Fact]
    public void Data_over_the_size_limit_is_refused_before_parsing()
    {
        var ics = IcsSamples.Series();
        var ex = Assert.Throws<CalendarFormatException>(() => Reader(IcsLimits.Default with { MaxChars = ics.Length - 1 }).Read(ics, s_from, s_to));
        Assert.Contains("larger than", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rule_that_never_matches_or_runs_forever_is_bounded()
    {
        var never = IcsSamples.Cal("""
            BEGIN:VEVENT
            UID:never
            DTSTAMP:20261001T000000Z
            DTSTART:20261020T090000Z
            DTEND:20261020T100000Z
            RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30
            SUMMARY:30 February
            END:VEVENT
            """);
        var secondly = IcsSamples.Cal("""
            BEGIN:VEVENT
            UID:often
            DTSTAMP:20261001T000000Z
            DTSTART:20261020T090000Z
            DTEND:20261020T090001Z
            RRULE:FREQ=SECONDLY
            SUMMARY:Every second
            END:VEVENT
            """);

        try
        {
            Assert.Empty(Reader().Read(never, s_from, s_to));
        }
        catch (CalendarFormatException)
        {
            // Refusing it is as good as finding nothing: either way no entry, no hang.
        }

        var many = Reader().Read(secondly, s_from, s_to);
        Assert.Equal(IcsLimits.Default.MaxOccurrencesPerSeries, many.Count);
    }

    [Fact]
    public void A_series_over_the_limit_keeps_its_first_occurrences_and_the_other_events_stay()
    {
        var ics = IcsSamples.Cal("""
            BEGIN:VEVENT
            UID:often
            DTSTAMP:20261001T000000Z
            DTSTART:20261020T090000Z
            DTEND:20261020T090100Z
            RRULE:FREQ=MINUTELY;COUNT=100000
            SUMMARY:Every minute
            END:VEVENT
            BEGIN:VEVENT
            UID:board
            DTSTAMP:20261001T000000Z
            DTSTART:20261030T140000Z
            DTEND:20261030T150000Z
            SUMMARY:Board
            END:VEVENT
            """);
        var reader = Reader(IcsLimits.Default with { MaxOccurrencesPerSeries = 10 });

        var items = reader.Read(ics, s_from, s_to);

        var often = items.Where(i => i.Title == "Every minute").Select(i => i.Start).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(m => new DateTimeOffset(2026, 10, 20, 9, m, 0, TimeSpan.Zero)), often);
        Assert.Equal(["Board"], items.Where(i => i.Title != "Every minute").Select(i => i.Title));
    }

    [Fact]
    public void An_event_that_ends_before_it_starts_is_left_out_and_the_others_stay()
    {
        var backwards = IcsSamples.Single("backwards", s_from.AddDays(2), s_from.AddDays(1), "Backwards", "test-loopback://x/y");
        var good = IcsSamples.Single("good", s_from.AddDays(2), s_from.AddDays(2).AddHours(1), "Good", "test-loopback://x/y");
        var both = backwards.Replace("END:VCALENDAR\r\n", good[good.IndexOf("BEGIN:VEVENT", StringComparison.Ordinal)..], StringComparison.Ordinal);

        Assert.Equal(["Good"], Reader().Read(both, s_from, s_to).Select(i => i.Title));
    }
}
