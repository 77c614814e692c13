using System.Buffers;
using System.Diagnostics;

namespace Room.Devices.Simulated;

/// <summary>
/// A PTZ camera in software: motors with realistic limits, and a test pattern whose framing follows
/// pan/tilt/zoom so that a PTZ command is visible in the picture.
/// </summary>
public sealed class SimulatedCamera : ICamera
{
    private readonly Lock _gate = new();
    private PtzPosition _position;

    /// <param name="clip">A YUV4MPEG2 clip the camera plays in a loop in place of its drawn room (its only format;
    /// pan, tilt and zoom do not move it), or null.</param>
    /// <exception cref="InvalidDataException">The clip is not an 8-bit 4:2:0 YUV4MPEG2 file.</exception>
    public SimulatedCamera(string id, string name, PtzLimits? limits = null, string? clip = null)
    {
        Id = id;
        Name = name;
        Limits = limits ?? new PtzLimits(-170, 170, -30, 90, true, true, true);
        _clip = clip;
        if (clip is not null)
        {
            using var c = Y4mClip.Open(clip);
            Formats = [c.Format];
        }
    }

    private readonly string? _clip;

    public string Id { get; }

    public string Name { get; }

    public PtzLimits Limits { get; }

    /// <summary>When false the camera behaves as unplugged: calls fail and health is Missing.</summary>
    public bool Present { get; set; } = true;

    public IReadOnlyList<VideoFormat> Formats { get; } =
    [
        new(PixelFormat.I420, 1280, 720, 30),
        new(PixelFormat.I420, 640, 360, 30),
        new(PixelFormat.I420, 320, 180, 30),
    ];

    public DeviceInfo Describe() => new(
        Id,
        DeviceKind.Camera,
        Name,
        "simulated",
        Present ? DeviceHealth.Ok : DeviceHealth.Missing,
        Present ? "" : "unplugged",
        new Dictionary<string, string>
        {
            ["ptz"] = "pan,tilt,zoom",
            ["pan"] = $"{Limits.PanMin}..{Limits.PanMax}",
            ["tilt"] = $"{Limits.TiltMin}..{Limits.TiltMax}",
            ["formats"] = string.Join(",", Formats),
        });

