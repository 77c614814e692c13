using Room.Devices;
using Room.Devices.Simulated;
using Room.Framing.Detection;

namespace Room.Framing.Tests;

/// <summary>OpenCV's real cascade on the simulated camera's picture, and on input it must refuse.</summary>
public sealed class HaarFaceDetectorTests : IDisposable
{
    private readonly HaarFaceDetector _detector = new();

    public void Dispose() => _detector.Dispose();

    private static async Task<byte[]> FrameAsync(PtzPosition at)
    {
        var camera = new SimulatedCamera("sim", "sim");
        await camera.MoveToAsync(at);
        await using var capture = await camera.OpenCaptureAsync(new VideoFormat(PixelFormat.I420, 640, 360, 30));
        using var frame = await capture.ReadFrameAsync();
        return frame.Data.ToArray();
    }

    [Fact]
    public async Task Finds_the_three_people_at_the_table_where_they_sit()
    {
        var heads = _detector.Detect(await FrameAsync(new PtzPosition(0, 0, 0)), 640, 360, 640);
        Assert.Equal(3, heads.Count);
        // People sit at pan -9, 0 and 8 degrees; at 70 degrees across, x = 0.5 + pan / 70.
        var xs = heads.Select(h => h.CenterX).Order().ToArray();
        Assert.Equal(0.5 - (9 / 70.0), xs[0], 1);
        Assert.Equal(0.5, xs[1], 1);
        Assert.Equal(0.5 + (8 / 70.0), xs[2], 1);
    }

    [Fact]
    public async Task Finds_nobody_in_an_empty_part_of_the_room()
    {
        Assert.Empty(_detector.Detect(await FrameAsync(new PtzPosition(-90, 20, 0)), 640, 360, 640));
    }

    [Fact]
    public void A_blank_picture_has_no_faces() =>
        Assert.Empty(_detector.Detect(new byte[320 * 180], 320, 180, 320));

    [Theory]
    [InlineData(640, 360, 640, 1000)]
    [InlineData(10, 10, 10, 100)]
    [InlineData(640, 360, 600, 640 * 360)]
    [InlineData(-1, 360, 640, 640 * 360)]
    public void Refuses_planes_that_do_not_match_their_size(int width, int height, int stride, int bytes) =>
        Assert.ThrowsAny<ArgumentException>(() => _detector.Detect(new byte[bytes], width, height, stride));

    [Fact]
    public void A_missing_cascade_file_is_a_clear_error() =>
        Assert.Contains("opencv-data", Assert.Throws<FileNotFoundException>(() => new HaarFaceDetector("/nonexistent/cascade.xml")).Message, StringComparison.Ordinal);
}
