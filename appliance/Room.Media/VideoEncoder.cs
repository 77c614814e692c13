using System.Globalization;
using System.Text;
using Room.Media.Interop;

namespace Room.Media;

/// <summary>
/// A real-time video encoder over libavcodec, chosen by probing: V4L2 M2M (Raspberry Pi), then VAAPI, then
/// software (libx264 zero-latency for H.264, libvpx realtime for VP8). Input is I420; output is one access unit
/// per input frame (no B-frames, no lookahead). Bitrate and keyframe requests may come from any thread and take
/// effect at the next <see cref="Encode"/>. Not thread-safe otherwise: one thread encodes.
/// </summary>
public sealed unsafe class VideoEncoder : IDisposable
{
    private const int PtsRing = 64;
    private readonly long[] _callerPts = new long[PtsRing];
    private readonly Candidate _chosen;
    private void* _ctx;
    private AVFrameHead* _frame;
    private AVPacketHead* _packet;
    private long _frameIndex;
    private volatile int _requestedBitrate;
    private int _appliedBitrate;
    private volatile bool _keyframeRequested;

    private VideoEncoder(VideoCodec codec, VideoLayer layer, Candidate chosen, string description, EncoderOptions options)
    {
        Codec = codec;
        Layer = layer;
        _chosen = chosen;
        Description = description;
        Options = options;
        _requestedBitrate = _appliedBitrate = layer.BitrateBps;
    }

    public VideoCodec Codec { get; }

    public VideoLayer Layer { get; }

    public EncoderOptions Options { get; }

    /// <summary>The libavcodec encoder in use, e.g. "libx264".</summary>
    public string Name => _chosen.Name;

    public bool IsHardware => _chosen.Hardware;

    /// <summary>Which encoder was chosen and why the ones before it were not (for <c>roomctl media</c>).</summary>
    public string Description { get; }

    /// <summary>The bitrate in effect (bits per second).</summary>
    public int Bitrate => _appliedBitrate;

    /// <summary>Frames encoded since open.</summary>
    public long FramesEncoded => _frameIndex;

    /// <summary>Probes the candidates for <paramref name="codec"/> in order and opens the first that works.</summary>
    /// <exception cref="MediaUnavailableException">No candidate could be opened; the message lists why for each.</exception>
    public static VideoEncoder Create(VideoCodec codec, VideoLayer layer, EncoderPreference preference = EncoderPreference.Auto, EncoderOptions? options = null)
    {
        FFmpeg.EnsureSupported();
        ValidateLayer(layer);
        options ??= new EncoderOptions();
        var why = new StringBuilder();
        foreach (var c in Candidates(codec))
        {
            if ((preference == EncoderPreference.SoftwareOnly && c.Hardware) || (preference == EncoderPreference.HardwareOnly && !c.Hardware))
            {
                Append(why, c.Name, "excluded by preference " + preference);
                continue;
            }

            var encoder = new VideoEncoder(codec, layer, c, "", options);
            var problem = encoder.TryOpen(layer.BitrateBps);
            if (problem is null)
            {
                var kind = c.Hardware ? "hardware" : "software";
                var text = $"{codec}: {c.Name} ({kind}) at {layer}";
                if (why.Length > 0)
                {
                    text += "; not chosen: " + why;
                }

                var opened = new VideoEncoder(codec, layer, c, text, options)
                {
                    _ctx = encoder._ctx,
                    _frame = encoder._frame,
                    _packet = encoder._packet,
                };
                encoder._ctx = null;
                encoder._frame = null;
                encoder._packet = null;
                return opened;
            }

            encoder.Dispose();
            Append(why, c.Name, problem);
        }

        throw new MediaUnavailableException($"no {codec} encoder could be opened: {why}");
    }

