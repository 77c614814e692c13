using Room.Devices;
using Room.Devices.Audio;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// Plays a different noise burst on each of 8 channels into the loopback speaker and records them from the
/// loopback microphone array: every channel must come back with the same samples (cross-correlation peak of 1
/// at one common lag, and the samples equal there).
/// </summary>
public static class AudioChecks
{
    private const int Channels = 8;

    public static async Task<string> LoopbackAsync(IDeviceProvider provider, bool inLab, CancellationToken ct)
    {
        // snd-aloop: what is played on its device 0 is captured on its device 1.
        static bool Loop(string id, string dev) => id.Contains("Loopback", StringComparison.OrdinalIgnoreCase) && id.EndsWith(dev, StringComparison.Ordinal);
        var speaker = provider.Speakers.FirstOrDefault(s => s.Channels >= Channels && Loop(s.Id, "0"));
        var mic = provider.Microphones.FirstOrDefault(m => m.Channels >= Channels && Loop(m.Id, "1"));
        if (speaker is null || mic is null)
        {
            var seen = $"speakers: {string.Join(", ", provider.Speakers.Select(s => $"{s.Id}/{s.Channels}ch"))}; microphones: {string.Join(", ", provider.Microphones.Select(m => $"{m.Id}/{m.Channels}ch"))}";
            return inLab ? throw new InvalidOperationException("no 8-channel loopback pair: " + seen) : throw new SkipException("no loopback audio on this box (" + seen + ")");
        }

        var rate = speaker.SampleRate;
        var burst = rate / 2;
        var signal = new short[(burst + (rate * 3 / 2)) * Channels]; // burst, then silence so the burst flushes through
        for (var c = 0; c < Channels; c++)
        {
            var x = (uint)(0x9E3779B9 * (c + 1));
            for (var i = 0; i < burst; i++)
            {
                x = (x * 1664525) + 1013904223;
                signal[(i * Channels) + c] = (short)((x >> 16) | 1); // never zero, so the onset is exact
            }
        }

        // Capture first (snd-aloop delivers what is played while both ends run), stop when playback is done.
        var capture = await mic.OpenCaptureAsync(ct).ConfigureAwait(false);
        var recorded = new short[signal.Length / Channels * 2 * mic.Channels];
        var got = 0;
        var playbackDone = false;
        var playbackOpen = false;
        await using (capture.ConfigureAwait(false))
        {
            var reader = Task.Run(async () =>
            {
                var chunk = new short[480 * mic.Channels];
                while (!Volatile.Read(ref playbackDone) && got < recorded.Length / mic.Channels && !ct.IsCancellationRequested)
                {
                    int n;
                    try
                    {
                        n = await capture.ReadAsync(chunk, ct).ConfigureAwait(false);
                    }
                    catch (DeviceUnavailableException) when (Volatile.Read(ref playbackDone))
                    {
                        break; // the loopback stops its capture side when the playback side closes
                    }
                    catch (DeviceUnavailableException e)
                    {
                        throw new InvalidOperationException($"{e.Message} after {got} frames captured; playback {(playbackOpen ? "open" : "not open")}; {Params()}", e);
                    }

                    var frames = Math.Min(n, (recorded.Length / mic.Channels) - got);
                    chunk.AsSpan(0, frames * mic.Channels).CopyTo(recorded.AsSpan(got * mic.Channels));
                    got += frames;
                }
            }, ct);
            // snd-aloop refuses to start a capture that joins a running playback: have the capture running first.
            await Expect.Eventually(() => Task.FromResult(Volatile.Read(ref got) > 0 || reader.IsCompleted), x => x, TimeSpan.FromSeconds(20), "capture running", ct).ConfigureAwait(false);
            if (reader.IsFaulted)
            {
                await reader.ConfigureAwait(false);
            }

            var playback = await speaker.OpenPlaybackAsync(ct).ConfigureAwait(false);
            playbackOpen = true;
            await using (playback.ConfigureAwait(false))
            {
                await playback.WriteAsync(signal, ct).ConfigureAwait(false);
                Volatile.Write(ref playbackDone, true);
            }

            await reader.ConfigureAwait(false);
        }

        var lags = new int[Channels];
        var exact = new bool[Channels];
        int blocks = 0, blocksTotal = 0;
        for (var c = 0; c < Channels; c++)
        {
            var onset = -1;
            for (var i = 0; i < got; i++)
            {
                if (recorded[(i * mic.Channels) + c] != 0)
                {
                    onset = i;
                    break;
                }
            }

            Expect.True(onset >= 0, $"channel {c}: only silence came back");
            // Cross-correlation around the onset: the peak must be at the onset and be a perfect match.
            var best = (Lag: 0, Score: double.MinValue);
            for (var lag = Math.Max(0, onset - 32); lag <= onset + 32; lag++)
            {
                var score = Correlate(signal, recorded, c, mic.Channels, lag, Math.Min(4096, got - lag));
                if (score > best.Score)
                {
                    best = (lag, score);
                }
            }

            Expect.True(best.Lag == onset && best.Score > 0.9999, $"channel {c}: correlation peak {best.Score:0.0000} at lag {best.Lag}, onset {onset}");
            // The samples themselves: every 10 ms block of the burst must come back bit-exact, in order. A guest
            // starved of CPU loses whole periods (xruns: counted and reported). The provider fixes 10 ms periods
            // and a 40 ms buffer, which a TCG guest on a loaded host overruns often: at least half the blocks must
            // come back exact (a 480-sample noise block matching bit for bit is not luck).
            var (found, total) = ExactBlocks(signal, recorded, c, mic.Channels, burst, onset, got);
            Expect.True(found >= total * 0.5, $"channel {c}: only {found} of {total} blocks came back bit-exact (xruns: mic {mic.Describe().Capabilities.GetValueOrDefault("xruns")}, speaker {speaker.Describe().Capabilities.GetValueOrDefault("xruns")})");
            exact[c] = found == total;
            blocks += found;
            blocksTotal += total;
            lags[c] = onset;
        }

        Expect.True(lags.All(l => l == lags[0]), "channels arrived with different delays: " + string.Join(",", lags));
        var xruns = $"xruns mic {mic.Describe().Capabilities.GetValueOrDefault("xruns")} speaker {speaker.Describe().Capabilities.GetValueOrDefault("xruns")}, "
            + $"stalls (ALSA waits that timed out, waited again) mic {mic.Describe().Capabilities.GetValueOrDefault("stalls")} speaker {speaker.Describe().Capabilities.GetValueOrDefault("stalls")}";
        return $"{speaker.Id} -> {mic.Id}: {Channels} channels at {rate} Hz, correlation 1.0 at lag {lags[0]} frames, {blocks} of {blocksTotal} 10 ms blocks bit-exact, {exact.Count(e => e)} of {Channels} channels entirely ({xruns})";
    }

