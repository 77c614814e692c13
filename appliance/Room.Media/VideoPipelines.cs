using System.Diagnostics;
using Room.Devices;
using Room.Media.Interop;
using Room.Media.Rtp;

namespace Room.Media;

/// <summary>
/// One output layer of a <see cref="VideoSendPipeline"/>: its size/rate/bitrate and where its packets go; an optional
/// <see cref="IFrameTransform"/> (end-to-end encryption) sees each encoded frame before it is packetized.
/// </summary>
public sealed record VideoSendLayer(VideoLayer Layer, IRtpPacketSink Sink, IFrameTransform? Transform = null);

/// <summary>
/// Camera to packets: reads frames from an <see cref="IVideoCapture"/>, scales them to each layer (simulcast),
/// encodes (probed encoder) and packetizes (RFC 6184 / RFC 7741) into each layer's <see cref="IRtpPacketSink"/>.
/// Steady state allocates nothing per frame. Host it with <see cref="RunAsync"/>; drive it by hand with
/// <see cref="ProcessFrame"/>. <see cref="SetBitrate"/> and <see cref="RequestKeyframe"/> may be called from any thread.
/// </summary>
public sealed class VideoSendPipeline : IDisposable
{
    private readonly Layer[] _layers;
    private readonly I420Scaler? _inputConverter;
    private readonly byte[]? _converted;
    private readonly uint _timestampOffset;
    private readonly int _inputFormat;
    private readonly VideoDecoder? _mjpeg;

    private const int MjpegInput = -1;

    public VideoSendPipeline(VideoFormat captureFormat, VideoCodec codec, IReadOnlyList<VideoSendLayer> layers, EncoderPreference preference = EncoderPreference.Auto, EncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0)
        {
            throw new ArgumentException("at least one layer", nameof(layers));
        }

        CaptureFormat = captureFormat;
        Codec = codec;
        var inputFormat = captureFormat.Pixel switch
        {
            PixelFormat.I420 => AVPixelFormat.YUV420P,
            PixelFormat.Nv12 => AVPixelFormat.NV12,
            PixelFormat.Yuyv => AVPixelFormat.YUYV422,
            PixelFormat.Rgb24 => AVPixelFormat.RGB24,
            PixelFormat.Mjpeg => MjpegInput,
            _ => throw new NotSupportedException($"capture format {captureFormat.Pixel} is not supported by the send pipeline"),
        };
        _inputFormat = inputFormat;
        _timestampOffset = (uint)Random.Shared.Next();
        var built = new List<Layer>();
        try
        {
            if (inputFormat == MjpegInput)
            {
                _mjpeg = VideoDecoder.CreateMjpeg();
            }
            else if (inputFormat != AVPixelFormat.YUV420P)
            {
                _inputConverter = new I420Scaler(captureFormat.Width, captureFormat.Height, inputFormat, captureFormat.Width, captureFormat.Height, AVPixelFormat.YUV420P);
                _converted = new byte[captureFormat.Width * captureFormat.Height * 3 / 2];
            }

            foreach (var l in layers)
            {
                var encoder = VideoEncoder.Create(codec, l.Layer, preference, options);
                var seq = (ushort)Random.Shared.Next(65536);
                IPacketizer packetizer = codec == VideoCodec.H264 ? new H264Packetizer(1200, seq) : new Vp8Packetizer(1200, seq, (ushort)Random.Shared.Next(32768));
                var layer = new Layer(l, encoder, packetizer);
                built.Add(layer);
                layer.ScaleFrom(captureFormat);
            }
        }
        catch
        {
            foreach (var b in built)
            {
                b.Dispose();
            }

            _inputConverter?.Dispose();
            _mjpeg?.Dispose();
            throw;
        }

