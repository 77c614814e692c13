using Room.Devices;
using Room.Media.Audio;
using Room.Media.Rtp;
using Xunit.Abstractions;
using Room.Testing;

namespace Room.Media.Tests;

public class ResamplerTests(ITestOutputHelper log)
{
    private static short[] Tone(int rate, double hz, double seconds, double amplitude = 10000)
    {
        var n = (int)(rate * seconds);
        var x = new short[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = (short)Math.Round(amplitude * Math.Sin(2 * Math.PI * hz * i / rate));
        }

        return x;
    }

    /// <summary>Frequency from the positive-going zero crossings (linearly interpolated) of a steady tone.</summary>
    internal static double Frequency(ReadOnlySpan<short> x, int rate)
    {
        double first = -1, last = -1;
        var count = 0;
        for (var i = 1; i < x.Length; i++)
        {
            if (x[i - 1] < 0 && x[i] >= 0)
            {
                var t = i - 1 + ((double)-x[i - 1] / (x[i] - x[i - 1]));
                if (first < 0)
                {
                    first = t;
                }

                last = t;
                count++;
            }
        }

        return count < 2 ? 0 : (count - 1) * rate / (last - first);
    }

    /// <summary>Largest deviation from the best-fitting sine at <paramref name="hz"/> (least squares), as a fraction of its amplitude.</summary>
    internal static double WorstDeviation(ReadOnlySpan<short> x, int rate, double hz)
    {
        double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
        for (var i = 0; i < x.Length; i++)
        {
            double s = Math.Sin(2 * Math.PI * hz * i / rate), c = Math.Cos(2 * Math.PI * hz * i / rate);
            ss += s * s;
            cc += c * c;
            sc += s * c;
            xs += x[i] * s;
            xc += x[i] * c;
        }

        var det = (ss * cc) - (sc * sc);
        var a = ((xs * cc) - (xc * sc)) / det;
        var b = ((xc * ss) - (xs * sc)) / det;
        var amplitude = Math.Sqrt((a * a) + (b * b));
        var worst = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            var fit = (a * Math.Sin(2 * Math.PI * hz * i / rate)) + (b * Math.Cos(2 * Math.PI * hz * i / rate));
            worst = Math.Max(worst, Math.Abs(x[i] - fit));
        }

