using System.Runtime.InteropServices;

namespace Room.Media.Interop;

/// <summary>The speexdsp calls used for echo cancellation, noise suppression and gain control (libspeexdsp1).</summary>
internal static unsafe partial class Speex
{
    public const string Library = "speexdsp";

    public const int SPEEX_ECHO_SET_SAMPLING_RATE = 24;
    public const int SPEEX_PREPROCESS_SET_DENOISE = 0;
    public const int SPEEX_PREPROCESS_SET_AGC = 2;
    public const int SPEEX_PREPROCESS_SET_VAD = 4;
    public const int SPEEX_PREPROCESS_SET_AGC_LEVEL = 6;
    public const int SPEEX_PREPROCESS_SET_DEREVERB = 8;
    public const int SPEEX_PREPROCESS_SET_NOISE_SUPPRESS = 18;
    public const int SPEEX_PREPROCESS_SET_ECHO_SUPPRESS = 20;
    public const int SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE = 22;
    public const int SPEEX_PREPROCESS_SET_ECHO_STATE = 24;

    static Speex()
    {
        // FFmpeg's static constructor installs the assembly's import resolver (one per assembly).
        _ = FFmpeg.AV_LOG_QUIET;
        RuntimeHelpers_Touch();
    }

    private static void RuntimeHelpers_Touch() => System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(FFmpeg).TypeHandle);

    public static void EnsureLoaded()
    {
        try
        {
            var st = speex_echo_state_init(160, 1024);
            speex_echo_state_destroy(st);
        }
        catch (DllNotFoundException e)
        {
            throw new MediaUnavailableException("libspeexdsp not found (install libspeexdsp1): " + e.Message, e);
        }
    }

    [LibraryImport(Library)] internal static partial void* speex_echo_state_init(int frameSize, int filterLength);
    [LibraryImport(Library)] internal static partial void speex_echo_state_destroy(void* st);
    [LibraryImport(Library)] internal static partial void speex_echo_state_reset(void* st);
    [LibraryImport(Library)] internal static partial void speex_echo_cancellation(void* st, short* rec, short* play, short* output);
    [LibraryImport(Library)] internal static partial void speex_echo_capture(void* st, short* rec, short* output);
    [LibraryImport(Library)] internal static partial void speex_echo_playback(void* st, short* play);
    [LibraryImport(Library)] internal static partial int speex_echo_ctl(void* st, int request, void* ptr);
    [LibraryImport(Library)] internal static partial void* speex_preprocess_state_init(int frameSize, int samplingRate);
    [LibraryImport(Library)] internal static partial void speex_preprocess_state_destroy(void* st);
    [LibraryImport(Library)] internal static partial int speex_preprocess_run(void* st, short* x);
    [LibraryImport(Library)] internal static partial int speex_preprocess_ctl(void* st, int request, void* ptr);
    [LibraryImport(Library)] internal static partial void* speex_resampler_init(uint channels, uint inRate, uint outRate, int quality, int* err);
    [LibraryImport(Library)] internal static partial void speex_resampler_destroy(void* st);
    [LibraryImport(Library)] internal static partial int speex_resampler_process_interleaved_int(void* st, short* input, uint* inLen, short* output, uint* outLen);
    [LibraryImport(Library)] internal static partial int speex_resampler_get_output_latency(void* st);
    [LibraryImport(Library)] internal static partial byte* speex_resampler_strerror(int err);
}
