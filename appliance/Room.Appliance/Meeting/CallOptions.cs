using System.ComponentModel.DataAnnotations;
using Room.Call;
using Room.Devices;
using Room.Media;
using Room.Rtc.Congestion;

namespace Room.Appliance.Meeting;

/// <summary>
/// What roomd sends in a call (section <c>Call</c>): the largest picture and frame rate, the most bandwidth, the
/// keyframe interval. Within them the picture follows the bandwidth estimate (<see cref="VideoLadder"/>).
/// </summary>
public sealed class CallOptions : IValidatableObject
{
    public const string Section = "Call";

    /// <summary>Largest picture width sent; the camera is captured at the largest size that fits and scaled down for less bandwidth.</summary>
    /// <remarks>
    /// 640x360@15 by default until sending adapts to the CPU as well as to the bandwidth: on the 2-core lab box (software
    /// VP8, Janus and Chromium beside it) 1280x720@30 took 72.5 ms per frame against 7.1 ms and sent 0.53 Mbit/s at
    /// 12 fps where 640x360@15 sent 2.18 Mbit/s (make call-quality-bench). Boxes with a hardware encoder raise it.
    /// </remarks>
    [Range(160, 1920)]
    public int MaxWidth { get; set; } = 640;

    /// <summary>Largest picture height sent (1080 allows 1080p).</summary>
    [Range(90, 1080)]
    public int MaxHeight { get; set; } = 360;

    /// <summary>Frame rate sent at the higher bitrates; the lowest send half of it.</summary>
    [Range(5, 60)]
    public int MaxFramesPerSecond { get; set; } = 15;

    /// <summary>The most the call sends (video, audio and their packets), in kbit/s: the bandwidth estimate's ceiling.</summary>
    [Range(300, 50_000)]
    public int MaxBitrateKbps { get; set; } = 4_000;

    /// <summary>Seconds between unrequested keyframes (receivers that lost one also ask for one).</summary>
    [Range(1, 300)]
    public int KeyframeIntervalSeconds { get; set; } = 10;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxWidth % 2 != 0 || MaxHeight % 2 != 0)
        {
            yield return new ValidationResult($"Call:MaxWidth and Call:MaxHeight must be even (4:2:0 pictures), not {MaxWidth}x{MaxHeight}.", [nameof(MaxWidth), nameof(MaxHeight)]);
        }
    }

    /// <summary>The bandwidth estimate of one call's sending leg: from 900 kbit/s, between 150 kbit/s and <see cref="MaxBitrateKbps"/>.</summary>
    public CongestionController CreateCongestionController()
    {
        int max = MaxBitrateKbps * 1000;
        return new CongestionController(initialBps: Math.Min(900_000, max), minBps: 150_000, maxBps: max);
    }

    /// <summary>
    /// The camera format to capture for the call: the largest that fits the maximum picture at the full frame rate,
    /// else the largest that fits, else (a camera with only larger pictures) the smallest, scaled down.
    /// </summary>
    public VideoFormat ChooseCapture(IReadOnlyList<VideoFormat> formats)
    {
        ArgumentNullException.ThrowIfNull(formats);
        if (formats.Count == 0) throw new ArgumentException("the camera offers no format", nameof(formats));
        var fitting = formats.Where(f => f.Width <= MaxWidth && f.Height <= MaxHeight).ToList();
        return fitting.Count > 0
            ? fitting.OrderByDescending(f => f.FramesPerSecond >= MaxFramesPerSecond).ThenByDescending(f => (long)f.Width * f.Height).ThenByDescending(f => f.FramesPerSecond).First()
            : formats.OrderBy(f => (long)f.Width * f.Height).ThenByDescending(f => f.FramesPerSecond).First();
    }

    /// <summary>What a call's publisher sends from a camera captured as <paramref name="capture"/>: the ladder within these limits.</summary>
    public PublisherOptions Publisher(VideoFormat capture) => new()
    {
        Ladder = VideoLadder.For(capture.Width, capture.Height, MaxWidth, MaxHeight, Math.Min(MaxFramesPerSecond, Math.Max(1, capture.FramesPerSecond))),
        KeyframeIntervalSeconds = KeyframeIntervalSeconds,
    };
}
