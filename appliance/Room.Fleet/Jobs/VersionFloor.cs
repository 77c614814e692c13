namespace Room.Fleet.Jobs;

/// <summary>
/// The lowest version this room may install, kept on the data partition (Debian's RAUC 1.8 has no downgrade
/// protection of its own): raised to each version that booted and passed its health checks; lowered only by an
/// admin-signed rollback that did the same. It never falls below the version the room is running: a missing or
/// unreadable file means the running version.
/// </summary>
public sealed class VersionFloor(string path)
{
    public string Path { get; } = path;

    /// <summary>The floor: the stored one, but never below <paramref name="running"/>.</summary>
    public BundleVersion Current(BundleVersion running)
    {
        ArgumentNullException.ThrowIfNull(running);
        var stored = Stored;
        return stored is not null && stored > running ? stored : running;
    }

    /// <summary>What the file says (null when missing or not a version).</summary>
    public BundleVersion? Stored
    {
        get
        {
            string? text;
            try
            {
                text = DurableFile.Read(Path);
            }
            catch (IOException)
            {
                return null;
            }

            return BundleVersion.TryParse(text?.Trim(), out var v) ? v : null;
        }
    }

    /// <summary>
    /// Records that <paramref name="version"/> booted and is good: raises the floor to it, or with
    /// <paramref name="rollback"/> (an admin-signed rollback) sets it there.
    /// </summary>
    public void Record(BundleVersion version, bool rollback)
    {
        ArgumentNullException.ThrowIfNull(version);
        var stored = Stored;
        if (rollback || stored is null || version > stored)
        {
            DurableFile.Write(Path, version + "\n");
        }
    }
}
