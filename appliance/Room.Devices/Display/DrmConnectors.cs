namespace Room.Devices.Display;

/// <summary>One DRM connector as sysfs shows it (/sys/class/drm/card0-HDMI-A-1).</summary>
public sealed record DrmConnector(
    string Card,
    string Name,
    string Status,
    bool Enabled,
    IReadOnlyList<(int Width, int Height, bool Interlaced)> Modes,
    byte[] Edid)
{
    /// <summary>"connected" (or "unknown" with modes, as virtual GPUs report).</summary>
    public bool Connected => Status == "connected" || (Status == "unknown" && Modes.Count > 0);
}

/// <summary>Reads DRM connectors from sysfs. Malformed files degrade to "unknown", never throw.</summary>
public static class DrmConnectors
{
    /// <summary>Connectors under <paramref name="sysRoot"/>/class/drm, sorted by name.</summary>
    public static IReadOnlyList<DrmConnector> Scan(string sysRoot)
    {
        var dir = Path.Combine(sysRoot, "class", "drm");
        var result = new List<DrmConnector>();
        string[] entries;
        try
        {
            entries = Directory.GetFileSystemEntries(dir);
        }
        catch (IOException)
        {
            return result;
        }
        catch (UnauthorizedAccessException)
        {
            return result;
        }

        foreach (var path in entries.Order(StringComparer.Ordinal))
        {
            var entry = Path.GetFileName(path);
            if (!TrySplitName(entry, out var card, out var name))
            {
                continue;
            }

            var status = ReadText(Path.Combine(path, "status"));
            var enabled = ReadText(Path.Combine(path, "enabled")) == "enabled";
            var modes = ParseModes(ReadText(Path.Combine(path, "modes")));
            byte[] edid;
            try
            {
                edid = File.Exists(Path.Combine(path, "edid")) ? File.ReadAllBytes(Path.Combine(path, "edid")) : [];
            }
            catch (IOException)
            {
                edid = [];
            }
            catch (UnauthorizedAccessException)
            {
                edid = [];
            }

            result.Add(new DrmConnector(card, name, status is "connected" or "disconnected" ? status : "unknown", enabled, modes, edid));
        }

        return result;
    }

    /// <summary>"card0-HDMI-A-1" → ("card0", "HDMI-A-1"); false for "card0", "renderD128", "version".</summary>
    public static bool TrySplitName(string entry, out string card, out string connector)
    {
        card = connector = "";
        if (!entry.StartsWith("card", StringComparison.Ordinal))
        {
            return false;
        }

        var dash = entry.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 4 || dash == entry.Length - 1)
        {
            return false;
        }

        for (var i = 4; i < dash; i++)
        {
            if (!char.IsAsciiDigit(entry[i]))
            {
                return false;
            }
        }

        card = entry[..dash];
        connector = entry[(dash + 1)..];
        return true;
    }

    /// <summary>Parses the sysfs "modes" file: one "WxH" (optionally "i" for interlaced) per line.</summary>
    public static IReadOnlyList<(int Width, int Height, bool Interlaced)> ParseModes(string text)
    {
        var modes = new List<(int, int, bool)>();
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var line = raw;
            var interlaced = line.EndsWith('i');
            if (interlaced)
            {
                line = line[..^1];
            }

            var x = line.IndexOf('x', StringComparison.Ordinal);
            if (x <= 0
                || !int.TryParse(line.AsSpan(0, x), System.Globalization.NumberStyles.None, null, out var w)
                || !int.TryParse(line.AsSpan(x + 1), System.Globalization.NumberStyles.None, null, out var h)
                || w is <= 0 or > 16384 || h is <= 0 or > 16384)
            {
                continue;
            }

            if (!modes.Contains((w, h, interlaced)))
            {
                modes.Add((w, h, interlaced));
            }
        }

        return modes;
    }

    internal static string ReadText(string path)
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
