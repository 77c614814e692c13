using System.Runtime.InteropServices;

namespace Room.Devices.Interop;

/// <summary>libasound (ALSA library) entry points for PCM and simple-mixer use.</summary>
internal static unsafe partial class Alsa
{
    private const string Lib = "libasound.so.2";

    public const int StreamPlayback = 0;
    public const int StreamCapture = 1;
    public const int FormatS16Le = 2;
    public const int FormatS32Le = 10;
    public const int AccessRwInterleaved = 3;

    [LibraryImport(Lib, EntryPoint = "snd_pcm_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PcmOpen(out nint pcm, string name, int stream, int mode);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_open_lconf", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PcmOpenLconf(out nint pcm, string name, int stream, int mode, nint config);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_set_params")]
    public static partial int PcmSetParams(nint pcm, int format, int access, uint channels, uint rate, int softResample, uint latencyUs);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_get_params")]
    public static partial int PcmGetParams(nint pcm, out nuint bufferSize, out nuint periodSize);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_readi")]
    public static partial nint PcmReadi(nint pcm, void* buffer, nuint frames);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_writei")]
    public static partial nint PcmWritei(nint pcm, void* buffer, nuint frames);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_recover")]
    public static partial int PcmRecover(nint pcm, int err, int silent);

    public const int ModeNonBlock = 1;

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_malloc")]
    public static partial int HwParamsMalloc(out nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_free")]
    public static partial void HwParamsFree(nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_any")]
    public static partial int HwParamsAny(nint pcm, nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_get_channels_max")]
    public static partial int HwParamsGetChannelsMax(nint parameters, out uint channels);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_access")]
    public static partial int HwParamsSetAccess(nint pcm, nint parameters, int access);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_format")]
    public static partial int HwParamsSetFormat(nint pcm, nint parameters, int format);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_channels")]
    public static partial int HwParamsSetChannels(nint pcm, nint parameters, uint channels);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_rate")]
    public static partial int HwParamsSetRate(nint pcm, nint parameters, uint rate, int dir);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_rate_near")]
    public static partial int HwParamsSetRateNear(nint pcm, nint parameters, ref uint rate, ref int dir);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_period_size_near")]
    public static partial int HwParamsSetPeriodSizeNear(nint pcm, nint parameters, ref nuint frames, ref int dir);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params_set_buffer_size_near")]
    public static partial int HwParamsSetBufferSizeNear(nint pcm, nint parameters, ref nuint frames);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_hw_params")]
    public static partial int HwParamsInstall(nint pcm, nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_sw_params_malloc")]
    public static partial int SwParamsMalloc(out nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_sw_params_free")]
    public static partial void SwParamsFree(nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_sw_params_current")]
    public static partial int SwParamsCurrent(nint pcm, nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_sw_params_set_start_threshold")]
    public static partial int SwParamsSetStartThreshold(nint pcm, nint parameters, nuint frames);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_sw_params_set_avail_min")]
    public static partial int SwParamsSetAvailMin(nint pcm, nint parameters, nuint frames);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_sw_params")]
    public static partial int SwParamsInstall(nint pcm, nint parameters);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_start")]
    public static partial int PcmStart(nint pcm);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_state")]
    public static partial int PcmState(nint pcm);

    public const int StatePrepared = 2;
    public const int StateDisconnected = 8;
    public const int StateRunning = 3;

    [LibraryImport(Lib, EntryPoint = "snd_pcm_avail_update")]
    public static partial nint PcmAvailUpdate(nint pcm);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_wait")]
    public static partial int PcmWait(nint pcm, int timeoutMs);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_delay")]
    public static partial int PcmDelay(nint pcm, out nint delayFrames);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_drain")]
    public static partial int PcmDrain(nint pcm);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_drop")]
    public static partial int PcmDrop(nint pcm);

    [LibraryImport(Lib, EntryPoint = "snd_pcm_close")]
    public static partial int PcmClose(nint pcm);

    [LibraryImport(Lib, EntryPoint = "snd_strerror")]
    public static partial nint StrError(int err);

    [LibraryImport(Lib, EntryPoint = "snd_config_top")]
    public static partial int ConfigTop(out nint config);

    [LibraryImport(Lib, EntryPoint = "snd_config_load")]
    public static partial int ConfigLoad(nint config, nint input);

    [LibraryImport(Lib, EntryPoint = "snd_config_delete")]
    public static partial int ConfigDelete(nint config);

    [LibraryImport(Lib, EntryPoint = "snd_input_buffer_open")]
    public static partial int InputBufferOpen(out nint input, byte* buffer, nint size);

    [LibraryImport(Lib, EntryPoint = "snd_input_close")]
    public static partial int InputClose(nint input);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_open")]
    public static partial int MixerOpen(out nint mixer, int mode);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_attach", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MixerAttach(nint mixer, string name);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_register")]
    public static partial int MixerSelemRegister(nint mixer, nint options, nint classp);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_load")]
    public static partial int MixerLoad(nint mixer);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_close")]
    public static partial int MixerClose(nint mixer);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_first_elem")]
    public static partial nint MixerFirstElem(nint mixer);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_elem_next")]
    public static partial nint MixerElemNext(nint elem);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_get_name")]
    public static partial nint SelemGetName(nint elem);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_has_playback_volume")]
    public static partial int SelemHasPlaybackVolume(nint elem);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_has_capture_volume")]
    public static partial int SelemHasCaptureVolume(nint elem);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_has_playback_switch")]
    public static partial int SelemHasPlaybackSwitch(nint elem);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_has_capture_switch")]
    public static partial int SelemHasCaptureSwitch(nint elem);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_get_playback_volume_range")]
    public static partial int SelemGetPlaybackVolumeRange(nint elem, out nint min, out nint max);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_get_capture_volume_range")]
    public static partial int SelemGetCaptureVolumeRange(nint elem, out nint min, out nint max);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_set_playback_volume_all")]
    public static partial int SelemSetPlaybackVolumeAll(nint elem, nint value);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_set_capture_volume_all")]
    public static partial int SelemSetCaptureVolumeAll(nint elem, nint value);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_set_playback_switch_all")]
    public static partial int SelemSetPlaybackSwitchAll(nint elem, int value);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_set_capture_switch_all")]
    public static partial int SelemSetCaptureSwitchAll(nint elem, int value);

    [LibraryImport(Lib, EntryPoint = "snd_mixer_selem_get_playback_volume")]
    public static partial int SelemGetPlaybackVolume(nint elem, int channel, out nint value);

    public static string Error(int err) => Marshal.PtrToStringUTF8(StrError(err)) ?? $"error {err}";

    /// <summary>True when libasound can be loaded on this machine.</summary>
    public static bool IsAvailable()
    {
        if (NativeLibrary.TryLoad(Lib, out var h))
        {
            NativeLibrary.Free(h);
            return true;
        }

        return false;
    }
}
