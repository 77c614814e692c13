using System.Text;
using Room.Media.Interop;

namespace Room.Media;

/// <summary>
/// An H.264 or VP8 decoder over libavcodec, chosen by probing: V4L2 M2M (Raspberry Pi), the software decoder with
/// VAAPI hwaccel (Intel/AMD; surfaces downloaded to NV12), then software.
/// Decoded pictures are converted to tightly packed I420 in an internal buffer, valid until the next call.
/// Corrupt input is reported as a failed decode, never an exception; the caller then waits for a keyframe.
/// </summary>
public sealed unsafe class VideoDecoder : IDisposable
{
    /// <summary>Refuse pictures larger than this (both dimensions) whatever the bitstream claims.</summary>
    public const int MaxDimension = 4096;

    private void* _ctx;
    private AVFrameHead* _frame;
    private AVPacketHead* _packet;
    private byte* _input;
    private int _inputCapacity;
    private byte[] _i420 = [];
    private void* _sws;
    private int _swsW, _swsH, _swsFormat;
    private HwDevice? _device;
    private int _hwFormat = FFmpeg.AV_PIX_FMT_NONE;
    private AVFrameHead* _download;

    private VideoDecoder(VideoCodec codec, string name, bool hardware, string description)
    {
        Codec = codec;
        Name = name;
        IsHardware = hardware;
        Description = description;
    }

    public VideoCodec Codec { get; }

    /// <summary>The libavcodec decoder in use ("h264", "h264_v4l2m2m", ...); see <see cref="Hwaccel"/> for VAAPI.</summary>
    public string Name { get; }

    public bool IsHardware { get; }

    /// <summary>"vaapi" when the software decoder runs with VAAPI hardware acceleration, else null.</summary>
    public string? Hwaccel { get; private set; }

    public string Description { get; }

    public int Width { get; private set; }

    public int Height { get; private set; }

    /// <summary>The last decoded picture, tightly packed I420 (Width x Height).</summary>
    public ReadOnlySpan<byte> Picture => _i420.AsSpan(0, Width * Height * 3 / 2);

    /// <summary>Decode errors seen (corrupt or undecodable input).</summary>
    public long Errors { get; private set; }

    /// <summary>Pictures that came out of GPU surfaces and were downloaded (VAAPI).</summary>
    public long HardwareFrames { get; private set; }

    /// <summary>The decoder candidates for <paramref name="codec"/> in the order they are tried: (name, hwaccel, hardware).</summary>
    internal static (string Name, string? Hwaccel, bool Hardware)[] Candidates(VideoCodec codec) => codec switch
    {
        VideoCodec.H264 => [("h264_v4l2m2m", null, true), ("h264", "vaapi", true), ("h264", null, false)],
        VideoCodec.Vp8 => [("vp8_v4l2m2m", null, true), ("vp8", "vaapi", true), ("vp8", null, false), ("libvpx", null, false)],
        _ => throw new ArgumentOutOfRangeException(nameof(codec)),
    };

    /// <summary>
    /// Probes the candidates in order (V4L2 M2M, VAAPI hwaccel, software) and opens the first that works; hardware
    /// candidates must also decode a test keyframe (made with the software encoder) before they are chosen.
    /// </summary>
    public static VideoDecoder Create(VideoCodec codec, bool preferHardware = true, string? vaapiDevice = null)
    {
        FFmpeg.EnsureSupported();
        var why = new StringBuilder();
        foreach (var (name, hwaccel, hw) in Candidates(codec))
        {
            var label = hwaccel is null ? name : $"{name}+{hwaccel}";
            if (hw && !preferHardware)
            {
                why.Append(why.Length > 0 ? "; " : "").Append(label).Append(": hardware not wanted");
                continue;
            }

            var opened = TryCandidate(codec, name, hwaccel, hw, vaapiDevice, why.ToString(), out var problem);
            if (opened is not null)
            {
                return opened;
            }

            why.Append(why.Length > 0 ? "; " : "").Append(label).Append(": ").Append(problem);
        }

        throw new MediaUnavailableException($"no {codec} decoder could be opened: {why}");
    }

