using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Room.Appliance.Interop;

namespace Room.Appliance.Administration;

/// <summary>
/// A small file that survives a power cut at any moment: written to NAME.tmp, fsynced, renamed over NAME, and the folder
/// fsynced. The content carries its length and SHA-256 in a first line, so that a file broken some other way (a
/// half-written file from a file system without ordered renames, a bad sector, a hand edit) is detected rather than
/// half-trusted. The previous good version is kept as NAME.prev and read when NAME is missing or broken.
/// </summary>
public static class AtomicFile
{
    private const string Magic = "room-file 1";

    /// <summary>Writes <paramref name="payload"/> as the new content of <paramref name="path"/> (mode for new files).</summary>
    public static void Write(string path, ReadOnlySpan<byte> payload, UnixFileMode mode)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        var header = Encoding.ASCII.GetBytes(
            $"{Magic} length={payload.Length.ToString(CultureInfo.InvariantCulture)} sha256={Convert.ToHexStringLower(SHA256.HashData(payload))}\n");
        using (var stream = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = mode,
        }))
        {
            stream.Write(header);
            stream.Write(payload);
            stream.Flush(flushToDisk: true);
        }

        // Keep the current version as the fallback, but never let a broken one replace a good fallback.
        if (File.Exists(path))
        {
            if (TryReadOne(path, out _, out _))
            {
                File.Move(path, path + ".prev", overwrite: true);
            }
            else
            {
                File.Delete(path);
            }
        }

        File.Move(tmp, path, overwrite: false);
        Fsync.Directory(dir);
    }

    /// <summary>
    /// Reads the newest intact version: NAME, else NAME.prev. Null when neither is there or intact; <paramref name="problem"/>
    /// then or otherwise says what was wrong with the newer one (null when NAME was fine).
    /// </summary>
    public static byte[]? Read(string path, out string? problem)
    {
        problem = null;
        if (TryReadOne(path, out var payload, out var why))
        {
            return payload;
        }

        if (why is not null)
        {
            problem = $"{path}: {why}";
        }

        if (TryReadOne(path + ".prev", out payload, out var whyPrev))
        {
            return payload;
        }

        if (whyPrev is not null)
        {
            problem = (problem is null ? "" : problem + "; ") + $"{path}.prev: {whyPrev}";
        }

        return null;
    }

    /// <summary>Removes NAME and its fallback and temporary file.</summary>
    public static void Delete(string path)
    {
        foreach (var p in new[] { path, path + ".prev", path + ".tmp" })
        {
            File.Delete(p);
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Directory.Exists(dir))
        {
            Fsync.Directory(dir);
        }
    }

    /// <summary>True with the payload when the file is there and intact; false with null (missing) or the reason (broken).</summary>
    internal static bool TryReadOne(string path, out byte[] payload, out string? problem)
    {
        payload = [];
        problem = null;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }

        var newline = Array.IndexOf(bytes, (byte)'\n');
        if (newline < 0 || newline > 200)
        {
            problem = "no header line (not written by roomd, or cut short)";
            return false;
        }

        var header = Encoding.ASCII.GetString(bytes, 0, newline).Split(' ');
        if (header.Length != 4 || $"{header[0]} {header[1]}" != Magic
            || !header[2].StartsWith("length=", StringComparison.Ordinal) || !header[3].StartsWith("sha256=", StringComparison.Ordinal)
            || !int.TryParse(header[2]["length=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            problem = "malformed header line";
            return false;
        }

        var body = bytes.AsSpan(newline + 1);
        if (body.Length != length)
        {
            problem = $"{body.Length} bytes of content where {length} were written (cut short or appended to)";
            return false;
        }

        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(body)), header[3]["sha256=".Length..], StringComparison.Ordinal))
        {
            problem = "content does not match its checksum";
            return false;
        }

        payload = body.ToArray();
        return true;
    }
}
