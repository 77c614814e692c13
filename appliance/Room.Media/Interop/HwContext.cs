namespace Room.Media.Interop;

/// <summary>
/// The three struct fields hardware coding needs that FFmpeg's option API does not reach: AVCodecContext.hw_device_ctx,
/// AVCodecContext.hw_frames_ctx and the parameter fields of AVHWFramesContext. Their offsets are not hard-coded: they
/// are derived from option offsets of neighbouring fields and then proven on the loaded libraries at first use —
/// FFmpeg itself must release a buffer reference planted at the derived codec-context offset, and a freshly allocated
/// AVHWFramesContext must hold our device at the derived offsets. If a proof fails the hardware paths are refused
/// with <see cref="Problem"/>; nothing is written at an unproven offset except into a scratch context that is then
/// freed, and only where that field reads zero.
/// </summary>
internal static unsafe class HwLayout
{
    private static readonly Lazy<(int Device, int Frames, string? Problem)> s_codec = new(FindCodecOffsets);

    /// <summary>Null when the AVCodecContext offsets were found and proven, else why not.</summary>
    public static string? Problem => FFmpeg.Problem ?? s_codec.Value.Problem;

    public static int HwDeviceCtxOffset => s_codec.Value.Device;

    public static int HwFramesCtxOffset => s_codec.Value.Frames;

    /// <summary>A one-line account of what was found, for the report.</summary>
    public static string Describe() => Problem ?? $"AVCodecContext.hw_device_ctx at +{HwDeviceCtxOffset}, hw_frames_ctx at +{HwFramesCtxOffset} (proven on the loaded libavcodec)";

    /// <summary>Gives the codec context a new reference to <paramref name="bufferRef"/> in the field at <paramref name="offset"/>.</summary>
    public static void SetRef(void* ctx, int offset, void* bufferRef)
    {
        var field = (void**)((byte*)ctx + offset);
        if (*field is not null)
        {
            FFmpeg.av_buffer_unref(field);
        }

        *field = FFmpeg.av_buffer_ref(bufferRef);
        if (*field is null)
        {
            throw new MediaException("av_buffer_ref failed");
        }
    }

    private static (int, int, string?) FindCodecOffsets()
    {
        if (FFmpeg.Problem is { } p)
        {
            return (-1, -1, p);
        }

        var scratch = FFmpeg.avcodec_alloc_context3(null);
        int flags, maxPixels;
        try
        {
            flags = FFmpeg.OptionOffset(scratch, "hwaccel_flags");
            maxPixels = FFmpeg.OptionOffset(scratch, "max_pixels");
        }
        finally
        {
            FFmpeg.avcodec_free_context(&scratch);
        }

        if (flags <= IntPtr.Size || maxPixels <= 0)
        {
            return (-1, -1, "AVCodecContext layout not recognised (no hwaccel_flags/max_pixels option)");
        }

        // hw_device_ctx sits right before hwaccel_flags in every libavcodec this binding accepts (59..61).
        var device = flags - IntPtr.Size;
        if (!ReleasedByFree(device))
        {
            return (-1, -1, $"AVCodecContext layout not recognised: the field before hwaccel_flags (+{device}) is not a buffer reference FFmpeg releases");
        }

        // hw_frames_ctx: directly before hw_device_ctx in newer libavcodec; in 59/60 it is followed by
        // [sub_text_format,] trailing_padding and max_pixels instead.
        foreach (var frames in new[] { device - IntPtr.Size, maxPixels - 16, maxPixels - 12, maxPixels - 8 })
        {
            if (frames > 0 && frames != device && ReleasedByFree(frames))
            {
                return (device, frames, null);
            }
        }

        return (-1, -1, "AVCodecContext layout not recognised: hw_frames_ctx not found");
    }

    /// <summary>True when a buffer reference stored at <paramref name="offset"/> of a fresh context is released by avcodec_free_context.</summary>
    private static bool ReleasedByFree(int offset)
    {
        var ctx = FFmpeg.avcodec_alloc_context3(null);
        var field = (void**)((byte*)ctx + offset);
        if (*field is not null)
        {
            FFmpeg.avcodec_free_context(&ctx);
            return false; // a default-initialised field that is not zero is not an unset buffer reference
        }

        var buf = FFmpeg.av_buffer_alloc(16);
        *field = FFmpeg.av_buffer_ref(buf);
        FFmpeg.avcodec_free_context(&ctx);
        var count = FFmpeg.av_buffer_get_ref_count(buf);
        FFmpeg.av_buffer_unref(&buf);
        return count == 1;
    }