    /// <summary>
    /// Opens one candidate: a hardware one must also decode a test keyframe (and, with an hwaccel, deliver it from a
    /// GPU surface). Returns null with the reason when it does not work here.
    /// </summary>
    internal static VideoDecoder? TryCandidate(VideoCodec codec, string name, string? hwaccel, bool hw, string? vaapiDevice, string notChosen, out string problem)
    {
        var d = new VideoDecoder(codec, name, hw, "");
        var p = d.TryOpen(hwaccel, vaapiDevice);
        if (p is null && hw)
        {
            p = d.TestDecode();
            if (p is null)
            {
                d.Close();
                p = d.TryOpen(hwaccel, vaapiDevice); // start the real stream from a fresh decoder
            }
        }

        if (p is not null)
        {
            d.Dispose();
            problem = p;
            return null;
        }

        var what = hwaccel is null ? name : $"{name} with {hwaccel} hwaccel on {d._device!.Path ?? "the default device"}";
        var text = $"{codec} decoder: {what} ({(hw ? "hardware" : "software")})" + (notChosen.Length > 0 ? "; not chosen: " + notChosen : "");
        var opened = new VideoDecoder(codec, name, hw, text)
        {
            _ctx = d._ctx,
            _frame = d._frame,
            _packet = d._packet,
            _device = d._device,
            _hwFormat = d._hwFormat,
            Hwaccel = hwaccel,
        };
        d._ctx = null;
        d._frame = null;
        d._packet = null;
        d._device = null;
        problem = "";
        return opened;
    }

    /// <summary>A decoder for camera MJPEG (UVC): internal to the send pipeline; <see cref="Codec"/> is meaningless for it.</summary>
    internal static VideoDecoder CreateMjpeg()
    {
        FFmpeg.EnsureSupported();
        var d = new VideoDecoder(VideoCodec.H264, "mjpeg", false, "MJPEG capture decoder: mjpeg (software)");
        var problem = d.TryOpen();
        if (problem is not null)
        {
            d.Dispose();
            throw new MediaUnavailableException("mjpeg decoder: " + problem);
        }

        return d;
    }

    private string? TryOpen(string? hwaccel = null, string? vaapiDevice = null)
    {
        var codec = FFmpeg.avcodec_find_decoder_by_name(Name);
        if (codec is null)
        {
            return "not in this libavcodec build";
        }

        if (Name.EndsWith("_v4l2m2m", StringComparison.Ordinal) && VideoEncoder.V4l2Nodes() == 0)
        {
            return "no device node /dev/video* (no V4L2 memory-to-memory codec on this machine)";
        }

        if (hwaccel is not null)
        {
            if (HwLayout.Problem is { } layout)
            {
                return layout;
            }

            if (_device is null)
            {
                _device = HwDevice.TryOpen(hwaccel, hwaccel == "vaapi" ? vaapiDevice ?? VaapiDefaults.RenderNode : null, out var reason);
                if (_device is null)
                {
                    return reason;
                }
            }

            _hwFormat = FFmpeg.av_get_pix_fmt(hwaccel);
        }

        _ctx = FFmpeg.avcodec_alloc_context3(codec);
        if (_ctx is null)
        {
            return "avcodec_alloc_context3 failed";
        }

        FFmpeg.av_opt_set_int(_ctx, "threads", 1, 0); // frame threads add a frame of latency each

        // Fail on bitstream damage instead of concealing it, so the caller drops the frame and asks for a keyframe.
        FFmpeg.av_opt_set(_ctx, "err_detect", "+crccheck+bitstream+buffer+explode", 0);
        if (_device is not null)
        {
            // With a device and FFmpeg's default get_format, the decoder picks the device's surface format
            // (AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) and falls back to software if the hwaccel cannot take the stream.
            HwLayout.SetRef(_ctx, HwLayout.HwDeviceCtxOffset, _device.Ref);
        }

        using var log = FFmpegLog.Capture();
        var r = FFmpeg.avcodec_open2(_ctx, codec, null);
        if (r < 0)
        {
            return log.Explain("open failed", r);
        }

        _frame = FFmpeg.av_frame_alloc();
        _packet = FFmpeg.av_packet_alloc();
        return _frame is null || _packet is null ? "out of memory" : null;
    }

