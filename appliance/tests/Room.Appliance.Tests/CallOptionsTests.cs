using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Room.Appliance.Meeting;
using Room.Call;
using Room.Devices;

namespace Room.Appliance.Tests;

public sealed class CallOptionsTests
{
    /// <summary>Binds and validates section Call as roomd's Program.cs does.</summary>
    private static CallOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();
        var services = new ServiceCollection();
        services.AddOptions<CallOptions>().Bind(configuration.GetSection(CallOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<CallOptions>>().Value;
    }

    private static string Refusal(params (string Key, string Value)[] settings) =>
        string.Join("; ", Assert.Throws<OptionsValidationException>(() => Bind(settings)).Failures);

    [Fact]
    public void The_defaults_send_up_to_360p15_within_4_Mbit_s_with_a_keyframe_every_10_s()
    {
        var options = Bind();
        Assert.Equal((640, 360, 15, 4_000, 10), (options.MaxWidth, options.MaxHeight, options.MaxFramesPerSecond, options.MaxBitrateKbps, options.KeyframeIntervalSeconds));
        var congestion = options.CreateCongestionController();
        Assert.Equal((900_000, 4_000_000), (congestion.TargetBps, congestion.MaxBps));
    }

    [Fact]
    public void Configured_limits_reach_the_congestion_ceiling_the_ladder_and_the_keyframe_interval()
    {
        var options = Bind(("Call:MaxWidth", "1920"), ("Call:MaxHeight", "1080"), ("Call:MaxFramesPerSecond", "25"), ("Call:MaxBitrateKbps", "600"),
            ("Call:KeyframeIntervalSeconds", "4"));
        var congestion = options.CreateCongestionController();
        Assert.Equal((600_000, 600_000), (congestion.TargetBps, congestion.MaxBps)); // starts no higher than the ceiling
        var publisher = options.Publisher(new VideoFormat(PixelFormat.I420, 1920, 1080, 30));
        Assert.Equal(new VideoRung(1920, 1080, 25, 3_000_000), publisher.Ladder![^1]);
        Assert.Equal(4, publisher.KeyframeIntervalSeconds);
    }

    [Fact]
    public void Out_of_range_or_odd_values_stop_roomd_naming_the_setting()
    {
        Assert.Contains("MaxHeight", Refusal(("Call:MaxHeight", "2160")), StringComparison.Ordinal);
        Assert.Contains("MaxBitrateKbps", Refusal(("Call:MaxBitrateKbps", "100")), StringComparison.Ordinal);
        Assert.Contains("KeyframeIntervalSeconds", Refusal(("Call:KeyframeIntervalSeconds", "0")), StringComparison.Ordinal);
        Assert.Contains("MaxFramesPerSecond", Refusal(("Call:MaxFramesPerSecond", "120")), StringComparison.Ordinal);
        Assert.Contains("must be even", Refusal(("Call:MaxWidth", "1279")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_capture_is_the_largest_format_within_the_maximum_at_the_full_frame_rate()
    {
        var options = new CallOptions { MaxWidth = 1280, MaxHeight = 720, MaxFramesPerSecond = 30 };
        VideoFormat[] uvc =
        [
            new(PixelFormat.Mjpeg, 1920, 1080, 30), new(PixelFormat.Yuyv, 1280, 720, 10), new(PixelFormat.Mjpeg, 1280, 720, 30), new(PixelFormat.Yuyv, 640, 360, 30),
        ];
        Assert.Equal(new VideoFormat(PixelFormat.Mjpeg, 1280, 720, 30), options.ChooseCapture(uvc));
        Assert.Equal(new VideoFormat(PixelFormat.Yuyv, 640, 360, 30), new CallOptions { MaxWidth = 960, MaxHeight = 540 }.ChooseCapture(uvc));
        // Only larger pictures: the smallest, scaled down by the ladder.
        Assert.Equal(new VideoFormat(PixelFormat.Mjpeg, 1920, 1080, 30), new CallOptions { MaxWidth = 640, MaxHeight = 360 }.ChooseCapture([uvc[0]]));
    }
}
