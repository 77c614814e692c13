namespace Room.Devices.Camera;

/// <summary>
/// A V4L2 capture camera (UVC webcam, PTZ conference camera, vivid): formats from the driver, mmap capture, and
/// pan/tilt/zoom/focus/exposure through camera-class controls where the camera has them.
/// </summary>
public sealed class V4l2Camera : ICamera, IPtzDrive, IDisposable
{
    private readonly Lock _gate = new();
    private readonly IV4l2Controls? _controls;
    private readonly V4l2Device? _device;
    private DeviceHealth _health;
    private string _detail;
    private V4l2Capture? _capture;

    /// <summary>Wraps an already opened node (the provider does this) or, for tests, any control backend.</summary>
    public V4l2Camera(VideoNode node, V4l2Capability? capability, IReadOnlyList<VideoFormat> formats, IV4l2Controls? controls)
    {
        Node = node;
        Capability = capability;
        Formats = formats;
        _controls = controls;
        _device = controls as V4l2Device;
        Ptz = controls is null ? null : new UvcPtz(controls);
        Name = capability?.Card is { Length: > 0 } card ? card : node.Title;
        (_health, _detail) = formats.Count == 0 ? (DeviceHealth.Degraded, "no usable capture format") : (DeviceHealth.Ok, "");
    }

    public VideoNode Node { get; }

    public V4l2Capability? Capability { get; }

    public UvcPtz? Ptz { get; }

    public string Id => Node.StableId;

    public string Name { get; }

    public PtzLimits Limits => Ptz?.Limits ?? PtzLimits.Fixed;

    public IReadOnlyList<VideoFormat> Formats { get; }

    /// <summary>
    /// Opens a node: QUERYCAP, formats, controls. A node that cannot be opened or queried becomes a camera with
    /// health Failed rather than an exception, so one bad camera never stops discovery.
    /// </summary>
    public static V4l2Camera Open(VideoNode node)
    {
        V4l2Device? device = null;
        try
        {
            device = V4l2Device.Open(node.DevicePath, node.StableId);
            var cap = device.QueryCapability();
            var formats = cap.CanCapture ? device.EnumerateFormats() : [];
            return new V4l2Camera(node, cap, formats, device);
        }
        catch (Exception e) when (e is IOException or DeviceUnavailableException or UnauthorizedAccessException)
        {
            device?.Dispose();
            var failed = new V4l2Camera(node, null, [], null);
            failed.SetHealth(DeviceHealth.Failed, e.Message);
            return failed;
        }
    }

    public DeviceInfo Describe()
    {
        lock (_gate)
        {
            var caps = new Dictionary<string, string>
            {
                ["ptz"] = Ptz?.Describe() ?? "",
                ["formats"] = string.Join(",", Formats.Take(24)),
                ["node"] = Node.DevicePath,
            };
            if (Limits.CanPan)
            {
                caps["pan"] = $"{Limits.PanMin}..{Limits.PanMax}";
            }

            if (Limits.CanTilt)
            {
                caps["tilt"] = $"{Limits.TiltMin}..{Limits.TiltMax}";
            }

            if (Node.UsbVendorProduct is { } vp)
            {
                caps["usb"] = vp;
            }

            if (Node.UsbSerial is { } serial)
            {
                caps["serial"] = serial;
            }

            if (Capability is { } c)
            {
                caps["bus"] = c.BusInfo;
            }

            return new DeviceInfo(Id, DeviceKind.Camera, Name, Capability?.Driver ?? "v4l2", _health, _detail, caps);
        }
    }

    public ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        EnsureUsable();
        if (Ptz is null)
        {
            return ValueTask.FromResult(default(PtzPosition));
        }

        if (!Ptz.TryGetPosition(out var p, out var error))
        {
            throw PtzFailed(error);
        }

