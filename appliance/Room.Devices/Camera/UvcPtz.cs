using Room.Devices.Interop;

namespace Room.Devices.Camera;

/// <summary>
/// Pan/tilt/zoom, focus and exposure of a UVC camera through V4L2 camera-class controls. UVC pan/tilt absolute
/// are arc-seconds (3600 per degree); zoom is normalised over the control's range to 0 (wide) .. 1 (tele).
/// </summary>
public sealed class UvcPtz
{
    public const double ArcSecondsPerDegree = 3600;

    private readonly IV4l2Controls _controls;

    public UvcPtz(IV4l2Controls controls)
    {
        _controls = controls;
        Pan = Usable(V4l2.CidPanAbsolute);
        Tilt = Usable(V4l2.CidTiltAbsolute);
        Zoom = Usable(V4l2.CidZoomAbsolute);
        PanSpeed = Usable(V4l2.CidPanSpeed);
        TiltSpeed = Usable(V4l2.CidTiltSpeed);
        PanRelative = Usable(V4l2.CidPanRelative);
        TiltRelative = Usable(V4l2.CidTiltRelative);
        ZoomContinuous = Usable(V4l2.CidZoomContinuous);
        Focus = Usable(V4l2.CidFocusAbsolute);
        FocusAuto = Usable(V4l2.CidFocusAuto);
        Exposure = Usable(V4l2.CidExposureAbsolute);
        ExposureAuto = Usable(V4l2.CidExposureAuto);
        Limits = new PtzLimits(
            Pan is { } p ? p.Minimum / ArcSecondsPerDegree : 0,
            Pan is { } p2 ? p2.Maximum / ArcSecondsPerDegree : 0,
            Tilt is { } t ? t.Minimum / ArcSecondsPerDegree : 0,
            Tilt is { } t2 ? t2.Maximum / ArcSecondsPerDegree : 0,
            Pan is not null, Tilt is not null, Zoom is not null && Zoom.Value.Maximum > Zoom.Value.Minimum);
    }

    public V4l2ControlInfo? Pan { get; }

    public V4l2ControlInfo? Tilt { get; }

    public V4l2ControlInfo? Zoom { get; }

    public V4l2ControlInfo? PanSpeed { get; }

    public V4l2ControlInfo? TiltSpeed { get; }

    public V4l2ControlInfo? PanRelative { get; }

    public V4l2ControlInfo? TiltRelative { get; }

    public V4l2ControlInfo? ZoomContinuous { get; }

    public V4l2ControlInfo? Focus { get; }

    public V4l2ControlInfo? FocusAuto { get; }

    public V4l2ControlInfo? Exposure { get; }

    public V4l2ControlInfo? ExposureAuto { get; }

    public PtzLimits Limits { get; }

