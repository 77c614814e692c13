using Room.Devices;
using Room.Devices.Audio;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// Mixer volume and mute through Room.Devices on snd-dummy (snd-aloop has no mixer), each read back through
/// libasound's control interface (<see cref="AlsaControl"/>), not through the simple mixer Room.Devices uses.
/// snd-dummy's controls: "Master Volume" (-50..100, no direction: the simple mixer offers it as playback volume),
/// "Mic Volume" with "Mic Capture Switch" (the capture switch a microphone mute reaches); no playback switch.
/// </summary>
public static class MixerChecks
{
    /// <summary>snd-dummy's card id.</summary>
    public const string Card = "Dummy";

    /// <summary>The raw value Room.Devices' percent maps to on a control of range min..max.</summary>
    public static long Expected(long min, long max, int percent) => min + (long)Math.Round((max - min) * percent / 100.0);

    public static async Task<string> VolumeAndMuteAsync(IDeviceProvider provider, bool inLab, CancellationToken ct)
    {
        static bool OnDummy(IDevice d) => d.Id.StartsWith($"alsa:{Card}:", StringComparison.Ordinal);
        var speaker = provider.Speakers.OfType<AlsaSpeaker>().FirstOrDefault(OnDummy);
        var mic = provider.Microphones.OfType<AlsaMicrophone>().FirstOrDefault(OnDummy);
        if (speaker is null || mic is null)
        {
            var seen = string.Join(", ", provider.Speakers.Select(s => s.Id).Concat(provider.Microphones.Select(m => m.Id)));
            return inLab ? throw new InvalidOperationException($"no snd-dummy speaker and microphone among {seen}") : throw new SkipException("no snd-dummy card on this box (a real card's mixer is not changed by the suite)");
        }

        using var ctl = AlsaControl.TryOpen(speaker.CardControl) ?? throw new InvalidOperationException($"snd_ctl_open({speaker.CardControl}) failed");
        var volumes = new List<string>();
        foreach (var percent in new[] { 30, 75, 0, 100 })
        {
            await speaker.SetVolumeAsync(percent, ct).ConfigureAwait(false);
            var (values, min, max) = ctl.Read("Master Volume");
            var want = Expected(min, max, percent);
            Expect.True(values.Length > 0 && values.All(v => v == want), $"speaker volume {percent} %: card's Master Volume reads {string.Join("/", values)}, expected {want} (range {min}..{max})");
            volumes.Add($"{percent}%->{values[0]}");
        }

        // Unmute first: the dummy card starts with its capture switches off, so each step is a change.
        var mutes = new List<string>();
        foreach (var muted in new[] { false, true, false })
        {
            Expect.True(mic.SetHardwareMute(muted), $"Room.Devices found no capture switch on {mic.CardControl} (mute {muted})");
            var (values, _, _) = ctl.Read("Mic Capture Switch");
            var want = muted ? 0 : 1;
            Expect.True(values.Length > 0 && values.All(v => v == want), $"microphone mute {muted}: card's Mic Capture Switch reads {string.Join("/", values)}, expected {want}");
            mutes.Add($"{(muted ? "muted" : "unmuted")}->{values[0]}");
        }

        return $"{speaker.Id}: Master Volume {string.Join(", ", volumes)}; {mic.Id}: Mic Capture Switch {string.Join(", ", mutes)} (read back with snd_ctl_elem_read)";
    }
}
