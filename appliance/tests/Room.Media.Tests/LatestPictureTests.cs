using Room.Devices;
using Room.Media.Display;

namespace Room.Media.Tests;

public sealed class LatestPictureTests
{
    [Fact]
    public void The_latest_picture_is_copied_out_and_a_too_small_buffer_learns_the_size_it_needs()
    {
        var latest = new LatestPicture();
        Assert.False(latest.TryCopyLatestI420(new byte[100], out var w, out _));
        Assert.Equal(0, w);

        var card = TestCard.Solid(64, 36, TestCard.Red);
        latest.Write(card.Data.Span, 64, 36);
        Assert.False(latest.TryCopyLatestI420(new byte[10], out w, out var h));
        Assert.Equal((64, 36), (w, h));
        var copy = new byte[LatestPicture.I420Size(w, h)];
        Assert.True(latest.TryCopyLatestI420(copy, out _, out _));
        Assert.Equal(card.Data.ToArray(), copy);
        Assert.Equal(1, latest.Pictures);

        latest.Clear();
        Assert.False(latest.TryCopyLatestI420(copy, out _, out _));
        Assert.Equal(2, latest.Pictures); // readers see the change
    }

    [Fact]
    public void Bytes_that_are_not_the_picture_claimed_are_refused_and_the_last_picture_stays()
    {
        var latest = new LatestPicture();
        var card = TestCard.Solid(16, 16, TestCard.Blue);
        latest.Write(card.Data.Span, 16, 16);
        Assert.Throws<ArgumentException>(() => latest.Write(new byte[10], 16, 16));
        Assert.Throws<ArgumentException>(() => latest.Write(new byte[10], 0, 16));
        var copy = new byte[LatestPicture.I420Size(16, 16)];
        Assert.True(latest.TryCopyLatestI420(copy, out var w, out _));
        Assert.Equal(16, w);
        Assert.Equal(card.Data.ToArray(), copy);
    }

    [Fact]
    public void The_send_pipeline_hands_its_camera_picture_to_the_self_view()
    {
        var format = new VideoFormat(PixelFormat.I420, 320, 180, 30);
        using var loop = new VideoReceivePipeline(VideoCodec.Vp8, preferHardwareDecoder: false);
        var self = new LatestPicture();
        using var send = new VideoSendPipeline(format, VideoCodec.Vp8, [new VideoSendLayer(new VideoLayer(160, 90, 30, 100_000), loop)], EncoderPreference.SoftwareOnly)
        {
            SelfView = self,
        };
        var frame = TestCard.Solid(320, 180, TestCard.Green).Data.ToArray();
        send.ProcessFrame(frame, TimeSpan.Zero);

        var copy = new byte[frame.Length];
        Assert.True(self.TryCopyLatestI420(copy, out var w, out var h));
        Assert.Equal((320, 180), (w, h)); // the camera's picture, not the smaller layer's
        Assert.Equal(frame, copy);
    }
}
