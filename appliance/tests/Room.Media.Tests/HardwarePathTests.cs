using Room.Media.Interop;
using Xunit.Abstractions;
using Room.Testing;

namespace Room.Media.Tests;

/// <summary>
/// The hardware encode/decode plumbing, against the real libraries on a machine without the hardware: probing order
/// and reasons, option plumbing on real codec contexts, clean failures on devices that are not GPUs, and the surface
/// upload/download path through a hardware frames context that does run here (Vulkan on Mesa's lavapipe).
/// </summary>
public class HardwarePathTests(ITestOutputHelper log)
{
    private static bool HasRenderNode => File.Exists("/dev/dri/renderD128");

    private static bool HasVideoNodes => Directory.EnumerateFiles("/dev", "video*").Any();

    [Fact]
    public void Codec_context_hardware_fields_are_found_and_proven_on_the_loaded_libavcodec()
    {
        Assert.Null(HwLayout.Problem);
        Assert.True(HwLayout.HwDeviceCtxOffset > 0);
        Assert.True(HwLayout.HwFramesCtxOffset > 0);
        Assert.NotEqual(HwLayout.HwDeviceCtxOffset, HwLayout.HwFramesCtxOffset);
        log.WriteLine(HwLayout.Describe());
    }

    [Fact]
    public void Candidates_are_tried_hardware_first_in_a_fixed_order()
    {
        Assert.Equal(["h264_v4l2m2m", "h264_vaapi", "libx264"], VideoEncoder.CandidateNames(VideoCodec.H264));
        Assert.Equal(["vp8_v4l2m2m", "vp8_vaapi", "libvpx"], VideoEncoder.CandidateNames(VideoCodec.Vp8));
        Assert.Equal(
            ["h264_v4l2m2m", "h264+vaapi", "h264"],
            VideoDecoder.Candidates(VideoCodec.H264).Select(c => c.Hwaccel is null ? c.Name : $"{c.Name}+{c.Hwaccel}"));
        Assert.Equal(
            ["vp8_v4l2m2m", "vp8+vaapi", "vp8", "libvpx"],
            VideoDecoder.Candidates(VideoCodec.Vp8).Select(c => c.Hwaccel is null ? c.Name : $"{c.Name}+{c.Hwaccel}"));
    }

    [Theory]
    [InlineData(VideoCodec.H264, "h264_v4l2m2m", "h264_vaapi", "libx264")]
    [InlineData(VideoCodec.Vp8, "vp8_v4l2m2m", "vp8_vaapi", "libvpx")]
    public void Encoder_probe_here_skips_hardware_with_concrete_reasons_in_order_and_chooses_software(VideoCodec codec, string v4l2, string vaapi, string software)
    {
        using var enc = VideoEncoder.Create(codec, VideoLayer.P360);
        log.WriteLine(enc.Description);
        if (HasRenderNode)
        {
            return; // a GPU box: what is chosen there depends on its driver
        }

        Assert.Equal(software, enc.Name);
        Assert.False(enc.IsHardware);
        var d = enc.Description;
        Assert.Contains($"{vaapi}: no device node /dev/dri/renderD128", d, StringComparison.Ordinal);
        Assert.Contains(
            HasVideoNodes ? $"{v4l2}: open failed" : $"{v4l2}: no device node /dev/video*",
            d,
            StringComparison.Ordinal);
        Assert.True(d.IndexOf(v4l2 + ":", StringComparison.Ordinal) < d.IndexOf(vaapi + ":", StringComparison.Ordinal), "reasons follow the probing order");
    }