        return ValueTask.FromResult(p);
    }

    public ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default)
    {
        EnsureUsable();
        if (Ptz is null || !(Limits.CanPan || Limits.CanTilt || Limits.CanZoom))
        {
            throw new NotSupportedException($"Camera {Id} has no pan, tilt or zoom.");
        }

        if (!Ptz.TrySetPosition(position, out var error))
        {
            throw PtzFailed(error);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Relative move: adds degrees of pan/tilt and a zoom fraction to the position read from the camera.</summary>
    public async ValueTask MoveByAsync(double panDegrees, double tiltDegrees, double zoom, CancellationToken cancellationToken = default)
    {
        var p = await GetPositionAsync(cancellationToken);
        await MoveToAsync(new PtzPosition(p.Pan + panDegrees, p.Tilt + tiltDegrees, p.Zoom + zoom), cancellationToken);
    }

    public ValueTask DriveAsync(double pan, double tilt, double zoom, CancellationToken cancellationToken = default)
    {
        EnsureUsable();
        if (Ptz is null)
        {
            throw new NotSupportedException($"Camera {Id} has no pan, tilt or zoom.");
        }

        if (!Ptz.TryDrive(Math.Clamp(pan, -1, 1), Math.Clamp(tilt, -1, 1), Math.Clamp(zoom, -1, 1), out var error))
        {
            throw PtzFailed(error);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask StopAsync(CancellationToken cancellationToken = default) => DriveAsync(0, 0, 0, cancellationToken);

    /// <summary>Manual focus 0..1, or null for autofocus.</summary>
    public void SetFocus(double? normalized)
    {
        EnsureUsable();
        var ptz = Ptz ?? throw new NotSupportedException($"Camera {Id} has no controls.");
        if (!ptz.TrySetFocus(normalized, out var error))
        {
            throw new NotSupportedException($"Camera {Id} cannot set focus: {error}.");
        }
    }

    /// <summary>Manual exposure 0..1 of the camera's range, or null for automatic exposure.</summary>
    public void SetExposure(double? normalized)
    {
        EnsureUsable();
        var ptz = Ptz ?? throw new NotSupportedException($"Camera {Id} has no controls.");
        if (!ptz.TrySetExposure(normalized, out var error))
        {
            throw new NotSupportedException($"Camera {Id} cannot set exposure: {error}.");
        }
    }

    public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default)
    {
        EnsureUsable();
        lock (_gate)
        {
            if (_capture is not null)
            {
                throw new InvalidOperationException($"Camera {Id} is already capturing.");
            }
        }

        if (!Formats.Any(f => f.Pixel == format.Pixel))
        {
            throw new NotSupportedException($"Camera {Id} does not deliver {format.Pixel}.");
        }

        V4l2Capture capture;
        try
        {
            capture = V4l2Capture.Open(Node.DevicePath, Id, format, onGone: e => SetHealth(DeviceHealth.Missing, e.Message));
        }
        catch (DeviceUnavailableException e)
        {
            SetHealth(DeviceHealth.Failed, e.Message);
            throw;
        }

        lock (_gate)
        {
            _capture = capture;
        }

        return ValueTask.FromResult<IVideoCapture>(new OwnedCapture(this, capture));
    }

    /// <summary>Marks the camera unplugged (hot-plug) or back.</summary>
    public void SetHealth(DeviceHealth health, string detail)
    {
        lock (_gate)
        {
            _health = health;
            _detail = detail;
        }
    }

    public void Dispose() => _device?.Dispose();

    private void EnsureUsable()
    {
        lock (_gate)
        {
            if (_health == DeviceHealth.Missing)
            {
                throw new DeviceUnavailableException(Id, "the camera is unplugged");
            }

            if (_health == DeviceHealth.Failed && _controls is null)
            {
                throw new DeviceUnavailableException(Id, _detail);
            }
        }
    }

    private DeviceUnavailableException PtzFailed(string error)
    {
        SetHealth(DeviceHealth.Degraded, "PTZ not answering: " + error);
        return new DeviceUnavailableException(Id, "PTZ: " + error);
    }

    /// <summary>Frees the one-capture-at-a-time slot when the capture is disposed.</summary>
    private sealed class OwnedCapture(V4l2Camera camera, V4l2Capture inner) : IVideoCapture
    {
        public VideoFormat Format => inner.Format;

        public ValueTask<VideoFrame> ReadFrameAsync(CancellationToken cancellationToken = default) => inner.ReadFrameAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            lock (camera._gate)
            {
                camera._capture = null;
            }
        }
    }
}