        _layers = [.. built];
    }

    public VideoFormat CaptureFormat { get; }

    /// <summary>When set, each frame's I420 picture (before scaling for the layers) is kept here: the room display's self-view.</summary>
    public LatestPicture? SelfView { get; set; }

    public VideoCodec Codec { get; }

    /// <summary>Which encoder each layer uses and why (for <c>roomctl media</c>).</summary>
    public string Description => string.Join('\n', _layers.Select(l => l.Encoder.Description));

    public long FramesProcessed { get; private set; }

    /// <summary>Captured frames skipped because their buffer was shorter than the format needs.</summary>
    public long FramesRejected { get; private set; }

    public long PacketsSent => _layers.Sum(l => l.Counter.Packets);

    /// <summary>Keyframes encoded, every layer (periodic ones and those asked for with <see cref="RequestKeyframe"/>).</summary>
    public long KeyframesSent => _layers.Sum(l => l.Counter.Keyframes);

    /// <summary>Index (counted from 0 like <see cref="FramesProcessed"/>) of the last input frame that came out as a keyframe on some layer; -1 before any.</summary>
    public long LastKeyframeFrame { get; private set; } = -1;

    /// <summary>Time from having the captured frame in hand to its last packet handed to the sink (last frame).</summary>
    public TimeSpan LastCaptureToPacket { get; private set; }

    /// <summary>Sets the target bitrate of layer <paramref name="layer"/> (index in the constructor's list).</summary>
    public void SetBitrate(int layer, int bitsPerSecond) => _layers[layer].Encoder.SetBitrate(bitsPerSecond);

    /// <summary>
    /// Sends layer <paramref name="layer"/> at another picture size or frame rate from the next frame on (a resolution
    /// ladder's step): the capture is scaled to it (a scaler made once per change, none when it is the capture's size)
    /// and the encoder reopened once, starting with a keyframe. Call it on the thread that calls <see cref="ProcessFrame"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The size is larger than the capture or not one an encoder takes; nothing changes.</exception>
    public void ResizeLayer(int layer, int width, int height, int framesPerSecond)
    {
        if (width > CaptureFormat.Width || height > CaptureFormat.Height)
        {
            throw new ArgumentException($"{width}x{height} is larger than the capture ({CaptureFormat.Width}x{CaptureFormat.Height}): the send pipeline scales down only");
        }

        var l = _layers[layer];
        l.Encoder.Resize(l.Encoder.Layer with { Width = width, Height = height, FramesPerSecond = framesPerSecond });
        l.ScaleFrom(CaptureFormat);
    }

    /// <summary>The size and frame rate layer <paramref name="layer"/> is encoded at now.</summary>
    public VideoLayer LayerSize(int layer) => _layers[layer].Encoder.Layer;

    /// <summary>Times a layer's encoder was reopened for a new size or frame rate (<see cref="ResizeLayer"/>).</summary>
    public long Resizes => _layers.Sum(l => (long)l.Encoder.Resizes);

    /// <summary>
    /// Pauses or resumes one layer (simulcast: what the bandwidth cannot carry is not encoded at all). A resumed
    /// layer starts with a keyframe.
    /// </summary>
    public void SetLayerActive(int layer, bool active)
    {
        var l = _layers[layer];
        if (active && !l.Active)
        {
            l.Encoder.RequestKeyframe();
        }

        l.Active = active;
    }

    /// <summary>Whether a layer is being encoded (see <see cref="SetLayerActive"/>).</summary>
    public bool IsLayerActive(int layer) => _layers[layer].Active;

    /// <summary>Next frame of every layer (or one) becomes a keyframe (on PLI/FIR).</summary>
    public void RequestKeyframe(int? layer = null)
    {
        for (var i = 0; i < _layers.Length; i++)
        {
            if (layer is null || layer == i)
            {
                _layers[i].Encoder.RequestKeyframe();
            }
        }
    }

    /// <summary>Reads and sends frames until cancelled (the capture is not disposed here).</summary>
    public Task RunAsync(IVideoCapture capture, CancellationToken cancellationToken) =>
        PumpAsync(capture, static (frame, time, self) => self.ProcessFrame(frame, time), this, cancellationToken);

    /// <summary>
    /// Reads <paramref name="capture"/> until cancelled and hands each frame's pixels and capture time to
    /// <paramref name="onFrame"/>, giving the buffer back to the device right after (the capture is not disposed).
    /// </summary>
    public static async Task PumpAsync<TState>(IVideoCapture capture, Action<ReadOnlySpan<byte>, TimeSpan, TState> onFrame, TState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(onFrame);
        while (!cancellationToken.IsCancellationRequested)
        {
            VideoFrame frame;
            try
            {
                frame = await capture.ReadFrameAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            using (frame)
            {
                onFrame(frame.Data.Span, frame.Timestamp, state);
            }
        }
    }

    /// <summary>Encodes and packetizes one captured frame (in the capture format) taken at <paramref name="captureTime"/>.</summary>
    public void ProcessFrame(ReadOnlySpan<byte> frame, TimeSpan captureTime)
    {
        var start = Stopwatch.GetTimestamp();
        var i420 = frame;
        if (_mjpeg is not null)
        {
            // Camera JPEG: decode to I420 first; a damaged or odd-sized picture is skipped.
            if (!_mjpeg.Decode(frame) || _mjpeg.Width != CaptureFormat.Width || _mjpeg.Height != CaptureFormat.Height)
            {
                FramesRejected++;
                return;
            }

            i420 = _mjpeg.Picture;
        }
        else if (frame.Length < I420Scaler.Size(_inputFormat, CaptureFormat.Width, CaptureFormat.Height))
        {
            FramesRejected++; // a short buffer from the driver: skip it rather than stop the stream
            return;
        }
        else if (_inputConverter is not null)
        {
            _inputConverter.Convert(frame, _converted);
            i420 = _converted;
        }

        SelfView?.Write(i420, CaptureFormat.Width, CaptureFormat.Height);
        var rtpTimestamp = unchecked(_timestampOffset + (uint)(captureTime.Ticks * 9 / 1000)); // 90 kHz
        foreach (var l in _layers)
        {
            if (!l.Active)
            {
                continue; // paused simulcast layer: neither scaled nor encoded
            }

            var input = i420;
            if (l.Scaler is not null)
            {
                l.Scaler.Convert(i420, l.Scaled);
                input = l.Scaled;
            }

            l.Counter.Timestamp = rtpTimestamp;
            var keyframes = l.Counter.Keyframes;
            l.Encoder.Encode(input, captureTime.Ticks, l.Counter);
            if (l.Counter.Keyframes != keyframes)
            {
                LastKeyframeFrame = FramesProcessed;
            }
        }

        FramesProcessed++;
        LastCaptureToPacket = Stopwatch.GetElapsedTime(start);
    }

    public void Dispose()
    {
        foreach (var l in _layers)
        {
            l.Dispose();
        }

        _inputConverter?.Dispose();
        _mjpeg?.Dispose();
    }

    private sealed class Layer(VideoSendLayer config, VideoEncoder encoder, IPacketizer packetizer) : IDisposable
    {
        public VideoEncoder Encoder { get; } = encoder;

        public I420Scaler? Scaler { get; private set; }

        public byte[] Scaled { get; private set; } = [];

        /// <summary>Scales the (I420) capture to the encoder's picture from now on; nothing to scale at the same size.</summary>
        public void ScaleFrom(VideoFormat capture)
        {
            var size = Encoder.Layer;
            if (Scaler is { } s && s.DstWidth == size.Width && s.DstHeight == size.Height)
            {
                return;
            }

            Scaler?.Dispose();
            Scaler = null;
            Scaled = [];
            if (size.Width != capture.Width || size.Height != capture.Height)
            {
                Scaler = new I420Scaler(capture.Width, capture.Height, AVPixelFormat.YUV420P, size.Width, size.Height, AVPixelFormat.YUV420P);
                Scaled = new byte[size.I420Size];
            }
        }

        private volatile bool _active = true;

        public bool Active
        {
            get => _active;
            set => _active = value;
        }

        public PacketizingSink Counter { get; } = new(packetizer, config.Sink, config.Transform);

        public void Dispose()
        {
            Encoder.Dispose();
            Scaler?.Dispose();
        }
    }

    private sealed class PacketizingSink(IPacketizer packetizer, IRtpPacketSink sink, IFrameTransform? transform) : IEncodedFrameSink
    {
        private byte[] _transformed = transform is null ? [] : new byte[64 * 1024];

        public uint Timestamp { get; set; }

        public long Packets { get; private set; }

        public long Keyframes { get; private set; }

        /// <summary>Frames the transform refused (nothing was sent for them).</summary>
        public long FramesDropped { get; private set; }

        public void OnEncodedFrame(in EncodedFrame frame)
        {
            if (frame.Keyframe)
            {
                Keyframes++;
            }

            if (transform is null)
            {
                Packets += packetizer.Packetize(frame.Data, Timestamp, sink);
                return;
            }

            var need = frame.Data.Length + transform.MaxExpansion;
            if (_transformed.Length < need)
            {
                _transformed = new byte[Math.Max(need, _transformed.Length * 2)]; // grows to the largest keyframe, then stays
            }

            var n = transform.Transform(frame.Data, frame.Keyframe, _transformed);
            if (n < 0)
            {
                FramesDropped++;
                return;
            }

            Packets += packetizer.Packetize(_transformed.AsSpan(0, n), Timestamp, sink);
        }
    }
}

