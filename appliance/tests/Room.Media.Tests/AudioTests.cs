using Room.Media.Audio;
using Xunit.Abstractions;

namespace Room.Media.Tests;

public class AudioTests(ITestOutputHelper log)
{
    /// <summary>Speech-like: a voiced source with a wandering pitch, formant-ish harmonics and a syllable envelope, plus unvoiced bursts.</summary>
    internal static short[] SpeechLike(int samples, int seed, double level = 8000)
    {
        var rng = new Random(seed);
        var o = new short[samples];
        double phase = 0;
        for (var i = 0; i < samples; i++)
        {
            var t = i / 48000.0;
            var pitch = 120 + (40 * Math.Sin(2 * Math.PI * 0.7 * t)) + (20 * Math.Sin(2 * Math.PI * 2.3 * t));
            phase += 2 * Math.PI * pitch / 48000;
            double v = 0;
            for (var h = 1; h <= 12; h++)
            {
                var f = h * pitch;
                var formant = Math.Exp(-Math.Pow((f - 700) / 300, 2)) + (0.6 * Math.Exp(-Math.Pow((f - 1200) / 400, 2))) + 0.1;
                v += formant * Math.Sin(h * phase) / h;
            }

            var syllable = Math.Max(0, Math.Sin(2 * Math.PI * 3.1 * t));
            var unvoiced = Math.Sin(2 * Math.PI * 0.9 * t) > 0.8 ? (rng.NextDouble() - 0.5) * 0.6 : 0;
            o[i] = (short)Math.Clamp(level * ((v * syllable) + unvoiced), -32000, 32000);
        }

        return o;
    }

    private static double Energy(ReadOnlySpan<short> s)
    {
        double e = 0;
        foreach (var x in s)
        {
            e += (double)x * x;
        }

        return e;
    }

    /// <summary>Level in dB of each 5 ms block, from <paramref name="lag"/> on.</summary>
    private static double[] Envelope(short[] x, int lag, int blocks)
    {
        var e = new double[blocks];
        for (var b = 0; b < blocks; b++)
        {
            e[b] = 10 * Math.Log10(1 + (Energy(x.AsSpan(lag + (b * 240), 240)) / 240));
        }

        return e;
    }

    /// <summary>Opus is perceptual, not waveform-matching: compare 5 ms level envelopes (dB) at the codec delay.</summary>
    private static double EnvelopeError(short[] reference, short[] decoded, IEnumerable<int> blocks)
    {
        const int OpusDelay = 312; // 6.5 ms decoder delay at 48 kHz
        var n = (reference.Length - OpusDelay) / 240;
        var a = Envelope(reference, 0, n);
        var b = Envelope(decoded, OpusDelay, n);
        return blocks.Where(i => i < n && a[i] > 50).Average(i => Math.Abs(a[i] - b[i])); // where there is signal (RMS > ~300)
    }

    [Theory]
    [InlineData(OpusBackend.Auto)]
    [InlineData(OpusBackend.Concentus)]
    public void Opus_round_trip_preserves_speech_like_audio(OpusBackend backend)
    {
        var input = SpeechLike(48000, 1);
        using var enc = new OpusAudioEncoder(bitrate: 64000, backend: backend);
        using var dec = new OpusAudioDecoder(backend);
        Assert.Contains(backend == OpusBackend.Concentus ? "Concentus" : "libopus", enc.Backend, StringComparison.Ordinal);
        var output = new short[input.Length];
        var packet = new byte[AudioFormat.MaxPacketSize];
        for (var off = 0; off < input.Length; off += AudioFormat.FrameSamples)
        {
            var n = enc.Encode(input.AsSpan(off, AudioFormat.FrameSamples), packet);
            Assert.InRange(n, 1, AudioFormat.MaxPacketSize);
            Assert.True(Rtp.OpusPacketizer.FrameCount(packet.AsSpan(0, n)) >= 1);
            Assert.Equal(AudioFormat.FrameSamples, dec.Decode(packet.AsSpan(0, n), output.AsSpan(off, AudioFormat.FrameSamples)));
        }

        var err = EnvelopeError(input, output, Enumerable.Range(20, 170));
        log.WriteLine($"Opus {backend}: mean level error {err:F2} dB per 5 ms block");
        Assert.True(err < 3, $"Opus round trip: mean level error {err:F2} dB per 5 ms block");
        Assert.Equal(0, dec.Errors);
    }