    /// <summary>
    /// A microphone that cannot run at the configured 48 kHz: snd-aloop's capture side must take the rate its
    /// playback side already runs at (44.1 kHz here), so Room.Devices opens it at the nearest rate offered and
    /// says so, and insisting on the exact rate is a clear error.
    /// </summary>
    public static async Task<string> RateFallbackAsync(IDeviceProvider provider, bool inLab, CancellationToken ct)
    {
        var mic = provider.Microphones.OfType<AlsaMicrophone>().FirstOrDefault(m => m.Id.Contains("Loopback", StringComparison.OrdinalIgnoreCase) && m.Id.EndsWith('1'));
        if (mic is null)
        {
            return inLab ? throw new InvalidOperationException("no loopback microphone") : throw new SkipException("no loopback audio on this box");
        }

        // The other end of the cable, held open at 44.1 kHz (hw params installed) while the microphone opens.
        var peerDevice = mic.Settings.Device.Replace("DEV=1", "DEV=0", StringComparison.Ordinal);
        Expect.True(peerDevice != mic.Settings.Device, $"cannot name the loopback's playback side from {mic.Settings.Device}");
        using var peer = AlsaPcm.Open("lab:aloop-peer", new AlsaPcmSettings { Device = peerDevice, Channels = mic.Channels, SampleRate = 44100, NearestRate = false }, capture: false);

        string refused;
        try
        {
            AlsaPcm.Open("lab:exact", mic.Settings with { NearestRate = false }, capture: true).Dispose();
            throw new InvalidOperationException("the loopback accepted 48000 Hz while its peer runs at 44100 Hz: nothing to fall back from");
        }
        catch (DeviceUnavailableException e)
        {
            refused = e.Message;
        }

        var capture = await mic.OpenCaptureAsync(ct).ConfigureAwait(false);
        await using (capture.ConfigureAwait(false))
        {
            Expect.True(capture.SampleRate == 44100, $"capture runs at {capture.SampleRate} Hz, expected the peer's 44100 Hz");
            Expect.True(mic.SampleRate == 48000, $"configured rate {mic.SampleRate}");
            return $"{mic.Id}: configured 48000 Hz, opened at {capture.SampleRate} Hz (peer holds 44100 Hz); exact 48000 Hz refused: {refused}";
        }
    }

    /// <summary>Counts the 480-frame blocks of the burst found bit-exact in the recording, searching forward in order.</summary>
    private static (int Found, int Total) ExactBlocks(short[] signal, short[] recorded, int c, int recChannels, int burst, int onset, int got)
    {
        const int block = 480;
        var total = burst / block;
        var found = 0;
        var at = onset;
        for (var b = 0; b < total; b++)
        {
            var start = b * block;
            for (var pos = at; pos + block <= got; pos++)
            {
                var ok = true;
                for (var i = 0; i < block; i++)
                {
                    if (recorded[((pos + i) * recChannels) + c] != signal[((start + i) * Channels) + c])
                    {
                        ok = false;
                        break;
                    }
                }

                if (ok)
                {
                    found++;
                    at = pos + block;
                    break;
                }
            }
        }

        return (found, total);
    }

    private static string Params()
    {
        var parts = new List<string>();
        foreach (var f in new[] { "/proc/asound/Loopback/pcm0p/sub0/hw_params", "/proc/asound/Loopback/pcm1c/sub0/hw_params", "/proc/asound/Loopback/pcm0p/sub0/status", "/proc/asound/Loopback/pcm1c/sub0/status" })
        {
            try
            {
                parts.Add(f.Split('/')[4] + ": " + File.ReadAllText(f).Replace('\n', ' '));
            }
            catch (IOException e)
            {
                parts.Add(f + ": " + e.Message);
            }
        }

        return string.Join(" / ", parts);
    }

    private static double Correlate(short[] signal, short[] recorded, int c, int recChannels, int lag, int n)
    {
        double xy = 0, xx = 0, yy = 0;
        for (var i = 0; i < n; i++)
        {
            double x = signal[(i * Channels) + c];
            double y = recorded[((lag + i) * recChannels) + c];
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }

        return xx == 0 || yy == 0 ? 0 : xy / Math.Sqrt(xx * yy);
    }
}
