using Room.Appliance.Interop;

namespace Room.Appliance.Administration;

/// <summary>
/// A plain configuration file roomd hands to an operating-system service (a systemd-networkd .network file, a
/// timesyncd drop-in): NAME.tmp, fsync, rename over NAME, fsync of the folder, so that NAME is the old or the new file
/// after a power cut. Unlike <see cref="AtomicFile"/> it has no header: the service reads it as it is.
/// </summary>
public static class OsConfigFile
{
    /// <summary>The file's bytes, or null when there is none (to put back with <see cref="Put"/>).</summary>
    public static byte[]? Read(string path) => File.Exists(path) ? File.ReadAllBytes(path) : null;

    /// <summary>Makes <paramref name="content"/> the file's content (mode 0644), or removes the file when it is null.</summary>
    public static void Put(string path, byte[]? content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (content is null)
        {
            if (File.Exists(path))
            {
                File.Delete(path);
                Fsync.Directory(dir);
            }

            return;
        }

        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = (UnixFileMode)0b110_100_100,
        }))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        Fsync.Directory(dir);
    }
}
