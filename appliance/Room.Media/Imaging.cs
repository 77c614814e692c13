using Room.Media.Interop;

namespace Room.Media;

/// <summary>I420 scaling and conversion (swscale) and JPEG snapshots (libavcodec mjpeg).</summary>
internal sealed unsafe class I420Scaler : IDisposable
{
    private const int Padding = 256;
    private void* _sws;
    private byte* _srcBuffer;
    private byte* _dstBuffer;

    public I420Scaler(int srcWidth, int srcHeight, int srcFormat, int dstWidth, int dstHeight, int dstFormat)
    {
        FFmpeg.EnsureSupported();
        (SrcWidth, SrcHeight, DstWidth, DstHeight, SrcFormat, DstFormat) = (srcWidth, srcHeight, dstWidth, dstHeight, srcFormat, dstFormat);
        _sws = FFmpeg.sws_getContext(srcWidth, srcHeight, srcFormat, dstWidth, dstHeight, dstFormat, FFmpeg.SWS_BILINEAR, null, null, null);
        if (_sws is null)
        {
            throw new MediaException($"swscale cannot convert {srcWidth}x{srcHeight} fmt {srcFormat} to {dstWidth}x{dstHeight} fmt {dstFormat}");
        }

        _srcBuffer = (byte*)FFmpeg.av_malloc((nuint)(Size(srcFormat, srcWidth, srcHeight) + Padding));
        _dstBuffer = (byte*)FFmpeg.av_malloc((nuint)(Size(dstFormat, dstWidth, dstHeight) + Padding));
        if (_srcBuffer is null || _dstBuffer is null)
        {
            Dispose();
            throw new MediaException("av_malloc failed");
        }

        new Span<byte>(_srcBuffer + Size(srcFormat, srcWidth, srcHeight), Padding).Clear();
    }

    public int SrcWidth { get; }

    public int SrcHeight { get; }

    public int DstWidth { get; }

    public int DstHeight { get; }

    public int SrcFormat { get; }

    public int DstFormat { get; }

    /// <summary>
    /// Converts one picture between tightly packed buffers. swscale's SIMD code reads and writes a little past
    /// the end of rows and planes, so the picture goes through padded, aligned native buffers of our own:
    /// a caller's exactly-sized array (say, at the end of a mapped region) is never overrun.
    /// </summary>
    public void Convert(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        ObjectDisposedException.ThrowIf(_sws is null, this);
        var srcSize = Size(SrcFormat, SrcWidth, SrcHeight);
        var dstSize = Size(DstFormat, DstWidth, DstHeight);
        if (src.Length < srcSize || dst.Length < dstSize)
        {
            throw new ArgumentException("buffer too small for the picture");
        }

        src[..srcSize].CopyTo(new Span<byte>(_srcBuffer, srcSize));
        var sp = stackalloc byte*[4];
        var ss = stackalloc int[4];
        var dp = stackalloc byte*[4];
        var ds = stackalloc int[4];
        Planes(SrcFormat, SrcWidth, SrcHeight, _srcBuffer, sp, ss);
        Planes(DstFormat, DstWidth, DstHeight, _dstBuffer, dp, ds);
        if (FFmpeg.sws_scale(_sws, sp, ss, 0, SrcHeight, dp, ds) <= 0)
        {
            throw new MediaException("sws_scale failed");
        }

        new ReadOnlySpan<byte>(_dstBuffer, dstSize).CopyTo(dst);
    }

    public static int Size(int format, int w, int h) => format switch
    {
        AVPixelFormat.RGBA => w * h * 4,
        AVPixelFormat.YUYV422 => w * h * 2,
        AVPixelFormat.RGB24 => w * h * 3,
        _ => w * h * 3 / 2,
    };