    [Theory]
    [InlineData(OpusBackend.Auto)]
    [InlineData(OpusBackend.Concentus)]
    public void Opus_fec_recovers_a_lost_packet_better_than_concealment_and_dtx_shrinks_silence(OpusBackend backend)
    {
        var input = SpeechLike(48000, 2);
        using var enc = new OpusAudioEncoder(bitrate: 32000, expectedLossPercent: 20, backend: backend);
        var packets = new List<byte[]>();
        var buf = new byte[AudioFormat.MaxPacketSize];
        for (var off = 0; off < input.Length; off += AudioFormat.FrameSamples)
        {
            var n = enc.Encode(input.AsSpan(off, AudioFormat.FrameSamples), buf);
            packets.Add(buf.AsSpan(0, n).ToArray());
        }

        double Run(bool useFec)
        {
            using var dec = new OpusAudioDecoder(backend);
            var outp = new short[input.Length];
            for (var i = 0; i < packets.Count; i++)
            {
                var dst = outp.AsSpan(i * AudioFormat.FrameSamples, AudioFormat.FrameSamples);
                if (i % 5 == 3)
                {
                    dec.DecodeLost(useFec ? packets[i + 1] : [], dst);
                }
                else
                {
                    dec.Decode(packets[i], dst);
                }
            }

            return EnvelopeError(input, outp, Enumerable.Range(0, packets.Count).Where(i => i % 5 == 3).SelectMany(i => Enumerable.Range(i * 4, 4)));
        }

        var fec = Run(true);
        var plc = Run(false);
        log.WriteLine($"Opus {backend}: level error on lost frames FEC {fec:F2} dB, PLC {plc:F2} dB");
        Assert.True(fec < plc, $"level error on lost frames: FEC {fec:F2} dB vs PLC {plc:F2} dB");

        var silence = new short[AudioFormat.FrameSamples];
        var sizes = new List<int>();
        for (var i = 0; i < 50; i++)
        {
            sizes.Add(enc.Encode(silence, buf));
        }

        Assert.True(sizes.Skip(20).Average() < 4, "DTX should send tiny packets in silence");
    }

    [Theory]
    [InlineData(OpusBackend.Auto)]
    [InlineData(OpusBackend.Concentus)]
    public void Opus_decoder_survives_garbage_packets(OpusBackend backend)
    {
        using var dec = new OpusAudioDecoder(backend);
        var rng = new Random(77);
        var pcm = new short[AudioFormat.FrameSamples * 6];
        for (var i = 0; i < 500; i++)
        {
            var junk = new byte[rng.Next(0, 1500)];
            rng.NextBytes(junk);
            var n = dec.Decode(junk, pcm);
            Assert.InRange(n, 0, pcm.Length);
        }
    }

