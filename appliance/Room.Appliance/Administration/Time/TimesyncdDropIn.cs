using System.Text;

namespace Room.Appliance.Administration.Time;

/// <summary>The systemd-timesyncd drop-in roomd writes for the administrator's NTP servers (timesyncd.conf.d).</summary>
public static class TimesyncdDropIn
{
    public const string FileName = "50-room.conf";

    public const string Marker = "# Written by roomd (org.room.Appliance1.Admin.SetTime); changes here are overwritten.";

    /// <summary>
    /// [Time] NTP= with <paramref name="servers"/> (checked by <see cref="AdminSettingsRules.NtpServers"/>: host names or
    /// addresses, no spaces or line breaks), or null for none: without the drop-in timesyncd uses the image's servers.
    /// </summary>
    public static byte[]? Render(IReadOnlyList<string> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        if (servers.Count == 0)
        {
            return null;
        }

        var checkedServers = AdminSettingsRules.NtpServers(servers);
        return Encoding.UTF8.GetBytes($"{Marker}\n[Time]\nNTP={string.Join(' ', checkedServers)}\n");
    }
}
