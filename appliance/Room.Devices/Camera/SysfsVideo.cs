using System.Globalization;

namespace Room.Devices.Camera;

/// <summary>A V4L2 device node as sysfs describes it, with the camera's stable identity.</summary>
public sealed record VideoNode(
    string Node,
    string DevicePath,
    string Title,
    int Index,
    string StableId,
    string? UsbVendorProduct,
    string? UsbSerial,
    string? UsbBusPath);

/// <summary>Finds V4L2 nodes in /sys/class/video4linux and works out stable ids. Never throws on odd trees.</summary>
public static class SysfsVideo
{
    public static IReadOnlyList<VideoNode> Scan(string sysRoot, string devRoot)
    {
        var dir = Path.Combine(sysRoot, "class", "video4linux");
        var list = new List<VideoNode>();
        string[] entries;
        try
        {
            entries = Directory.GetFileSystemEntries(dir, "video*");
        }
        catch (IOException)
        {
            return list;
        }
        catch (UnauthorizedAccessException)
        {
            return list;
        }

        foreach (var entry in entries.OrderBy(e => NodeNumber(Path.GetFileName(e))))
        {
            var node = Path.GetFileName(entry);
            if (NodeNumber(node) == int.MaxValue)
            {
                continue;
            }

            list.Add(Describe(entry, node, devRoot));
        }

        return list;
    }

    /// <summary>"video12" → 12; int.MaxValue for anything else.</summary>
    public static int NodeNumber(string node) =>
        node.StartsWith("video", StringComparison.Ordinal) && node.Length > 5
        && int.TryParse(node.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;

    /// <summary>
    /// The stable id: "usb:VID:PID:SERIAL" for a USB camera with a serial number, "usb:VID:PID@BUSPATH" (port path,
    /// stable while it stays in the same socket) without one, "v4l2:DEVICE" for platform devices (vivid); ":N" is
    /// appended for a device's second and later nodes.
    /// </summary>
    public static string MakeStableId(string? vendorProduct, string? serial, string? busPath, string deviceName, int index)
    {
        var suffix = index > 0 ? ":" + index.ToString(CultureInfo.InvariantCulture) : "";
        if (vendorProduct is not null && !string.IsNullOrWhiteSpace(serial))
        {
            return $"usb:{vendorProduct}:{Sanitize(serial)}{suffix}";
        }

        if (vendorProduct is not null && busPath is not null)
        {
            return $"usb:{vendorProduct}@{busPath}{suffix}";
        }

        return $"v4l2:{Sanitize(deviceName)}{suffix}";
    }

    private static VideoNode Describe(string entry, string node, string devRoot)
    {
        var title = Read(Path.Combine(entry, "name"));
        var index = int.TryParse(Read(Path.Combine(entry, "index")), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < 256 ? i : 0;
        string? vp = null, serial = null, bus = null;
        var deviceName = node;
        var device = ResolveDevice(Path.Combine(entry, "device"));
        if (device is not null)
        {
            deviceName = Path.GetFileName(device);
            for (var d = device; d is not null && d.Length > 1; d = Path.GetDirectoryName(d))
            {
                var vid = Read(Path.Combine(d, "idVendor"));
                var pid = Read(Path.Combine(d, "idProduct"));
                if (IsHex4(vid) && IsHex4(pid))
                {
                    vp = $"{vid.ToLowerInvariant()}:{pid.ToLowerInvariant()}";
                    serial = Read(Path.Combine(d, "serial"));
                    bus = Path.GetFileName(d);
                    break;
                }
            }
        }

        var id = MakeStableId(vp, serial, bus, deviceName, index);
        return new VideoNode(node, Path.Combine(devRoot, node), title.Length > 0 ? title : node, index, id, vp,
            string.IsNullOrWhiteSpace(serial) ? null : serial, bus);
    }

    private static string? ResolveDevice(string link) =>
        // realpath, not a textual join: /sys/class/video4linux/videoN is itself a link, and "device" is relative
        // to the physical directory it points to.
        Directory.Exists(link) ? Interop.Libc.RealPath(link) : null;

    private static bool IsHex4(string s) => s.Length == 4 && s.All(char.IsAsciiHexDigit);

    private static string Sanitize(string s)
    {
        var chars = s.Trim().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        return new string(chars);
    }

    private static string Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : "";
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