    /// <summary>
    /// Finds the parameter fields of a freshly allocated AVHWFramesContext (<paramref name="framesRef"/>, from
    /// av_hwframe_ctx_alloc on <paramref name="deviceRef"/>): its device_ref and device_ctx must both lead to our
    /// device (at pointer index 2 with the old `internal` field, 1 without), the pool must be unset, and the five ints
    /// after it must read 0, NONE, NONE, 0, 0. Returns the byte offset of initial_pool_size, or -1.
    /// </summary>
    public static int FramesParamsOffset(void* framesRef, void* deviceRef)
    {
        var frames = (void**)FFmpeg.BufferData(framesRef);
        var device = FFmpeg.BufferData(deviceRef);
        foreach (var i in new[] { 1, 2 })
        {
            if (frames[0] is null || FFmpeg.BufferData(frames[i]) != device || frames[i + 1] != device || frames[i + 5] is not null)
            {
                continue;
            }

            var ints = (int*)(frames + i + 6);
            if (ints[0] == 0 && ints[1] == FFmpeg.AV_PIX_FMT_NONE && ints[2] == FFmpeg.AV_PIX_FMT_NONE && ints[3] == 0 && ints[4] == 0)
            {
                return (i + 6) * IntPtr.Size;
            }
        }

        return -1;
    }
}

/// <summary>Where VAAPI is looked for unless <see cref="MediaHardware.VaapiDevice"/> or the codec's options say otherwise.</summary>
internal static class VaapiDefaults
{
    /// <summary>The first GPU's render node.</summary>
    public const string DefaultRenderNode = "/dev/dri/renderD128";

    public static string RenderNode => MediaHardware.VaapiDevice;
}

/// <summary>A hardware device (AVHWDeviceContext reference) of one type, e.g. VAAPI on a DRM render node.</summary>
internal sealed unsafe class HwDevice : IDisposable
{
    private void* _ref;

    private HwDevice(string type, string? path, void* reference)
    {
        Type = type;
        Path = path;
        _ref = reference;
    }

    public string Type { get; }

    public string? Path { get; }

    public void* Ref => _ref;

    /// <summary>Opens the device, or returns null with a reason naming what is missing (library support, node, driver).</summary>
    public static HwDevice? TryOpen(string type, string? path, out string reason)
    {
        FFmpeg.EnsureSupported();
        reason = "";
        var id = FFmpeg.av_hwdevice_find_type_by_name(type);
        if (id == FFmpeg.AV_HWDEVICE_TYPE_NONE || id < 0)
        {
            reason = $"this libavutil has no {type} support";
            return null;
        }

        if (path is not null && !File.Exists(path))
        {
            reason = $"no device node {path}";
            return null;
        }

        using var log = FFmpegLog.Capture();
        void* dev = null;
        int r;
        if (path is null)
        {
            r = FFmpeg.av_hwdevice_ctx_create(&dev, id, null, null, 0);
        }
        else
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* p = bytes)
            {
                r = FFmpeg.av_hwdevice_ctx_create(&dev, id, p, null, 0);
            }
        }

        if (r < 0)
        {
            reason = log.Explain($"{type} device {path ?? "(default)"} did not open", r);
            return null;
        }

        return new HwDevice(type, path, dev);
    }

    public void Dispose()
    {
        if (_ref is not null)
        {
            var r = _ref;
            FFmpeg.av_buffer_unref(&r);
            _ref = null;
        }
    }
}

/// <summary>
/// A pool of hardware frames (AVHWFramesContext) of one size and software format on a <see cref="HwDevice"/>, and the
/// two transfers the pipelines need: I420 from the camera up into a pooled surface (encoders), and a decoded surface
/// down into a reusable software frame (decoders). After <see cref="Create"/> nothing is allocated per frame: surfaces
/// come from the fixed pool, the software frame is allocated once.
/// </summary>
internal sealed unsafe class HwFrames : IDisposable
{
    private void* _ref;
    private AVFrameHead* _sw;
    private AVFrameHead* _hw;

    private HwFrames(void* reference, int width, int height, int swFormat)
    {
        _ref = reference;
        Width = width;
        Height = height;
        SwFormat = swFormat;
    }

    public void* Ref => _ref;

    public int Width { get; }

    public int Height { get; }

    public int SwFormat { get; }

    /// <summary>The hardware frame last filled by <see cref="Upload"/> (valid until the next call).</summary>
    public AVFrameHead* Current => _hw;