    /// <summary>"pan,tilt,zoom,focus,exposure" — what this camera can do.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Pan is not null) { parts.Add("pan"); }
        if (Tilt is not null) { parts.Add("tilt"); }
        if (Zoom is not null) { parts.Add("zoom"); }
        if (Focus is not null) { parts.Add("focus"); }
        if (Exposure is not null) { parts.Add("exposure"); }
        return string.Join(",", parts);
    }

    /// <summary>Reads pan/tilt/zoom from the device; an axis the camera lacks reads 0.</summary>
    public bool TryGetPosition(out PtzPosition position, out string error)
    {
        position = default;
        error = "";
        double pan = 0, tilt = 0, zoom = 0;
        if (Pan is { } p && !Read(p, out pan, out error))
        {
            return false;
        }

        if (Tilt is { } t && !Read(t, out tilt, out error))
        {
            return false;
        }

        if (Zoom is { } z && Limits.CanZoom)
        {
            if (!Read(z, out var raw, out error))
            {
                return false;
            }

            zoom = Math.Clamp((raw - z.Minimum) / (z.Maximum - z.Minimum), 0, 1);
        }

        position = new PtzPosition(Pan is null ? 0 : pan / ArcSecondsPerDegree, Tilt is null ? 0 : tilt / ArcSecondsPerDegree, zoom);
        return true;
    }

    /// <summary>Moves to an absolute position (clamped to the limits, snapped to the control steps).</summary>
    public bool TrySetPosition(PtzPosition target, out string error)
    {
        var p = Limits.Clamp(target);
        Span<(uint, int)> writes = stackalloc (uint, int)[2];
        var n = 0;
        if (Pan is { } pan && pan.Writable)
        {
            writes[n++] = (pan.Id, pan.Snap(p.Pan * ArcSecondsPerDegree));
        }

        if (Tilt is { } tilt && tilt.Writable)
        {
            writes[n++] = (tilt.Id, tilt.Snap(p.Tilt * ArcSecondsPerDegree));
        }

        var err = _controls.SetValues(writes[..n]);
        if (err == 0 && Zoom is { } zoom && zoom.Writable && Limits.CanZoom)
        {
            // Zoom is a UVC control of its own: a separate request, after the pan/tilt one.
            err = _controls.SetValue(zoom.Id, zoom.Snap(zoom.Minimum + (p.Zoom * (zoom.Maximum - zoom.Minimum))));
        }

        error = err == 0 ? "" : $"moving to {p}: {Libc.ErrorText(err)}";
        return err == 0;
    }

    /// <summary>
    /// Continuous drive, speeds -1..1 (0 stops): pan/tilt speed controls where the camera has them, otherwise one
    /// relative step per call; zoom through the continuous control, otherwise a step of the absolute one.
    /// </summary>
    public bool TryDrive(double pan, double tilt, double zoom, out string error)
    {
        error = "";
        if (!DriveAxis(PanSpeed, PanRelative, Pan, pan, out error) || !DriveAxis(TiltSpeed, TiltRelative, Tilt, tilt, out error))
        {
            return false;
        }

        if (ZoomContinuous is { } zc)
        {
            return Write(zc, zc.Snap(zoom * Math.Max(Math.Abs(zc.Maximum), Math.Abs(zc.Minimum))), out error);
        }

        if (zoom != 0 && Zoom is { } z && Limits.CanZoom)
        {
            if (!Read(z, out var current, out error))
            {
                return false;
            }

            return Write(z, z.Snap(current + (zoom * 0.05 * (z.Maximum - z.Minimum))), out error);
        }

        return true;
    }

    /// <summary>Manual focus 0 (near) .. 1 (far), or null for autofocus.</summary>
    public bool TrySetFocus(double? normalized, out string error)
    {
        error = "";
        if (normalized is null)
        {
            return FocusAuto is { } a ? Write(a, 1, out error) : Fail("no autofocus control", out error);
        }

        if (FocusAuto is { } auto && !Write(auto, 0, out error))
        {
            return false;
        }

        return Focus is { } f ? Write(f, f.Snap(f.Minimum + (Math.Clamp(normalized.Value, 0, 1) * (f.Maximum - f.Minimum))), out error)
            : Fail("no focus control", out error);
    }

    /// <summary>Manual exposure 0..1 of the absolute range, or null for automatic (aperture priority on UVC).</summary>
    public bool TrySetExposure(double? normalized, out string error)
    {
        error = "";
        if (ExposureAuto is not { } mode)
        {
            return Fail("no exposure mode control", out error);
        }

        if (normalized is null)
        {
            // UVC cameras offer aperture priority (3) as their automatic mode; others auto (0).
            return Write(mode, 3, out _) || Write(mode, 0, out error);
        }

        if (!Write(mode, 1, out error))
        {
            return false;
        }

        return Exposure is { } e ? Write(e, e.Snap(e.Minimum + (Math.Clamp(normalized.Value, 0, 1) * (e.Maximum - e.Minimum))), out error)
            : Fail("no exposure control", out error);
    }

    private bool DriveAxis(V4l2ControlInfo? speed, V4l2ControlInfo? relative, V4l2ControlInfo? absolute, double value, out string error)
    {
        error = "";
        if (speed is { } s)
        {
            return Write(s, s.Snap(value * Math.Max(Math.Abs(s.Maximum), Math.Abs(s.Minimum))), out error);
        }

        if (value == 0)
        {
            return true;
        }

        if (relative is { } r)
        {
            return Write(r, r.Snap(value * Math.Max(Math.Abs(r.Maximum), Math.Abs(r.Minimum)) * 0.1), out error);
        }

        if (absolute is { } a)
        {
            if (!Read(a, out var current, out error))
            {
                return false;
            }

            return Write(a, a.Snap(current + (value * 0.05 * (a.Maximum - a.Minimum))), out error);
        }

        return true;
    }

    private V4l2ControlInfo? Usable(uint id) => _controls.Query(id) is { Disabled: false } c ? c : null;

    private bool Read(V4l2ControlInfo c, out double value, out string error)
    {
        var err = _controls.GetValue(c.Id, out var v);
        value = v;
        error = err == 0 ? "" : $"reading {c.Name}: {Libc.ErrorText(err)}";
        if (err == 0 && (v < c.Minimum || v > c.Maximum))
        {
            error = $"{c.Name} reads {v}, outside {c.Minimum}..{c.Maximum}";
            return false;
        }

        return err == 0;
    }

    private bool Write(V4l2ControlInfo c, int value, out string error)
    {
        var err = _controls.SetValue(c.Id, value);
        error = err == 0 ? "" : $"setting {c.Name} to {value}: {Libc.ErrorText(err)}";
        return err == 0;
    }

    private static bool Fail(string why, out string error)
    {
        error = why;
        return false;
    }
}
