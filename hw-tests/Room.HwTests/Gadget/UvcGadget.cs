using System.Buffers.Binary;
using Room.HwTests.Interop;

namespace Room.HwTests.Gadget;

/// <summary>
/// A USB PTZ camera made of software: a UVC 1.1 device on gadgetfs (over dummy_hcd) so the kernel's real
/// uvcvideo driver binds it. It answers the camera-terminal control requests (pan/tilt/zoom/focus/exposure)
/// and streams YUYV frames over a bulk endpoint, painting its current pan/tilt/zoom into every frame.
/// </summary>
public sealed unsafe class UvcGadget : IControlRequests, IDisposable
{
    // UVC requests and selectors.
    private const byte SetCur = 0x01, GetCur = 0x81, GetMin = 0x82, GetMax = 0x83, GetRes = 0x84, GetLen = 0x85, GetInfo = 0x86, GetDef = 0x87;
    private const byte CtAeMode = 0x02, CtExposureAbs = 0x04, CtFocusAbs = 0x06, CtZoomAbs = 0x0B, CtPanTiltAbs = 0x0D;
    private const byte VsProbe = 0x01, VsCommit = 0x02;
    private const int ProbeLength = 34;
    private const int MaxPayload = 16384;

    public const int PanMin = -170 * 3600, PanMax = 170 * 3600, TiltMin = -30 * 3600, TiltMax = 30 * 3600, Step = 3600;
    public const int ZoomMin = 100, ZoomMax = 500;

    private readonly string _dir;
    private readonly Action<string> _log;
    private readonly object _gate = new();
    private GadgetFsEp0? _ep0;
    private ControlPipe? _pipe;
    private UsbMonitor? _usbmon;
    private int _epIn = -1;
    private volatile bool _streaming;
    private volatile bool _stop;
    private Thread? _control;
    private Thread? _stream;

    private int _pan, _tilt, _zoom = ZoomMin, _focus, _exposure = 156;
    private byte _aeMode = 1;
    private readonly byte[] _probe = new byte[ProbeLength];

    public UvcGadget(string gadgetfsDir, Action<string> log)
    {
        _dir = gadgetfsDir;
        _log = log;
        FillProbe(_probe);
    }

    public int FramesSent { get; private set; }

    /// <summary>Logs every control request (HWTEST_TRACE=1).</summary>
    public static bool Trace { get; set; }

    public (int Pan, int Tilt, int Zoom) Position
    {
        get { lock (_gate) { return (_pan, _tilt, _zoom); } }
    }

    /// <summary>Writes the descriptors (which connects the device to dummy_hcd) and starts answering the host.</summary>
    public void Start()
    {
        var ep0Path = Directory.GetFiles(_dir).FirstOrDefault(f => !Path.GetFileName(f).StartsWith("ep", StringComparison.Ordinal))
            ?? throw new IOException($"no controller file in {_dir}: is gadgetfs mounted and dummy_hcd loaded?");
        _ep0 = new GadgetFsEp0(ep0Path);
        _usbmon = UsbMonitor.OpenForDummyHcd(TakeFromHost, _log);
        _pipe = new ControlPipe(_ep0, this, _log, _usbmon) { Trace = Trace };
        Prewarm();
        _ep0.Configure([0, 0, 0, 0, .. UvcDescriptors.Configuration(false), .. UvcDescriptors.Configuration(true), .. UvcDescriptors.Device()]);
        _control = new Thread(ControlLoop) { IsBackground = true, Name = "uvc-gadget-ep0" };
        _control.Start();
    }

    /// <summary>De-authorises and re-authorises the gadget's USB device on the host side: a fresh enumeration.</summary>
    public static void Reenumerate(Action<string> log)
    {
        foreach (var dev in Directory.GetDirectories("/sys/bus/usb/devices"))
        {
            var vid = Path.Combine(dev, "idVendor");
            if (File.Exists(vid) && File.ReadAllText(vid).Trim() == "1209" && File.ReadAllText(Path.Combine(dev, "idProduct")).Trim() == "0001")
            {
                log($"re-enumerating {Path.GetFileName(dev)}");
                File.WriteAllText(Path.Combine(dev, "authorized"), "0");
                Thread.Sleep(200);
                File.WriteAllText(Path.Combine(dev, "authorized"), "1");
                return;
            }
        }

        log("gadget not on the USB bus at all");
    }

