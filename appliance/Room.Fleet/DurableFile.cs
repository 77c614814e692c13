using System.Text;
using Room.Fleet.Interop;

namespace Room.Fleet;

/// <summary>
/// A small state file on the data partition that survives a power cut at any moment: written to NAME.tmp, fsynced,
/// renamed over NAME, the folder fsynced. Reads see the old or the new content, never a mix.
/// </summary>
internal static class DurableFile
{
    public static void Write(string path, string content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        Posix.FsyncDirectory(dir);
    }

    /// <summary>The content, or null when there is no file.</summary>
    public static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path, Encoding.UTF8) : null;
}