    public ValueTask<PtzPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        EnsurePresent();
        lock (_gate)
        {
            return ValueTask.FromResult(_position);
        }
    }

    public ValueTask MoveToAsync(PtzPosition position, CancellationToken cancellationToken = default)
    {
        EnsurePresent();
        lock (_gate)
        {
            _position = Limits.Clamp(position);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IVideoCapture> OpenCaptureAsync(VideoFormat format, CancellationToken cancellationToken = default)
    {
        EnsurePresent();
        if (format.Pixel != PixelFormat.I420 || format.Width <= 0 || format.Height <= 0 || format.Width % 2 != 0 || format.Height % 2 != 0)
        {
            throw new NotSupportedException($"The simulated camera delivers even-sized I420 only, not {format}.");
        }

        // Like a V4L2 device (a second STREAMON fails with EBUSY): one capture at a time. Sharing is
        // SharedCaptureCamera's job, and this keeps the simulated room honest about it.
        lock (_gate)
        {
            if (_capturing)
            {
                throw new DeviceUnavailableException(Id, "busy: another capture is streaming");
            }

            _capturing = true;
        }

        if (_clip is not null)
        {
            var clip = Y4mClip.Open(_clip);
            if (clip.Format != format)
            {
                clip.Dispose();
                lock (_gate)
                {
                    _capturing = false;
                }

                throw new NotSupportedException($"The simulated camera plays {_clip} as {clip.Format}, not {format}.");
            }

            return ValueTask.FromResult<IVideoCapture>(new PatternCapture(this, format, clip));
        }

        return ValueTask.FromResult<IVideoCapture>(new PatternCapture(this, format, null));
    }

    private bool _capturing;

    private void EnsurePresent()
    {
        if (!Present)
        {
            throw new DeviceUnavailableException(Id, "the camera is unplugged");
        }
    }

    /// <summary>
    /// Renders a scene (a grid with a marker at the origin) as seen through the current pan/tilt/zoom, or plays the
    /// camera's clip, into pooled buffers at the requested frame rate.
    /// </summary>
    private sealed class PatternCapture(SimulatedCamera camera, VideoFormat format, Y4mClip? clip) : IVideoCapture
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private long _sequence;

        public VideoFormat Format => format;

        public async ValueTask<VideoFrame> ReadFrameAsync(CancellationToken cancellationToken = default)
        {
            var period = TimeSpan.FromSeconds(1.0 / Math.Max(1, format.FramesPerSecond));
            var due = period * (_sequence + 1);
            var now = Stopwatch.GetElapsedTime(_start);
            if (due > now)
            {
                await Task.Delay(due - now, cancellationToken);
            }

            camera.EnsurePresent();
            var size = format.Width * format.Height * 3 / 2;
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            PtzPosition p;
            lock (camera._gate)
            {
                p = camera._position;
            }

            if (clip is not null)
            {
                clip.ReadFrame(buffer.AsSpan(0, size));
            }
            else
            {
                Render(buffer.AsSpan(0, size), format.Width, format.Height, p, _sequence);
            }

            return new PooledFrame(buffer, size, format, Stopwatch.GetElapsedTime(_start), _sequence++);
        }

        public ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                clip?.Dispose();
                lock (camera._gate)
                {
                    camera._capturing = false;
                }
            }

            return ValueTask.CompletedTask;
        }

        private bool _disposed;

        internal static void Render(Span<byte> frame, int width, int height, PtzPosition p, long sequence)
        {
            // Field of view narrows from 70 degrees (wide) to 7 degrees (tele).
            var fov = 70.0 / (1 + (9 * p.Zoom));
            var degPerPixel = fov / width;
            var y = frame[..(width * height)];
            for (var row = 0; row < height; row++)
            {
                var tilt = p.Tilt + ((height / 2.0 - row) * degPerPixel);
                var line = y.Slice(row * width, width);
                for (var col = 0; col < width; col++)
                {
                    var pan = p.Pan + ((col - (width / 2.0)) * degPerPixel);
                    line[col] = Scene(pan, tilt, degPerPixel, sequence + col + row);
                }
            }

            frame.Slice(width * height, width * height / 4).Fill(110);
            frame.Slice(width * height * 5 / 4, width * height / 4).Fill(150);
        }

        /// <summary>Luma of the simulated room at a direction: a wall grid, a marker at (0,0) and three people.</summary>
        private static byte Scene(double pan, double tilt, double degPerPixel, long noise)
        {
            foreach (var (px, py) in People)
            {
                if (Person(pan, tilt, px, py) is byte b)
                {
                    return b;
                }
            }

            if ((pan * pan) + ((tilt + 12) * (tilt + 12)) < 1)
            {
                return 235;
            }

            var onGrid = Math.Abs(pan % 10) < degPerPixel || Math.Abs(tilt % 10) < degPerPixel;
            return onGrid ? (byte)150 : (byte)(60 + (noise & 0x7));
        }

        /// <summary>Where the simulated people's faces are (pan, tilt in degrees): a meeting table.</summary>
        internal static readonly (double Pan, double Tilt)[] People = [(-9, 2), (0, 3), (8, 1.5)];

        /// <summary>Half a face's height in degrees: a head 3 m from the camera.</summary>
        private const double FaceScale = 2.6;

        // A face drawn as the shapes a frontal-face detector keys on: dark eyes and brows in a light oval, hair
        // above, a mouth below; shoulders under it. Coordinates in face units, v pointing down.
        private static byte? Person(double pan, double tilt, double faceX, double faceY)
        {
            var u = (pan - faceX) / FaceScale;
            var v = (faceY - tilt) / FaceScale;
            if (u is < -1.4 or > 1.4 || v is < -1.6 or > 4)
            {
                return null;
            }

            static bool In(double u, double v, double cu, double cv, double ru, double rv) =>
                ((u - cu) / ru * ((u - cu) / ru)) + ((v - cv) / rv * ((v - cv) / rv)) <= 1;

            if (In(u, v, -0.33, -0.2, 0.16, 0.09) || In(u, v, 0.33, -0.2, 0.16, 0.09))
            {
                return 30;
            }

            if (Math.Abs(v + 0.39) < 0.05 && Math.Abs(Math.Abs(u) - 0.325) < 0.175)
            {
                return 50;
            }

            if (Math.Abs(u) < 0.04 && v is > -0.15 and < 0.2)
            {
                return 150;
            }

            if (In(u, v, 0, 0.45, 0.3, 0.1))
            {
                return 90;
            }

            if (v <= -1.05 && In(u, v, 0, -1.05, 0.85, 0.45))
            {
                return 40;
            }

            if (In(u, v, 0, 0, 0.8, 1))
            {
                return 200;
            }

            return v is > 1.1 && Math.Abs(u) < 1.3 ? (byte)100 : null;
        }
    }

    private sealed class PooledFrame(byte[] buffer, int length, VideoFormat format, TimeSpan timestamp, long sequence) : VideoFrame
    {
        private byte[]? _buffer = buffer;

        public override VideoFormat Format => format;

        public override TimeSpan Timestamp => timestamp;

        public override long Sequence => sequence;

        public override ReadOnlyMemory<byte> Data => (_buffer ?? throw new ObjectDisposedException(nameof(VideoFrame))).AsMemory(0, length);

        protected override void Release()
        {
            var b = Interlocked.Exchange(ref _buffer, null);
            if (b is not null)
            {
                ArrayPool<byte>.Shared.Return(b);
            }
        }
    }
}
