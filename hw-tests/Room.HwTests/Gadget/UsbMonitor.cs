using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Room.HwTests.Interop;

namespace Room.HwTests.Gadget;

/// <summary>The host's side of the device's bus, as far as the device needs it.</summary>
/// <param name="Waiting">The control request the host waits on (submitted, not completed), if any.</param>
public sealed record HostView(SetupPacket? Waiting);

/// <summary>What the host has sent the device: the lab has both ends of the cable in one kernel.</summary>
public interface IHostSide
{
    /// <summary>Takes in everything the host did until now and returns its side, or null when that is not known.
    /// Every OUT request with a data stage that the host has finished is handed to the device here (or earlier), in the
    /// order the host finished them: the device takes OUT data from the host's side, not from gadgetfs.</summary>
    HostView? Observe();
}

/// <summary>
/// Reads the gadget's bus through usbmon's binary interface (/dev/usbmonN; Documentation/usb/usbmon.rst) and hands
/// the device every control OUT request the host finished, with its whole data stage, in order. gadgetfs over
/// dummy_hcd finishes such a data stage before the device has read it, and the host's next request then replaces the
/// request's event (if unread) or its data: the device would keep its old value while the host believes it set a new
/// one. The host's own record has every request. It also says which request the host waits on, for an overtaking
/// request whose event gadgetfs withholds until it is answered.
/// </summary>
public sealed unsafe class UsbMonitor : IHostSide, IDisposable
{
    // drivers/usb/mon/mon_bin.c
    private const uint MonIocMagic = 0x92;
    private static readonly uint SetRingSize = Native.Ioc(0, (char)MonIocMagic, 4, 0);
    private static readonly uint GetStats = Native.Ior((char)MonIocMagic, 3, 8);
    private static readonly uint GetEventX = Native.Iow((char)MonIocMagic, 10, (uint)sizeof(MonBinGet));

    // The bulk video stream fills the ring at ~1.5 MB/s under TCG: 16 MB lets the reader fall behind for seconds.
    private const int RingBytes = 16 << 20;
    private const int SlowMs = 500;

    private readonly int _fd;
    private readonly Action<string> _log;
    private readonly Action<SetupPacket, byte[]> _out;
    private readonly object _gate = new();
    private readonly byte[] _header = new byte[MonBinHeader.Size];
    private readonly byte[] _data = new byte[1024]; // a control data stage of this camera fits
    private readonly UsbMonRequests _requests = new();
    private readonly Thread _reader;
    private volatile bool _stop;
    private bool _failed;

    private UsbMonitor(int fd, Action<SetupPacket, byte[]> onOut, Action<string> log)
    {
        _fd = fd;
        _out = onOut;
        _log = log;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "usbmon" };
        _reader.Start();
    }

    /// <summary>Opens usbmon for the bus of dummy_hcd, or returns null (with the reason logged) when it is not there.</summary>
    /// <param name="onOut">Gets each control OUT request with a data stage the host finished, in order.</param>
    public static UsbMonitor? OpenForDummyHcd(Action<SetupPacket, byte[]> onOut, Action<string> log)
    {
        var bus = Directory.Exists("/sys/bus/usb/devices") ? Directory.GetDirectories("/sys/bus/usb/devices", "usb*")
            .Where(d => File.Exists(Path.Combine(d, "product")) && File.ReadAllText(Path.Combine(d, "product")).Contains("Dummy host", StringComparison.Ordinal))
            .Select(d => File.ReadAllText(Path.Combine(d, "busnum")).Trim())
            .FirstOrDefault() : null;
        if (bus is null)
        {
            log("usbmon: no dummy_hcd bus; the camera takes SET_CUR data from gadgetfs and loses what gadgetfs loses");
            return null;
        }

        var path = $"/dev/usbmon{bus}";
        var fd = Native.Open(path, Native.O_RDONLY | Native.O_NONBLOCK | Native.O_CLOEXEC);
        if (fd < 0)
        {
            log($"usbmon: open {path}: {Native.LastError()}; the camera takes SET_CUR data from gadgetfs and loses what gadgetfs loses");
            return null;
        }

        if (Native.Ioctl(fd, SetRingSize, (void*)(nint)RingBytes) != 0)
        {
            log($"usbmon: MON_IOCT_RING_SIZE {RingBytes}: {Native.LastError()}; keeping the default ring");
        }

        return new UsbMonitor(fd, onOut, log);
    }

    public HostView? Observe()
    {
        lock (_gate)
        {
            return Drain() ? new HostView(_requests.Waiting) : null;
        }
    }

    /// <summary>Takes every event usbmon held when called (under the lock: once it returns true, all of them were
    /// taken in). Events that arrive meanwhile wait for the next call, so a busy bus cannot keep the lock held.</summary>
    private bool Drain()
    {
        MonBinStats stats;
        if (_failed || !Call(GetStats, &stats))
        {
            return false;
        }

        if (stats.Dropped > 0)
        {
            _log($"usbmon: {stats.Dropped} events dropped (ring full): a SET_CUR among them is lost to the camera");
        }

        for (var i = 0L; i < stats.Queued; i++)
        {
            bool got;
            fixed (byte* h = _header)
            fixed (byte* d = _data)
            {
                var get = new MonBinGet { Header = h, Data = d, Alloc = (nuint)_data.Length };
                got = Call(GetEventX, &get);
            }

            if (!got)
            {
                return !_failed; // EAGAIN: none left
            }

            Take();
        }

        return true;
    }

    /// <summary>ioctl on usbmon, again after EINTR: false on EAGAIN, and on any other error, which ends the reader.</summary>
    private bool Call(uint request, void* arg)
    {
        while (true)
        {
            if (Native.Ioctl(_fd, request, arg) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Native.EINTR)
            {
                continue;
            }

            if (errno != Native.EAGAIN)
            {
                _failed = true;
                _log($"usbmon: ioctl 0x{request:x}: errno {errno}; SET_CUR data is no longer taken from the host's side");
            }

            return false;
        }
    }

    private void Take()
    {
        if (_header[9] != UsbMonEvent.Control)
        {
            return; // the video stream (its data beyond our buffer was not delivered, and is not needed)
        }

        var cap = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(36)), (uint)_data.Length);
        if (!MonBinHeader.TryParse(_header, _data.AsSpan(0, cap), out var ev, out var error))
        {
            _log($"usbmon: a control event not taken: {error}");
            return;
        }

        if (_requests.Add(ev!) is not { } done)
        {
            return;
        }

        if (done.DeliversData)
        {
            _out(done.Setup, done.Data!);
        }

        // Evidence for the lab's report: a request the camera answered late, or the host gave up on (5 s).
        if (done.Status != 0 || done.WaitedMs >= SlowMs)
        {
            _log($"usbmon: the host's {done.Setup} took {done.WaitedMs} ms, status {done.Status}");
        }
    }

    private void ReadLoop()
    {
        // usbmon drops new events once its ring is full, so it is read all the time.
        var param = new Native.SchedParam { Priority = 45 };
        _ = Native.SchedSetScheduler(0, Native.SCHED_FIFO, &param);
        while (!_stop)
        {
            lock (_gate)
            {
                if (!Drain())
                {
                    return;
                }
            }

            Thread.Sleep(5);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _reader.Join(1000);
        Native.Close(_fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MonBinGet
    {
        public byte* Header;
        public byte* Data;
        public nuint Alloc;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MonBinStats
    {
        public uint Queued;
        public uint Dropped;
    }
}
