using System.Buffers;
using System.Diagnostics;
using Room.Devices.Interop;

namespace Room.Devices.Camera;

/// <summary>
/// mmap streaming capture from a V4L2 node. A small ring of kernel buffers is mapped once; each frame lends one
/// out as a <see cref="VideoFrame"/> object made at open time, and disposing the frame queues the buffer back,
/// so capturing allocates nothing per frame. Reads wait with poll() on the calling thread (call them from the
/// video thread); timestamps are the kernel's monotonic capture times.
/// </summary>
public sealed unsafe class V4l2Capture : IVideoCapture
{
    private readonly string _deviceId;
    private readonly FileDescriptor _fd;
    private readonly MappedBuffer[] _buffers;
    private readonly Action<DeviceUnavailableException>? _onGone;
    private bool _streaming;
    private bool _disposed;

    private V4l2Capture(string deviceId, FileDescriptor fd, VideoFormat format, int bytesPerLine, MappedBuffer[] buffers, Action<DeviceUnavailableException>? onGone)
    {
        _deviceId = deviceId;
        _fd = fd;
        Format = format;
        BytesPerLine = bytesPerLine;
        _buffers = buffers;
        _onGone = onGone;
    }

    /// <summary>The format the driver actually set (it may adjust size and rate).</summary>
    public VideoFormat Format { get; }

    public int BytesPerLine { get; }

    /// <summary>How long one read waits for a frame before it reports the camera as stalled.</summary>
    public TimeSpan FrameTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Frames dropped because the driver flagged them as corrupt.</summary>
    public int ErrorFrames { get; private set; }

    public static V4l2Capture Open(string devicePath, string deviceId, VideoFormat requested, int bufferCount = 4,
        Action<DeviceUnavailableException>? onGone = null)
    {
        var fd = FileDescriptor.OpenOrThrow(devicePath, Libc.O_RDWR | Libc.O_NONBLOCK, deviceId);
        var mapped = new List<MappedBuffer>();
        try
        {
            V4l2.Format f = default;
            f.Type = V4l2.BufTypeVideoCapture;
            f.Pix.Width = (uint)requested.Width;
            f.Pix.Height = (uint)requested.Height;
            f.Pix.PixelFormat = CameraFormats.ToFourCc(requested.Pixel);
            f.Pix.Field = V4l2.FieldAny;
            // For UVC, S_FMT is a probe/commit exchange of USB control transfers; on a busy bus, or while a camera
            // settles after being plugged, it can fail once with EIO. Try again briefly before giving up on it.
            var rc = Libc.IoctlRetry(fd.Fd, V4l2.SFmt, &f);
            for (var attempt = 1; attempt < 4 && rc == Libc.EIO; attempt++)
            {
                Thread.Sleep(100 * attempt);
                rc = Libc.IoctlRetry(fd.Fd, V4l2.SFmt, &f);
            }

            Check(rc, deviceId, "VIDIOC_S_FMT");
            if (CameraFormats.FromFourCc(f.Pix.PixelFormat) is not { } pixel || pixel != requested.Pixel)
            {
                throw new NotSupportedException($"Camera {deviceId} does not deliver {requested.Pixel}.");
            }

            var fps = requested.FramesPerSecond;
            V4l2.StreamParm parm = default;
            parm.Type = V4l2.BufTypeVideoCapture;
            parm.TimePerFrameNumerator = 1;
            parm.TimePerFrameDenominator = (uint)Math.Max(1, requested.FramesPerSecond);
            if (Libc.IoctlRetry(fd.Fd, V4l2.SParm, &parm) == 0)
            {
                var actual = CameraFormats.Fps(parm.TimePerFrameNumerator, parm.TimePerFrameDenominator);
                fps = actual > 0 ? actual : fps;
            }

            V4l2.RequestBuffers req = default;
            req.Count = (uint)Math.Clamp(bufferCount, 2, 32);
            req.Type = V4l2.BufTypeVideoCapture;
            req.Memory = V4l2.MemoryMmap;
            Check(Libc.IoctlRetry(fd.Fd, V4l2.ReqBufs, &req), deviceId, "VIDIOC_REQBUFS");
            if (req.Count < 2)
            {
                throw new DeviceUnavailableException(deviceId, "driver granted fewer than two capture buffers");
            }

            var format = new VideoFormat(pixel, (int)f.Pix.Width, (int)f.Pix.Height, fps);
            for (uint i = 0; i < req.Count; i++)
            {
                V4l2.Buffer b = default;
                b.Index = i;
                b.Type = V4l2.BufTypeVideoCapture;
                b.Memory = V4l2.MemoryMmap;
                Check(Libc.IoctlRetry(fd.Fd, V4l2.QueryBuf, &b), deviceId, "VIDIOC_QUERYBUF");
                var p = Libc.Mmap(0, b.Length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd.Fd, b.Offset);
                if (p == Libc.MapFailed)
                {
                    throw new DeviceUnavailableException(deviceId, $"mmap of capture buffer {i}: {Libc.ErrorText(Libc.LastError)}");
                }

                mapped.Add(new MappedBuffer(i, p, (int)b.Length));
            }

            var capture = new V4l2Capture(deviceId, fd, format, (int)f.Pix.BytesPerLine, [.. mapped], onGone);
            foreach (var m in mapped)
            {
                m.Owner = capture;
                capture.Queue(m.Index);
            }

            var type = (int)V4l2.BufTypeVideoCapture;
            Check(Libc.IoctlRetry(fd.Fd, V4l2.StreamOn, &type), deviceId, "VIDIOC_STREAMON");
            capture._streaming = true;
            return capture;
        }
        catch
        {
            foreach (var m in mapped)
            {
                m.Unmap();
            }

            fd.Dispose();
            throw;
        }
    }

