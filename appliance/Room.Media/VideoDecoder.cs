using System.Text;
using Room.Media.Interop;

namespace Room.Media;

/// <summary>
/// An H.264 or VP8 decoder over libavcodec (V4L2 M2M hardware where it opens, else the software decoder).
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

    private VideoDecoder(VideoCodec codec, string name, bool hardware, string description)
    {
        Codec = codec;
        Name = name;
        IsHardware = hardware;
        Description = description;
    }

    public VideoCodec Codec { get; }

    public string Name { get; }

    public bool IsHardware { get; }

    public string Description { get; }

    public int Width { get; private set; }

    public int Height { get; private set; }

    /// <summary>The last decoded picture, tightly packed I420 (Width x Height).</summary>
    public ReadOnlySpan<byte> Picture => _i420.AsSpan(0, Width * Height * 3 / 2);

    /// <summary>Decode errors seen (corrupt or undecodable input).</summary>
    public long Errors { get; private set; }

    public static VideoDecoder Create(VideoCodec codec, bool preferHardware = true)
    {
        FFmpeg.EnsureSupported();
        var names = codec switch
        {
            VideoCodec.H264 => new[] { ("h264_v4l2m2m", true), ("h264", false) },
            VideoCodec.Vp8 => new[] { ("vp8_v4l2m2m", true), ("vp8", false), ("libvpx", false) },
            _ => throw new ArgumentOutOfRangeException(nameof(codec)),
        };
        var why = new StringBuilder();
        foreach (var (name, hw) in names)
        {
            if (hw && !preferHardware)
            {
                continue;
            }

            var d = new VideoDecoder(codec, name, hw, "");
            var problem = d.TryOpen();
            if (problem is null)
            {
                var text = $"{codec} decoder: {name} ({(hw ? "hardware" : "software")})" + (why.Length > 0 ? "; not chosen: " + why : "");
                var opened = new VideoDecoder(codec, name, hw, text) { _ctx = d._ctx, _frame = d._frame, _packet = d._packet };
                d._ctx = null;
                d._frame = null;
                d._packet = null;
                return opened;
            }

            d.Dispose();
            why.Append(why.Length > 0 ? "; " : "").Append(name).Append(": ").Append(problem);
        }

        throw new MediaUnavailableException($"no {codec} decoder could be opened: {why}");
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

    private string? TryOpen()
    {
        var codec = FFmpeg.avcodec_find_decoder_by_name(Name);
        if (codec is null)
        {
            return "not in this libavcodec build";
        }

        if (IsHardware && !Directory.EnumerateFiles("/dev", "video*").Any())
        {
            return "no V4L2 memory-to-memory device (/dev/video*)";
        }

        _ctx = FFmpeg.avcodec_alloc_context3(codec);
        if (_ctx is null)
        {
            return "avcodec_alloc_context3 failed";
        }

        FFmpeg.av_opt_set_int(_ctx, "threads", 1, 0); // frame threads add a frame of latency each

        // Fail on bitstream damage instead of concealing it, so the caller drops the frame and asks for a keyframe.
        FFmpeg.av_opt_set(_ctx, "err_detect", "+crccheck+bitstream+buffer+explode", 0);
        var r = FFmpeg.avcodec_open2(_ctx, codec, null);
        if (r < 0)
        {
            return "open failed: " + FFmpeg.ErrorText(r);
        }

        _frame = FFmpeg.av_frame_alloc();
        _packet = FFmpeg.av_packet_alloc();
        return _frame is null || _packet is null ? "out of memory" : null;
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

            got |= Convert();
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

    private bool Convert()
    {
        int w = _frame->Width, h = _frame->Height;
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
            if (_frame->Format is AVPixelFormat.YUV420P or AVPixelFormat.YUVJ420P)
            {
                int cw = Width / 2, ch = Height / 2;
                CopyPlaneOut(_frame->Plane(0), _frame->Linesize[0], dst, Width, Height);
                CopyPlaneOut(_frame->Plane(1), _frame->Linesize[1], dst + (Width * Height), cw, ch);
                CopyPlaneOut(_frame->Plane(2), _frame->Linesize[2], dst + (Width * Height) + (cw * ch), cw, ch);
                return true;
            }

            // Hardware decoders hand out NV12 and friends: let swscale convert.
            if (_sws is null || _swsW != w || _swsH != h || _swsFormat != _frame->Format)
            {
                FFmpeg.sws_freeContext(_sws);
                _sws = FFmpeg.sws_getContext(w, h, _frame->Format, Width, Height, AVPixelFormat.YUV420P, FFmpeg.SWS_POINT, null, null, null);
                (_swsW, _swsH, _swsFormat) = (w, h, _frame->Format);
                if (_sws is null)
                {
                    Errors++;
                    return false;
                }
            }

            var dstPlanes = stackalloc byte*[4] { dst, dst + (Width * Height), dst + (Width * Height * 5 / 4), null };
            var dstStrides = stackalloc int[4] { Width, Width / 2, Width / 2, 0 };
            var srcPlanes = stackalloc byte*[4] { _frame->Plane(0), _frame->Plane(1), _frame->Plane(2), _frame->Plane(3) };
            return FFmpeg.sws_scale(_sws, srcPlanes, _frame->Linesize, 0, h, dstPlanes, dstStrides) > 0;
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

    public void Dispose()
    {
        CodecHandles.Free(ref _ctx, ref _frame, ref _packet);

        FFmpeg.sws_freeContext(_sws);
        _sws = null;
        FFmpeg.av_free(_input);
        _input = null;
        _inputCapacity = 0;
    }
}