    [Fact]
    public void Echo_canceller_reaches_20_dB_erle_on_a_synthetic_room()
    {
        const int Rate = 48000;
        var seconds = 8;
        var far = SpeechLike(Rate * seconds, 3, 6000);

        // Room impulse response: 2 ms acoustic delay, a few early reflections, exponentially decaying diffuse tail.
        var rng = new Random(5);
        var rir = new double[1440];
        rir[96] = 0.6;
        rir[300] = -0.25;
        rir[520] = 0.18;
        for (var i = 96; i < rir.Length; i++)
        {
            rir[i] += 0.08 * (rng.NextDouble() - 0.5) * Math.Exp(-(i - 96) / 250.0);
        }

        var echo = new double[far.Length];
        var taps = new List<int>();
        for (var k = 0; k < rir.Length; k++)
        {
            if (rir[k] != 0)
            {
                taps.Add(k);
            }
        }

        for (var n = 0; n < far.Length; n++)
        {
            double acc = 0;
            foreach (var k in taps)
            {
                if (n >= k)
                {
                    acc += rir[k] * far[n - k];
                }
            }

            echo[n] = acc;
        }

        // Near-end talker in the last 2 s (double talk), about 6 dB under the echo.
        var near = SpeechLike(far.Length, 21, 2500);
        var nearStart = Rate * 6;
        var mic = new short[far.Length];
        for (var n = 0; n < far.Length; n++)
        {
            var noise = 20 * (rng.NextDouble() - 0.5); // near-end noise about 40 dB under the echo
            var talk = n >= nearStart ? near[n] : 0;
            mic[n] = (short)Math.Clamp(echo[n] + noise + talk, -32768, 32767);
        }

        using var aec = new AudioProcessor(new AudioProcessorOptions { EchoTail = TimeSpan.FromMilliseconds(60) });
        var outp = new short[far.Length];
        for (var off = 0; off < far.Length; off += AudioFormat.FrameSamples)
        {
            aec.Process(mic.AsSpan(off, AudioFormat.FrameSamples), far.AsSpan(off, AudioFormat.FrameSamples), outp.AsSpan(off, AudioFormat.FrameSamples));
        }

        var from = Rate * 4; // after convergence, far end only
        var erle = 10 * Math.Log10(Energy(mic.AsSpan(from, nearStart - from)) / Math.Max(1, Energy(outp.AsSpan(from, nearStart - from))));
        var kept = 10 * Math.Log10(Energy(outp.AsSpan(nearStart)) / Energy(near.AsSpan(nearStart)));
        log.WriteLine($"ERLE {erle:F1} dB (far end only, after 4 s); near-end speech level through the canceller during double talk {kept:+0.0;-0.0} dB");
        Assert.True(erle >= 20, $"ERLE {erle:F1} dB");
        Assert.True(kept > -12, $"the near-end talker was suppressed by {-kept:F1} dB");
    }

    [Fact]
    public void Delay_and_sum_beamformer_gains_snr_towards_the_steered_direction()
    {
        const int Channels = 4;
        var delays = DelayAndSumBeamformer.LinearArrayDelays(Channels, 0.05, 30);
        Assert.Equal(4, delays.Length);
        Assert.True(delays[3] > delays[0]);
        var maxD = delays.Max();
        var source = SpeechLike(48000, 9, 4000);
        var rng = new Random(11);
        var frames = source.Length;
        var interleaved = new short[frames * Channels];
        for (var n = 0; n < frames; n++)
        {
            for (var c = 0; c < Channels; c++)
            {
                // The wavefront reaches mic c (maxD - delays[c]) samples late, so delaying by delays[c] aligns all.
                var idx = n - (maxD - delays[c]);
                var s = idx >= 0 ? source[idx] : 0;
                interleaved[(n * Channels) + c] = (short)Math.Clamp(s + (1500 * (rng.NextDouble() - 0.5) * 2), -32768, 32767);
            }
        }

        var bf = new DelayAndSumBeamformer(delays);
        var mono = new short[frames];
        for (var off = 0; off < frames; off += 960)
        {
            bf.Process(interleaved.AsSpan(off * Channels, 960 * Channels), mono.AsSpan(off, 960));
        }

        double Snr(Func<int, short> get)
        {
            double sig = 0, err = 0;
            for (var n = 2000; n < frames; n++)
            {
                var reference = source[n - maxD];
                double d = get(n) - reference;
                sig += (double)reference * reference;
                err += d * d;
            }

            return 10 * Math.Log10(sig / err);
        }

        var single = Snr(n => interleaved[(n - delays[0] + (maxD - delays[0]) - (maxD - delays[0])) * Channels]);
        var singleAligned = Snr(n => interleaved[((n - delays[0]) * Channels) + 0]);
        var beam = Snr(n => mono[n]);
        log.WriteLine($"beamformer SNR {beam:F1} dB vs one mic {singleAligned:F1} dB");
        Assert.True(beam > singleAligned + 4.5, $"beam {beam:F1} dB vs one mic {singleAligned:F1} dB ({single:F1})");
    }
}