        return worst / amplitude;
    }

    [Theory]
    [InlineData(44100)]
    [InlineData(16000)]
    [InlineData(32000)]
    [InlineData(22050)]
    [InlineData(8000)]
    public void A_tone_at_the_device_rate_comes_out_at_48_kHz_with_its_frequency_and_no_clicks_at_block_boundaries(int rate)
    {
        var input = Tone(rate, 1000, 1.0);
        using var blockwise = new AudioResampler(rate, 48000, 1);
        using var whole = new AudioResampler(rate, 48000, 1);

        // Irregular block sizes, like a device returning whatever it has.
        int[] sizes = [441, 123, 1000, 7, 882, 320, 1];
        var output = new List<short>();
        var buffer = new short[blockwise.MaxOutputFrames(1000)];
        var pos = 0;
        var boundaries = new List<int>();
        for (var k = 0; pos < input.Length; k++)
        {
            var n = Math.Min(sizes[k % sizes.Length], input.Length - pos);
            var made = blockwise.Process(input.AsSpan(pos, n), buffer, out var consumed);
            Assert.Equal(n, consumed);
            output.AddRange(buffer.AsSpan(0, made).ToArray());
            boundaries.Add(output.Count);
            pos += n;
        }

        var oneShot = new short[whole.MaxOutputFrames(input.Length)];
        var total = whole.Process(input, oneShot, out var all);
        Assert.Equal(input.Length, all);

        // The block boundaries leave no trace: blockwise output is sample-for-sample the one-shot output.
        Assert.Equal(oneShot.AsSpan(0, total).ToArray(), output.ToArray());

        var latency = blockwise.OutputLatency;
        Assert.InRange(output.Count, 48000 - latency - 2, 48000 + 2);
        var steady = output.ToArray().AsSpan(latency + 480, 48000 - latency - 960);
        var hz = Frequency(steady, 48000);
        var worst = WorstDeviation(steady, 48000, 1000);
        log.WriteLine($"{rate} Hz -> 48 kHz: {output.Count} samples (latency {latency}), tone at {hz:F2} Hz, worst deviation from a pure sine {worst * 100:F3} % of amplitude");
        Assert.InRange(hz, 999.5, 1000.5);
        Assert.True(worst < 0.01, $"worst deviation {worst * 100:F2} % (a click at a block boundary would be far larger)");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-44100)]
    [InlineData(1)]
    [InlineData(7999)]
    [InlineData(192001)]
    [InlineData(int.MaxValue)]
    public void Absurd_sample_rates_are_rejected_with_a_clear_error(int rate)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AudioResampler(rate, 48000, 1));
        Assert.Contains($"sample rate {rate} Hz is not supported", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudioResampler(48000, rate, 1));
    }

    [Fact]
    public void Channel_counts_and_ragged_buffers_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudioResampler(44100, 48000, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AudioResampler(44100, 48000, 33));
        using var r = new AudioResampler(44100, 48000, 2);
        Assert.Throws<ArgumentException>(() => r.Process(new short[3], new short[100], out _));
    }

    private sealed class ToneCapture(int rate, int channels, short[] mono, int chunk, CancellationTokenSource done) : IAudioCapture
    {
        private int _pos;

        public int Channels => channels;

        public int SampleRate => rate;

        public ValueTask<int> ReadAsync(Memory<short> interleaved, CancellationToken cancellationToken = default)
        {
            var frames = Math.Min(Math.Min(chunk, interleaved.Length / channels), mono.Length - _pos);
            if (frames <= 0)
            {
                done.Cancel();
                throw new OperationCanceledException();
            }

            var span = interleaved.Span;
            for (var i = 0; i < frames; i++)
            {
                span.Slice(i * channels, channels).Fill(mono[_pos + i]);
            }

            _pos += frames;
            return ValueTask.FromResult(frames);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Packets : IRtpPacketSink
    {
        public List<byte[]> Payloads { get; } = [];

        public void OnPacket(in RtpPacketView packet) => Payloads.Add(packet.Payload.ToArray());
    }

    [Theory]
    [InlineData(44100, 1)]
    [InlineData(16000, 2)]
    public async Task A_microphone_that_only_offers_another_rate_is_resampled_into_48_kHz_opus(int rate, int channels)
    {
        var tone = Tone(rate, 1000, 2.0);
        using var cts = new CancellationTokenSource();
        var sink = new Packets();
        using var send = new AudioSendPipeline(channels, sink);
        await send.RunAsync(new ToneCapture(rate, channels, tone, rate / 100 + 3, cts), cts.Token);

        // 2 s of capture: 100 blocks of 20 ms, less what is still in the resampler and the part-filled block.
        Assert.InRange(send.FramesSent, 98, 100);
        using var decoder = new OpusAudioDecoder();
        var pcm = new List<short>();
        var block = new short[AudioFormat.FrameSamples * 6];
        foreach (var p in sink.Payloads)
        {
            var n = decoder.Decode(p, block);
            pcm.AddRange(block.AsSpan(0, n).ToArray());
        }

        var steady = pcm.ToArray().AsSpan(48000 / 2, 48000);
        var hz = Frequency(steady, 48000);
        log.WriteLine($"{rate} Hz x{channels} mic -> {send.FramesSent} Opus frames; decoded tone at {hz:F2} Hz");
        Assert.InRange(hz, 998, 1002);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4000)]
    [InlineData(1_000_000)]
    public async Task A_capture_at_an_absurd_rate_is_refused_with_a_clear_error(int rate)
    {
        using var cts = new CancellationTokenSource();
        using var send = new AudioSendPipeline(1, new Packets());
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => send.RunAsync(new ToneCapture(rate, 1, [], 10, cts), cts.Token));
        Assert.Contains($"capture at {rate} Hz cannot be used", e.Message, StringComparison.Ordinal);
    }

    private sealed class Recorder(int rate, int channels, int blocks, CancellationTokenSource done, Action? onWrite = null) : IAudioPlayback
    {
        public List<short> Written { get; } = [];

        public int Channels => channels;

        public int SampleRate => rate;

        public int Writes { get; private set; }

        public ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default)
        {
            Written.AddRange(interleaved.Span.ToArray());
            onWrite?.Invoke();
            if (++Writes == blocks)
            {
                done.Cancel();
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_speaker_at_44_1_kHz_gets_the_48_kHz_stream_resampled_to_its_rate()
    {
        using var encoder = new OpusAudioEncoder();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var receive = new AudioReceivePipeline(timeProvider: time);
        var tone = Tone(48000, 1000, 1.2);
        var packet = new byte[AudioFormat.MaxPacketSize];
        var next = 0;
        void Arrive()
        {
            // One packet per 20 ms played, as from the network in real time.
            var n = encoder.Encode(tone.AsSpan(next * AudioFormat.FrameSamples, AudioFormat.FrameSamples), packet);
            receive.JitterBuffer.Insert((uint)(next * AudioFormat.FrameSamples), packet.AsSpan(0, n));
            next++;
        }

        Arrive();
        Arrive();
        using var cts = new CancellationTokenSource();
        var speaker = new Recorder(44100, 2, 50, cts, () =>
        {
            time.Advance(TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds));
            Arrive();
        });
        await receive.RunAsync(speaker, cts.Token);
        var frames = speaker.Written.Count / 2;
        Assert.InRange(frames, (50 * 882) - 64, 50 * 882); // minus the resampler's start-up delay
        var left = speaker.Written.Where((_, i) => i % 2 == 0).ToArray();
        var right = speaker.Written.Where((_, i) => i % 2 == 1).ToArray();
        Assert.Equal(left, right);
        var hz = Frequency(left.AsSpan(44100 / 4, 44100 / 2), 44100);
        log.WriteLine($"speaker at 44.1 kHz: {frames} frames for 50 blocks, tone at {hz:F2} Hz");
        Assert.InRange(hz, 998, 1002);
    }

    [Fact]
    public async Task A_speaker_at_an_absurd_rate_is_refused_with_a_clear_error()
    {
        using var receive = new AudioReceivePipeline();
        using var cts = new CancellationTokenSource();
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => receive.RunAsync(new Recorder(500_000, 2, 1, cts), cts.Token));
        Assert.Contains("playback at 500000 Hz cannot be used", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Steady_state_resampling_into_48_kHz_blocks_allocates_nothing()
    {
        using var blocker = new ResamplingBlocker(44100, 2, 882);
        var input = new short[882 * 2];
        var counter = new int[1];
        Action<ReadOnlySpan<short>, int[]> count = static (_, c) => c[0]++;
        for (var i = 0; i < 20; i++)
        {
            blocker.Push(input, count, counter);
        }

        counter[0] = 0;
        var before = ThreadAllocations.Start();
        for (var i = 0; i < 100; i++)
        {
            blocker.Push(input, count, counter);
        }

        Assert.Equal(0, ThreadAllocations.Since(before));
        Assert.InRange(counter[0], 99, 101); // 100 reads of 20 ms at 44.1 kHz: 100 blocks of 20 ms at 48 kHz
    }
}