/// <summary>
/// Packets to pictures (the loopback / self-view and the receive side): jitter buffer, depacketizer, decoder, and
/// the latest decoded picture for snapshots. Feed it packets from one thread through <see cref="OnPacket"/>
/// (it is an <see cref="IRtpPacketSink"/>, so a <see cref="VideoSendPipeline"/> layer can point straight at it);
/// read snapshots from any thread.
/// </summary>
public sealed class VideoReceivePipeline : IRtpPacketSink, ILatestPicture, IDisposable
{
    private readonly JitterBuffer _jitter;
    private readonly VideoDecoder _decoder;
    private readonly LatestPicture _latest = new();

    private readonly IFrameTransform? _transform;
    private readonly TimeProvider _time;
    private byte[] _transformed = [];

    /// <param name="transform">Applied to each reassembled frame before decoding (end-to-end decryption); a frame
    /// it refuses counts as lost: the pipeline waits for (and asks for) a keyframe.</param>
    /// <param name="time">The clock packets are timed by (the jitter buffer's waits); default the system's.</param>
    public VideoReceivePipeline(VideoCodec codec, JitterBufferOptions? options = null, bool preferHardwareDecoder = true, IFrameTransform? transform = null,
        TimeProvider? time = null)
    {
        Codec = codec;
        _time = time ?? TimeProvider.System;
        _transform = transform;
        if (transform is not null)
        {
            _transformed = new byte[64 * 1024];
        }

        _decoder = VideoDecoder.Create(codec, preferHardwareDecoder);
        _jitter = new JitterBuffer(codec == VideoCodec.H264 ? new H264Depacketizer() : new Vp8Depacketizer(), options, _time);
    }

