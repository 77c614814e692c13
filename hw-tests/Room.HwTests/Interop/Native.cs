using System.Runtime.InteropServices;

namespace Room.HwTests.Interop;

/// <summary>The few libc calls the lab needs to look at the kernel directly (cross-checks, the gadget camera).</summary>
internal static partial class Native
{
    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 1;
    public const short POLLIN = 1;
    public const int EINTR = 4;
    public const int EAGAIN = 11;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static unsafe partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint Read(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint Write(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static unsafe partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static unsafe partial int Munmap(void* addr, nuint length);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static unsafe partial int Poll(PollFd* fds, nuint nfds, int timeoutMs);

    public const int SCHED_FIFO = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct SchedParam
    {
        public int Priority;
    }

    /// <summary>sched_setscheduler(2); pid 0 is the calling thread.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    public static unsafe partial int SchedSetScheduler(int pid, int policy, SchedParam* param);

    public static string LastError() => Marshal.GetLastPInvokeErrorMessage() + " (errno " + Marshal.GetLastPInvokeError() + ")";

    /// <summary>Linux _IOC encoding.</summary>
    public static uint Ioc(uint dir, char type, uint nr, uint size) => (dir << 30) | (size << 16) | ((uint)type << 8) | nr;

    public static uint Iowr(char type, uint nr, uint size) => Ioc(3, type, nr, size);

    public static uint Ior(char type, uint nr, uint size) => Ioc(2, type, nr, size);

    public static uint Iow(char type, uint nr, uint size) => Ioc(1, type, nr, size);
}
