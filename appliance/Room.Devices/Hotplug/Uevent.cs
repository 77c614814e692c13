using System.Text;

namespace Room.Devices.Hotplug;

/// <summary>
/// A kernel uevent ("add@/devices/...\0ACTION=add\0DEVPATH=...\0SUBSYSTEM=video4linux\0DEVNAME=video0\0...").
/// </summary>
public sealed record Uevent(string Action, string DevPath, string Subsystem, string DevName, IReadOnlyDictionary<string, string> Properties)
{
    /// <summary>The kernel's largest uevent buffer (UEVENT_BUFFER_SIZE).</summary>
    public const int MaxSize = 2048;

    /// <summary>
    /// Parses one kernel uevent datagram; false for udevd's "libudev" messages, missing header/keys, bad text.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out Uevent? uevent)
    {
        uevent = null;
        if (message.IsEmpty || message.Length > MaxSize * 4)
        {
            return false;
        }

        var headerEnd = message.IndexOf((byte)0);
        if (headerEnd <= 0)
        {
            return false;
        }

        var header = message[..headerEnd];
        var at = header.IndexOf((byte)'@');
        if (at <= 0 || at == header.Length - 1)
        {
            return false; // also rejects "libudev" (no '@')
        }

        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = message[(headerEnd + 1)..];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)0);
            var field = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];
            if (field.IsEmpty)
            {
                continue;
            }

            var eq = field.IndexOf((byte)'=');
            if (eq <= 0 || !IsPrintable(field))
            {
                return false;
            }

            props[Encoding.ASCII.GetString(field[..eq])] = Encoding.ASCII.GetString(field[(eq + 1)..]);
        }

        if (!IsPrintable(header)
            || !props.TryGetValue("ACTION", out var action) || action.Length == 0
            || !props.TryGetValue("DEVPATH", out var devPath) || !devPath.StartsWith('/'))
        {
            return false;
        }

        var headerAction = Encoding.ASCII.GetString(header[..at]);
        var headerPath = Encoding.ASCII.GetString(header[(at + 1)..]);
        if (headerAction != action || headerPath != devPath)
        {
            return false;
        }

        uevent = new Uevent(action, devPath, props.GetValueOrDefault("SUBSYSTEM", ""), props.GetValueOrDefault("DEVNAME", ""), props);
        return true;
    }

    /// <summary>Builds the kernel wire form (for tests and recorded fixtures).</summary>
    public static byte[] Format(string action, string devPath, params (string Key, string Value)[] properties)
    {
        var sb = new StringBuilder();
        sb.Append(action).Append('@').Append(devPath).Append('\0');
        sb.Append("ACTION=").Append(action).Append('\0');
        sb.Append("DEVPATH=").Append(devPath).Append('\0');
        foreach (var (k, v) in properties)
        {
            sb.Append(k).Append('=').Append(v).Append('\0');
        }

        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    private static bool IsPrintable(ReadOnlySpan<byte> text)
    {
        foreach (var b in text)
        {
            if (b is < 0x20 or > 0x7E)
            {
                return false;
            }
        }

        return true;
    }
}
