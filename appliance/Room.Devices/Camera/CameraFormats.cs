namespace Room.Devices.Camera;

/// <summary>Pixel-format mapping and ordering of what a camera offers.</summary>
public static class CameraFormats
{
    /// <summary>Sizes tried inside a stepwise/continuous frame-size range.</summary>
    public static IReadOnlyList<(int Width, int Height)> CommonSizes { get; } =
        [(3840, 2160), (1920, 1080), (1280, 720), (960, 540), (640, 480), (640, 360), (320, 240), (320, 180)];

    public static PixelFormat? FromFourCc(uint fourcc) => Interop.V4l2.FourCcText(fourcc) switch
    {
        "YU12" => PixelFormat.I420,
        "NV12" => PixelFormat.Nv12,
        "YUYV" => PixelFormat.Yuyv,
        "MJPG" => PixelFormat.Mjpeg,
        "RGB3" => PixelFormat.Rgb24,
        _ => null,
    };

    public static uint ToFourCc(PixelFormat format) => Interop.V4l2.FourCc(format switch
    {
        PixelFormat.I420 => "YU12",
        PixelFormat.Nv12 => "NV12",
        PixelFormat.Yuyv => "YUYV",
        PixelFormat.Mjpeg => "MJPG",
        PixelFormat.Rgb24 => "RGB3",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    });

    /// <summary>Best first: larger pictures, then higher frame rates (up to 30 before above), then raw YUV before MJPEG.</summary>
    public static IReadOnlyList<VideoFormat> Order(IEnumerable<VideoFormat> formats) =>
        formats.Distinct()
            .OrderByDescending(f => (long)f.Width * f.Height)
            .ThenBy(f => f.FramesPerSecond > 30 ? 1 : 0)
            .ThenByDescending(f => f.FramesPerSecond)
            .ThenBy(f => f.Pixel switch
            {
                PixelFormat.I420 => 0,
                PixelFormat.Nv12 => 1,
                PixelFormat.Yuyv => 2,
                PixelFormat.Mjpeg => 3,
                _ => 4,
            })
            .ToList();

    /// <summary>Frames per second of a frame interval num/den (1/30 s → 30); 0 for nonsense.</summary>
    public static int Fps(uint numerator, uint denominator) =>
        numerator == 0 || denominator == 0 ? 0 : (int)Math.Round((double)denominator / numerator);

    /// <summary>Bytes of one frame of <paramref name="f"/> (an upper bound for MJPEG).</summary>
    public static int FrameBytes(VideoFormat f) => f.Pixel switch
    {
        PixelFormat.I420 or PixelFormat.Nv12 => f.Width * f.Height * 3 / 2,
        PixelFormat.Yuyv => f.Width * f.Height * 2,
        PixelFormat.Rgb24 => f.Width * f.Height * 3,
        _ => f.Width * f.Height * 2,
    };
}
