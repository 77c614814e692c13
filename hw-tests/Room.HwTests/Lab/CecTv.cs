using System.Buffers.Binary;
using Room.HwTests.Interop;

namespace Room.HwTests.Lab;

/// <summary>
/// The TV at the other end of vivid's HDMI cable: claims the TV logical address on the sink-side CEC adapter and
/// behaves like a screen, going through "to on" / "to standby" for a while before it gets there, answering
/// power status requests throughout.
/// </summary>
public sealed unsafe class CecTv : IDisposable
{
    private const byte ImageViewOn = 0x04, TextViewOn = 0x0D, Standby = 0x36, GiveDevicePowerStatus = 0x8F, ReportPowerStatus = 0x90;
    private const byte PowerOn = 0, PowerStandby = 1, PowerToOn = 2, PowerToStandby = 3;
    private static readonly uint SLogAddrs = Native.Iowr('a', 4, 92);
    private static readonly uint Transmit = Native.Iowr('a', 5, 56);
    private static readonly uint Receive = Native.Iowr('a', 6, 56);
    private static readonly uint SMode = Native.Iow('a', 9, 4);

    private readonly int _fd;
    private readonly Thread _thread;
    private readonly TimeSpan _transition;
    private volatile bool _stop;
    private byte _power = PowerStandby;
    private DateTime _settleAt;

    private CecTv(int fd, TimeSpan transition)
    {
        _fd = fd;
        _transition = transition;
        _thread = new Thread(Run) { IsBackground = true, Name = "cec-tv" };
    }

    public string Log { get; private set; } = "";

    /// <summary>Opens the adapter with physical address 0.0.0.0 and starts following as a TV.</summary>
    public static CecTv? Start(TimeSpan transition)
    {
        foreach (var path in Directory.GetFiles("/dev", "cec*").Order(StringComparer.Ordinal))
        {
            var fd = Native.Open(path, Native.O_RDWR | Native.O_CLOEXEC);
            if (fd < 0)
            {
                continue;
            }

            ushort pa = 0xFFFF;
            if (Native.Ioctl(fd, Native.Ior('a', 1, 2), &pa) < 0 || pa != 0)
            {
                Native.Close(fd);
                continue;
            }

            var la = stackalloc byte[92];
            var s = new Span<byte>(la, 92);
            s.Clear();
            Native.Ioctl(fd, SLogAddrs, la); // clear whatever was claimed before
            s.Clear();
            s[6] = 5; // CEC 1.4
            s[7] = 1; // one logical address
            BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 0xFFFFFFFF); // no vendor id
            "TV"u8.CopyTo(s[16..]);
            s[31] = 0; // primary device type TV
            s[35] = 0; // logical address type TV
            s[39] = 0x80; // all device types: TV
            if (Native.Ioctl(fd, SLogAddrs, la) < 0)
            {
                var e = Native.LastError();
                Native.Close(fd);
                throw new IOException($"{path}: CEC_ADAP_S_LOG_ADDRS as TV: {e}");
            }

            var mode = 0x01u | 0x20u; // initiator + exclusive follower
            if (Native.Ioctl(fd, SMode, &mode) < 0)
            {
                var e = Native.LastError();
                Native.Close(fd);
                throw new IOException($"{path}: CEC_S_MODE: {e}");
            }

            var tv = new CecTv(fd, transition);
            tv.Log = path;
            tv._thread.Start();
            return tv;
        }

        return null;
    }

    private void Run()
    {
        var msg = stackalloc byte[56];
        var m = new Span<byte>(msg, 56);
        while (!_stop)
        {
            m.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(m[20..], 100); // timeout ms
            var rc = Native.Ioctl(_fd, Receive, msg);
            lock (this)
            {
                if ((_power is PowerToOn or PowerToStandby) && DateTime.UtcNow >= _settleAt)
                {
                    _power = _power == PowerToOn ? PowerOn : PowerStandby;
                }
            }

            if (rc < 0)
            {
                continue;
            }

            var len = BinaryPrimitives.ReadInt32LittleEndian(m[16..]);
            if (len < 2)
            {
                continue;
            }

            var from = (byte)(m[32] >> 4);
            var opcode = m[33];
            lock (this)
            {
                switch (opcode)
                {
                    case ImageViewOn or TextViewOn when _power is PowerStandby or PowerToStandby:
                        _power = PowerToOn;
                        _settleAt = DateTime.UtcNow + _transition;
                        break;
                    case Standby when _power is PowerOn or PowerToOn:
                        _power = PowerToStandby;
                        _settleAt = DateTime.UtcNow + _transition;
                        break;
                    case GiveDevicePowerStatus:
                        Reply(from, ReportPowerStatus, _power);
                        break;
                    default:
                        break;
                }
            }
        }
    }

    private void Reply(byte to, byte opcode, byte arg)
    {
        var msg = stackalloc byte[56];
        var m = new Span<byte>(msg, 56);
        m.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(m[16..], 3);
        m[32] = (byte)(0x00 | to); // from TV (0)
        m[33] = opcode;
        m[34] = arg;
        _ = Native.Ioctl(_fd, Transmit, msg);
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(1));
        Native.Close(_fd);
    }
}
