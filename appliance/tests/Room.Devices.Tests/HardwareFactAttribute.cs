namespace Room.Devices.Tests;

/// <summary>
/// A fact that needs real hardware (a /dev node): skipped with a reason when the node is absent, so this machine
/// skips cleanly and the QEMU lab (vivid, snd-aloop, vivid CEC) runs it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class HardwareFactAttribute : FactAttribute
{
    public HardwareFactAttribute(string devicePattern, bool writable = false)
    {
        DevicePattern = devicePattern;
        var found = FindDevice(devicePattern);
        if (found is null)
        {
            Skip = $"needs hardware: no {devicePattern} on this machine (the QEMU lab runs this)";
        }
        else if (writable && !CanWrite(found))
        {
            Skip = $"needs write access to {found} (root, read-write sysfs)";
        }
    }

    private static bool CanWrite(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    public string DevicePattern { get; }

    /// <summary>First path matching "/dir/prefix*", or null.</summary>
    public static string? FindDevice(string pattern)
    {
        var dir = Path.GetDirectoryName(pattern)!;
        var prefix = Path.GetFileName(pattern).TrimEnd('*');
        if (!Directory.Exists(dir))
        {
            return null;
        }

        return Directory.GetFileSystemEntries(dir, prefix + "*").Order(StringComparer.Ordinal).FirstOrDefault();
    }
}

/// <summary>A temporary directory tree for recorded sysfs / procfs fixtures.</summary>
public sealed class TempTree : IDisposable
{
    public TempTree() => Root = Directory.CreateTempSubdirectory("room-devices-").FullName;

    public string Root { get; }

    public string Write(string relative, string text)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public string WriteBytes(string relative, byte[] bytes)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Dir(string relative)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Link(string relative, string target)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
