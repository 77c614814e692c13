using Xunit.Abstractions;

namespace Room.Media.Tests;

public class VideoCodecTests(ITestOutputHelper log)
{
    private sealed class Collect : IEncodedFrameSink
    {
        public List<(byte[] Data, long Pts, bool Key)> Frames { get; } = [];

        public void OnEncodedFrame(in EncodedFrame frame) => Frames.Add((frame.Data.ToArray(), frame.Pts, frame.Keyframe));
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Software_encoder_round_trips_a_test_pattern_above_30_dB(VideoCodec codec)
    {
        var layer = new VideoLayer(640, 360, 30, 1_500_000);
        using var enc = VideoEncoder.Create(codec, layer, EncoderPreference.SoftwareOnly);
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        var sink = new Collect();
        var inputs = new List<byte[]>();
        for (var i = 0; i < 20; i++)
        {
            var frame = new byte[layer.I420Size];
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            inputs.Add(frame);
            enc.Encode(frame, 1000 + i, sink);
        }

        Assert.Equal(20, sink.Frames.Count);
        Assert.True(sink.Frames[0].Key);
        Assert.Equal(1000, sink.Frames[0].Pts);
        var worst = double.MaxValue;
        for (var i = 0; i < sink.Frames.Count; i++)
        {
            Assert.True(dec.Decode(sink.Frames[i].Data), $"frame {i} did not decode");
            Assert.Equal(640, dec.Width);
            worst = Math.Min(worst, TestSignals.Psnr(inputs[i], dec.Picture));
        }

        log.WriteLine($"{codec}: worst PSNR {worst:F1} dB over {sink.Frames.Count} frames, {sink.Frames.Sum(f => f.Data.Length) / sink.Frames.Count} bytes/frame");
        Assert.True(worst > 30, $"{codec} worst PSNR {worst:F1} dB");
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Keyframe_request_and_bitrate_change_take_effect_at_run_time(VideoCodec codec)
    {
        var layer = new VideoLayer(320, 180, 30, 400_000);
        using var enc = VideoEncoder.Create(codec, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 30; i++)
        {
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            if (i == 10)
            {
                enc.RequestKeyframe();
            }

            if (i == 20)
            {
                enc.SetBitrate(150_000);
            }

            enc.Encode(frame, i, sink);
        }

        Assert.True(sink.Frames[10].Key);
        Assert.False(sink.Frames[9].Key);
        Assert.False(sink.Frames[11].Key);
        Assert.Equal(150_000, enc.Bitrate);
    }

    [Fact]
    public void A_congestion_controller_nudging_the_bitrate_every_frame_does_not_make_every_frame_a_keyframe()
    {
        // libvpx in libavcodec cannot change its bitrate in place: each change is a reopen and a keyframe.
        var layer = new VideoLayer(320, 180, 30, 400_000);
        using var enc = VideoEncoder.Create(VideoCodec.Vp8, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 150; i++)
        {
            enc.SetBitrate(400_000 + (i * 2_000)); // half a percent per frame, as a ramping controller reports it
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            enc.Encode(frame, i, sink);
        }

        // 149 nudges up to 698 kbit/s over 5 s: one reopen (a third more, 3 s after the open), one keyframe for it.
        Assert.Equal(1, enc.Reopens);
        Assert.Equal(1 + enc.Reopens, sink.Frames.Count(f => f.Key));
        Assert.Equal(580_000, enc.Bitrate);
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void A_resize_reopens_once_with_the_bitrate_asked_for_meanwhile_and_the_decoder_follows_the_new_size(VideoCodec codec)
    {
        var small = new VideoLayer(320, 180, 30, 300_000);
        using var enc = VideoEncoder.Create(codec, small, EncoderPreference.SoftwareOnly);
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        var sink = new Collect();
        var frame = new byte[small.I420Size];
        for (var i = 0; i < 10; i++)
        {
            TestSignals.Pattern(frame, small.Width, small.Height, i);
            enc.Encode(frame, i, sink);
        }

        // A ladder step up: the bitrate rises with it; both come with one open (no bitrate reopen right after).
        enc.SetBitrate(1_200_000);
        enc.Resize(new VideoLayer(640, 360, 15, 0));
        var large = new byte[enc.Layer.I420Size];
        for (var i = 10; i < 130; i++)
        {
            TestSignals.Pattern(large, 640, 360, i);
            enc.Encode(large, i, sink);
        }

        Assert.Equal((640, 360, 15, 1_200_000), (enc.Layer.Width, enc.Layer.Height, enc.Layer.FramesPerSecond, enc.Bitrate));
        Assert.Equal((1, 0), (enc.Resizes, enc.Reopens));
        Assert.Equal([0, 10], sink.Frames.Select((f, i) => (f, i)).Where(x => x.f.Key).Select(x => x.i));
        foreach (var (data, pts, _) in sink.Frames)
        {
            Assert.True(dec.Decode(data), $"frame {pts} did not decode");
            Assert.Equal(pts < 10 ? (320, 180) : (640, 360), (dec.Width, dec.Height));
        }

        // The same size and rate again: nothing reopens. Too small a size: refused, the encoder goes on as it was.
        enc.Resize(enc.Layer);
        Assert.Throws<ArgumentException>(() => enc.Resize(new VideoLayer(8, 8, 15, 0)));
        enc.Encode(large, 130, sink);
        Assert.Equal(1, enc.Resizes);
        Assert.False(sink.Frames[^1].Key);
    }

    [Fact]
    public void A_send_layer_resized_below_the_capture_is_scaled_and_one_larger_than_the_capture_is_refused()
    {
        var capture = new Room.Devices.VideoFormat(Room.Devices.PixelFormat.I420, 320, 180, 30);
        var packets = new CountingSink();
        using var send = new VideoSendPipeline(capture, VideoCodec.Vp8, [new VideoSendLayer(new VideoLayer(320, 180, 30, 300_000), packets)], EncoderPreference.SoftwareOnly);
        var frame = new byte[capture.Width * capture.Height * 3 / 2];
        send.ProcessFrame(frame, TimeSpan.Zero);
        send.ResizeLayer(0, 160, 90, 15);
        send.ProcessFrame(frame, TimeSpan.FromMilliseconds(66));
        Assert.Equal(new VideoLayer(160, 90, 15, 300_000), send.LayerSize(0));
        Assert.Equal((2L, 1L, 2L), (send.FramesProcessed, send.Resizes, send.KeyframesSent));

        Assert.Throws<ArgumentException>(() => send.ResizeLayer(0, 640, 360, 30));
        send.ProcessFrame(frame, TimeSpan.FromMilliseconds(133));
        Assert.Equal((160, 90, 3L), (send.LayerSize(0).Width, send.LayerSize(0).Height, send.FramesProcessed));
    }

    private sealed class CountingSink : Rtp.IRtpPacketSink
    {
        public int Packets { get; private set; }

        public void OnPacket(in Rtp.RtpPacketView packet) => Packets++;
    }

    [Fact]
    public void A_target_wandering_around_its_level_makes_no_keyframe_after_the_first()
    {
        var layer = new VideoLayer(320, 180, 30, 1_000_000);
        using var enc = VideoEncoder.Create(VideoCodec.Vp8, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 150; i++)
        {
            // What the congestion controller does at a steady link: up 8 %/s, back down at an overuse, every few frames.
            enc.SetBitrate(i % 20 < 10 ? 1_000_000 + (i % 10 * 10_000) : 920_000);
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            enc.Encode(frame, i, sink);
        }

        Assert.Equal(0, enc.Reopens);
        Assert.Single(sink.Frames, f => f.Key);
    }

    [Fact]
    public void A_link_that_drops_to_a_third_gets_the_lower_bitrate_at_the_next_frame_after_half_a_second()
    {
        var layer = new VideoLayer(320, 180, 30, 1_500_000);
        using var enc = VideoEncoder.Create(VideoCodec.Vp8, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 31; i++)
        {
            if (i == 30)
            {
                enc.SetBitrate(500_000);
            }

            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            enc.Encode(frame, i, sink);
        }

        Assert.Equal(500_000, enc.Bitrate);
        Assert.True(sink.Frames[30].Key);
    }

    [Theory]
    [InlineData(1_000_000, 1_100_000, 10, false)] // a tenth more: never worth a keyframe
    [InlineData(1_000_000, 1_400_000, 1, false)]  // much more, but the last open was a second ago
    [InlineData(1_000_000, 1_400_000, 3, true)]
    [InlineData(1_000_000, 900_000, 10, false)]   // a tenth less: not yet
    [InlineData(1_000_000, 800_000, 0.2, false)]  // a fifth less, a fifth of a second after the last open
    [InlineData(1_000_000, 800_000, 0.5, true)]
    public void A_reopening_encoder_reopens_only_for_a_large_change_not_too_soon_after_the_last(int applied, int wanted, double seconds, bool reopens) =>
        Assert.Equal(reopens, VideoEncoder.WorthReopening(applied, wanted, seconds));

    [Fact]
    public void Probe_explains_why_hardware_encoders_were_not_chosen()
    {
        using var enc = VideoEncoder.Create(VideoCodec.H264, VideoLayer.P360);
        Assert.Contains("libx264", enc.Description, StringComparison.Ordinal);
        Assert.Contains("h264_v4l2m2m:", enc.Description, StringComparison.Ordinal);
        Assert.Contains("h264_vaapi:", enc.Description, StringComparison.Ordinal);
        var report = VideoEncoder.Probe(VideoLayer.P360);
        Assert.Contains("avcodec 59", report, StringComparison.Ordinal);
        Assert.Contains("libvpx", report, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Lowering_the_bitrate_at_run_time_shrinks_the_frames(VideoCodec codec)
    {
        var layer = new VideoLayer(320, 180, 30, 1_500_000);
        using var enc = VideoEncoder.Create(codec, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 80; i++)
        {
            if (i == 40)
            {
                enc.SetBitrate(150_000);
            }

            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            enc.Encode(frame, i, sink);
        }

        double Avg(int from, int to) => sink.Frames.Skip(from).Take(to - from).Where(f => !f.Key).Average(f => f.Data.Length);
        var before = Avg(20, 40);
        var after = Avg(60, 80);
        Assert.True(after < before * 0.5, $"{codec}: {before:F0} bytes/frame before, {after:F0} after");
    }

    [Fact]
    public void Media_report_names_codecs_decoders_and_audio_processing()
    {
        var report = MediaInfo.Report(VideoLayer.P360);
        Assert.Contains("H264 decoder: h264 (software)", report, StringComparison.Ordinal);
        Assert.Contains("speexdsp", report, StringComparison.Ordinal);
        Assert.Contains("Opus", report, StringComparison.Ordinal);
    }

    [Fact]
    public void Hardware_only_preference_fails_cleanly_with_reasons_when_there_is_no_hardware()
    {
        if (File.Exists("/dev/video10") || File.Exists("/dev/dri/renderD128"))
        {
            return; // hardware present: nothing to check here
        }

        var e = Assert.Throws<MediaUnavailableException>(() => VideoEncoder.Create(VideoCodec.H264, VideoLayer.P360, EncoderPreference.HardwareOnly));
        Assert.Contains("h264_v4l2m2m", e.Message, StringComparison.Ordinal);
        Assert.Contains("libx264: excluded", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Decoder_survives_garbage_and_truncation_and_recovers_at_the_next_keyframe(VideoCodec codec)
    {
        var layer = new VideoLayer(320, 180, 30, 400_000);
        using var enc = VideoEncoder.Create(codec, layer, EncoderPreference.SoftwareOnly);
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 12; i++)
        {
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            if (i == 8)
            {
                enc.RequestKeyframe();
            }

            enc.Encode(frame, i, sink);
        }

        var rng = new Random(1234);
        for (var i = 0; i < 8; i++)
        {
            var bad = sink.Frames[i].Data.ToArray();
            if (i % 2 == 0)
            {
                for (var k = 0; k < bad.Length / 8; k++)
                {
                    bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
                }

                dec.Decode(bad);
            }
            else
            {
                dec.Decode(bad.AsSpan(0, bad.Length / 3));
            }

            var junk = new byte[rng.Next(1, 5000)];
            rng.NextBytes(junk);
            dec.Decode(junk);
        }

        dec.Decode(ReadOnlySpan<byte>.Empty);
        dec.Reset();
        for (var i = 8; i < 12; i++)
        {
            Assert.True(dec.Decode(sink.Frames[i].Data), $"frame {i} after recovery");
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            Assert.True(TestSignals.Psnr(frame, dec.Picture) > 28);
        }
    }
}