    [Theory]
    [InlineData(VideoCodec.H264, "h264")]
    [InlineData(VideoCodec.Vp8, "vp8")]
    public void Decoder_probe_here_skips_v4l2_and_vaapi_with_reasons_and_chooses_software(VideoCodec codec, string software)
    {
        using var dec = VideoDecoder.Create(codec);
        log.WriteLine(dec.Description);
        if (HasRenderNode)
        {
            return;
        }

        Assert.Equal(software, dec.Name);
        Assert.False(dec.IsHardware);
        Assert.Null(dec.Hwaccel);
        Assert.Contains($"{software}+vaapi: no device node /dev/dri/renderD128", dec.Description, StringComparison.Ordinal);
        Assert.Contains($"{software}_v4l2m2m:", dec.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Media_report_shows_chosen_encoders_and_decoders_with_the_reasons_for_the_others()
    {
        var report = MediaInfo.Report(VideoLayer.P360);
        log.WriteLine(report);
        Assert.Contains("H264: ", report, StringComparison.Ordinal);
        Assert.Contains("H264 decoder: ", report, StringComparison.Ordinal);
        Assert.Contains("Vp8 decoder: ", report, StringComparison.Ordinal);
        Assert.Contains("Hardware codec plumbing: AVCodecContext.hw_device_ctx at +", report, StringComparison.Ordinal);
        Assert.Contains("resampled", report, StringComparison.Ordinal);
        if (!HasRenderNode)
        {
            Assert.Contains("h264_vaapi: no device node /dev/dri/renderD128", report, StringComparison.Ordinal);
            Assert.Contains("vp8+vaapi: no device node /dev/dri/renderD128", report, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Vaapi_encoder_on_a_node_that_is_not_a_gpu_fails_with_ffmpegs_own_explanation()
    {
        var options = new EncoderOptions { VaapiDevice = "/dev/null" };
        var e = Assert.Throws<MediaUnavailableException>(() => VideoEncoder.Create(VideoCodec.H264, VideoLayer.P360, EncoderPreference.HardwareOnly, options));
        log.WriteLine(e.Message);
        Assert.Contains("h264_vaapi: vaapi device /dev/null did not open", e.Message, StringComparison.Ordinal);
        Assert.Contains("Cannot open a VA display from DRM device /dev/null", e.Message, StringComparison.Ordinal); // libavutil's message, captured
        Assert.Contains("libx264: excluded by preference HardwareOnly", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vaapi_encoder_with_a_missing_configured_node_names_that_node()
    {
        var options = new EncoderOptions { VaapiDevice = "/dev/dri/renderD999" };
        var e = Assert.Throws<MediaUnavailableException>(() => VideoEncoder.Create(VideoCodec.Vp8, VideoLayer.P360, EncoderPreference.HardwareOnly, options));
        Assert.Contains("vp8_vaapi: no device node /dev/dri/renderD999", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vaapi_decoder_on_a_node_that_is_not_a_gpu_falls_back_to_software_and_says_why()
    {
        using var dec = VideoDecoder.Create(VideoCodec.H264, vaapiDevice: "/dev/null");
        log.WriteLine(dec.Description);
        Assert.Equal("h264", dec.Name);
        Assert.Null(dec.Hwaccel);
        Assert.Contains("h264+vaapi: vaapi device /dev/null did not open", dec.Description, StringComparison.Ordinal);
        Assert.Contains("Cannot open a VA display", dec.Description, StringComparison.Ordinal);
    }

    /// <summary>
    /// The hwaccel decoder path with a device that really opens here: the device goes into hw_device_ctx at the proven
    /// offset, FFmpeg's default get_format looks for a matching hwaccel (libavcodec 59 has no Vulkan H.264 one), decodes
    /// in software instead, and the probe notices that no picture came from a GPU surface and says so.
    /// </summary>
    [Theory]
    [InlineData(VideoCodec.H264, "h264")]
    [InlineData(VideoCodec.Vp8, "vp8")]
    public void An_hwaccel_that_silently_falls_back_to_software_is_caught_by_the_test_decode(VideoCodec codec, string name)
    {
        var d = VideoDecoder.TryCandidate(codec, name, "vulkan", hw: true, null, "", out var problem);
        d?.Dispose();
        log.WriteLine(problem);
        Assert.Null(d);
        Assert.StartsWith("the vulkan hwaccel did not take the stream (FFmpeg fell back to software decoding)", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Software_only_decoding_says_hardware_was_not_wanted()
    {
        using var dec = VideoDecoder.Create(VideoCodec.Vp8, preferHardware: false);
        Assert.Contains("vp8_v4l2m2m: hardware not wanted", dec.Description, StringComparison.Ordinal);
        Assert.Contains("vp8+vaapi: hardware not wanted", dec.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void V4l2_m2m_encoder_options_for_the_pi_reach_the_real_encoder_context()
    {
        var opts = new EncoderOptions { KeyframeIntervalSeconds = 4, V4l2OutputBuffers = 6, V4l2CaptureBuffers = 4 };
        var set = VideoEncoder.ApplyOptionsForTest(VideoCodec.H264, "h264_v4l2m2m", VideoLayer.P1080, opts).ToDictionary(x => x.Name, x => x.Value);
        log.WriteLine(string.Join(", ", set.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal("120", set["g"]);
        Assert.Equal("0", set["bf"]);
        Assert.Equal("3500000", set["b"]);
        Assert.Equal("578", set["profile"]); // constrained baseline, mapped by FFmpeg to V4L2's CONSTRAINED_BASELINE
        Assert.Equal("6", set["num_output_buffers"]);
        Assert.Equal("4", set["num_capture_buffers"]);

        // FFmpeg refuses fewer than 6 output buffers: the error names the option instead of failing later.
        var e = Assert.Throws<MediaException>(() => VideoEncoder.ApplyOptionsForTest(VideoCodec.H264, "h264_v4l2m2m", VideoLayer.P360, opts with { V4l2OutputBuffers = 2 }));
        Assert.Contains("num_output_buffers=2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(VideoCodec.H264, "h264_vaapi")]
    [InlineData(VideoCodec.Vp8, "vp8_vaapi")]
    public void Vaapi_encoder_options_reach_the_real_encoder_context(VideoCodec codec, string name)
    {
        var set = VideoEncoder.ApplyOptionsForTest(codec, name, VideoLayer.P720, new EncoderOptions()).ToDictionary(x => x.Name, x => x.Value);
        log.WriteLine(string.Join(", ", set.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal("1800000", set["b"]);
        Assert.Equal("1800000", set["maxrate"]);
        Assert.Equal("300", set["g"]);
        Assert.Equal("1", set["async_depth"]);
        Assert.NotEqual("0", set["rc_mode"]); // CBR, not "auto"
        if (codec == VideoCodec.H264)
        {
            Assert.Equal("578", set["profile"]);
        }
    }

    [Fact]
    public void Ffmpeg_messages_are_captured_only_inside_a_capture_scope()
    {
        using (var capture = FFmpegLog.Capture())
        {
            Assert.Null(HwDevice.TryOpen("vaapi", "/dev/null", out _));
            Assert.Contains("/dev/null", capture.Text, StringComparison.Ordinal);
        }

        using var quiet = FFmpegLog.Capture();
        Assert.Equal("", quiet.Text);
    }

    [Fact]
    public void Unknown_hardware_device_types_are_refused_by_name()
    {
        Assert.Null(HwDevice.TryOpen("no-such-accelerator", null, out var reason));
        Assert.Equal("this libavutil has no no-such-accelerator support", reason);
    }

    /// <summary>
    /// The encoder side of the plumbing, end to end with a real hardware frames context (Vulkan on lavapipe) and a
    /// real libavcodec encoder that takes hardware frames as they are (wrapped_avframe): avcodec_open2 reads our
    /// pool through AVCodecContext.hw_frames_ctx at the proven offset and checks its format against pixel_format (a
    /// mismatch is refused with FFmpeg's message); with the right format, uploaded surfaces are encoded.
    /// </summary>
    [Fact]
    public unsafe void An_encoder_reads_our_surface_pool_through_hw_frames_ctx_and_takes_uploaded_surfaces()
    {
        using var device = HwDevice.TryOpen("vulkan", null, out var why);
        Assert.True(device is not null, "Vulkan (lavapipe) device: " + why);
        const int w = 320, h = 240;
        var vulkan = FFmpeg.av_get_pix_fmt("vulkan");
        using var pool = HwFrames.TryCreate(device!, vulkan, AVPixelFormat.NV12, w, h, 4, out why);
        Assert.True(pool is not null, why);
        var codec = FFmpeg.avcodec_find_encoder_by_name("wrapped_avframe");
        Assert.True(codec is not null);

        void* Context(int pixelFormat)
        {
            var ctx = FFmpeg.avcodec_alloc_context3(codec);
            Assert.True(FFmpeg.av_opt_set(ctx, "video_size", $"{w}x{h}", 0) >= 0);
            Assert.True(FFmpeg.av_opt_set_int(ctx, "pixel_format", pixelFormat, 0) >= 0);
            Assert.True(FFmpeg.av_opt_set_q(ctx, "time_base", new AVRational(1, 30), 0) >= 0);
            HwLayout.SetRef(ctx, HwLayout.HwFramesCtxOffset, pool!.Ref);
            return ctx;
        }

        var wrong = Context(AVPixelFormat.YUV420P);
        using (var capture = FFmpegLog.Capture())
        {
            Assert.True(FFmpeg.avcodec_open2(wrong, codec, null) < 0);
            log.WriteLine("pixel_format yuv420p with a Vulkan pool: " + capture.Text);
            Assert.Contains("Mismatching AVCodecContext.pix_fmt and AVHWFramesContext.format", capture.Text, StringComparison.Ordinal);
        }

        FFmpeg.avcodec_free_context(&wrong);

        var ctx = Context(vulkan);
        var packet = FFmpeg.av_packet_alloc();
        try
        {
            using (var capture = FFmpegLog.Capture())
            {
                var r = FFmpeg.avcodec_open2(ctx, codec, null);
                Assert.True(r >= 0, capture.Explain("open", r));
            }

            var i420 = new byte[w * h * 3 / 2];
            var packets = 0;
            for (var i = 0; i < 5; i++)
            {
                TestSignals.Pattern(i420, w, h, i);
                pool!.Upload(i420);
                pool.Current->Pts = i;
                Assert.True(FFmpeg.avcodec_send_frame(ctx, pool.Current) >= 0);
                while (FFmpeg.avcodec_receive_packet(ctx, packet) >= 0)
                {
                    packets++;
                    Assert.Equal(i, packet->Pts);
                    FFmpeg.av_packet_unref(packet);
                }
            }

            Assert.Equal(5, packets);
        }
        finally
        {
            FFmpeg.av_packet_free(&packet);
            FFmpeg.avcodec_free_context(&ctx);
        }
    }

    /// <summary>
    /// The device-independent half of the VAAPI encoder and decoder: find and fill AVHWFramesContext in the loaded
    /// libavutil, create a fixed surface pool, upload I420 as NV12 into a pooled surface, download it again. Run on a
    /// real hardware frames context that needs no GPU: Vulkan on Mesa's lavapipe (mesa-vulkan-drivers).
    /// </summary>
    [Fact]
    public unsafe void Surface_pool_upload_and_download_round_trip_exactly_on_a_real_hardware_frames_context()
    {
        using var device = HwDevice.TryOpen("vulkan", null, out var why);
        Assert.True(device is not null, "Vulkan (lavapipe) device: " + why);
        const int w = 320, h = 240;
        using var pool = HwFrames.TryCreate(device!, FFmpeg.av_get_pix_fmt("vulkan"), AVPixelFormat.NV12, w, h, 4, out why);
        Assert.True(pool is not null, why);

        var i420 = new byte[w * h * 3 / 2];
        for (var round = 0; round < 3; round++)
        {
            TestSignals.Pattern(i420, w, h, round);
            pool!.Upload(i420);
            Assert.Equal(FFmpeg.av_get_pix_fmt("vulkan"), pool.Current->Format);
            var back = pool.DownloadCurrent();
            Assert.Equal(AVPixelFormat.NV12, back->Format);
            for (var y = 0; y < h; y++)
            {
                Assert.True(new ReadOnlySpan<byte>(back->Plane(0) + (y * back->Linesize[0]), w).SequenceEqual(i420.AsSpan(y * w, w)), $"luma row {y}");
            }

            for (var y = 0; y < h / 2; y++)
            {
                var row = new ReadOnlySpan<byte>(back->Plane(1) + (y * back->Linesize[1]), w);
                for (var x = 0; x < w / 2; x++)
                {
                    Assert.Equal(i420[(w * h) + (y * (w / 2)) + x], row[2 * x]);
                    Assert.Equal(i420[(w * h * 5 / 4) + (y * (w / 2)) + x], row[(2 * x) + 1]);
                }
            }
        }

        // Steady state: surfaces come from the pool, the software frame is reused; nothing managed is allocated.
        for (var i = 0; i < 10; i++)
        {
            pool!.Upload(i420);
        }

        var before = ThreadAllocations.Start();
        for (var i = 0; i < 50; i++)
        {
            pool!.Upload(i420);
        }

        Assert.Equal(0, ThreadAllocations.Since(before));
    }
}