    /// <summary>Decodes a software-encoded test keyframe; null when a picture came out (from a GPU surface for an hwaccel).</summary>
    private string? TestDecode()
    {
        byte[] sample;
        try
        {
            sample = TestStreams.Keyframe(Codec);
        }
        catch (MediaException e)
        {
            return "no test stream to decode: " + e.Message;
        }

        using var log = FFmpegLog.Capture();
        var got = Decode(sample);
        if (Name.EndsWith("_v4l2m2m", StringComparison.Ordinal) && !got && Errors == 0)
        {
            return null; // M2M decoders are pipelined: the frame was accepted and comes out later
        }

        if (!got)
        {
            var said = log.Text;
            return "test decode failed" + (said.Length > 0 ? ": " + said : "");
        }

        if (_device is not null && HardwareFrames == 0)
        {
            var said = log.Text;
            return $"the {_device.Type} hwaccel did not take the stream (FFmpeg fell back to software decoding)" + (said.Length > 0 ? ": " + said : "");
        }

        return null;
    }

    /// <summary>
    /// Decodes one complete frame (an H.264 access unit in Annex B form, or a VP8 frame). Returns true when a
    /// picture came out (then <see cref="Picture"/> holds it), false on corrupt input or when the decoder needs more.
    /// </summary>
    public bool Decode(ReadOnlySpan<byte> frame)
    {
        ObjectDisposedException.ThrowIf(_ctx is null, this);
        if (frame.IsEmpty || frame.Length > 16 << 20)
        {
            Errors++;
            return false;
        }

        EnsureInput(frame.Length);
        frame.CopyTo(new Span<byte>(_input, frame.Length));
        new Span<byte>(_input + frame.Length, FFmpeg.AV_INPUT_BUFFER_PADDING_SIZE).Clear();
        _packet->Data = _input;
        _packet->Size = frame.Length;
        var r = FFmpeg.avcodec_send_packet(_ctx, _packet);
        _packet->Data = null;
        _packet->Size = 0;
        if (r < 0 && r != FFmpeg.AVERROR_EAGAIN)
        {
            Errors++;
            return false;
        }

        var got = false;
        while (true)
        {
            r = FFmpeg.avcodec_receive_frame(_ctx, _frame);
            if (r < 0)
            {
                if (r != FFmpeg.AVERROR_EAGAIN && r != FFmpeg.AVERROR_EOF)
                {
                    Errors++;
                }

                return got;
            }

            got |= _hwFormat != FFmpeg.AV_PIX_FMT_NONE && _frame->Format == _hwFormat ? Download() && Convert(_download) : Convert(_frame);
            FFmpeg.av_frame_unref(_frame);
        }
    }

    /// <summary>Forgets decoder state (after loss, before the next keyframe).</summary>
    public void Reset()
    {
        if (_ctx is not null)
        {
            FFmpeg.avcodec_flush_buffers(_ctx);
        }
    }

    /// <summary>Copies the decoded GPU surface into the reusable NV12 frame (allocated again only when the size changes).</summary>
    private bool Download()
    {
        int w = _frame->Width, h = _frame->Height;
        if (_download is null || _download->Width != w || _download->Height != h)
        {
            FreeDownload();
            _download = FFmpeg.av_frame_alloc();
            if (_download is null)
            {
                Errors++;
                return false;
            }

            _download->Width = w;
            _download->Height = h;
            _download->Format = AVPixelFormat.NV12;
            if (FFmpeg.av_frame_get_buffer(_download, 32) < 0)
            {
                FreeDownload();
                Errors++;
                return false;
            }
        }

        if (FFmpeg.av_frame_make_writable(_download) < 0 || FFmpeg.av_hwframe_transfer_data(_download, _frame, 0) < 0)
        {
            Errors++;
            return false;
        }

        HardwareFrames++;
        return true;
    }

