namespace Room.Testing;

/// <summary>Where things are in the repository, seen from a test assembly.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding Room.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the configuration the running tests were built in (from bin/CONFIG/net10.0).</summary>
    public static string Configuration { get; } =
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name is { } c && c != "bin" ? c : "Release";

    /// <summary>The built output of an executable project, e.g. Output("appliance/Room.Appliance", "roomd.dll").</summary>
    public static string Output(string projectFolder, string fileName)
    {
        var path = Path.Combine(Root, projectFolder, "bin", Configuration, "net10.0", fileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build Room.sln ({Configuration}) first.", path);
    }

    /// <summary>A folder for test artifacts (screenshots, reports) under artifacts/.</summary>
    public static string Artifacts(string name)
    {
        var dir = Path.Combine(Root, "artifacts", name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Room.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Room.sln above {AppContext.BaseDirectory}.");
    }
}
