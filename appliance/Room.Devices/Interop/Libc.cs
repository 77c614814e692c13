using System.Runtime.InteropServices;

namespace Room.Devices.Interop;

/// <summary>The few libc calls the drivers need: open/close/ioctl/mmap/poll and a netlink socket.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int O_RDWR = 0x2;
    public const int O_RDONLY = 0x0;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x1;

    public const short POLLIN = 0x1;
    public const short POLLPRI = 0x2;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    public const int SCHED_FIFO = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct SchedParam
    {
        public int Priority;
    }

    /// <summary>sched_setscheduler(2); pid 0 is the calling thread.</summary>
    [LibraryImport(Lib, EntryPoint = "sched_setscheduler", SetLastError = true)]
    public static partial int SchedSetScheduler(int pid, int policy, SchedParam* param);

    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EPIPE = 32;
    public const int ENOTTY = 25;
    public const int ETIMEDOUT = 110;
    public const int ERANGE = 34;
    public const int ESTRPIPE = 86;
    public const int EBADFD = 77;

    public const int AF_NETLINK = 16;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int NETLINK_KOBJECT_UEVENT = 15;
    public const int SOL_SOCKET = 1;
    public const int SO_RCVBUF = 8;

    public static readonly nint MapFailed = -1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport(Lib, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint length);

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint RealPathNative(string path, nint resolved);

    [LibraryImport(Lib, EntryPoint = "free")]
    private static partial void Free(nint p);

    /// <summary>The canonical path (symlinks resolved the way the kernel does, relative to the physical directory), or null.</summary>
    public static string? RealPath(string path)
    {
        var p = RealPathNative(path, 0);
        if (p == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            Free(p);
        }
    }

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddrNl* addr, uint length);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Lib, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, void* buffer, nuint length, int flags);

    public static int LastError => Marshal.GetLastPInvokeError();

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>ioctl, retried on EINTR. Returns 0 or the positive errno.</summary>
    public static int IoctlRetry(int fd, nuint request, void* arg)
    {
        while (true)
        {
            if (Ioctl(fd, request, arg) >= 0)
            {
                return 0;
            }

            var e = LastError;
            if (e != EINTR)
            {
                return e;
            }
        }
    }

    /// <summary>Linux _IOC encoding (x86, arm, arm64, riscv).</summary>
    public static nuint IoC(uint dir, char type, uint nr, int size) =>
        (nuint)((dir << 30) | ((uint)size << 16) | ((uint)type << 8) | nr);

    public static nuint IoR(char type, uint nr, int size) => IoC(2, type, nr, size);

    public static nuint IoW(char type, uint nr, int size) => IoC(1, type, nr, size);

    public static nuint IoWR(char type, uint nr, int size) => IoC(3, type, nr, size);
}

/// <summary>An owned file descriptor.</summary>
internal sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor(int fd)
        : base(-1, true) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    public int Fd => (int)handle;

    public static FileDescriptor OpenOrThrow(string path, int flags, string deviceId)
    {
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            var e = Libc.LastError;
            throw new DeviceUnavailableException(deviceId, $"cannot open {path}: {Libc.ErrorText(e)}");
        }

        return new FileDescriptor(fd);
    }

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
