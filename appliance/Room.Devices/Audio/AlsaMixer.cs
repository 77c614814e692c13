using System.Runtime.InteropServices;
using Room.Devices.Interop;

namespace Room.Devices.Audio;

/// <summary>
/// A simple-mixer control of a card ("Master", "PCM", "Capture", ...): volume in percent of its range, and mute
/// through its switch.
/// </summary>
public sealed class AlsaMixer : IDisposable
{
    private nint _mixer;
    private readonly nint _elem;

    private AlsaMixer(nint mixer, nint elem, string control, bool capture)
    {
        _mixer = mixer;
        _elem = elem;
        Control = control;
        Capture = capture;
    }

    public string Control { get; }

    public bool Capture { get; }

    /// <summary>
    /// Opens the first control in <paramref name="candidates"/> that has a volume for the direction, on card
    /// "hw:N"/"hw:CARD=id"; null when the card has none (many USB mics, snd-aloop).
    /// </summary>
    public static AlsaMixer? TryOpen(string card, bool capture, params string[] candidates)
    {
        try
        {
            if (Alsa.MixerOpen(out var mixer, 0) < 0)
            {
                return null;
            }

            if (Alsa.MixerAttach(mixer, card) < 0 || Alsa.MixerSelemRegister(mixer, 0, 0) < 0 || Alsa.MixerLoad(mixer) < 0)
            {
                _ = Alsa.MixerClose(mixer);
                return null;
            }

            foreach (var name in candidates)
            {
                for (var e = Alsa.MixerFirstElem(mixer); e != 0; e = Alsa.MixerElemNext(e))
                {
                    var has = capture ? Alsa.SelemHasCaptureVolume(e) : Alsa.SelemHasPlaybackVolume(e);
                    if (has != 0 && Marshal.PtrToStringUTF8(Alsa.SelemGetName(e)) == name)
                    {
                        return new AlsaMixer(mixer, e, name, capture);
                    }
                }
            }

            _ = Alsa.MixerClose(mixer);
            return null;
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Sets the volume 0..100 % of the control's range; false when the card refused.</summary>
    public bool SetVolume(int percent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        _ = Handle;
        nint min, max;
        var err = Capture ? Alsa.SelemGetCaptureVolumeRange(_elem, out min, out max) : Alsa.SelemGetPlaybackVolumeRange(_elem, out min, out max);
        if (err < 0 || max < min)
        {
            return false;
        }

        var value = min + (nint)Math.Round((max - min) * percent / 100.0);
        return (Capture ? Alsa.SelemSetCaptureVolumeAll(_elem, value) : Alsa.SelemSetPlaybackVolumeAll(_elem, value)) >= 0;
    }

    /// <summary>Mutes (switch off) or unmutes; false when the control has no switch.</summary>
    public bool SetMute(bool muted)
    {
        _ = Handle;
        if (Capture)
        {
            return Alsa.SelemHasCaptureSwitch(_elem) != 0 && Alsa.SelemSetCaptureSwitchAll(_elem, muted ? 0 : 1) >= 0;
        }

        return Alsa.SelemHasPlaybackSwitch(_elem) != 0 && Alsa.SelemSetPlaybackSwitchAll(_elem, muted ? 0 : 1) >= 0;
    }

    public void Dispose()
    {
        var m = Interlocked.Exchange(ref _mixer, 0);
        if (m != 0)
        {
            _ = Alsa.MixerClose(m);
        }
    }

    private nint Handle => _mixer != 0 ? _mixer : throw new ObjectDisposedException(nameof(AlsaMixer));
}
