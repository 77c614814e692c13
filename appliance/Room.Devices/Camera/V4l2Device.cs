using Room.Devices.Interop;

namespace Room.Devices.Camera;

/// <summary>What VIDIOC_QUERYCAP says about a node.</summary>
public sealed record V4l2Capability(string Driver, string Card, string BusInfo, uint Capabilities, uint DeviceCaps)
{
    public bool CanCapture => (DeviceCaps & V4l2.CapVideoCapture) != 0;

    public bool CanStream => (DeviceCaps & V4l2.CapStreaming) != 0;
}

/// <summary>An open V4L2 node: capabilities, format enumeration and controls (ioctls isolated in Interop).</summary>
public sealed unsafe class V4l2Device : IV4l2Controls, IDisposable
{
    private readonly FileDescriptor _fd;
    private readonly Lock _gate = new();

    private V4l2Device(string path, FileDescriptor fd)
    {
        Path = path;
        _fd = fd;
    }

    public string Path { get; }

    internal int Fd => _fd.Fd;

    public static V4l2Device Open(string path, string deviceId) =>
        new(path, FileDescriptor.OpenOrThrow(path, Libc.O_RDWR | Libc.O_NONBLOCK, deviceId));

    public V4l2Capability QueryCapability()
    {
        V4l2.Capability cap = default;
        var err = Libc.IoctlRetry(_fd.Fd, V4l2.QueryCap, &cap);
        if (err != 0)
        {
            throw new IOException($"VIDIOC_QUERYCAP on {Path}: {Libc.ErrorText(err)}");
        }

        var device = (cap.Capabilities & V4l2.CapDeviceCaps) != 0 ? cap.DeviceCaps : cap.Capabilities;
        return new V4l2Capability(V4l2.Text(cap.Driver, 16), V4l2.Text(cap.Card, 32), V4l2.Text(cap.BusInfo, 32), cap.Capabilities, device);
    }

    /// <summary>Every (format, size, rate) the node offers for capture that roomd can use, best first.</summary>
    public IReadOnlyList<VideoFormat> EnumerateFormats()
    {
        var result = new List<VideoFormat>();
        for (uint i = 0; i < 64; i++)
        {
            V4l2.FmtDesc d = default;
            d.Index = i;
            d.Type = V4l2.BufTypeVideoCapture;
            if (Libc.IoctlRetry(_fd.Fd, V4l2.EnumFmt, &d) != 0)
            {
                break;
            }

            if (CameraFormats.FromFourCc(d.PixelFormat) is not { } pixel)
            {
                continue;
            }

            foreach (var (w, h) in EnumerateSizes(d.PixelFormat))
            {
                foreach (var fps in EnumerateRates(d.PixelFormat, w, h))
                {
                    result.Add(new VideoFormat(pixel, w, h, fps));
                }
            }
        }

        return CameraFormats.Order(result);
    }

    public V4l2ControlInfo? Query(uint id)
    {
        V4l2.QueryExtCtrl q = default;
        q.Id = id;
        int err;
        lock (_gate)
        {
            err = Libc.IoctlRetry(_fd.Fd, V4l2.QueryExtCtrlIoctl, &q);
        }

        if (err == 0)
        {
            return new V4l2ControlInfo(q.Id, V4l2.Text(q.Name, 32), q.Type, q.Minimum, q.Maximum, (long)Math.Min(q.Step, long.MaxValue), q.DefaultValue, q.Flags);
        }

        // Older drivers: the 32-bit VIDIOC_QUERYCTRL.
        V4l2.QueryCtrl c = default;
        c.Id = id;
        lock (_gate)
        {
            err = Libc.IoctlRetry(_fd.Fd, V4l2.QueryCtrlIoctl, &c);
        }

        return err == 0 ? new V4l2ControlInfo(c.Id, V4l2.Text(c.Name, 32), c.Type, c.Minimum, c.Maximum, c.Step, c.DefaultValue, c.Flags) : null;
    }

    public int GetValue(uint id, out int value)
    {
        V4l2.Control c = default;
        c.Id = id;
        int err;
        lock (_gate)
        {
            err = Libc.IoctlRetry(_fd.Fd, V4l2.GCtrl, &c);
        }

        value = c.Value;
        return err;
    }

