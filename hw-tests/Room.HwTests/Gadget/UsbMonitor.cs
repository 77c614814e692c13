using System.Runtime.InteropServices;
using System.Text;
using Room.HwTests.Interop;

namespace Room.HwTests.Gadget;

/// <summary>The host's control requests to the device as they stand.</summary>
/// <param name="Waiting">The request the host waits on (submitted, not completed), if any.</param>
/// <param name="Completed">Requests completed lately, oldest first, with the data an OUT request carried.</param>
public sealed record HostView(SetupPacket? Waiting, IReadOnlyList<(SetupPacket Setup, byte[]? Data)> Completed);

/// <summary>What the host has sent the device: the lab has both ends of the cable in one kernel.</summary>
public interface IHostSide
{
    /// <summary>The host's side once everything it did until now has been seen, or null when that is not known.</summary>
    HostView? Observe();
}

/// <summary>
/// Reads the gadget's bus through usbmon's text interface (Documentation/usb/usbmon.rst, the "u" format) and keeps
/// the control requests on endpoint 0: which one the host waits on, and the data of the last OUT requests. The lab
/// camera needs it for the one thing gadgetfs withholds: the request that overtook a SET_CUR, whose event cannot be
/// read until it is answered, and the SET_CUR's data, which that request overwrote.
/// </summary>
public sealed unsafe class UsbMonitor : IHostSide, IDisposable
{
    private readonly int _fd;
    private readonly Action<string> _log;
    private readonly object _gate = new();
    private readonly byte[] _line = new byte[4096];
    private readonly UsbMonRequests _requests = new();
    private readonly Thread _reader;
    private volatile bool _stop;

    private UsbMonitor(int fd, Action<string> log)
    {
        _fd = fd;
        _log = log;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "usbmon" };
        _reader.Start();
    }

    /// <summary>Opens usbmon for the bus of dummy_hcd, or returns null (with the reason logged) when it is not there.</summary>
    public static UsbMonitor? OpenForDummyHcd(Action<string> log)
    {
        var bus = Directory.Exists("/sys/bus/usb/devices") ? Directory.GetDirectories("/sys/bus/usb/devices", "usb*")
            .Where(d => File.Exists(Path.Combine(d, "product")) && File.ReadAllText(Path.Combine(d, "product")).Contains("Dummy host", StringComparison.Ordinal))
            .Select(d => File.ReadAllText(Path.Combine(d, "busnum")).Trim())
            .FirstOrDefault() : null;
        if (bus is null)
        {
            log("usbmon: no dummy_hcd bus; a request that overtakes a SET_CUR is answered by a guess");
            return null;
        }

        var path = $"/sys/kernel/debug/usb/usbmon/{bus}u";
        var fd = Native.Open(path, Native.O_RDONLY | Native.O_NONBLOCK | Native.O_CLOEXEC);
        if (fd < 0)
        {
            log($"usbmon: open {path}: {Native.LastError()}; a request that overtakes a SET_CUR is answered by a guess");
            return null;
        }

        return new UsbMonitor(fd, log);
    }

    public HostView? Observe()
    {
        lock (_gate)
        {
            if (!Drain())
            {
                return null;
            }

            return _requests.View();
        }
    }

    /// <summary>Reads every event usbmon holds (under the lock, so once it returns true all of them are parsed).</summary>
    private bool Drain()
    {
        while (true)
        {
            nint n;
            fixed (byte* p = _line)
            {
                n = Native.Read(_fd, p, (nuint)_line.Length);
            }

            if (n > 0)
            {
                foreach (var line in Encoding.ASCII.GetString(_line, 0, (int)n).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    _requests.Parse(line);
                }

                continue;
            }

            var errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (errno == Native.EAGAIN)
            {
                return true;
            }

            if (errno != Native.EINTR)
            {
                _log($"usbmon read: errno {errno}");
                return false;
            }
        }
    }

    private void ReadLoop()
    {
        // usbmon drops new events once its queue is full (the bulk stream fills it fast), so it is read all the time.
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
}

/// <summary>The control requests on endpoint 0 that usbmon's "u" lines describe (bus-wide file; the root hub left out).</summary>
public sealed class UsbMonRequests
{
    private const int KeepCompleted = 16;
    private const int MaxPending = 32;

    private readonly Dictionary<string, (SetupPacket Setup, byte[]? Data)> _pending = [];
    private readonly List<(SetupPacket Setup, byte[]? Data)> _completed = [];
    private readonly List<string> _waitingOrder = [];

    /// <summary>The oldest request still waiting, and the latest completed ones.</summary>
    public HostView View() => new(_waitingOrder.Count > 0 ? _pending[_waitingOrder[0]].Setup : null, [.. _completed]);

    /// <summary>Parses one line of usbmon's "u" format into the request state; lines of other kinds are ignored.</summary>
    public void Parse(string line)
    {
        // "TAG TIMESTAMP S Co:1:002:0 s 21 01 0d00 0100 0008 8 = 00a08c00 00000000" (submission of a control OUT)
        // "TAG TIMESTAMP C Co:1:002:0 0 8 >" (its completion); E is a submission error.
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 4 || f[3].Length < 2 || f[3][0] != 'C')
        {
            return;
        }

        var address = f[3].Split(':');
        if (address.Length != 4 || address[2] == "001" || address[3] != "0")
        {
            return; // the root hub, or not endpoint 0
        }

        var tag = f[0];
        switch (f[2])
        {
            case "S" when f.Length >= 11 && f[4] == "s":
                if (!Hex(f[5], 2, out var type) || !Hex(f[6], 2, out var request) || !Hex(f[7], 4, out var value) || !Hex(f[8], 4, out var index) || !Hex(f[9], 4, out var length))
                {
                    return;
                }

                var setup = new SetupPacket((byte)type, (byte)request, (ushort)value, (ushort)index, (ushort)length);
                byte[]? data = null;
                var words = string.Concat(f.Skip(12));
                if (!setup.IsIn && f.Length > 12 && f[11] == "=" && words.Length % 2 == 0 && words.All(char.IsAsciiHexDigit))
                {
                    data = Convert.FromHexString(words);
                }

                _pending[tag] = (setup, data);
                _waitingOrder.Remove(tag);
                _waitingOrder.Add(tag);
                if (_waitingOrder.Count > MaxPending)
                {
                    _pending.Remove(_waitingOrder[0]); // a completion usbmon dropped: forget the oldest
                    _waitingOrder.RemoveAt(0);
                }

                break;
            case "C" or "E" when _pending.Remove(tag, out var done):
                _waitingOrder.Remove(tag);
                _completed.Add(done);
                if (_completed.Count > KeepCompleted)
                {
                    _completed.RemoveAt(0);
                }

                break;
            default:
                break;
        }
    }

    private static bool Hex(string s, int digits, out int value)
    {
        value = 0;
        return s.Length == digits && int.TryParse(s, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