    public ValueTask<VideoFrame> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var waited = Stopwatch.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            V4l2.Buffer b = default;
            b.Type = V4l2.BufTypeVideoCapture;
            b.Memory = V4l2.MemoryMmap;
            var err = Libc.IoctlRetry(_fd.Fd, V4l2.DqBuf, &b);
            if (err == 0)
            {
                if (b.Index >= _buffers.Length)
                {
                    continue;
                }

                if ((b.Flags & V4l2.BufFlagError) != 0)
                {
                    ErrorFrames++;
                    Queue(b.Index);
                    continue;
                }

                var buffer = _buffers[b.Index];
                var timestamp = (b.Flags & V4l2.BufFlagTimestampMask) == V4l2.BufFlagTimestampMonotonic || b.TimestampSec != 0
                    ? TimeSpan.FromTicks((b.TimestampSec * TimeSpan.TicksPerSecond) + (b.TimestampUsec * TimeSpan.TicksPerMicrosecond))
                    : Stopwatch.GetElapsedTime(0);
                buffer.Lend(Format, timestamp, b.Sequence, (int)Math.Min(b.BytesUsed, (uint)buffer.Length));
                return ValueTask.FromResult<VideoFrame>(buffer.Frame);
            }

            if (err != Libc.EAGAIN)
            {
                throw Gone($"VIDIOC_DQBUF: {Libc.ErrorText(err)}");
            }

            var pfd = new Libc.PollFd { Fd = _fd.Fd, Events = Libc.POLLIN };
            var r = Libc.Poll(&pfd, 1, 100);
            if (r > 0 && (pfd.REvents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0 && (pfd.REvents & Libc.POLLIN) == 0)
            {
                throw Gone("the capture node reported an error (unplugged?)");
            }

            if (r == 0 && Stopwatch.GetElapsedTime(waited) > FrameTimeout)
            {
                throw new TimeoutException($"Camera {_deviceId} delivered no frame for {FrameTimeout.TotalSeconds:0.#} s.");
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        _disposed = true;
        if (_streaming)
        {
            var type = (int)V4l2.BufTypeVideoCapture;
            _ = Libc.IoctlRetry(_fd.Fd, V4l2.StreamOff, &type);
        }

        foreach (var b in _buffers)
        {
            b.Unmap();
        }

        _fd.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Queue(uint index)
    {
        if (_disposed)
        {
            return;
        }

        V4l2.Buffer b = default;
        b.Index = index;
        b.Type = V4l2.BufTypeVideoCapture;
        b.Memory = V4l2.MemoryMmap;
        _ = Libc.IoctlRetry(_fd.Fd, V4l2.QBuf, &b);
    }

    private DeviceUnavailableException Gone(string why)
    {
        var e = new DeviceUnavailableException(_deviceId, why);
        _onGone?.Invoke(e);
        return e;
    }

    private static void Check(int err, string deviceId, string what)
    {
        if (err != 0)
        {
            throw new DeviceUnavailableException(deviceId, $"{what}: {Libc.ErrorText(err)}");
        }
    }

    /// <summary>One mmap'ed kernel buffer and the reusable frame object that lends it.</summary>
    private sealed class MappedBuffer : MemoryManager<byte>
    {
        private nint _pointer;

        public MappedBuffer(uint index, nint pointer, int length)
        {
            Index = index;
            _pointer = pointer;
            Length = length;
            Frame = new LentFrame(this);
        }

        public uint Index { get; }

        public int Length { get; }

        public V4l2Capture? Owner { get; set; }

        public LentFrame Frame { get; }

        public void Lend(VideoFormat format, TimeSpan timestamp, long sequence, int bytesUsed) =>
            Frame.Set(format, timestamp, sequence, Memory[..bytesUsed]);

        public void GiveBack() => Owner?.Queue(Index);

        public void Unmap()
        {
            var p = Interlocked.Exchange(ref _pointer, 0);
            if (p != 0)
            {
                _ = Libc.Munmap(p, (nuint)Length);
            }
        }

        public override Span<byte> GetSpan() =>
            _pointer != 0 ? new Span<byte>((void*)_pointer, Length) : throw new ObjectDisposedException(nameof(V4l2Capture));

        public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)_pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing) => Unmap();
    }

    private sealed class LentFrame(MappedBuffer buffer) : VideoFrame
    {
        private VideoFormat _format;
        private TimeSpan _timestamp;
        private long _sequence;
        private ReadOnlyMemory<byte> _data;
        private int _lent;

        public override VideoFormat Format => _format;

        public override TimeSpan Timestamp => _timestamp;

        public override long Sequence => _sequence;

        public override ReadOnlyMemory<byte> Data => Volatile.Read(ref _lent) == 1 ? _data : throw new ObjectDisposedException(nameof(VideoFrame));

        public void Set(VideoFormat format, TimeSpan timestamp, long sequence, ReadOnlyMemory<byte> data)
        {
            _format = format;
            _timestamp = timestamp;
            _sequence = sequence;
            _data = data;
            Volatile.Write(ref _lent, 1);
        }

        protected override void Release()
        {
            if (Interlocked.Exchange(ref _lent, 0) == 1)
            {
                buffer.GiveBack();
            }
        }
    }
}