    public int SetValue(uint id, int value)
    {
        V4l2.Control c = default;
        c.Id = id;
        c.Value = value;
        lock (_gate)
        {
            return Libc.IoctlRetry(_fd.Fd, V4l2.SCtrl, &c);
        }
    }

    public int SetValues(ReadOnlySpan<(uint Id, int Value)> values)
    {
        if (values.Length == 0)
        {
            return 0;
        }

        Span<V4l2.ExtControl> controls = stackalloc V4l2.ExtControl[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            controls[i].Id = values[i].Id;
            controls[i].Value64 = values[i].Value;
        }

        fixed (V4l2.ExtControl* p = controls)
        {
            var ext = new V4l2.ExtControls { Which = 0, Count = (uint)values.Length, Controls = p };
            int err;
            lock (_gate)
            {
                err = Libc.IoctlRetry(_fd.Fd, V4l2.SExtCtrls, &ext);
            }

            if (err is Libc.ENOTTY or Libc.EINVAL && values.Length > 0)
            {
                // Drivers without extended controls (or a class mix they refuse): one at a time.
                foreach (var (id, value) in values)
                {
                    err = SetValue(id, value);
                    if (err != 0)
                    {
                        return err;
                    }
                }

                return 0;
            }

            return err;
        }
    }

    public void Dispose() => _fd.Dispose();

    private List<(int, int)> EnumerateSizes(uint fourcc)
    {
        var sizes = new List<(int, int)>();
        for (uint i = 0; i < 128; i++)
        {
            V4l2.FrmSizeEnum s = default;
            s.Index = i;
            s.PixelFormat = fourcc;
            if (Libc.IoctlRetry(_fd.Fd, V4l2.EnumFrameSizes, &s) != 0)
            {
                break;
            }

            if (s.Type == V4l2.FrmSizeTypeDiscrete)
            {
                if (s.Union[0] is > 0 and <= 16384 && s.Union[1] is > 0 and <= 16384)
                {
                    sizes.Add(((int)s.Union[0], (int)s.Union[1]));
                }

                continue;
            }

            // Stepwise or continuous: one entry; offer the common sizes that fit the grid.
            uint minW = s.Union[0], maxW = s.Union[1], stepW = Math.Max(1, s.Union[2]);
            uint minH = s.Union[3], maxH = s.Union[4], stepH = Math.Max(1, s.Union[5]);
            foreach (var (w, h) in CameraFormats.CommonSizes)
            {
                if (w >= minW && w <= maxW && h >= minH && h <= maxH && (w - minW) % stepW == 0 && (h - minH) % stepH == 0)
                {
                    sizes.Add((w, h));
                }
            }

            break;
        }

        return sizes;
    }

    private List<int> EnumerateRates(uint fourcc, int width, int height)
    {
        var rates = new List<int>();
        for (uint i = 0; i < 64; i++)
        {
            V4l2.FrmIvalEnum f = default;
            f.Index = i;
            f.PixelFormat = fourcc;
            f.Width = (uint)width;
            f.Height = (uint)height;
            if (Libc.IoctlRetry(_fd.Fd, V4l2.EnumFrameIntervals, &f) != 0)
            {
                break;
            }

            if (f.Type == V4l2.FrmSizeTypeDiscrete)
            {
                var fps = CameraFormats.Fps(f.Union[0], f.Union[1]);
                if (fps is > 0 and <= 240 && !rates.Contains(fps))
                {
                    rates.Add(fps);
                }

                continue;
            }

            // Stepwise: min interval = max rate; offer it and the usual rates within range.
            var max = CameraFormats.Fps(f.Union[0], f.Union[1]);
            var min = CameraFormats.Fps(f.Union[2], f.Union[3]);
            foreach (var fps in new[] { max, 60, 30, 25, 15, 10, 5 })
            {
                if (fps > 0 && fps <= max && fps >= min && !rates.Contains(fps))
                {
                    rates.Add(fps);
                }
            }

            break;
        }

        if (rates.Count == 0)
        {
            rates.Add(30); // drivers without interval enumeration
        }

        return rates;
    }
}
