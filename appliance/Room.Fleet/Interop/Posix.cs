using System.Runtime.InteropServices;

namespace Room.Fleet.Interop;

/// <summary>What .NET has no API for: fsync(2) of a directory (a rename that survives a power cut) and statvfs(3) (free space).</summary>
internal static partial class Posix
{
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000; // O_DIRECTORY on x86-64 and arm64 (asm-generic)
    private const int OCloexec = 0x80000;

    public static void FsyncDirectory(string path)
    {
        var fd = Open(path, ORdonly | ODirectory | OCloexec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open {path} to sync it: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of {path} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Bytes an unprivileged writer may still use on the file system holding <paramref name="path"/> (f_bavail × f_frsize).</summary>
    public static long AvailableBytes(string path)
    {
        if (StatVfs(path, out var s) != 0)
        {
            throw new IOException($"statvfs of {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var bytes = (decimal)s.Bavail * s.Frsize;
        return bytes > long.MaxValue ? long.MaxValue : (long)bytes;
    }

    /// <summary>glibc's struct statvfs on 64-bit Linux (x86-64, arm64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct StatVfsBuffer
    {
        public ulong Bsize;
        public ulong Frsize;
        public ulong Blocks;
        public ulong Bfree;
        public ulong Bavail;
        public ulong Files;
        public ulong Ffree;
        public ulong Favail;
        public ulong Fsid;
        public ulong Flag;
        public ulong Namemax;
        public int Spare0;
        public int Spare1;
        public int Spare2;
        public int Spare3;
        public int Spare4;
        public int Spare5;
    }

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatVfs(string path, out StatVfsBuffer buffer);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