    /// <summary>Compiles the request path before the host talks to us: under TCG a first-call JIT takes longer than the host waits.</summary>
    private static void Prewarm()
    {
        foreach (var t in new[] { typeof(UvcGadget), typeof(ControlPipe), typeof(GadgetFsEp0), typeof(UsbMonitor), typeof(UsbMonRequests), typeof(MonBinHeader), typeof(UsbMonEvent), typeof(SetupPacket), typeof(FramePattern), typeof(UvcDescriptors), typeof(Native) })
        {
            foreach (var m in t.GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
            {
                if (!m.IsAbstract && !m.ContainsGenericParameters)
                {
                    System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(m.MethodHandle);
                }
            }
        }
    }

    private void ControlLoop()
    {
        // A real camera answers its control endpoint in real time; this one must too. gadgetfs (with dummy_hcd) lets
        // the host finish a SET_CUR's data stage before we have read it, and the host's next request can then
        // overtake it if this thread is not scheduled in time (under TCG on a loaded host the guest is starved).
        // Real-time priority narrows that window; ControlPipe recovers when it is hit anyway.
        var param = new Native.SchedParam { Priority = 50 };
        if (Native.SchedSetScheduler(0, Native.SCHED_FIFO, &param) != 0)
        {
            _log("ep0 thread stays at normal priority: sched_setscheduler: " + Native.LastError());
        }

        try
        {
            while (!_stop)
            {
                _pipe!.Serve(100);
            }
        }
        catch (Exception e) when (!_stop)
        {
            _log("control loop died: " + e);
        }
    }

    /// <inheritdoc />
    public byte[]? AnswerIn(SetupPacket setup)
    {
        var selector = (byte)(setup.Value >> 8);
        var entity = setup.Index >> 8;
        var intf = setup.Index & 0xFF;
        return setup.Kind switch
        {
            0 when setup.Request == 6 && (setup.Value >> 8) == 3 => StringDescriptor(setup.Value & 0xFF), // GET_DESCRIPTOR(STRING)
            1 when intf == 1 => StreamingGet(selector, setup.Request),
            1 when entity == UvcDescriptors.CameraTerminalId => CameraGet(selector, setup.Request),
            1 when entity == 0 && selector == 2 => [0], // request error code: none
            _ => null,
        };
    }

    /// <inheritdoc />
    public bool TakeOut(SetupPacket setup, byte[]? data)
    {
        if (setup.Kind == 0)
        {
            switch (setup.Request)
            {
                case 9: // SET_CONFIGURATION: enable the streaming endpoint
                    if ((setup.Value & 0xFF) != 0)
                    {
                        EnableStreamingEndpoint();
                    }
                    else
                    {
                        _streaming = false;
                    }

                    return true;
                case 11: // SET_INTERFACE: alt 0 is all we have; a bulk stream stops with it
                    if ((setup.Value & 0xFF) == 0)
                    {
                        _streaming = false;
                    }

                    return true;
                default:
                    return false;
            }
        }

        if (setup.Kind != 1 || setup.Request != SetCur)
        {
            return false;
        }

        var selector = (byte)(setup.Value >> 8);
        if ((setup.Index & 0xFF) == 1)
        {
            if (selector == VsProbe)
            {
                FillProbe(_probe);
            }
            else if (selector == VsCommit)
            {
                _streaming = true;
            }

            return true;
        }

        if (data is not null && setup.Index >> 8 == UvcDescriptors.CameraTerminalId)
        {
            CameraSet(selector, data);
        }

        return true;
    }

    /// <summary>An OUT request the host finished, as usbmon saw it: the device takes its data from here.</summary>
    private void TakeFromHost(SetupPacket setup, byte[] data)
    {
        if (Trace)
        {
            _log($"{Environment.TickCount64 % 100000} host finished {setup} = {Convert.ToHexString(data)}");
        }

        TakeOut(setup, data);
    }

    /// <inheritdoc />
    public byte[]? ReadBackAfter(SetupPacket setup)
    {
        if (setup.Kind != 1 || setup.Request != SetCur)
        {
            return null;
        }

        // uvcvideo reads the probe control back after every SET_CUR of it; a camera control's current value is
        // what a V4L2 reader would ask for next.
        return (setup.Index & 0xFF) == 1 ? (byte[])_probe.Clone()
            : setup.Index >> 8 == UvcDescriptors.CameraTerminalId ? CameraGet((byte)(setup.Value >> 8), GetCur) : null;
    }

    /// <inheritdoc />
    public void Disconnected() => _streaming = false;

    private static byte[] StringDescriptor(int index)
    {
        if (index == 0)
        {
            return [4, 3, 0x09, 0x04];
        }

        var s = index switch
        {
            1 => "Room Lab",
            2 => "Room Lab PTZ Camera",
            3 => "ROOMLAB0001",
            _ => "",
        };
        var d = new byte[2 + (s.Length * 2)];
        d[0] = (byte)d.Length;
        d[1] = 3;
        for (var i = 0; i < s.Length; i++)
        {
            d[2 + (i * 2)] = (byte)s[i];
        }

        return d;
    }

    private byte[]? CameraGet(byte selector, byte request)
    {
        if (request == GetInfo)
        {
            return [0x03];
        }

        lock (_gate)
        {
            return selector switch
            {
                CtAeMode => request switch
                {
                    GetCur => [_aeMode],
                    GetRes => [0x03],
                    GetDef => [0x01],
                    GetLen => [1, 0],
                    _ => [0x01],
                },
                CtExposureAbs => U32(request, _exposure, 3, 2047, 1, 156),
                CtFocusAbs => U16(request, _focus, 0, 255, 1, 0),
                CtZoomAbs => U16(request, _zoom, ZoomMin, ZoomMax, 1, ZoomMin),
                CtPanTiltAbs => request switch
                {
                    GetCur => [.. UvcDescriptors.Le32(_pan), .. UvcDescriptors.Le32(_tilt)],
                    GetMin => [.. UvcDescriptors.Le32(PanMin), .. UvcDescriptors.Le32(TiltMin)],
                    GetMax => [.. UvcDescriptors.Le32(PanMax), .. UvcDescriptors.Le32(TiltMax)],
                    GetRes => [.. UvcDescriptors.Le32(Step), .. UvcDescriptors.Le32(Step)],
                    GetDef => [.. UvcDescriptors.Le32(0), .. UvcDescriptors.Le32(0)],
                    GetLen => [8, 0],
                    _ => null,
                },
                _ => null,
            };
        }
    }

    private static byte[]? U32(byte request, int cur, int min, int max, int res, int def) => request switch
    {
        GetCur => UvcDescriptors.Le32(cur),
        GetMin => UvcDescriptors.Le32(min),
        GetMax => UvcDescriptors.Le32(max),
        GetRes => UvcDescriptors.Le32(res),
        GetDef => UvcDescriptors.Le32(def),
        GetLen => [4, 0],
        _ => null,
    };

    private static byte[]? U16(byte request, int cur, int min, int max, int res, int def)
    {
        int? v = request switch { GetCur => cur, GetMin => min, GetMax => max, GetRes => res, GetDef => def, GetLen => 2, _ => null };
        return v is int x ? [(byte)x, (byte)(x >> 8)] : null;
    }

    private void CameraSet(byte selector, byte[] data)
    {
        lock (_gate)
        {
            switch (selector)
            {
                case CtAeMode when data.Length >= 1:
                    _aeMode = data[0];
                    break;
                case CtExposureAbs when data.Length >= 4:
                    _exposure = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(data), 3, 2047);
                    break;
                case CtFocusAbs when data.Length >= 2:
                    _focus = Math.Clamp((int)BinaryPrimitives.ReadUInt16LittleEndian(data), 0, 255);
                    break;
                case CtZoomAbs when data.Length >= 2:
                    _zoom = Math.Clamp((int)BinaryPrimitives.ReadUInt16LittleEndian(data), ZoomMin, ZoomMax);
                    break;
                case CtPanTiltAbs when data.Length >= 8:
                    _pan = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(data), PanMin, PanMax);
                    _tilt = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4)), TiltMin, TiltMax);
                    break;
                default:
                    break;
            }
        }
    }

    private byte[]? StreamingGet(byte selector, byte request)
    {
        if (selector is not (VsProbe or VsCommit))
        {
            return null;
        }

        return request switch
        {
            GetInfo => [0x03],
            GetLen => [ProbeLength, 0],
            _ => (byte[])_probe.Clone(),
        };
    }

    private static void FillProbe(byte[] p)
    {
        Array.Clear(p);
        p[0] = 1; // bmHint: frame interval fixed
        p[2] = 1; // format 1
        p[3] = 1; // frame 1
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(4), UvcDescriptors.FrameIntervalIn100ns);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(18), FramePattern.FrameBytes);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(22), MaxPayload);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(26), 48_000_000);
        p[30] = 0x03; // framing info: FID and EOF used
        p[31] = 1;
        p[32] = 1;
        p[33] = 1;
    }

    private void EnableStreamingEndpoint()
    {
        if (_epIn >= 0)
        {
            return;
        }

        var path = Path.Combine(_dir, "ep1in-bulk");
        var fd = Native.Open(path, Native.O_RDWR | Native.O_CLOEXEC);
        if (fd < 0)
        {
            _log($"open {path}: {Native.LastError()}");
            return;
        }

        byte[] config = [1, 0, 0, 0, .. UvcDescriptors.Endpoint(false), .. UvcDescriptors.Endpoint(true)];
        fixed (byte* p = config)
        {
            if (Native.Write(fd, p, (nuint)config.Length) < 0)
            {
                _log($"configure {path}: {Native.LastError()}");
                Native.Close(fd);
                return;
            }
        }

        _epIn = fd;
        _stream = new Thread(StreamLoop) { IsBackground = true, Name = "uvc-gadget-stream" };
        _stream.Start();
    }

    private void StreamLoop()
    {
        var frame = new byte[FramePattern.FrameBytes];
        var payload = new byte[MaxPayload];
        byte fid = 0;
        var counter = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long next = 0;
        while (!_stop)
        {
            if (!_streaming)
            {
                Thread.Sleep(20);
                continue;
            }

            int pan, tilt, zoom;
            lock (_gate)
            {
                (pan, tilt, zoom) = (_pan, _tilt, _zoom);
            }

            FramePattern.Render(frame, pan, tilt, zoom, ++counter);
            var sent = 0;
            while (sent < frame.Length && !_stop)
            {
                var chunk = Math.Min(MaxPayload - 2, frame.Length - sent);
                payload[0] = 2;
                payload[1] = (byte)(0x80 | fid | (sent + chunk == frame.Length ? 0x02 : 0));
                frame.AsSpan(sent, chunk).CopyTo(payload.AsSpan(2));
                nint w;
                fixed (byte* p = payload)
                {
                    w = Native.Write(_epIn, p, (nuint)(chunk + 2));
                }

                if (w < 0)
                {
                    // Host went away (unbind, disconnect): start the next frame afresh.
                    Thread.Sleep(20);
                    break;
                }

                sent += chunk;
            }

            fid ^= 1;
            FramesSent = counter;
            // Pace at 10 fps; if the host fell behind (paused stream, slow guest), start the schedule afresh.
            next += 100;
            var wait = next - clock.ElapsedMilliseconds;
            if (wait > 0)
            {
                Thread.Sleep((int)Math.Min(wait, 100));
            }
            else if (wait < -1000)
            {
                next = clock.ElapsedMilliseconds;
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_epIn >= 0)
        {
            Native.Close(_epIn);
        }

        _ep0?.Dispose();
        _usbmon?.Dispose();
    }
}
