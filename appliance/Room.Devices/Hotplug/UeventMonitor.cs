using Room.Devices.Interop;

namespace Room.Devices.Hotplug;

/// <summary>
/// Listens to kernel uevents on a NETLINK_KOBJECT_UEVENT socket (multicast group 1, the kernel's own messages,
/// so it works without udevd) on a dedicated thread; raises <see cref="Received"/> for each well-formed event.
/// </summary>
public sealed unsafe class UeventMonitor : IDisposable
{
    private readonly FileDescriptor _fd;
    private readonly Thread _thread;
    private volatile bool _stopping;

    private UeventMonitor(FileDescriptor fd)
    {
        _fd = fd;
        _thread = new Thread(Run) { IsBackground = true, Name = "uevent monitor" };
    }

    /// <summary>Raised on the monitor thread; handlers must not block for long.</summary>
    public event EventHandler<Uevent>? Received;

    /// <summary>Count of datagrams that did not parse (malformed or udevd's).</summary>
    public int Rejected { get; private set; }

    /// <summary>Opens and binds the socket; throws <see cref="IOException"/> when netlink is not available.</summary>
    public static UeventMonitor Start(Action<UeventMonitor>? subscribe = null)
    {
        var fd = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, Libc.NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
        {
            throw new IOException($"netlink uevent socket: {Libc.ErrorText(Libc.LastError)}");
        }

        var handle = new FileDescriptor(fd);
        var size = 1 << 20;
        _ = Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, &size, sizeof(int));
        var addr = new Libc.SockAddrNl { Family = Libc.AF_NETLINK, Pid = 0, Groups = 1 };
        if (Libc.Bind(fd, &addr, (uint)sizeof(Libc.SockAddrNl)) < 0)
        {
            var e = Libc.LastError;
            handle.Dispose();
            throw new IOException($"netlink uevent bind: {Libc.ErrorText(e)}");
        }

        var monitor = new UeventMonitor(handle);
        subscribe?.Invoke(monitor);
        monitor._thread.Start();
        return monitor;
    }

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        _fd.Dispose();
    }

    private void Run()
    {
        var buffer = new byte[Uevent.MaxSize * 4];
        fixed (byte* p = buffer)
        {
            var pfd = new Libc.PollFd { Fd = _fd.Fd, Events = Libc.POLLIN };
            while (!_stopping)
            {
                pfd.REvents = 0;
                var ready = Libc.Poll(&pfd, 1, 200);
                if (ready <= 0 || (pfd.REvents & Libc.POLLIN) == 0)
                {
                    continue;
                }

                var n = (int)Libc.Recv(_fd.Fd, p, (nuint)buffer.Length, 0);
                if (n <= 0)
                {
                    continue;
                }

                if (Uevent.TryParse(buffer.AsSpan(0, n), out var ev))
                {
                    try
                    {
                        Received?.Invoke(this, ev!);
                    }
#pragma warning disable CA1031 // A subscriber's bug must not stop hot-plug monitoring for everyone.
                    catch (Exception)
#pragma warning restore CA1031
                    {
                    }
                }
                else
                {
                    Rejected++;
                }
            }
        }
    }
}
