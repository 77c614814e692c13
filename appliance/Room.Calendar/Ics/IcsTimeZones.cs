using NodaTime;

namespace Room.Calendar.Ics;

/// <summary>
/// Resolves TZIDs to time zones with their DST rules: IANA and Windows names, and the prefixed IANA names some
/// servers write ("/freeassociation.sourceforge.net/Europe/Berlin", "/mozilla.org/.../Europe/Berlin"). An unknown
/// TZID is refused rather than guessed (the entry would be shown at a wrong time).
/// </summary>
internal static class IcsTimeZones
{
    private static readonly Func<string, DateTimeZone> s_default = Ical.Net.TimeZoneResolvers.Default;

    public static DateTimeZone Resolve(string tzId)
    {
        if (Try(tzId) is { } zone)
        {
            return zone;
        }

        var parts = tzId.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var n = Math.Min(3, parts.Length); n >= 1; n--)
        {
            if (Try(string.Join('/', parts[^n..])) is { } z && (n > 1 || parts.Length == 1))
            {
                return z;
            }
        }

        throw new CalendarFormatException($"Unknown time zone '{(tzId.Length > 80 ? tzId[..80] : tzId)}'.");
    }

    private static DateTimeZone? Try(string id)
    {
        try
        {
            return s_default(id);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }
}