    public VideoCodec Codec { get; }

    public string Description => _decoder.Description;

    public JitterBuffer JitterBuffer => _jitter;

    public long FramesDecoded { get; private set; }

    long ILatestPicture.Pictures => FramesDecoded;

    public long DecodeErrors => _decoder.Errors;

    /// <summary>Frames the transform refused (did not authenticate or were malformed).</summary>
    public long FramesRejected { get; private set; }

    /// <summary>Raised (on the packet thread) when a keyframe is needed: send PLI, or call the local sender's RequestKeyframe.</summary>
    public event Action? KeyframeNeeded;

    /// <summary>Raised (on the packet thread) after each decoded picture; the span is valid during the call only.</summary>
    public event DecodedPictureHandler? PictureDecoded;

    public void OnPacket(in RtpPacketView packet) => OnPacket(packet, _time.GetTimestamp());

    public void OnPacket(in RtpPacketView packet, long nowTicks)
    {
        // Packets arrive on the network (or loopback sender's) thread while a timer polls: the jitter buffer and the
        // decoder are single-threaded, so both paths take the same lock (a decoder used from two threads at once
        // crashes inside libavcodec).
        lock (_work)
        {
            if (_disposed)
            {
                return;
            }

            _jitter.Insert(packet, nowTicks);
            PollLocked(nowTicks);
        }
    }

