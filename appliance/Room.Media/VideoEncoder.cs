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
    private long _openedAtFrame;
    private volatile bool _keyframeRequested;
    private HwDevice? _device;
    private HwFrames? _hwFrames;
    private int _inputFormat = AVPixelFormat.YUV420P;
    private ParameterSetCache? _parameterSets;

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

    /// <summary>The size and frame rate being encoded (changed only by <see cref="Resize"/>).</summary>
    public VideoLayer Layer { get; private set; }

    public EncoderOptions Options { get; }

    /// <summary>The libavcodec encoder in use, e.g. "libx264".</summary>
    public string Name => _chosen.Name;

    public bool IsHardware => _chosen.Hardware;

    /// <summary>Which encoder was chosen and why the ones before it were not (for <c>roomctl media</c>).</summary>
    public string Description { get; }

    /// <summary>The bitrate in effect (bits per second).</summary>
    public int Bitrate => _appliedBitrate;

    /// <summary>Times the encoder was reopened to change its bitrate (encoders that cannot change it in place).</summary>
    public int Reopens { get; private set; }

    /// <summary>Times the encoder was reopened for a new picture size or frame rate (<see cref="Resize"/>).</summary>
    public int Resizes { get; private set; }

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
            if (problem is null && c.Hardware)
            {
                // A hardware encoder can open and still fail on its first frame (surface formats, driver limits):
                // encode one grey frame, then start the real stream from a fresh open.
                problem = encoder.TestEncode();
                encoder.Close();
                problem ??= encoder.TryOpen(layer.BitrateBps);
            }

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
                    _device = encoder._device,
                    _hwFrames = encoder._hwFrames,
                    _inputFormat = encoder._inputFormat,
                    _parameterSets = encoder._parameterSets,
                };
                encoder._ctx = null;
                encoder._frame = null;
                encoder._packet = null;
                encoder._device = null;
                encoder._hwFrames = null;
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

    /// <summary>
    /// Reopens the encoder for another picture size or frame rate (a resolution ladder's step), on the encoding
    /// thread. Any bitrate asked for meanwhile is applied by the same open, and the bitrate rule's clock starts again
    /// (<see cref="WorthReopening"/>), so a step costs one reopen and one keyframe, not two. The same size and rate
    /// does nothing.
    /// </summary>
    /// <exception cref="ArgumentException">A size or rate no encoder takes; the encoder is left as it was.</exception>
    /// <exception cref="MediaException">The encoder could not be opened at the new size.</exception>
    public void Resize(VideoLayer layer)
    {
        ObjectDisposedException.ThrowIf(_ctx is null, this);
        layer = layer with { BitrateBps = _requestedBitrate }; // the bitrate is the one last asked for, not the layer's
        ValidateLayer(layer);
        if (layer.Width == Layer.Width && layer.Height == Layer.Height && layer.FramesPerSecond == Layer.FramesPerSecond)
        {
            return;
        }

        Close();
        if (layer.Width != Layer.Width || layer.Height != Layer.Height)
        {
            // The VAAPI surface pool is sized to the picture: a new one comes with the open.
            _hwFrames?.Dispose();
            _hwFrames = null;
        }

        var before = Layer;
        var wanted = layer.BitrateBps;
        Layer = layer;
        var problem = TryOpen(wanted);
        if (problem is not null)
        {
            // Back to the picture that worked, so the call goes on at it.
            Layer = before;
            _hwFrames?.Dispose();
            _hwFrames = null;
            var again = TryOpen(_appliedBitrate);
            throw new MediaException($"{Name}: reopening at {layer.Width}x{layer.Height}@{layer.FramesPerSecond} failed: {problem}" +
                (again is null ? $"; still encoding {before.Width}x{before.Height}" : $"; reopening at {before.Width}x{before.Height} failed too: {again}"));
        }

        _appliedBitrate = wanted;
        _openedAtFrame = _frameIndex;
        Resizes++;
        _keyframeRequested = true;
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
        AVFrameHead* input;
        if (_hwFrames is not null)
        {
            _hwFrames.Upload(i420); // into a surface from the fixed pool: no allocation
            input = _hwFrames.Current;
        }
        else
        {
            FFmpeg.Check(FFmpeg.av_frame_make_writable(_frame), "av_frame_make_writable");
            if (_inputFormat == AVPixelFormat.NV12)
            {
                PixelCopy.I420ToNv12(i420, _frame, Layer.Width, Layer.Height);
            }
            else
            {
                CopyI420In(i420, _frame, Layer.Width, Layer.Height);
            }

            input = _frame;
        }

        var index = _frameIndex++;
        _callerPts[index % PtsRing] = pts;
        input->Pts = index;
        input->PictType = FFmpeg.AV_PICTURE_TYPE_NONE;
        if (_keyframeRequested)
        {
            _keyframeRequested = false;
            input->PictType = FFmpeg.AV_PICTURE_TYPE_I;
        }

        FFmpeg.Check(FFmpeg.avcodec_send_frame(_ctx, input), "avcodec_send_frame");
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
                var data = new ReadOnlySpan<byte>(_packet->Data, _packet->Size);
                var key = (_packet->Flags & FFmpeg.AV_PKT_FLAG_KEY) != 0;
                if (_parameterSets is not null)
                {
                    // Hardware H.264 encoders may emit SPS/PPS once, on their own: keep them and put them in front of
                    // every IDR, so that a receiver joining (or recovering) at any keyframe can decode it.
                    data = _parameterSets.Process(data, ref key);
                    if (data.IsEmpty)
                    {
                        continue;
                    }
                }

                sink.OnEncodedFrame(new EncodedFrame(data, callerPts, key));
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

        if (!WorthReopening(_appliedBitrate, wanted, (_frameIndex - _openedAtFrame) / (double)Layer.FramesPerSecond))
        {
            return;
        }

        Close();
        var problem = TryOpen(wanted);
        if (problem is not null)
        {
            throw new MediaException($"{Name}: reopening at {wanted} bit/s failed: {problem}");
        }

        _appliedBitrate = wanted;
        _openedAtFrame = _frameIndex;
        Reopens++;
        _keyframeRequested = true;
    }

    /// <summary>
    /// Whether an encoder that changes its bitrate only by reopening (a keyframe, several times an inter frame, for
    /// every receiver) should reopen for <paramref name="wanted"/>: a congestion controller moves its target by a few
    /// percent several times a second, and following it would make a keyframe every second or two (issue 21 saw 78
    /// in 477 frames). Down: at a sixth less and half a second since the last open (sending above the link costs
    /// more than a keyframe). Up: only at a third more and three seconds since, so a ramp reopens a few times and a
    /// target wandering around its level never does.
    /// </summary>
    internal static bool WorthReopening(int applied, int wanted, double secondsSinceOpen) =>
        wanted < applied
            ? (applied - (long)wanted) * 6 >= applied && secondsSinceOpen >= 0.5
            : ((long)wanted - applied) * 3 >= applied && secondsSinceOpen >= 3;

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

        int[] formats;
        switch (_chosen.Kind)
        {
            case EncoderKind.V4l2M2m:
                if (V4l2Nodes() == 0)
                {
                    return "no device node /dev/video* (no V4L2 memory-to-memory codec on this machine)";
                }

                formats = [AVPixelFormat.YUV420P, AVPixelFormat.NV12]; // the Pi's bcm2835-codec takes both; others may take only one
                break;
            case EncoderKind.Vaapi:
                if (OpenSurfaces() is { } why)
                {
                    return why;
                }

                formats = [FFmpeg.av_get_pix_fmt("vaapi")];
                break;
            default:
                formats = [AVPixelFormat.YUV420P];
                break;
        }

        var problems = new List<string>();
        foreach (var format in formats)
        {
            var problem = OpenWith(codec, bitrate, format);
            if (problem is null)
            {
                _parameterSets = _chosen.Hardware && Codec == VideoCodec.H264 ? _parameterSets ?? new ParameterSetCache() : null;
                return null;
            }

            CodecHandles.Free(ref _ctx, ref _frame, ref _packet);
            problems.Add(formats.Length > 1 ? $"with {(format == AVPixelFormat.NV12 ? "nv12" : "yuv420p")} input: {problem}" : problem);
        }

        return string.Join("; ", problems);
    }

    /// <summary>VAAPI: the device (configured node or /dev/dri/renderD128) and an NV12 surface pool, kept across reopens.</summary>
    private string? OpenSurfaces()
    {
        if (HwLayout.Problem is { } layout)
        {
            return layout;
        }

        if (_device is null)
        {
            _device = HwDevice.TryOpen("vaapi", Options.VaapiDevice ?? VaapiDefaults.RenderNode, out var reason);
            if (_device is null)
            {
                return reason;
            }
        }

        if (_hwFrames is null)
        {
            _hwFrames = HwFrames.TryCreate(_device, FFmpeg.av_get_pix_fmt("vaapi"), AVPixelFormat.NV12, Layer.Width, Layer.Height, Options.HardwareSurfaces, out var reason);
            if (_hwFrames is null)
            {
                return reason;
            }
        }

        return null;
    }

    private string? OpenWith(void* codec, int bitrate, int pixelFormat)
    {
        _ctx = FFmpeg.avcodec_alloc_context3(codec);
        if (_ctx is null)
        {
            return "avcodec_alloc_context3 failed";
        }

        var fps = Layer.FramesPerSecond;
        var set = new OptionSetter(_ctx);
        set.Str("video_size", $"{Layer.Width}x{Layer.Height}");
        set.Int("pixel_format", pixelFormat);
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

        foreach (var (name, value) in _chosen.OptionalOptions(Options))
        {
            set.StrIfPresent(name, value);
        }

        if (set.Error is { } e2)
        {
            return e2;
        }

        if (_chosen.Kind == EncoderKind.Vaapi)
        {
            HwLayout.SetRef(_ctx, HwLayout.HwFramesCtxOffset, _hwFrames!.Ref);
        }

        using (var log = FFmpegLog.Capture())
        {
            var open = FFmpeg.avcodec_open2(_ctx, codec, null);
            if (open < 0)
            {
                return log.Explain("open failed", open);
            }
        }

        _frame = FFmpeg.av_frame_alloc();
        _packet = FFmpeg.av_packet_alloc();
        if (_frame is null || _packet is null)
        {
            return "out of memory";
        }

        _inputFormat = pixelFormat;
        if (_chosen.Kind == EncoderKind.Vaapi)
        {
            return null; // input goes through the surface pool
        }

        _frame->Width = Layer.Width;
        _frame->Height = Layer.Height;
        _frame->Format = pixelFormat;
        var buf = FFmpeg.av_frame_get_buffer(_frame, 32);
        return buf < 0 ? "av_frame_get_buffer: " + FFmpeg.ErrorText(buf) : null;
    }

    private sealed class NullSink : IEncodedFrameSink
    {
        public static readonly NullSink Instance = new();

        public void OnEncodedFrame(in EncodedFrame frame)
        {
        }
    }

    /// <summary>Encodes one grey frame; null when the encoder took it, else why not.</summary>
    private string? TestEncode()
    {
        var grey = new byte[Layer.I420Size];
        grey.AsSpan().Fill(128);
        using var log = FFmpegLog.Capture();
        try
        {
            Encode(grey, 0, NullSink.Instance);
            return null;
        }
        catch (MediaException ex)
        {
            var said = log.Text;
            return "test encode failed: " + ex.Message + (said.Length > 0 ? " (" + said + ")" : "");
        }
    }

    /// <summary>How many /dev/video* nodes exist (FFmpeg's V4L2 M2M codecs scan them for one that does the codec).</summary>
    internal static int V4l2Nodes()
    {
        try
        {
            return Directory.EnumerateFiles("/dev", "video*").Count();
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
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

    public void Dispose()
    {
        Close();
        _hwFrames?.Dispose();
        _hwFrames = null;
        _device?.Dispose();
        _device = null;
    }

    private static void Append(StringBuilder sb, string name, string reason)
    {
        if (sb.Length > 0)
        {
            sb.Append("; ");
        }

        sb.Append(name).Append(": ").Append(reason);
    }

    /// <summary>The candidates for <paramref name="codec"/> in the order they are tried.</summary>
    internal static IEnumerable<string> CandidateNames(VideoCodec codec) => Candidates(codec).Select(c => c.Name);

    private static Candidate[] Candidates(VideoCodec codec) => codec switch
    {
        VideoCodec.H264 =>
        [
            // Raspberry Pi 4 (bcm2835-codec): constrained baseline (578 = FF_PROFILE_H264_CONSTRAINED_BASELINE, through
            // the generic "profile" option), bitrate/GOP from b/g, few buffers (the encoder's CMA memory is small).
            // The driver emits SPS/PPS once, separately: ParameterSetCache repeats them in front of each IDR.
            new Candidate("h264_v4l2m2m", EncoderKind.V4l2M2m, false, o =>
            [
                ("profile", "578"), ("num_output_buffers", o.V4l2OutputBuffers.ToString(CultureInfo.InvariantCulture)),
                ("num_capture_buffers", o.V4l2CaptureBuffers.ToString(CultureInfo.InvariantCulture)),
            ], _ => []),
            new Candidate("h264_vaapi", EncoderKind.Vaapi, false, _ =>
            [
                ("profile", "constrained_baseline"),
            ], _ => [("rc_mode", "CBR"), ("async_depth", "1")]),
            new Candidate("libx264", EncoderKind.Software, true, o =>
            [
                ("preset", o.X264Preset), ("tune", "zerolatency"), ("profile", "baseline"), ("forced-idr", "1"),
                ("x264-params", "repeat-headers=1:aud=0"),
            ], _ => []),
        ],
        VideoCodec.Vp8 =>
        [
            new Candidate("vp8_v4l2m2m", EncoderKind.V4l2M2m, false, o =>
            [
                ("num_output_buffers", o.V4l2OutputBuffers.ToString(CultureInfo.InvariantCulture)),
                ("num_capture_buffers", o.V4l2CaptureBuffers.ToString(CultureInfo.InvariantCulture)),
            ], _ => []),
            new Candidate("vp8_vaapi", EncoderKind.Vaapi, false, _ => [], _ => [("rc_mode", "CBR"), ("async_depth", "1")]),
            new Candidate("libvpx", EncoderKind.Software, false, o =>
            [
                ("deadline", "realtime"), ("cpu-used", o.Vp8CpuUsed.ToString(CultureInfo.InvariantCulture)),
                ("lag-in-frames", "0"), ("auto-alt-ref", "0"), ("error-resilient", "default"),
            ], _ => []),
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(codec)),
    };

    /// <summary>
    /// Sets the candidate's options (common and private) on a fresh, unopened context of the named encoder and reads
    /// each back; for tests of the option plumbing on machines without the hardware. Returns (name, value read back).
    /// </summary>
    internal static List<(string Name, string Value)> ApplyOptionsForTest(VideoCodec codec, string name, VideoLayer layer, EncoderOptions options)
    {
        FFmpeg.EnsureSupported();
        var c = Candidates(codec).Single(x => x.Name == name);
        var codecPtr = FFmpeg.avcodec_find_encoder_by_name(name);
        if (codecPtr is null)
        {
            throw new MediaUnavailableException(name + " is not in this libavcodec build");
        }

        var ctx = FFmpeg.avcodec_alloc_context3(codecPtr);
        try
        {
            var set = new OptionSetter(ctx);
            set.Int("g", (long)layer.FramesPerSecond * options.KeyframeIntervalSeconds);
            set.Int("bf", 0);
            SetRate(ctx, layer.BitrateBps);
            var all = c.PrivateOptions(options).ToList();
            foreach (var (n, v) in all)
            {
                set.Str(n, v);
            }

            foreach (var (n, v) in c.OptionalOptions(options))
            {
                if (set.StrIfPresent(n, v))
                {
                    all.Add((n, v));
                }
            }

            if (set.Error is { } e)
            {
                throw new MediaException(e);
            }

            var result = new List<(string, string)>();
            foreach (var n in s_commonOptions.Concat(all.Select(a => a.Name)))
            {
                result.Add((n, OptionSetter.Get(ctx, n)));
            }

            return result;
        }
        finally
        {
            FFmpeg.avcodec_free_context(&ctx);
        }
    }

    private static readonly string[] s_commonOptions = ["g", "bf", "b", "maxrate", "bufsize"];

    private enum EncoderKind
    {
        V4l2M2m,
        Vaapi,
        Software,
    }

    private sealed record Candidate(
        string Name,
        EncoderKind Kind,
        bool ReconfiguresInPlace,
        Func<EncoderOptions, (string Name, string Value)[]> PrivateOptions,
        Func<EncoderOptions, (string Name, string Value)[]> OptionalOptions)
    {
        public bool Hardware => Kind != EncoderKind.Software;
    }

    private readonly struct OptionSetter(void* obj)
    {
        private readonly string?[] _error = new string?[1];

        public string? Error => _error[0];

        public void Str(string name, string value) => Note(FFmpeg.av_opt_set(obj, name, value, FFmpeg.AV_OPT_SEARCH_CHILDREN), name, value);

        public void Int(string name, long value) => Note(FFmpeg.av_opt_set_int(obj, name, value, FFmpeg.AV_OPT_SEARCH_CHILDREN), name, value.ToString(CultureInfo.InvariantCulture));

        public void Q(string name, AVRational value) => Note(FFmpeg.av_opt_set_q(obj, name, value, FFmpeg.AV_OPT_SEARCH_CHILDREN), name, $"{value.Num}/{value.Den}");

        /// <summary>Sets an option only where this libavcodec's encoder has it (e.g. async_depth, newer than 5.1 on some encoders).</summary>
        public bool StrIfPresent(string name, string value)
        {
            if (FFmpeg.av_opt_find(obj, name, null, 0, FFmpeg.AV_OPT_SEARCH_CHILDREN) is null)
            {
                return false;
            }

            Str(name, value);
            return true;
        }

        /// <summary>An option's current value as text (av_opt_get), "" if unknown.</summary>
        public static string Get(void* obj, string name)
        {
            byte* value = null;
            if (FFmpeg.av_opt_get(obj, name, FFmpeg.AV_OPT_SEARCH_CHILDREN, &value) < 0 || value is null)
            {
                return "";
            }

            var text = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)value) ?? "";
            FFmpeg.av_free(value);
            return text;
        }

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

    /// <summary>The VAAPI render node; null means /dev/dri/renderD128 (the first GPU).</summary>
    public string? VaapiDevice { get; init; }

    /// <summary>VAAPI input surfaces in the fixed NV12 pool the camera frames are uploaded into.</summary>
    public int HardwareSurfaces { get; init; } = 16;

    /// <summary>V4L2 M2M buffers for raw input (each a whole picture in the codec's contiguous memory: keep few).</summary>
    public int V4l2OutputBuffers { get; init; } = 6;

    /// <summary>V4L2 M2M buffers for encoded output (FFmpeg's minimum is 4).</summary>
    public int V4l2CaptureBuffers { get; init; } = 4;
}
