using Room.Devices;
using Room.Devices.Linux;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// Plays a known tone through a USB speaker (in the lab: QEMU's usb-audio, bound by snd-usb-audio) with
/// Room.Devices' ALSA playback. The guest cannot hear it: the lab host checks the tone in QEMU's WAV output.
/// </summary>
public static class UsbSpeakerChecks
{
    /// <summary>The tone the host looks for in the speaker's output (see lab/hw-host-checks.py).</summary>
    public const int ToneHz = 1000;

    public static async Task<string> ToneAsync(IDeviceProvider provider, bool inLab, CancellationToken ct)
    {
        // snd-usb-audio names its cards after the USB product; snd-aloop's are "Loopback".
        static bool IsUsb(ISpeaker s) => !s.Id.Contains("Loopback", StringComparison.OrdinalIgnoreCase)
            && s.Name.Contains("USB", StringComparison.OrdinalIgnoreCase);
        ISpeaker speaker;
        try
        {
            speaker = await Expect.Eventually(() => Task.FromResult(provider.Speakers.FirstOrDefault(IsUsb)), s => s is not null, TimeSpan.FromSeconds(inLab ? 20 : 2), "USB speaker", ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException("no USB speaker");
        }
        catch (TimeoutException) when (!inLab)
        {
            throw new SkipException("no USB speaker on this box");
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"no USB speaker among {string.Join(", ", provider.Speakers.Select(s => $"{s.Id} ({s.Name})"))}; cards: {ReadCards()}");
        }

        var rate = speaker.SampleRate;
        var channels = speaker.Channels;
        // 1 s of tone at half scale, then 0.5 s of silence so the tone drains out of the device's buffers.
        var toneFrames = rate;
        var signal = new short[(toneFrames + (rate / 2)) * channels];
        for (var i = 0; i < toneFrames; i++)
        {
            var v = (short)Math.Round(16384 * Math.Sin(2 * Math.PI * ToneHz * i / rate));
            for (var c = 0; c < channels; c++)
            {
                signal[(i * channels) + c] = v;
            }
        }

        var note = "";
        try
        {
            await PlayAsync(speaker, signal, ct).ConfigureAwait(false);
        }
        catch (DeviceUnavailableException e) when (inLab && provider is LinuxDeviceProvider linux && ReadCards().Contains("USB Audio", StringComparison.Ordinal))
        {
            // ALSA's write returns EIO when the device makes no progress for about one buffer (80 ms here), which QEMU's
            // emulated USB audio does now and then on a starved TCG guest; Room.Devices takes EIO for an unplugged card
            // and marks it missing. The card is still there: rescan (as a hot-plug event would) and play once more.
            // The host's tone check still needs the tone. (Reported: EIO from a stall is not an unplug.)
            note = $"; first attempt failed ({e.Message}) with the card still present, played again after a rescan";
            linux.Rescan();
            speaker = provider.Speakers.First(x => x.Id == speaker.Id);
            await PlayAsync(speaker, signal, ct).ConfigureAwait(false);
        }

        return $"{speaker.Id} ({speaker.Name}): played {ToneHz} Hz for 1 s, {channels} ch at {rate} Hz (xruns {speaker.Describe().Capabilities.GetValueOrDefault("xruns")}); the host checks the tone{note}";
    }

    private static async Task PlayAsync(ISpeaker speaker, short[] signal, CancellationToken ct)
    {
        var playback = await speaker.OpenPlaybackAsync(ct).ConfigureAwait(false);
        await using (playback.ConfigureAwait(false))
        {
            await playback.WriteAsync(signal, ct).ConfigureAwait(false);
        }
    }

    private static string ReadCards()
    {
        try
        {
            return File.ReadAllText("/proc/asound/cards").Replace('\n', ' ');
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }
}
