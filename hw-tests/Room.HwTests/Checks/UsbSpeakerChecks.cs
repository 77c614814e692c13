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

        // No second attempt: a stall of QEMU's emulated USB audio on a starved guest (ALSA's EIO after its wait) is
        // waited out by Room.Devices itself (counted as stalls); an error here is a failure.
        await PlayAsync(speaker, signal, ct).ConfigureAwait(false);
        var caps = speaker.Describe().Capabilities;
        return $"{speaker.Id} ({speaker.Name}): played {ToneHz} Hz for 1 s, {channels} ch at {rate} Hz (xruns {caps.GetValueOrDefault("xruns")}, stalls {caps.GetValueOrDefault("stalls")}); the host checks the tone";
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
