using Room.Devices;
using Room.Devices.Simulated;
using Room.Media.Rtp;
using Room.Testing;

namespace Room.Media.Tests;

public class PipelineTests
{
    [Fact]
    public async Task Camera_to_packets_to_loopback_pictures_gives_a_self_view_snapshot()
    {
        var camera = new SimulatedCamera("cam0", "Simulated");
        var format = new VideoFormat(PixelFormat.I420, 640, 360, 30);
        await using var capture = await camera.OpenCaptureAsync(format);
        using var selfView = new VideoReceivePipeline(VideoCodec.H264, preferHardwareDecoder: false);
        using var low = new VideoReceivePipeline(VideoCodec.H264, preferHardwareDecoder: false);
        using var send = new VideoSendPipeline(format, VideoCodec.H264,
            [new VideoSendLayer(new VideoLayer(640, 360, 30, 800_000), selfView), new VideoSendLayer(new VideoLayer(320, 180, 30, 200_000), low)],
            EncoderPreference.SoftwareOnly);
        Assert.Contains("libx264", send.Description, StringComparison.Ordinal);
        selfView.KeyframeNeeded += () => send.RequestKeyframe(0);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = send.RunAsync(capture, cts.Token);
        while (selfView.FramesDecoded < 10 && !cts.IsCancellationRequested)
        {
            await Task.Delay(20);
        }

        await cts.CancelAsync();
        await run;
        Assert.True(selfView.FramesDecoded >= 10);
        Assert.True(low.FramesDecoded >= 5);
        var jpeg = selfView.SnapshotJpeg();
        Assert.NotNull(jpeg);
        Assert.Equal(0xFF, jpeg[0]);
        Assert.Equal(0xD8, jpeg[1]);
        var rgba = selfView.SnapshotRgba();
        Assert.NotNull(rgba);
        Assert.Equal(640 * 360 * 4, rgba.Value.Rgba.Length);
        Assert.Equal(255, rgba.Value.Rgba[3]); // opaque alpha
        var i420 = new byte[320 * 180 * 3 / 2];
        Assert.True(low.TryCopyLatestI420(i420, out var w, out var h));
        Assert.Equal((320, 180), (w, h));
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Steady_state_send_and_loopback_allocate_nothing_per_frame(VideoCodec codec)
    {
        var format = new VideoFormat(PixelFormat.I420, 320, 180, 30);
        using var loop = new VideoReceivePipeline(codec, preferHardwareDecoder: false);
        using var send = new VideoSendPipeline(format, codec, [new VideoSendLayer(new VideoLayer(320, 180, 30, 300_000), loop)], EncoderPreference.SoftwareOnly);
        var frames = new byte[8][];
        for (var i = 0; i < frames.Length; i++)
        {
            frames[i] = new byte[format.Width * format.Height * 3 / 2];
            TestSignals.Pattern(frames[i], format.Width, format.Height, i);
        }

        for (var i = 0; i < 20; i++)
        {
            send.ProcessFrame(frames[i % 8], TimeSpan.FromMilliseconds(i * 33));
        }

        var before = ThreadAllocations.Start();
        for (var i = 20; i < 50; i++)
        {
            send.ProcessFrame(frames[i % 8], TimeSpan.FromMilliseconds(i * 33));
        }

        var allocated = ThreadAllocations.Since(before);
        Assert.Equal(50, loop.FramesDecoded);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task Packets_from_one_thread_and_polls_from_another_decode_safely_until_disposed()
    {
        // As in a call: the sender (or network) thread delivers packets while a timer polls and the panel takes
        // snapshots. The decoder is single-threaded native code; the pipeline must serialise it.
        var format = new VideoFormat(PixelFormat.I420, 320, 180, 30);
        var loop = new VideoReceivePipeline(VideoCodec.H264, preferHardwareDecoder: false);
        using var send = new VideoSendPipeline(format, VideoCodec.H264, [new VideoSendLayer(new VideoLayer(320, 180, 30, 300_000), loop)], EncoderPreference.SoftwareOnly);
        var frame = new byte[format.Width * format.Height * 3 / 2];
        using var stop = new CancellationTokenSource();
        var poller = Task.Run(() =>
        {
            var nacks = new ushort[64];
            while (!stop.IsCancellationRequested)
            {
                loop.Poll(System.Diagnostics.Stopwatch.GetTimestamp());
                loop.CollectNacks(nacks, System.Diagnostics.Stopwatch.GetTimestamp());
                _ = loop.SnapshotJpeg();
            }
        });
        for (var i = 0; i < 150; i++)
        {
            TestSignals.Pattern(frame, format.Width, format.Height, i);
            send.ProcessFrame(frame, TimeSpan.FromMilliseconds(i * 33));
        }

        Assert.True(loop.FramesDecoded >= 140, $"decoded {loop.FramesDecoded} of 150");
        // Disposing while the poller still runs: later calls are no-ops, not use-after-free.
        loop.Dispose();
        send.ProcessFrame(frame, TimeSpan.FromMilliseconds(150 * 33));
        await stop.CancelAsync();
        await poller;
        Assert.Equal(0, loop.DecodeErrors);
    }

    private sealed class Corrupting(IRtpPacketSink inner) : IRtpPacketSink
    {
        public int Frame { get; set; }

        public void OnPacket(in RtpPacketView p)
        {
            if (Frame is >= 3 and < 5 && p.Payload.Length > 40)
            {
                var bad = p.Payload.ToArray();
                for (var i = 20; i < bad.Length; i += 3)
                {
                    bad[i] ^= 0x5A; // well-formed RTP payload, garbage bitstream
                }

                inner.OnPacket(new RtpPacketView(p.SequenceNumber, p.Timestamp, p.Marker, bad));
                return;
            }

            inner.OnPacket(p);
        }
    }

    [Fact]
    public void A_short_capture_buffer_is_skipped_and_a_corrupt_bitstream_recovers_at_the_next_keyframe()
    {
        var format = new VideoFormat(PixelFormat.I420, 320, 180, 30);
        using var loop = new VideoReceivePipeline(VideoCodec.H264, preferHardwareDecoder: false);
        var corrupt = new Corrupting(loop);
        using var send = new VideoSendPipeline(format, VideoCodec.H264, [new VideoSendLayer(new VideoLayer(320, 180, 30, 300_000), corrupt)], EncoderPreference.SoftwareOnly);
        var keyframeAsked = 0;
        loop.KeyframeNeeded += () =>
        {
            keyframeAsked++;
            send.RequestKeyframe();
        };

        send.ProcessFrame(new byte[100], TimeSpan.Zero);
        Assert.Equal(1, send.FramesRejected);
        var buf = new byte[format.Width * format.Height * 3 / 2];
        for (var i = 0; i < 20; i++)
        {
            corrupt.Frame = i;
            TestSignals.Pattern(buf, format.Width, format.Height, i);
            send.ProcessFrame(buf, TimeSpan.FromMilliseconds(33 * i));
        }

        Assert.True(keyframeAsked >= 1);
        Assert.True(loop.FramesDecoded >= 14, $"decoded {loop.FramesDecoded}");
        var pic = new byte[buf.Length];
        Assert.True(loop.TryCopyLatestI420(pic, out _, out _));
        Assert.True(TestSignals.Psnr(buf, pic) > 28);
    }

    private static byte[] ToCaptureFormat(PixelFormat pixel, byte[] i420, int w, int h)
    {
        int cw = w / 2, ch = h / 2;
        var u = i420.AsSpan(w * h, cw * ch);
        var v = i420.AsSpan((w * h) + (cw * ch), cw * ch);
        switch (pixel)
        {
            case PixelFormat.Nv12:
                var nv12 = new byte[w * h * 3 / 2];
                i420.AsSpan(0, w * h).CopyTo(nv12);
                for (var i = 0; i < cw * ch; i++)
                {
                    nv12[(w * h) + (2 * i)] = u[i];
                    nv12[(w * h) + (2 * i) + 1] = v[i];
                }

                return nv12;
            case PixelFormat.Yuyv:
                var yuyv = new byte[w * h * 2];
                for (var row = 0; row < h; row++)
                {
                    for (var col = 0; col < w; col += 2)
                    {
                        var o = (row * w * 2) + (col * 2);
                        var c = ((row / 2) * cw) + (col / 2);
                        yuyv[o] = i420[(row * w) + col];
                        yuyv[o + 1] = u[c];
                        yuyv[o + 2] = i420[(row * w) + col + 1];
                        yuyv[o + 3] = v[c];
                    }
                }

                return yuyv;
            case PixelFormat.Mjpeg:
                return Snapshot.I420ToJpeg(i420, w, h, qscale: 2);
            default:
                return i420;
        }
    }

    [Theory]
    [InlineData(PixelFormat.Nv12)]
    [InlineData(PixelFormat.Yuyv)]
    [InlineData(PixelFormat.Mjpeg)]
    public void Nv12_yuyv_and_mjpeg_cameras_are_converted_and_sent(PixelFormat pixel)
    {
        var format = new VideoFormat(pixel, 320, 180, 30);
        using var loop = new VideoReceivePipeline(VideoCodec.H264, preferHardwareDecoder: false);
        using var send = new VideoSendPipeline(format, VideoCodec.H264, [new VideoSendLayer(new VideoLayer(320, 180, 30, 800_000), loop)], EncoderPreference.SoftwareOnly);
        var i420 = new byte[320 * 180 * 3 / 2];
        for (var i = 0; i < 8; i++)
        {
            TestSignals.Pattern(i420, 320, 180, i);
            send.ProcessFrame(ToCaptureFormat(pixel, i420, 320, 180), TimeSpan.FromMilliseconds(33 * i));
        }

        Assert.Equal(0, send.FramesRejected);
        Assert.Equal(8, loop.FramesDecoded);
        var pic = new byte[i420.Length];
        Assert.True(loop.TryCopyLatestI420(pic, out _, out _));
        var psnr = TestSignals.Psnr(i420.AsSpan(0, 320 * 180), pic.AsSpan(0, 320 * 180)); // luma
        Assert.True(psnr > 28, $"{pixel}: luma PSNR {psnr:F1} dB");

        var junk = new byte[5000];
        new Random(3).NextBytes(junk);
        send.ProcessFrame(junk, TimeSpan.FromSeconds(1));
        Assert.Equal(1, send.FramesRejected); // short raw buffer, or a JPEG that does not decode
        Assert.Equal(8, loop.FramesDecoded);
    }
}
