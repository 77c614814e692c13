using System.Buffers.Binary;
using System.Text;
using Room.HwTests.Interop;

namespace Room.HwTests.Lab;

/// <summary>
/// A second, independent look at a V4L2 node straight through ioctls: the lab uses it to prove the lab itself
/// (the nodes exist, the gadget camera streams) and to cross-check what Room.Devices reports.
/// </summary>
public sealed unsafe class V4l2Probe : IDisposable
{
    public const uint CidBrightness = 0x00980900;
    public const uint CidExposureAuto = 0x009a0901, CidExposureAbsolute = 0x009a0902, CidPanAbsolute = 0x009a0908,
        CidTiltAbsolute = 0x009a0909, CidFocusAbsolute = 0x009a090a, CidZoomAbsolute = 0x009a090d;

    private const uint BufTypeVideoCapture = 1, MemoryMmap = 1;
    private static readonly uint FourccYuyv = 'Y' | ('U' << 8) | ('Y' << 16) | ((uint)'V' << 24);

    private readonly int _fd;

    private V4l2Probe(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    public string Path { get; }

    private static uint QueryCap => Native.Ior('V', 0, 104);
    private static uint QueryCtrl => Native.Iowr('V', 36, 68);
    private static uint GetCtrl => Native.Iowr('V', 27, 8);
    private static uint SetCtrl => Native.Iowr('V', 28, 8);
    private static uint SetFmt => Native.Iowr('V', 5, 208);
    private static uint ReqBufs => Native.Iowr('V', 8, 20);
    private static uint QueryBuf => Native.Iowr('V', 9, 88);
    private static uint QBuf => Native.Iowr('V', 15, 88);
    private static uint DqBuf => Native.Iowr('V', 17, 88);
    private static uint StreamOn => Native.Iow('V', 18, 4);
    private static uint StreamOff => Native.Iow('V', 19, 4);
    private static uint EnumFmt => Native.Iowr('V', 2, 64);
    private static uint EnumFrameSizes => Native.Iowr('V', 74, 44);
    private static uint EnumFrameIntervals => Native.Iowr('V', 75, 52);

    /// <summary>FourCC text of a V4L2 pixel format ("YUYV").</summary>
    public static string FourCc(uint f) => new([(char)(f & 0xff), (char)((f >> 8) & 0xff), (char)((f >> 16) & 0xff), (char)(f >> 24)]);

    /// <summary>The capture pixel formats (VIDIOC_ENUM_FMT), as FourCC codes.</summary>
    public List<uint> Formats()
    {
        var result = new List<uint>();
        var buf = stackalloc byte[64];
        var s = new Span<byte>(buf, 64);
        for (uint i = 0; i < 64; i++)
        {
            s.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(s, i);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], BufTypeVideoCapture);
            if (Native.Ioctl(_fd, EnumFmt, buf) < 0)
            {
                break;
            }

            result.Add(BinaryPrimitives.ReadUInt32LittleEndian(s[44..]));
        }