    /// <summary>Delivers frames whose wait expired; call it periodically (e.g. every 10 ms) when packets stop.</summary>
    public void Poll(long nowTicks)
    {
        lock (_work)
        {
            if (!_disposed)
            {
                PollLocked(nowTicks);
            }
        }
    }

    private readonly Lock _work = new();
    private bool _disposed;

    private void PollLocked(long nowTicks)
    {
        while (_jitter.TryReadFrame(nowTicks, out var frame))
        {
            var data = frame.Data;
            if (_transform is not null)
            {
                if (_transformed.Length < data.Length + _transform.MaxExpansion)
                {
                    _transformed = new byte[Math.Max(data.Length + _transform.MaxExpansion, _transformed.Length * 2)];
                }

                var n = _transform.Transform(data, frame.Keyframe, _transformed);
                if (n < 0)
                {
                    FramesRejected++;
                    _jitter.ResyncAtKeyframe();
                    continue;
                }

                data = _transformed.AsSpan(0, n);
            }

            if (!_decoder.Decode(data))
            {
                _decoder.Reset();
                _jitter.ResyncAtKeyframe();
                continue;
            }

            FramesDecoded++;
            var pic = _decoder.Picture;
            _latest.Write(pic, _decoder.Width, _decoder.Height);

            PictureDecoded?.Invoke(pic, _decoder.Width, _decoder.Height, frame.Timestamp);
        }

        if (_jitter.ConsumeKeyframeRequest())
        {
            KeyframeNeeded?.Invoke();
        }
    }

    /// <summary>Missing packets to NACK now (write into an RTCP generic NACK).</summary>
    public int CollectNacks(Span<ushort> destination, long nowTicks)
    {
        lock (_work)
        {
            return _disposed ? 0 : _jitter.CollectNacks(destination, nowTicks);
        }
    }

    /// <summary>Copies the latest picture (tightly packed I420) into <paramref name="destination"/>; false when none yet or too small.</summary>
    public bool TryCopyLatestI420(Span<byte> destination, out int width, out int height) => _latest.TryCopyLatestI420(destination, out width, out height);

    /// <summary>The latest picture as JPEG, or null before the first one.</summary>
    public byte[]? SnapshotJpeg(int qscale = 4)
    {
        var (pic, w, h) = _latest.Copy();
        return pic is null ? null : Snapshot.I420ToJpeg(pic, w, h, qscale);
    }

    /// <summary>The latest picture as raw RGBA (width * height * 4 bytes), or null before the first one.</summary>
    public (byte[] Rgba, int Width, int Height)? SnapshotRgba()
    {
        var (pic, w, h) = _latest.Copy();
        return pic is null ? null : (Snapshot.I420ToRgba(pic, w, h), w, h);
    }

    public void Dispose()
    {
        lock (_work)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _decoder.Dispose();
        }
    }
}

/// <summary>A decoded I420 picture; the span is valid during the call only.</summary>
public delegate void DecodedPictureHandler(ReadOnlySpan<byte> i420, int width, int height, uint rtpTimestamp);
