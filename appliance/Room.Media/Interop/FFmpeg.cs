using System.Reflection;
using System.Runtime.InteropServices;

namespace Room.Media.Interop;

/// <summary>
/// The minimal binding to the OS's FFmpeg (libavcodec, libavutil, libswscale). Codec parameters go through the
/// AVOptions API (av_opt_set*); the struct fields read or written directly are the long-stable leading fields of
/// AVFrame and AVPacket (see <see cref="AVFrameHead"/>, <see cref="AVPacketHead"/>), which have kept their layout
/// across the library majors accepted by <see cref="EnsureSupported"/>, AVBufferRef.data and AVOption.offset, and
/// the hardware-context fields whose offsets <see cref="HwLayout"/> derives and proves on the loaded libraries.
/// </summary>
internal static unsafe partial class FFmpeg
{
    private const string AvCodec = "avcodec";
    private const string AvUtil = "avutil";
    private const string SwScale = "swscale";

    /// <summary>Library majors whose AVFrame/AVPacket head layout this binding has been checked against (FFmpeg 5.1 .. 7.x).</summary>
    private static readonly int[] KnownAvCodec = [59, 60, 61];
    private static readonly int[] KnownAvUtil = [57, 58, 59];
    private static readonly int[] KnownSwScale = [6, 7, 8];

    public const int AVERROR_EAGAIN = -11;
    public const int AVERROR_EOF = -0x20464F45;
    public const int AV_PKT_FLAG_KEY = 1;
    public const int AV_PICTURE_TYPE_NONE = 0;
    public const int AV_PICTURE_TYPE_I = 1;
    public const int AV_OPT_SEARCH_CHILDREN = 1;
    public const int AV_INPUT_BUFFER_PADDING_SIZE = 64;
    public const int AV_LOG_QUIET = -8;
    public const int AV_LOG_ERROR = 16;
    public const int AV_LOG_WARNING = 24;
    public const int AV_LOG_INFO = 32;
    public const int AV_LOG_VERBOSE = 40;
    public const int AV_PIX_FMT_NONE = -1;
    public const int AV_HWDEVICE_TYPE_NONE = 0;
    public const int SWS_BILINEAR = 2;
    public const int SWS_POINT = 0x10;

    private static readonly Lazy<string?> s_problem = new(Check);

