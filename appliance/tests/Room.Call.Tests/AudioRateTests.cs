using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Xunit.Abstractions;

namespace Room.Call.Tests;

/// <summary>Cards that do not run at 48 kHz (a 44.1 kHz microphone, a 16 kHz speaker) in a call, end to end.</summary>
public sealed class AudioRateTests(ITestOutputHelper log)
{
    /// <summary>A microphone producing a tone in real time at its own rate and channel count.</summary>
    private sealed class ToneMicrophone(int rate, int channels, double hz) : IAudioCapture
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private long _pos;

        public int Channels => channels;

        public int SampleRate => rate;

        public async ValueTask<int> ReadAsync(Memory<short> interleaved, CancellationToken cancellationToken = default)
        {
            int frames = Math.Min(rate / 100, interleaved.Length / channels); // 10 ms periods, like the ALSA layer
            var due = TimeSpan.FromSeconds((double)(_pos + frames) / rate) - _clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken);
            var span = interleaved.Span;
            for (int i = 0; i < frames; i++, _pos++)
            {
                span.Slice(i * channels, channels).Fill((short)(8000 * Math.Sin(2 * Math.PI * hz * _pos / rate)));
            }

            return frames;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A speaker that records what it is given, paced like a device (its write blocks for the audio's length).</summary>
    private sealed class RecordingSpeaker(int rate, int channels) : IAudioPlayback
    {
        private readonly Lock _gate = new();
        private readonly List<short> _first = [];

        public int Channels => channels;

        public int SampleRate => rate;

        public short[] FirstChannel
        {
            get
            {
                lock (_gate) return [.. _first];
            }
        }

        public async ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default)
        {
            if (interleaved.Length % channels != 0) throw new ArgumentException("whole frames only");
            lock (_gate)
            {
                for (int i = 0; i < interleaved.Length; i += channels) _first.Add(interleaved.Span[i]);
            }

            await Task.Delay(TimeSpan.FromSeconds((double)interleaved.Length / channels / rate), cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Frequency from the zero crossings of the loudest stretch (the tone, after the jitter buffer has filled).</summary>
    private static double Frequency(short[] x, int rate)
    {
        var start = Array.FindIndex(x, v => Math.Abs((int)v) > 2000);
        Assert.True(start >= 0, "the speaker played only silence");
        var seg = x.AsSpan(start, Math.Min(rate / 2, x.Length - start));
        int crossings = 0, first = -1, last = -1;
        for (int i = 1; i < seg.Length; i++)
        {
            if (seg[i - 1] < 0 && seg[i] >= 0)
            {
                if (first < 0) first = i;
                last = i;
                crossings++;
            }
        }

        Assert.True(crossings > 10, $"no tone: {crossings} rising zero crossings");
        return (crossings - 1) * (double)rate / (last - first);
    }

    [Fact]
    public async Task A_44_1_kHz_microphone_array_is_heard_on_a_16_kHz_speaker_at_the_right_pitch()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var pair = new LoopbackPair();
        await pair.ConnectAsync(ct);
        var streams = PublishedStreams.CreateRandom();
        using var publisher = new CallPublisher(pair.Sender, streams, new VideoFormat(PixelFormat.I420, 160, 120, 15),
            new PublisherOptions { Video = CallPipelineTests.Small, Encoder = EncoderPreference.SoftwareOnly }, microphoneChannels: 2);
        using var subscriber = new CallSubscriber(pair.Receiver);
        subscriber.SetStreams([new RemoteTrack("0", "audio", 1, streams.AudioSsrc, 0, streams.AudioPayloadType, -1)]);
        var speaker = new RecordingSpeaker(16000, 2);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var send = publisher.RunAudioAsync(new ToneMicrophone(44100, 2, 1000), stop.Token);
        var play = subscriber.RunAsync(speaker, null, stop.Token);
        while (subscriber.AudioFramesDecoded < 60) await Task.Delay(50, ct);
        await Task.Delay(500, ct);
        await stop.CancelAsync();
        await send;
        await play;

        var hz = Frequency(speaker.FirstChannel, 16000);
        log.WriteLine($"44.1 kHz x2 mic -> Opus 48 kHz -> 16 kHz x2 speaker: {subscriber.AudioFramesDecoded} frames decoded, tone at {hz:F1} Hz");
        Assert.InRange(hz, 990, 1010);
    }

    /// <summary>A speaker that fails on its third write, as a card does when it is unplugged.</summary>
    private sealed class FailingSpeaker : IAudioPlayback
    {
        private int _writes;

        public int Channels => 1;

        public int SampleRate => 48000;

        public async ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default)
        {
            if (++_writes == 3) throw new DeviceUnavailableException("alsa:test", "the card went away");
            await Task.Delay(20, cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_speaker_that_goes_away_ends_playback_with_its_error_instead_of_hanging()
    {
        using var pair = new LoopbackPair();
        using var subscriber = new CallSubscriber(pair.Receiver);
        var run = subscriber.RunAsync(new FailingSpeaker(), null, CancellationToken.None);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.Same(run, finished);
        var e = await Assert.ThrowsAsync<DeviceUnavailableException>(() => run);
        Assert.Contains("went away", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_microphone_or_speaker_at_an_absurd_rate_is_refused_with_a_clear_error()
    {
        using var pair = new LoopbackPair();
        var streams = PublishedStreams.CreateRandom();
        using var publisher = new CallPublisher(pair.Sender, streams, new VideoFormat(PixelFormat.I420, 160, 120, 15),
            new PublisherOptions { Video = CallPipelineTests.Small, Encoder = EncoderPreference.SoftwareOnly });
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => publisher.RunAudioAsync(new ToneMicrophone(4000, 1, 100), CancellationToken.None));
        Assert.Contains("capture at 4000 Hz cannot be used", e.Message, StringComparison.Ordinal);

        using var subscriber = new CallSubscriber(pair.Receiver);
        var p = await Assert.ThrowsAsync<NotSupportedException>(() => subscriber.RunAsync(new RecordingSpeaker(1_000_000, 1), null, CancellationToken.None));
        Assert.Contains("playback at 1000000 Hz cannot be used", p.Message, StringComparison.Ordinal);
    }
}
