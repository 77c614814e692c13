using System.Runtime.InteropServices;

namespace Room.Appliance.Interop;

/// <summary>fsync(2) of a directory, so that a rename in it survives a power cut (.NET has no API for it).</summary>
internal static partial class Fsync
{
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000; // O_DIRECTORY on x86-64 and arm64 (asm-generic)
    private const int OCloexec = 0x80000;

    public static void Directory(string path)
    {
        var fd = Open(path, ORdonly | ODirectory | OCloexec);
        if (fd < 0)
        {
            throw new IOException($"Cannot open {path} to sync it: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (FsyncFd(fd) != 0)
            {
                throw new IOException($"fsync of {path} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncFd(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