    static FFmpeg()
    {
        NativeLibrary.SetDllImportResolver(typeof(FFmpeg).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        int[]? majors = name switch
        {
            AvCodec => KnownAvCodec,
            AvUtil => KnownAvUtil,
            SwScale => KnownSwScale,
            _ => null,
        };
        if (majors is null)
        {
            var soname = name switch
            {
                Speex.Library => "libspeexdsp.so.1",
                LibOpus.Library => "libopus.so.0",
                _ => null,
            };
            return soname is not null && NativeLibrary.TryLoad(soname, assembly, path, out var s) ? s : IntPtr.Zero;
        }

        foreach (var major in majors)
        {
            if (NativeLibrary.TryLoad($"lib{name}.so.{major}", assembly, path, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    /// <summary>Null when the libraries load and are of a known major version, else why not.</summary>
    public static string? Problem => s_problem.Value;

    /// <summary>Throws <see cref="MediaUnavailableException"/> unless FFmpeg is usable.</summary>
    public static void EnsureSupported()
    {
        if (Problem is { } p)
        {
            throw new MediaUnavailableException(p);
        }
    }

    /// <summary>"avcodec 59.37.100, avutil 57.28.100, swscale 6.7.100".</summary>
    public static string VersionString
    {
        get
        {
            EnsureSupported();
            return $"avcodec {V(avcodec_version())}, avutil {V(avutil_version())}, swscale {V(swscale_version())}";
        }
    }

    private static string V(uint v) => $"{v >> 16}.{(v >> 8) & 0xff}.{v & 0xff}";

    private static string? Check()
    {
        uint codec, util, scale;
        try
        {
            codec = avcodec_version();
            util = avutil_version();
            scale = swscale_version();
        }
        catch (DllNotFoundException e)
        {
            return "FFmpeg libraries not found (install libavcodec59 libavutil57 libswscale6): " + e.Message;
        }
        catch (EntryPointNotFoundException e)
        {
            return "FFmpeg libraries are not usable: " + e.Message;
        }

        if (Array.IndexOf(KnownAvCodec, (int)(codec >> 16)) < 0 || Array.IndexOf(KnownAvUtil, (int)(util >> 16)) < 0
            || Array.IndexOf(KnownSwScale, (int)(scale >> 16)) < 0)
        {
            return $"unsupported FFmpeg library versions avcodec {V(codec)}, avutil {V(util)}, swscale {V(scale)}; " +
                   $"known majors: avcodec {string.Join('/', KnownAvCodec)}, avutil {string.Join('/', KnownAvUtil)}, swscale {string.Join('/', KnownSwScale)}";
        }

        av_log_set_level(AV_LOG_QUIET);
        FFmpegLog.Install();
        return null;
    }

    public static string ErrorText(int err)
    {
        var buf = stackalloc byte[128];
        return av_strerror(err, buf, 128) == 0 ? Marshal.PtrToStringUTF8((IntPtr)buf) ?? $"error {err}" : $"error {err}";
    }

    /// <summary>
    /// The object's option <paramref name="name"/> (AVOption.offset: the field's byte offset in the struct), or -1.
    /// AVOption's head (name, help, offset) has been the same since FFmpeg 0.x.
    /// </summary>
    public static int OptionOffset(void* obj, string name)
    {
        var opt = av_opt_find(obj, name, null, 0, 0);
        return opt is null ? -1 : *(int*)((byte*)opt + (2 * IntPtr.Size));
    }

    /// <summary>AVBufferRef.data (the second field of AVBufferRef, stable since its introduction).</summary>
    public static void* BufferData(void* bufferRef) => bufferRef is null ? null : *(void**)((byte*)bufferRef + IntPtr.Size);

    public static void Check(int err, string what)
    {
        if (err < 0)
        {
            throw new MediaException($"{what}: {ErrorText(err)}");
        }
    }

    // --- libavutil ---
    [LibraryImport(AvUtil)] internal static partial uint avutil_version();
    [LibraryImport(AvUtil)] internal static partial void av_log_set_level(int level);
    [LibraryImport(AvUtil)] internal static partial int av_strerror(int errnum, byte* buf, nuint size);
    [LibraryImport(AvUtil)] internal static partial AVFrameHead* av_frame_alloc();
    [LibraryImport(AvUtil)] internal static partial void av_frame_free(AVFrameHead** frame);
    [LibraryImport(AvUtil)] internal static partial void av_frame_unref(AVFrameHead* frame);
    [LibraryImport(AvUtil)] internal static partial int av_frame_get_buffer(AVFrameHead* frame, int align);
    [LibraryImport(AvUtil)] internal static partial int av_frame_make_writable(AVFrameHead* frame);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_opt_set(void* obj, string name, string val, int searchFlags);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_opt_set_int(void* obj, string name, long val, int searchFlags);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_opt_set_q(void* obj, string name, AVRational val, int searchFlags);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_opt_get_int(void* obj, string name, int searchFlags, long* val);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_opt_get(void* obj, string name, int searchFlags, byte** val);
    [LibraryImport(AvUtil)] internal static partial void* av_malloc(nuint size);
    [LibraryImport(AvUtil)] internal static partial void av_free(void* ptr);
    [LibraryImport(AvUtil)] internal static partial int av_hwdevice_ctx_create(void** deviceCtx, int type, byte* device, void* opts, int flags);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_hwdevice_find_type_by_name(string name);
    [LibraryImport(AvUtil)] internal static partial void av_buffer_unref(void** buf);
    [LibraryImport(AvUtil)] internal static partial void* av_buffer_ref(void* buf);
    [LibraryImport(AvUtil)] internal static partial void* av_buffer_alloc(nuint size);
    [LibraryImport(AvUtil)] internal static partial int av_buffer_get_ref_count(void* buf);
    [LibraryImport(AvUtil)] internal static partial void* av_hwframe_ctx_alloc(void* deviceRef);
    [LibraryImport(AvUtil)] internal static partial int av_hwframe_ctx_init(void* framesRef);
    [LibraryImport(AvUtil)] internal static partial int av_hwframe_get_buffer(void* framesRef, AVFrameHead* frame, int flags);
    [LibraryImport(AvUtil)] internal static partial int av_hwframe_transfer_data(AVFrameHead* dst, AVFrameHead* src, int flags);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial int av_get_pix_fmt(string name);
    [LibraryImport(AvUtil, StringMarshalling = StringMarshalling.Utf8)] internal static partial void* av_opt_find(void* obj, string name, string? unit, int optFlags, int searchFlags);
    [LibraryImport(AvUtil)] internal static partial void av_log_set_callback(delegate* unmanaged<void*, int, byte*, nint, void> callback);
    [LibraryImport(AvUtil)] internal static partial int av_log_format_line2(void* ptr, int level, byte* fmt, nint vl, byte* line, int lineSize, int* printPrefix);

    // --- libavcodec ---
    [LibraryImport(AvCodec)] internal static partial uint avcodec_version();
    [LibraryImport(AvCodec, StringMarshalling = StringMarshalling.Utf8)] internal static partial void* avcodec_find_encoder_by_name(string name);
    [LibraryImport(AvCodec, StringMarshalling = StringMarshalling.Utf8)] internal static partial void* avcodec_find_decoder_by_name(string name);
    [LibraryImport(AvCodec)] internal static partial void* avcodec_alloc_context3(void* codec);
    [LibraryImport(AvCodec)] internal static partial void avcodec_free_context(void** ctx);
    [LibraryImport(AvCodec)] internal static partial int avcodec_open2(void* ctx, void* codec, void** options);
    [LibraryImport(AvCodec)] internal static partial int avcodec_send_frame(void* ctx, AVFrameHead* frame);
    [LibraryImport(AvCodec)] internal static partial int avcodec_receive_packet(void* ctx, AVPacketHead* pkt);
    [LibraryImport(AvCodec)] internal static partial int avcodec_send_packet(void* ctx, AVPacketHead* pkt);
    [LibraryImport(AvCodec)] internal static partial int avcodec_receive_frame(void* ctx, AVFrameHead* frame);
    [LibraryImport(AvCodec)] internal static partial void avcodec_flush_buffers(void* ctx);
    [LibraryImport(AvCodec)] internal static partial AVPacketHead* av_packet_alloc();
    [LibraryImport(AvCodec)] internal static partial void av_packet_free(AVPacketHead** pkt);
    [LibraryImport(AvCodec)] internal static partial void av_packet_unref(AVPacketHead* pkt);

    // --- libswscale ---
    [LibraryImport(SwScale)] internal static partial uint swscale_version();
    [LibraryImport(SwScale)] internal static partial void* sws_getContext(int srcW, int srcH, int srcFormat, int dstW, int dstH, int dstFormat, int flags, void* srcFilter, void* dstFilter, double* param);
    [LibraryImport(SwScale)] internal static partial int sws_scale(void* ctx, byte** srcSlice, int* srcStride, int srcSliceY, int srcSliceH, byte** dst, int* dstStride);
    [LibraryImport(SwScale)] internal static partial void sws_freeContext(void* ctx);
}

[StructLayout(LayoutKind.Sequential)]
internal readonly record struct AVRational(int Num, int Den);

/// <summary>FFmpeg pixel formats used here (values are ABI-stable enum constants).</summary>
internal static class AVPixelFormat
{
    public const int YUV420P = 0;
    public const int YUYV422 = 1;
    public const int RGB24 = 2;
    public const int YUVJ420P = 12;
    public const int NV12 = 23;
    public const int RGBA = 26;
}

/// <summary>The leading fields of AVFrame, unchanged since FFmpeg 1.x (data, linesize, extended_data, width..pict_type, sar, pts).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct AVFrameHead
{
    public fixed ulong Data[8];
    public fixed int Linesize[8];
    public byte** ExtendedData;
    public int Width;
    public int Height;
    public int NbSamples;
    public int Format;
    public int KeyFrame;
    public int PictType;
    public AVRational SampleAspectRatio;
    public long Pts;

    public readonly byte* Plane(int i) => (byte*)Data[i];
}

/// <summary>The leading fields of AVPacket, unchanged since FFmpeg 4.x.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct AVPacketHead
{
    public void* Buf;
    public long Pts;
    public long Dts;
    public byte* Data;
    public int Size;
    public int StreamIndex;
    public int Flags;
}
