using Microsoft.Extensions.Time.Testing;
using Room.Devices.Simulated;
using Room.Media.Audio;
using Room.Media.Rtp;
using Room.Testing;

namespace Room.Media.Tests;

public class AudioPipelineTests
{
    private sealed class Wire(AudioReceivePipeline receiver, double loss, int seed) : IRtpPacketSink
    {
        private readonly Random _rng = new(seed);
        private byte[]? _held;
        private uint _heldTs;

        public int Dropped { get; private set; }

        public void OnPacket(in RtpPacketView p)
        {
            if (_rng.NextDouble() < loss)
            {
                Dropped++;
                return;
            }

            // Swap some neighbours: reordering.
            if (_held is null && _rng.NextDouble() < 0.1)
            {
                _held = p.Payload.ToArray();
                _heldTs = p.Timestamp;
                return;
            }

            receiver.JitterBuffer.Insert(p.Timestamp, p.Payload);
            if (_held is not null)
            {
                receiver.JitterBuffer.Insert(_heldTs, _held);
                _held = null;
            }
        }
    }

    [Fact]
    public void Audio_send_to_receive_survives_loss_and_reordering_with_fec_and_concealment()
    {
        var time = new FakeTimeProvider();
        var receiver = new AudioReceivePipeline(timeProvider: time);
        var wire = new Wire(receiver, 0.1, 3);
        var sender = new AudioSendPipeline(2, wire, encoder: new OpusAudioEncoder(expectedLossPercent: 15));
        var speech = AudioTests.SpeechLike(48000 * 4, 4);
        var stereo = new short[AudioFormat.FrameSamples * 2];
        var played = new List<short>();
        for (var f = 0; f < speech.Length / AudioFormat.FrameSamples; f++)
        {
            for (var i = 0; i < AudioFormat.FrameSamples; i++)
            {
                stereo[2 * i] = stereo[(2 * i) + 1] = speech[(f * AudioFormat.FrameSamples) + i];
            }

            sender.ProcessFrame(stereo);
            var block = receiver.NextBlock(1);
            time.Advance(TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds));
            played.AddRange(block.ToArray());
        }

        var jb = receiver.JitterBuffer;
        Assert.True(wire.Dropped > 10);
        Assert.True(jb.FramesRecoveredByFec + jb.FramesConcealed >= wire.Dropped / 2, $"fec {jb.FramesRecoveredByFec} plc {jb.FramesConcealed} dropped {wire.Dropped}");
        Assert.True(jb.FramesRecoveredByFec > 0);
        Assert.True(jb.FramesDecoded > 150);
        var energy = played.Skip(48000).Sum(s => (double)s * s) / (played.Count - 48000);
        Assert.True(energy > 1e5, "the speech came through");
    }

    [Fact]
    public void Audio_jitter_buffer_rejects_garbage_and_follows_a_timestamp_jump()
    {
        var time = new FakeTimeProvider();
        var jb = new AudioJitterBuffer(timeProvider: time);
        var rng = new Random(8);
        var pcm = new short[AudioFormat.FrameSamples];
        for (var i = 0; i < 2000; i++)
        {
            var junk = new byte[rng.Next(0, 3000)];
            rng.NextBytes(junk);
            jb.Insert((uint)rng.Next(), junk);
            if (i % 10 == 0)
            {
                jb.ReadFrame(pcm);
                time.Advance(TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds));
            }
        }

        Assert.True(jb.MalformedPackets > 0);
        var enc = new OpusAudioEncoder();
        var packet = new byte[AudioFormat.MaxPacketSize];
        var speech = AudioTests.SpeechLike(AudioFormat.FrameSamples * 20, 6);
        var decodedBefore = jb.FramesDecoded;
        for (var f = 0; f < 20; f++)
        {
            var n = enc.Encode(speech.AsSpan(f * AudioFormat.FrameSamples, AudioFormat.FrameSamples), packet);
            jb.Insert(3_000_000_000u + (uint)(f * AudioFormat.FrameSamples), packet.AsSpan(0, n));
            jb.ReadFrame(pcm);
            time.Advance(TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds));
        }

        Assert.True(jb.FramesDecoded - decodedBefore >= 15);
    }

    [Fact]
    public void Av_sync_holds_video_until_its_audio_plays()
    {
        var sync = new AvSync();
        Assert.Null(sync.VideoDelay(0, 0));
        sync.OnSenderReport(isAudio: true, ntpSeconds: 1000.0, rtpTimestamp: 4_294_000_000u);
        sync.OnSenderReport(isAudio: false, ntpSeconds: 1000.5, rtpTimestamp: 10_000u);

        // Audio now playing: 0.5 s after its report (wrapping past 2^32); video frame captured 0.6 s after the video report.
        var audioTs = unchecked(4_294_000_000u + 24_000u);
        var delay = sync.VideoDelay(10_000u + 54_000u, audioTs);
        Assert.NotNull(delay);
        Assert.Equal(0.6, delay.Value.TotalSeconds, 3);
    }

    [Fact]
    public async Task Simulated_microphone_array_and_speaker_run_through_the_pipelines()
    {
        var mic = new SimulatedMicrophone("mic0", "Array", channels: 4);
        var speaker = new SimulatedSpeaker("spk0", "Speaker");
        await using var capture = await mic.OpenCaptureAsync();
        await using var playback = await speaker.OpenPlaybackAsync();
        using var processor = new AudioProcessor();
        var receiver = new AudioReceivePipeline(processor);
        var sender = new AudioSendPipeline(4, receiver, processor, DelayAndSumBeamformer.LinearArrayDelays(4, 0.04, 0));
        using var cts = new CancellationTokenSource();
        var send = sender.RunAsync(capture, cts.Token);
        var play = receiver.RunAsync(playback, cts.Token);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (receiver.JitterBuffer.FramesDecoded < 10 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await cts.CancelAsync();
        await Task.WhenAll(send, play);
        Assert.True(sender.FramesSent >= 10);
        Assert.True(receiver.JitterBuffer.FramesDecoded >= 10);
    }

    private sealed class Loop(AudioReceivePipeline receiver) : IRtpPacketSink
    {
        public void OnPacket(in RtpPacketView p) => receiver.OnPacket(p);
    }

    [Fact]
    public void Steady_state_audio_send_and_receive_allocate_nothing_per_frame()
    {
        using var processor = new AudioProcessor();
        var time = new FakeTimeProvider();
        var receiver = new AudioReceivePipeline(processor, timeProvider: time);
        var sender = new AudioSendPipeline(4, new Loop(receiver), processor, DelayAndSumBeamformer.LinearArrayDelays(4, 0.04, 20));
        var speech = AudioTests.SpeechLike(AudioFormat.FrameSamples * 100, 12);
        var block = new short[AudioFormat.FrameSamples * 4];
        void Step(int f)
        {
            for (var i = 0; i < AudioFormat.FrameSamples; i++)
            {
                block.AsSpan(i * 4, 4).Fill(speech[(f * AudioFormat.FrameSamples) + i]);
            }

            sender.ProcessFrame(block);
            receiver.NextBlock(2);
            time.Advance(TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds));
        }

        for (var f = 0; f < 50; f++)
        {
            Step(f);
        }

        var before = ThreadAllocations.Start();
        for (var f = 50; f < 100; f++)
        {
            Step(f);
        }

        var perFrame = (ThreadAllocations.Since(before)) / 50.0;
        Assert.True(receiver.JitterBuffer.FramesDecoded > 90);
        Assert.Equal(0, perFrame);
    }
}