    /// <summary>One line per codec saying which encoder would be chosen here and why (probes by opening each, then closes it).</summary>
    public static string Probe(VideoLayer? layer = null)
    {
        if (FFmpeg.Problem is { } p)
        {
            return "video encoding unavailable: " + p;
        }

        var sb = new StringBuilder();
        sb.Append(FFmpeg.VersionString).Append('\n');
        foreach (var codec in new[] { VideoCodec.H264, VideoCodec.Vp8 })
        {
            try
            {
                using var e = Create(codec, layer ?? VideoLayer.P720);
                sb.Append(e.Description).Append('\n');
            }
            catch (MediaException ex)
            {
                sb.Append(ex.Message).Append('\n');
            }
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>Asks for a new target bitrate; applied at the next frame (reconfigured in place where the encoder supports it, else reopened with a keyframe).</summary>
    public void SetBitrate(int bitsPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bitsPerSecond, 10_000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bitsPerSecond, 100_000_000);
        _requestedBitrate = bitsPerSecond;
    }

    /// <summary>Makes the next encoded frame a keyframe (IDR for H.264).</summary>
    public void RequestKeyframe() => _keyframeRequested = true;

    /// <summary>
    /// Encodes one I420 frame of the layer's size. <paramref name="pts"/> is passed through to the output.
    /// The sink is called for each encoded frame produced (normally exactly one). Returns the number produced.
    /// </summary>
    public int Encode(ReadOnlySpan<byte> i420, long pts, IEncodedFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ObjectDisposedException.ThrowIf(_ctx is null, this);
        if (i420.Length < Layer.I420Size)
        {
            throw new ArgumentException($"an I420 {Layer.Width}x{Layer.Height} frame needs {Layer.I420Size} bytes, got {i420.Length}", nameof(i420));
        }

        ApplyBitrate();
        FFmpeg.Check(FFmpeg.av_frame_make_writable(_frame), "av_frame_make_writable");
        CopyI420In(i420, _frame, Layer.Width, Layer.Height);
        var index = _frameIndex++;
        _callerPts[index % PtsRing] = pts;
        _frame->Pts = index;
        _frame->PictType = FFmpeg.AV_PICTURE_TYPE_NONE;
        if (_keyframeRequested)
        {
            _keyframeRequested = false;
            _frame->PictType = FFmpeg.AV_PICTURE_TYPE_I;
        }

        FFmpeg.Check(FFmpeg.avcodec_send_frame(_ctx, _frame), "avcodec_send_frame");
        return Drain(sink);
    }

    private int Drain(IEncodedFrameSink sink)
    {
        var produced = 0;
        while (true)
        {
            var r = FFmpeg.avcodec_receive_packet(_ctx, _packet);
            if (r == FFmpeg.AVERROR_EAGAIN || r == FFmpeg.AVERROR_EOF)
            {
                return produced;
            }

            FFmpeg.Check(r, "avcodec_receive_packet");
            try
            {
                var callerPts = _packet->Pts >= 0 ? _callerPts[_packet->Pts % PtsRing] : 0;
                sink.OnEncodedFrame(new EncodedFrame(new ReadOnlySpan<byte>(_packet->Data, _packet->Size), callerPts, (_packet->Flags & FFmpeg.AV_PKT_FLAG_KEY) != 0));
                produced++;
            }
            finally
            {
                FFmpeg.av_packet_unref(_packet);
            }
        }
    }

    private void ApplyBitrate()
    {
        var wanted = _requestedBitrate;
        if (wanted == _appliedBitrate)
        {
            return;
        }

        if (_chosen.ReconfiguresInPlace)
        {
            // libx264 in libavcodec compares these with its parameters on every frame and calls x264_encoder_reconfig.
            SetRate(_ctx, wanted);
            _appliedBitrate = wanted;
            return;
        }

        Close();
        var problem = TryOpen(wanted);
        if (problem is not null)
        {
            throw new MediaException($"{Name}: reopening at {wanted} bit/s failed: {problem}");
        }

        _appliedBitrate = wanted;
        _keyframeRequested = true;
    }

    private static void SetRate(void* ctx, int bps)
    {
        FFmpeg.av_opt_set_int(ctx, "b", bps, 0);
        FFmpeg.av_opt_set_int(ctx, "maxrate", bps, 0);
        FFmpeg.av_opt_set_int(ctx, "bufsize", bps / 2, 0); // half a second of VBV: low latency, few frame-size spikes
    }

    private string? TryOpen(int bitrate)
    {
        var codec = FFmpeg.avcodec_find_encoder_by_name(_chosen.Name);
        if (codec is null)
        {
            return "not in this libavcodec build";
        }

        if (_chosen.Name.EndsWith("_v4l2m2m", StringComparison.Ordinal) && !HasVideoDevice())
        {
            return "no V4L2 memory-to-memory device (/dev/video*)";
        }

        if (_chosen.HwDeviceType is { } hwType)
        {
            // VAAPI encoders take frames in GPU surfaces; probe the device so the report says what is missing.
            var type = FFmpeg.av_hwdevice_find_type_by_name(hwType);
            void* dev = null;
            var r = FFmpeg.av_hwdevice_ctx_create(&dev, type, null, null, 0);
            if (r < 0)
            {
                return $"no {hwType} device: {FFmpeg.ErrorText(r)}";
            }

            FFmpeg.av_buffer_unref(&dev);
            return $"{hwType} device present, but surface upload is not implemented in Room.Media yet";
        }

        _ctx = FFmpeg.avcodec_alloc_context3(codec);
        if (_ctx is null)
        {
            return "avcodec_alloc_context3 failed";
        }

        var fps = Layer.FramesPerSecond;
        var set = new OptionSetter(_ctx);
        set.Str("video_size", $"{Layer.Width}x{Layer.Height}");
        set.Str("pixel_format", "yuv420p");
        set.Q("time_base", new AVRational(1, fps));
        set.Int("g", (long)fps * Options.KeyframeIntervalSeconds);
        set.Int("bf", 0);
        set.Int("threads", Options.Threads);
        if (set.Error is { } e)
        {
            return e;
        }

        SetRate(_ctx, bitrate);
        foreach (var (name, value) in _chosen.PrivateOptions(Options))
        {
            set.Str(name, value);
        }

        if (set.Error is { } e2)
        {
            return e2;
        }

        var open = FFmpeg.avcodec_open2(_ctx, codec, null);
        if (open < 0)
        {
            return "open failed: " + FFmpeg.ErrorText(open);
        }

        _frame = FFmpeg.av_frame_alloc();
        _packet = FFmpeg.av_packet_alloc();
        if (_frame is null || _packet is null)
        {
            return "out of memory";
        }

        _frame->Width = Layer.Width;
        _frame->Height = Layer.Height;
        _frame->Format = AVPixelFormat.YUV420P;
        var buf = FFmpeg.av_frame_get_buffer(_frame, 32);
        return buf < 0 ? "av_frame_get_buffer: " + FFmpeg.ErrorText(buf) : null;
    }

    private static bool HasVideoDevice()
    {
        try
        {
            return Directory.EnumerateFiles("/dev", "video*").Any();
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static void CopyI420In(ReadOnlySpan<byte> i420, AVFrameHead* frame, int width, int height)
    {
        var ySize = width * height;
        var cw = width / 2;
        var ch = height / 2;
        CopyPlane(i420[..ySize], width, height, frame->Plane(0), frame->Linesize[0]);
        CopyPlane(i420.Slice(ySize, cw * ch), cw, ch, frame->Plane(1), frame->Linesize[1]);
        CopyPlane(i420.Slice(ySize + (cw * ch), cw * ch), cw, ch, frame->Plane(2), frame->Linesize[2]);
    }

    private static void CopyPlane(ReadOnlySpan<byte> src, int width, int height, byte* dst, int stride)
    {
        if (stride == width)
        {
            src[..(width * height)].CopyTo(new Span<byte>(dst, width * height));
            return;
        }

        for (var row = 0; row < height; row++)
        {
            src.Slice(row * width, width).CopyTo(new Span<byte>(dst + ((long)row * stride), width));
        }
    }

    private static void ValidateLayer(VideoLayer layer)
    {
        if (layer.Width is < 16 or > 4096 || layer.Height is < 16 or > 4096 || layer.Width % 2 != 0 || layer.Height % 2 != 0)
        {
            throw new ArgumentException($"unsupported video size {layer.Width}x{layer.Height}", nameof(layer));
        }

        if (layer.FramesPerSecond is < 1 or > 120 || layer.BitrateBps < 10_000)
        {
            throw new ArgumentException($"unsupported layer {layer}", nameof(layer));
        }
    }

    private void Close()
    {
        CodecHandles.Free(ref _ctx, ref _frame, ref _packet);
    }

    public void Dispose() => Close();

    private static void Append(StringBuilder sb, string name, string reason)
    {
        if (sb.Length > 0)
        {
            sb.Append("; ");
        }

        sb.Append(name).Append(": ").Append(reason);
    }

    private static IEnumerable<Candidate> Candidates(VideoCodec codec) => codec switch
    {
        VideoCodec.H264 =>
        [
            new Candidate("h264_v4l2m2m", true, null, false, _ => [("num_capture_buffers", "4")]),
            new Candidate("h264_vaapi", true, "vaapi", false, _ => []),
            new Candidate("libx264", false, null, true, o =>
            [
                ("preset", o.X264Preset), ("tune", "zerolatency"), ("profile", "baseline"), ("forced-idr", "1"),
                ("x264-params", "repeat-headers=1:aud=0"),
            ]),
        ],
        VideoCodec.Vp8 =>
        [
            new Candidate("vp8_v4l2m2m", true, null, false, _ => []),
            new Candidate("vp8_vaapi", true, "vaapi", false, _ => []),
            new Candidate("libvpx", false, null, false, o =>
            [
                ("deadline", "realtime"), ("cpu-used", o.Vp8CpuUsed.ToString(CultureInfo.InvariantCulture)),
                ("lag-in-frames", "0"), ("auto-alt-ref", "0"), ("error-resilient", "default"),
            ]),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(codec)),
    };

    private sealed record Candidate(string Name, bool Hardware, string? HwDeviceType, bool ReconfiguresInPlace, Func<EncoderOptions, (string Name, string Value)[]> PrivateOptions);

    private readonly struct OptionSetter(void* obj)
    {
        private readonly string?[] _error = new string?[1];

        public string? Error => _error[0];

        public void Str(string name, string value) => Note(FFmpeg.av_opt_set(obj, name, value, FFmpeg.AV_OPT_SEARCH_CHILDREN), name, value);

        public void Int(string name, long value) => Note(FFmpeg.av_opt_set_int(obj, name, value, FFmpeg.AV_OPT_SEARCH_CHILDREN), name, value.ToString(CultureInfo.InvariantCulture));

        public void Q(string name, AVRational value) => Note(FFmpeg.av_opt_set_q(obj, name, value, FFmpeg.AV_OPT_SEARCH_CHILDREN), name, $"{value.Num}/{value.Den}");

        private void Note(int r, string name, string value)
        {
            if (r < 0 && _error[0] is null)
            {
                _error[0] = $"option {name}={value}: {FFmpeg.ErrorText(r)}";
            }
        }
    }
}

/// <summary>Encoder tuning; the defaults suit a 2-core x86 box or a Raspberry Pi 4 in software fallback.</summary>
public sealed record EncoderOptions
{
    /// <summary>Periodic keyframe interval; keyframes also come on request.</summary>
    public int KeyframeIntervalSeconds { get; init; } = 10;

    /// <summary>Encoder threads; 0 lets the encoder choose.</summary>
    public int Threads { get; init; }

    /// <summary>x264 preset (ultrafast .. medium).</summary>
    public string X264Preset { get; init; } = "veryfast";

    /// <summary>libvpx VP8 speed (4..16; higher is faster).</summary>
    public int Vp8CpuUsed { get; init; } = 8;
}
