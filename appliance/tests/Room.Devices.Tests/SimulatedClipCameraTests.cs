using System.Text;
using Room.Devices.Simulated;

namespace Room.Devices.Tests;

/// <summary>The simulated camera playing a YUV4MPEG2 clip (Devices:Simulated:VideoClip), as the call-quality bench uses it.</summary>
public sealed class SimulatedClipCameraTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("room-clip-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A 4x2 clip at 30 fps whose frame k is filled with byte 10 + k.</summary>
    private string WriteClip(int frames, string header = "YUV4MPEG2 W4 H2 F30:1 Ip A1:1 C420jpeg")
    {
        var path = Path.Combine(_directory, "clip.y4m");
        using var f = File.Create(path);
        f.Write(Encoding.ASCII.GetBytes(header + "\n"));
        for (int k = 0; k < frames; k++)
        {
            f.Write(Encoding.ASCII.GetBytes("FRAME\n"));
            f.Write(Enumerable.Repeat((byte)(10 + k), 4 * 2 * 3 / 2).ToArray());
        }

        return path;
    }

    [Fact]
    public async Task A_camera_with_a_clip_offers_the_clips_format_and_plays_its_frames_in_a_loop()
    {
        var camera = new SimulatedCamera("sim:clip", "clip", clip: WriteClip(2));
        var format = Assert.Single(camera.Formats);
        Assert.Equal(new VideoFormat(PixelFormat.I420, 4, 2, 30), format);
        await using var capture = await camera.OpenCaptureAsync(format);
        var firstBytes = new List<byte>();
        for (int i = 0; i < 3; i++)
        {
            using var frame = await capture.ReadFrameAsync();
            Assert.Equal(12, frame.Data.Length);
            Assert.All(frame.Data.ToArray(), b => Assert.Equal(frame.Data.Span[0], b));
            firstBytes.Add(frame.Data.Span[0]);
        }

        Assert.Equal([10, 11, 10], firstBytes);
    }

    [Fact]
    public async Task A_camera_with_a_clip_refuses_another_format_and_can_be_opened_again_after()
    {
        var camera = new SimulatedCamera("sim:clip", "clip", clip: WriteClip(1));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await camera.OpenCaptureAsync(new VideoFormat(PixelFormat.I420, 640, 360, 30)));
        await using var capture = await camera.OpenCaptureAsync(camera.Formats[0]);
        using var frame = await capture.ReadFrameAsync();
        Assert.Equal(10, frame.Data.Span[0]);
    }

    [Theory]
    [InlineData("RIFF W4 H2 F30:1")]
    [InlineData("YUV4MPEG2 W4 H2 F30:1 C444")]
    [InlineData("YUV4MPEG2 W3 H2 F30:1")]
    public void A_file_that_is_no_8_bit_420_clip_is_refused_with_the_reason(string header)
    {
        var path = WriteClip(1, header);
        var e = Assert.Throws<InvalidDataException>(() => new SimulatedCamera("sim:clip", "clip", clip: path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