        return result;
    }

    /// <summary>Discrete frame sizes of a format (VIDIOC_ENUM_FRAMESIZES); null when the driver gives a stepwise range.</summary>
    public List<(int Width, int Height)>? FrameSizes(uint fourcc)
    {
        var result = new List<(int, int)>();
        var buf = stackalloc byte[44];
        var s = new Span<byte>(buf, 44);
        for (uint i = 0; i < 256; i++)
        {
            s.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(s, i);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], fourcc);
            if (Native.Ioctl(_fd, EnumFrameSizes, buf) < 0)
            {
                break;
            }

            var type = BinaryPrimitives.ReadUInt32LittleEndian(s[8..]);
            if (type == 1)
            {
                result.Add((BinaryPrimitives.ReadInt32LittleEndian(s[12..]), BinaryPrimitives.ReadInt32LittleEndian(s[16..])));
                continue;
            }

            return null;
        }

        return result;
    }

    /// <summary>Frame rates (frames per second, rounded) of a format at a size (VIDIOC_ENUM_FRAMEINTERVALS); null when stepwise.</summary>
    public List<int>? FrameRates(uint fourcc, int width, int height)
    {
        var result = new List<int>();
        var buf = stackalloc byte[52];
        var s = new Span<byte>(buf, 52);
        for (uint i = 0; i < 64; i++)
        {
            s.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(s, i);
            BinaryPrimitives.WriteUInt32LittleEndian(s[4..], fourcc);
            BinaryPrimitives.WriteInt32LittleEndian(s[8..], width);
            BinaryPrimitives.WriteInt32LittleEndian(s[12..], height);
            if (Native.Ioctl(_fd, EnumFrameIntervals, buf) < 0)
            {
                break;
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(s[16..]) != 1)
            {
                return null;
            }

            var num = BinaryPrimitives.ReadUInt32LittleEndian(s[20..]);
            var den = BinaryPrimitives.ReadUInt32LittleEndian(s[24..]);
            if (num > 0)
            {
                result.Add((int)Math.Round((double)den / num));
            }
        }

        return result;
    }

    public static V4l2Probe Open(string path)
    {
        var fd = Native.Open(path, Native.O_RDWR | Native.O_CLOEXEC);
        return fd < 0 ? throw new IOException($"open {path}: {Native.LastError()}") : new V4l2Probe(fd, path);
    }

    /// <summary>/dev/videoN nodes whose sysfs name contains <paramref name="nameContains"/>, lowest first.</summary>
    public static IReadOnlyList<string> FindNodes(string nameContains)
    {
        var found = new List<(int, string)>();
        var root = "/sys/class/video4linux";
        if (!Directory.Exists(root))
        {
            return [];
        }

        foreach (var dir in Directory.GetDirectories(root, "video*"))
        {
            var name = File.ReadAllText(System.IO.Path.Combine(dir, "name")).Trim();
            var idx = File.Exists(System.IO.Path.Combine(dir, "index")) ? File.ReadAllText(System.IO.Path.Combine(dir, "index")).Trim() : "0";
            if (name.Contains(nameContains, StringComparison.Ordinal) && idx == "0")
            {
                var n = int.Parse(System.IO.Path.GetFileName(dir).AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
                found.Add((n, "/dev/" + System.IO.Path.GetFileName(dir)));
            }
        }

        return [.. found.OrderBy(f => f.Item1).Select(f => f.Item2)];
    }

    public (string Driver, string Card, uint DeviceCaps) Capabilities()
    {
        var buf = stackalloc byte[104];
        Check(Native.Ioctl(_fd, QueryCap, buf), "VIDIOC_QUERYCAP");
        var span = new ReadOnlySpan<byte>(buf, 104);
        return (CString(span[..16]), CString(span.Slice(16, 32)), BinaryPrimitives.ReadUInt32LittleEndian(span[88..]));
    }

    public (int Min, int Max, int Step, int Default)? Control(uint id)
    {
        var buf = stackalloc byte[68];
        new Span<byte>(buf, 68).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(buf, 4), id);
        if (Native.Ioctl(_fd, QueryCtrl, buf) < 0)
        {
            return null;
        }

        var s = new ReadOnlySpan<byte>(buf, 68);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(s[56..]);
        if ((flags & 1) != 0)
        {
            return null; // disabled
        }

        return (BinaryPrimitives.ReadInt32LittleEndian(s[40..]), BinaryPrimitives.ReadInt32LittleEndian(s[44..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[48..]), BinaryPrimitives.ReadInt32LittleEndian(s[52..]));
    }

    public int Get(uint id)
    {
        var c = stackalloc int[2];
        c[0] = (int)id;
        Check(Native.Ioctl(_fd, GetCtrl, c), $"VIDIOC_G_CTRL 0x{id:x}");
        return c[1];
    }

    public void Set(uint id, int value)
    {
        var c = stackalloc int[2];
        c[0] = (int)id;
        c[1] = value;
        Check(Native.Ioctl(_fd, SetCtrl, c), $"VIDIOC_S_CTRL 0x{id:x}");
    }

    /// <summary>Streams YUYV at the given size and hands each of <paramref name="count"/> frames to <paramref name="onFrame"/>.</summary>
    public void Capture(int width, int height, int count, TimeSpan timeout, Action<ReadOnlySpan<byte>, long, TimeSpan> onFrame)
    {
        var fmt = stackalloc byte[208];
        var f = new Span<byte>(fmt, 208);
        f.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(f, BufTypeVideoCapture);
        BinaryPrimitives.WriteUInt32LittleEndian(f[8..], (uint)width);
        BinaryPrimitives.WriteUInt32LittleEndian(f[12..], (uint)height);
        BinaryPrimitives.WriteUInt32LittleEndian(f[16..], FourccYuyv);
        Check(Native.Ioctl(_fd, SetFmt, fmt), "VIDIOC_S_FMT");
        var gotW = BinaryPrimitives.ReadInt32LittleEndian(f[8..]);
        var gotH = BinaryPrimitives.ReadInt32LittleEndian(f[12..]);
        if (gotW != width || gotH != height)
        {
            throw new IOException($"driver chose {gotW}x{gotH}, asked {width}x{height}");
        }

        var req = stackalloc uint[5];
        req[0] = 4;
        req[1] = BufTypeVideoCapture;
        req[2] = MemoryMmap;
        req[3] = 0;
        req[4] = 0;
        Check(Native.Ioctl(_fd, ReqBufs, req), "VIDIOC_REQBUFS");
        var n = (int)req[0];
        var maps = new (nint Addr, int Len)[n];
        var b = stackalloc byte[88];
        var bs = new Span<byte>(b, 88);
        try
        {
            for (var i = 0; i < n; i++)
            {
                InitBuffer(bs, i);
                Check(Native.Ioctl(_fd, QueryBuf, b), "VIDIOC_QUERYBUF");
                var len = BinaryPrimitives.ReadInt32LittleEndian(bs[72..]);
                var offset = BinaryPrimitives.ReadUInt32LittleEndian(bs[64..]);
                var addr = Native.Mmap(null, (nuint)len, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, _fd, offset);
                if ((nint)addr == -1)
                {
                    throw new IOException("mmap: " + Native.LastError());
                }

                maps[i] = ((nint)addr, len);
                Check(Native.Ioctl(_fd, QBuf, b), "VIDIOC_QBUF");
            }

            var type = (int)BufTypeVideoCapture;
            Check(Native.Ioctl(_fd, StreamOn, &type), "VIDIOC_STREAMON");
            var deadline = DateTime.UtcNow + timeout;
            for (var got = 0; got < count;)
            {
                var pfd = new Native.PollFd { Fd = _fd, Events = Native.POLLIN };
                var left = (int)(deadline - DateTime.UtcNow).TotalMilliseconds;
                if (left <= 0 || Native.Poll(&pfd, 1, left) == 0)
                {
                    throw new TimeoutException($"{got} of {count} frames within {timeout.TotalSeconds:0} s");
                }

                InitBuffer(bs, 0);
                if (Native.Ioctl(_fd, DqBuf, b) < 0)
                {
                    if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() is Native.EAGAIN or Native.EINTR)
                    {
                        continue;
                    }

                    throw new IOException("VIDIOC_DQBUF: " + Native.LastError());
                }

                var index = BinaryPrimitives.ReadInt32LittleEndian(bs);
                var used = BinaryPrimitives.ReadInt32LittleEndian(bs[8..]);
                var flags = BinaryPrimitives.ReadUInt32LittleEndian(bs[12..]);
                var sec = BinaryPrimitives.ReadInt64LittleEndian(bs[24..]);
                var usec = BinaryPrimitives.ReadInt64LittleEndian(bs[32..]);
                var seq = BinaryPrimitives.ReadUInt32LittleEndian(bs[56..]);
                if ((flags & 0x40) == 0) // V4L2_BUF_FLAG_ERROR
                {
                    onFrame(new ReadOnlySpan<byte>((void*)maps[index].Addr, used), seq, TimeSpan.FromTicks((sec * TimeSpan.TicksPerSecond) + (usec * 10)));
                    got++;
                }

                Check(Native.Ioctl(_fd, QBuf, b), "VIDIOC_QBUF");
            }

            Native.Ioctl(_fd, StreamOff, &type);
        }
        finally
        {
            foreach (var (addr, len) in maps)
            {
                if (addr != 0)
                {
                    Native.Munmap((void*)addr, (nuint)len);
                }
            }

            req[0] = 0;
            Native.Ioctl(_fd, ReqBufs, req);
        }
    }

    private static void InitBuffer(Span<byte> b, int index)
    {
        b.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(b, index);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], BufTypeVideoCapture);
        BinaryPrimitives.WriteUInt32LittleEndian(b[60..], MemoryMmap);
    }

    private static void Check(int rc, string what)
    {
        if (rc < 0)
        {
            throw new IOException($"{what}: {Native.LastError()}");
        }
    }

    private static string CString(ReadOnlySpan<byte> s)
    {
        var end = s.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? s : s[..end]);
    }

    public void Dispose() => Native.Close(_fd);
}
