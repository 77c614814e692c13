namespace Room.Devices;

/// <summary>Pan and tilt in degrees (positive = right / up), zoom normalised 0 (widest) .. 1 (tightest).</summary>
public readonly record struct PtzPosition(double Pan, double Tilt, double Zoom);

/// <summary>The mechanical range of a PTZ camera in the units of <see cref="PtzPosition"/>.</summary>
public sealed record PtzLimits(double PanMin, double PanMax, double TiltMin, double TiltMax, bool CanPan, bool CanTilt, bool CanZoom)
{
    /// <summary>A fixed camera: no axis moves.</summary>
    public static PtzLimits Fixed { get; } = new(0, 0, 0, 0, false, false, false);

    public bool Contains(PtzPosition p) =>
        p.Pan >= PanMin && p.Pan <= PanMax && p.Tilt >= TiltMin && p.Tilt <= TiltMax && p.Zoom >= 0 && p.Zoom <= 1;

    public PtzPosition Clamp(PtzPosition p) => new(
        CanPan ? Math.Clamp(p.Pan, PanMin, PanMax) : 0,
        CanTilt ? Math.Clamp(p.Tilt, TiltMin, TiltMax) : 0,
        CanZoom ? Math.Clamp(p.Zoom, 0, 1) : 0);
}

/// <summary>A camera: video frames and, where it has them, pan/tilt/zoom motors.</summary>
public interface ICamera : IDevice
{
    string Name { get; }

    PtzLimits Limits { get; }

    /// <summary>Formats the camera can deliver, best first.</summary>
    IReadOnlyList<VideoFormat> Formats { get; }

    /// <summary>Reads the position back from the device (not a cached command).</summary>
    ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default);

    /// <summary>Moves to an absolute position; the caller has validated it against <see cref="Limits"/>.</summary>
    ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default);

    /// <summary>Opens the video stream. Only one capture at a time per camera.</summary>
    ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default);
}
