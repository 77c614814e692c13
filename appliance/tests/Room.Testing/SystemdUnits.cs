using System.Diagnostics;

namespace Room.Testing;

/// <summary>
/// `systemd-analyze verify` of a unit file in a scratch root that holds this machine's systemd units and stand-ins for
/// the programs the unit starts (which the test machine does not have installed). Any warning counts as a failure.
/// </summary>
public static class SystemdUnits
{
    /// <summary>Returns systemd-analyze's exit code and everything it printed (empty when the unit is clean).</summary>
    public static async Task<(int Code, string Output)> VerifyAsync(string unitFile, params string[] executables)
    {
        var root = Directory.CreateTempSubdirectory("room-units-").FullName;
        try
        {
            foreach (var exe in executables)
            {
                var path = Path.Combine(root, exe.TrimStart('/'));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, "#!/bin/sh\n");
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            CopyTree("/usr/lib/systemd/system", Path.Combine(root, "usr/lib/systemd/system"));
            var units = Path.Combine(root, "etc/systemd/system");
            Directory.CreateDirectory(units);
            var name = Path.GetFileName(unitFile);
            File.Copy(unitFile, Path.Combine(units, name));

            var psi = new ProcessStartInfo("systemd-analyze", ["verify", "--man=no", "--root=" + root, "/etc/systemd/system/" + name])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            psi.Environment["SYSTEMD_PAGER"] = "";
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            return (p.ExitCode, ((await output) + (await error)).Trim());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = Path.Combine(to, entry.Name);
            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(target, link);
            }
            else if (entry is DirectoryInfo dir)
            {
                CopyTree(dir.FullName, target);
            }
            else
            {
                File.Copy(entry.FullName, target);
            }
        }
    }
}