    private void FreeDownload()
    {
        if (_download is not null)
        {
            var f = _download;
            FFmpeg.av_frame_free(&f);
            _download = null;
        }
    }

    private bool Convert(AVFrameHead* frame)
    {
        int w = frame->Width, h = frame->Height;
        if (w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension)
        {
            Errors++;
            return false;
        }

        var size = w * h * 3 / 2;
        if (_i420.Length < size + 256)
        {
            // Only when the picture grows; padded because swscale's SIMD stores may run past the last row.
            _i420 = GC.AllocateUninitializedArray<byte>(size + 256);
        }

        Width = w & ~1;
        Height = h & ~1;
        fixed (byte* dst = _i420)
        {
            if (frame->Format is AVPixelFormat.YUV420P or AVPixelFormat.YUVJ420P)
            {
                int cw = Width / 2, ch = Height / 2;
                CopyPlaneOut(frame->Plane(0), frame->Linesize[0], dst, Width, Height);
                CopyPlaneOut(frame->Plane(1), frame->Linesize[1], dst + (Width * Height), cw, ch);
                CopyPlaneOut(frame->Plane(2), frame->Linesize[2], dst + (Width * Height) + (cw * ch), cw, ch);
                return true;
            }

            // Hardware decoders hand out NV12 and friends: let swscale convert.
            if (_sws is null || _swsW != w || _swsH != h || _swsFormat != frame->Format)
            {
                FFmpeg.sws_freeContext(_sws);
                _sws = FFmpeg.sws_getContext(w, h, frame->Format, Width, Height, AVPixelFormat.YUV420P, FFmpeg.SWS_POINT, null, null, null);
                (_swsW, _swsH, _swsFormat) = (w, h, frame->Format);
                if (_sws is null)
                {
                    Errors++;
                    return false;
                }
            }

            var dstPlanes = stackalloc byte*[4] { dst, dst + (Width * Height), dst + (Width * Height * 5 / 4), null };
            var dstStrides = stackalloc int[4] { Width, Width / 2, Width / 2, 0 };
            var srcPlanes = stackalloc byte*[4] { frame->Plane(0), frame->Plane(1), frame->Plane(2), frame->Plane(3) };
            return FFmpeg.sws_scale(_sws, srcPlanes, frame->Linesize, 0, h, dstPlanes, dstStrides) > 0;
        }
    }

    private static void CopyPlaneOut(byte* src, int stride, byte* dst, int width, int height)
    {
        for (var row = 0; row < height; row++)
        {
            new ReadOnlySpan<byte>(src + ((long)row * stride), width).CopyTo(new Span<byte>(dst + ((long)row * width), width));
        }
    }

    private void EnsureInput(int length)
    {
        if (length + FFmpeg.AV_INPUT_BUFFER_PADDING_SIZE <= _inputCapacity)
        {
            return;
        }

        FFmpeg.av_free(_input);
        _inputCapacity = Math.Max(length + FFmpeg.AV_INPUT_BUFFER_PADDING_SIZE, 256 << 10);
        _input = (byte*)FFmpeg.av_malloc((nuint)_inputCapacity);
        if (_input is null)
        {
            _inputCapacity = 0;
            throw new MediaException("av_malloc failed");
        }
    }

    private void Close() => CodecHandles.Free(ref _ctx, ref _frame, ref _packet);

    public void Dispose()
    {
        Close();
        FreeDownload();
        _device?.Dispose();
        _device = null;

        FFmpeg.sws_freeContext(_sws);
        _sws = null;
        FFmpeg.av_free(_input);
        _input = null;
        _inputCapacity = 0;
    }
}