    private static void Planes(int format, int w, int h, byte* b, byte** p, int* s)
    {
        p[0] = p[1] = p[2] = p[3] = null;
        s[0] = s[1] = s[2] = s[3] = 0;
        switch (format)
        {
            case AVPixelFormat.RGBA:
                p[0] = b;
                s[0] = w * 4;
                break;
            case AVPixelFormat.RGB24:
                p[0] = b;
                s[0] = w * 3;
                break;
            case AVPixelFormat.YUYV422:
                p[0] = b;
                s[0] = w * 2;
                break;
            case AVPixelFormat.NV12:
                p[0] = b;
                s[0] = w;
                p[1] = b + (w * h);
                s[1] = w;
                break;
            default:
                p[0] = b;
                s[0] = w;
                p[1] = b + (w * h);
                s[1] = w / 2;
                p[2] = b + (w * h) + (w * h / 4);
                s[2] = w / 2;
                break;
        }
    }

    public void Dispose()
    {
        FFmpeg.sws_freeContext(_sws);
        _sws = null;
        FFmpeg.av_free(_srcBuffer);
        _srcBuffer = null;
        FFmpeg.av_free(_dstBuffer);
        _dstBuffer = null;
    }
}

/// <summary>Snapshot helpers for the touch panel's self-view.</summary>
public static unsafe class Snapshot
{
    /// <summary>Converts a tightly packed I420 picture to RGBA (4 bytes a pixel).</summary>
    public static byte[] I420ToRgba(ReadOnlySpan<byte> i420, int width, int height)
    {
        var rgba = new byte[width * height * 4];
        using var s = new I420Scaler(width, height, AVPixelFormat.YUV420P, width, height, AVPixelFormat.RGBA);
        s.Convert(i420, rgba);
        return rgba;
    }

    /// <summary>Encodes a tightly packed I420 picture as a baseline JPEG (quality 1..31, lower is better, FFmpeg qscale).</summary>
    public static byte[] I420ToJpeg(ReadOnlySpan<byte> i420, int width, int height, int qscale = 4)
    {
        FFmpeg.EnsureSupported();
        if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0 || i420.Length < width * height * 3 / 2)
        {
            throw new ArgumentException("not an even-sized I420 picture");
        }

        var codec = FFmpeg.avcodec_find_encoder_by_name("mjpeg");
        if (codec is null)
        {
            throw new MediaUnavailableException("libavcodec has no mjpeg encoder");
        }

        var ctx = FFmpeg.avcodec_alloc_context3(codec);
        var frame = FFmpeg.av_frame_alloc();
        var pkt = FFmpeg.av_packet_alloc();
        try
        {
            var r = FFmpeg.av_opt_set(ctx, "video_size", $"{width}x{height}", 0);
            r |= FFmpeg.av_opt_set(ctx, "pixel_format", "yuvj420p", 0);
            r |= FFmpeg.av_opt_set_q(ctx, "time_base", new AVRational(1, 25), 0);
            r |= FFmpeg.av_opt_set(ctx, "flags", "+qscale", 0);
            r |= FFmpeg.av_opt_set_int(ctx, "global_quality", 118L * Math.Clamp(qscale, 1, 31), 0); // FF_QP2LAMBDA
            FFmpeg.Check(r, "mjpeg options");
            FFmpeg.Check(FFmpeg.avcodec_open2(ctx, codec, null), "mjpeg open");
            frame->Width = width;
            frame->Height = height;
            frame->Format = AVPixelFormat.YUVJ420P;
            FFmpeg.Check(FFmpeg.av_frame_get_buffer(frame, 32), "av_frame_get_buffer");
            VideoEncoder.CopyI420In(i420, frame, width, height);
            frame->Pts = 0;
            frame->PictType = FFmpeg.AV_PICTURE_TYPE_I;
            FFmpeg.Check(FFmpeg.avcodec_send_frame(ctx, frame), "mjpeg encode");
            FFmpeg.Check(FFmpeg.avcodec_send_frame(ctx, null), "mjpeg flush");
            FFmpeg.Check(FFmpeg.avcodec_receive_packet(ctx, pkt), "mjpeg packet");
            return new ReadOnlySpan<byte>(pkt->Data, pkt->Size).ToArray();
        }
        finally
        {
            FFmpeg.av_packet_free(&pkt);
            FFmpeg.av_frame_free(&frame);
            FFmpeg.avcodec_free_context(&ctx);
        }
    }
}
