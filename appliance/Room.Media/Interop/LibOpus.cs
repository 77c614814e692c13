using System.Runtime.InteropServices;

namespace Room.Media.Interop;

/// <summary>
/// The few libopus calls (libopus0) the Opus wrappers use when the library is present: it encodes without
/// managed allocation, where Concentus (the managed fallback) allocates per frame.
/// opus_*_ctl is variadic in C; it is bound with one fixed int argument, which the x86-64 SysV and AArch64
/// calling conventions pass identically for integer arguments.
/// </summary>
internal static unsafe partial class LibOpus
{
    public const string Library = "opus";
    public const int OPUS_APPLICATION_VOIP = 2048;
    public const int OPUS_SET_BITRATE_REQUEST = 4002;
    public const int OPUS_SET_COMPLEXITY_REQUEST = 4010;
    public const int OPUS_SET_INBAND_FEC_REQUEST = 4012;
    public const int OPUS_SET_PACKET_LOSS_PERC_REQUEST = 4014;
    public const int OPUS_SET_DTX_REQUEST = 4016;
    public const int OPUS_SET_SIGNAL_REQUEST = 4024;
    public const int OPUS_SIGNAL_VOICE = 3001;
    public const int OPUS_GET_LOOKAHEAD_REQUEST = 4027;

    private static readonly Lazy<string?> s_version = new(Probe);

    /// <summary>"libopus 1.3.1" when the library loads, else null.</summary>
    public static string? Version => s_version.Value;

    private static string? Probe()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(FFmpeg).TypeHandle); // installs the resolver
        try
        {
            return Marshal.PtrToStringUTF8(opus_get_version_string());
        }
        catch (DllNotFoundException)
        {
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    [LibraryImport(Library)] internal static partial IntPtr opus_get_version_string();
    [LibraryImport(Library)] internal static partial void* opus_encoder_create(int fs, int channels, int application, int* error);
    [LibraryImport(Library)] internal static partial int opus_encode(void* st, short* pcm, int frameSize, byte* data, int maxDataBytes);
    [LibraryImport(Library)] internal static partial int opus_encoder_ctl(void* st, int request, int value);
    /// <summary>The getter form of opus_encoder_ctl (one pointer argument, passed like the int of the setter form).</summary>
    [LibraryImport(Library, EntryPoint = "opus_encoder_ctl")] internal static partial int opus_encoder_ctl_get(void* st, int request, int* value);
    [LibraryImport(Library)] internal static partial void opus_encoder_destroy(void* st);
    [LibraryImport(Library)] internal static partial void* opus_decoder_create(int fs, int channels, int* error);
    [LibraryImport(Library)] internal static partial int opus_decode(void* st, byte* data, int len, short* pcm, int frameSize, int decodeFec);
    [LibraryImport(Library)] internal static partial void opus_decoder_destroy(void* st);
}
