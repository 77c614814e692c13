using System.Runtime.InteropServices;

namespace Room.Appliance.Interop;

/// <summary>
/// glibc's allocator settings for a long-running media process. By default glibc raises its mmap threshold each time
/// a large block allocated by mmap is freed (up to 32 MiB), after which the codecs' large buffers (libvpx reopened at a
/// new bitrate, FFmpeg frames) come from the heap arenas instead, where freed space is rarely returned: the soak
/// measured roomd's resident memory growing ~50 MB/min in a Janus call while the managed heap stayed under 20 MB, and
/// flat (~135 MB) with these settings. Fixed thresholds (which also turn the dynamic adjustment off) and two arenas.
/// </summary>
internal static partial class Malloc
{
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;
    private const int MArenaMax = -8;

    /// <summary>Blocks from this size on are mmapped and given back whole when freed.</summary>
    public const int MmapThreshold = 128 * 1024;

    /// <summary>Applies the settings; what it did, for the log (no-op outside glibc).</summary>
    public static string UseFixedThresholds()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux: allocator left as it is";
        }

        try
        {
            var ok = MallOpt(MMmapThreshold, MmapThreshold) == 1
                & MallOpt(MTrimThreshold, MmapThreshold) == 1
                & MallOpt(MArenaMax, 2) == 1;
            return ok
                ? $"glibc malloc: mmap and trim thresholds fixed at {MmapThreshold / 1024} KiB, 2 arenas"
                : "glibc malloc: mallopt refused a setting; allocator left with its defaults";
        }
        catch (EntryPointNotFoundException)
        {
            return "no mallopt (not glibc): allocator left as it is";
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);
}