    /// <summary>Creates and initialises the pool, or returns null with a reason.</summary>
    public static HwFrames? TryCreate(HwDevice device, int hwFormat, int swFormat, int width, int height, int poolSize, out string reason)
    {
        reason = "";
        var frames = FFmpeg.av_hwframe_ctx_alloc(device.Ref);
        if (frames is null)
        {
            reason = "av_hwframe_ctx_alloc failed";
            return null;
        }

        var at = HwLayout.FramesParamsOffset(frames, device.Ref);
        if (at < 0)
        {
            FFmpeg.av_buffer_unref(&frames);
            reason = "AVHWFramesContext layout not recognised in this libavutil (refusing to write its fields)";
            return null;
        }

        var ints = (int*)((byte*)FFmpeg.BufferData(frames) + at);
        ints[0] = poolSize; // initial_pool_size
        ints[1] = hwFormat; // format
        ints[2] = swFormat; // sw_format
        ints[3] = width;
        ints[4] = height;
        using var log = FFmpegLog.Capture();
        var r = FFmpeg.av_hwframe_ctx_init(frames);
        if (r < 0)
        {
            reason = log.Explain($"{device.Type} frame pool ({width}x{height}) could not be created", r);
            FFmpeg.av_buffer_unref(&frames);
            return null;
        }

        var pool = new HwFrames(frames, width, height, swFormat);
        pool._sw = FFmpeg.av_frame_alloc();
        pool._hw = FFmpeg.av_frame_alloc();
        if (pool._sw is null || pool._hw is null)
        {
            pool.Dispose();
            reason = "out of memory";
            return null;
        }

        pool._sw->Width = width;
        pool._sw->Height = height;
        pool._sw->Format = swFormat;
        r = FFmpeg.av_frame_get_buffer(pool._sw, 32);
        if (r < 0)
        {
            pool.Dispose();
            reason = "av_frame_get_buffer: " + FFmpeg.ErrorText(r);
            return null;
        }

        return pool;
    }

    /// <summary>Converts an I420 picture of the pool's size to the software format and uploads it into a pooled surface (<see cref="Current"/>).</summary>
    public void Upload(ReadOnlySpan<byte> i420)
    {
        FFmpeg.Check(FFmpeg.av_frame_make_writable(_sw), "av_frame_make_writable");
        if (SwFormat == AVPixelFormat.NV12)
        {
            PixelCopy.I420ToNv12(i420, _sw, Width, Height);
        }
        else
        {
            VideoEncoder.CopyI420In(i420, _sw, Width, Height);
        }

        FFmpeg.av_frame_unref(_hw);
        FFmpeg.Check(FFmpeg.av_hwframe_get_buffer(_ref, _hw, 0), "av_hwframe_get_buffer");
        FFmpeg.Check(FFmpeg.av_hwframe_transfer_data(_hw, _sw, 0), "av_hwframe_transfer_data (upload)");
    }

    /// <summary>Downloads the current hardware frame into the software frame and returns it (pool's size and format).</summary>
    public AVFrameHead* DownloadCurrent()
    {
        FFmpeg.Check(FFmpeg.av_frame_make_writable(_sw), "av_frame_make_writable");
        FFmpeg.Check(FFmpeg.av_hwframe_transfer_data(_sw, _hw, 0), "av_hwframe_transfer_data (download)");
        return _sw;
    }

    public void Dispose()
    {
        if (_sw is not null)
        {
            var f = _sw;
            FFmpeg.av_frame_free(&f);
            _sw = null;
        }

        if (_hw is not null)
        {
            var f = _hw;
            FFmpeg.av_frame_free(&f);
            _hw = null;
        }

        if (_ref is not null)
        {
            var r = _ref;
            FFmpeg.av_buffer_unref(&r);
            _ref = null;
        }
    }
}

/// <summary>Plane copies between tightly packed I420 and FFmpeg frames.</summary>
internal static unsafe class PixelCopy
{
    /// <summary>I420 (tightly packed) into an NV12 frame: Y copied row by row, U and V interleaved.</summary>
    public static void I420ToNv12(ReadOnlySpan<byte> i420, AVFrameHead* frame, int width, int height)
    {
        var ySize = width * height;
        int cw = width / 2, ch = height / 2;
        var y = frame->Plane(0);
        var uv = frame->Plane(1);
        int ys = frame->Linesize[0], uvs = frame->Linesize[1];
        for (var row = 0; row < height; row++)
        {
            i420.Slice(row * width, width).CopyTo(new Span<byte>(y + ((long)row * ys), width));
        }

        var u = i420.Slice(ySize, cw * ch);
        var v = i420.Slice(ySize + (cw * ch), cw * ch);
        for (var row = 0; row < ch; row++)
        {
            var dst = uv + ((long)row * uvs);
            var ur = u.Slice(row * cw, cw);
            var vr = v.Slice(row * cw, cw);
            for (var x = 0; x < cw; x++)
            {
                dst[2 * x] = ur[x];
                dst[(2 * x) + 1] = vr[x];
            }
        }
    }
}
