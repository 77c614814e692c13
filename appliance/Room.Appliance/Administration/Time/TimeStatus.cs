namespace Room.Appliance.Administration.Time;

/// <summary>Whether the administrator's time settings are what the operating system uses, and in words why or why not.</summary>
public static class TimeStatus
{
    /// <summary>
    /// Applied only when timedated reports the stored zone and timesyncd the stored NTP servers (no stored servers: the
    /// image's own, whatever timesyncd reports). <paramref name="unavailable"/> is why roomd applies nothing.
    /// </summary>
    public static (bool Applied, string Text) Describe(string? zone, IReadOnlyList<string>? ntp, string? unavailable, TimeReadback? readback)
    {
        if (zone is null && ntp is null)
        {
            return (false, "not set through Admin" + (readback is null ? "" : $" ({Reported(readback)})"));
        }

        if (unavailable is not null)
        {
            return (false, $"stored, not applied: {unavailable}");
        }

        if (readback is null)
        {
            return (false, "not applied yet: systemd-timedated and systemd-timesyncd not read back since roomd started");
        }

        var wanted = ntp ?? [];
        var why = new List<string>();
        if (readback.Zone is null || (wanted.Count > 0 && readback.NtpServers is null))
        {
            why.AddRange(readback.Problems);
        }

        if (readback.Zone is { } z && z != zone)
        {
            why.Add($"systemd-timedated reports time zone {z}, not {zone}");
        }

        if (wanted.Count > 0 && readback.NtpServers is { } servers && !servers.SequenceEqual(wanted, StringComparer.OrdinalIgnoreCase))
        {
            why.Add($"systemd-timesyncd uses NTP servers [{string.Join(' ', servers)}], not [{string.Join(' ', wanted)}]");
        }

        return why.Count > 0
            ? (false, "not applied: " + string.Join("; ", why))
            : (true, "applied: " + Reported(readback));
    }

    private static string Reported(TimeReadback r) =>
        $"systemd-timedated reports {r.Zone ?? "nothing"}, systemd-timesyncd "
        + (r.NtpServers is null ? "nothing" : $"NTP servers [{string.Join(' ', r.NtpServers)}]{(r.ServerName.Length > 0 ? $" using {r.ServerName}" : "")}");
}
