using Room.Devices;
using Room.Media.Rtp;

namespace Room.Media.Tests;

/// <summary>Simulcast layers of one send pipeline can be paused (what the bandwidth cannot carry is not encoded).</summary>
public class SimulcastLayerTests
{
    [Fact]
    public void A_paused_layer_sends_nothing_while_the_others_go_on_and_resumes_with_a_keyframe()
    {
        var format = new VideoFormat(PixelFormat.I420, 320, 180, 30);
        var high = new RtpTests.PacketList();
        var low = new RtpTests.PacketList();
        using var send = new VideoSendPipeline(format, VideoCodec.Vp8,
            [new VideoSendLayer(new VideoLayer(320, 180, 30, 400_000), high), new VideoSendLayer(new VideoLayer(160, 90, 30, 100_000), low)],
            EncoderPreference.SoftwareOnly, new EncoderOptions { KeyframeIntervalSeconds = 60 });
        var frame = new byte[320 * 180 * 3 / 2];
        int n = 0;
        void Send(int count)
        {
            for (int i = 0; i < count; i++, n++)
            {
                TestSignals.Pattern(frame, 320, 180, n);
                send.ProcessFrame(frame, TimeSpan.FromMilliseconds(n * 33));
            }
        }

        Send(10);
        Assert.True(send.IsLayerActive(0));
        int highBefore = high.Packets.Count, lowBefore = low.Packets.Count;
        Assert.True(highBefore > 0);

        send.SetLayerActive(0, false);
        Send(10);
        Assert.False(send.IsLayerActive(0));
        Assert.Equal(highBefore, high.Packets.Count);
        Assert.True(low.Packets.Count > lowBefore);

        int lowMark = low.Packets.Count;
        send.SetLayerActive(0, true);
        Send(1);
        var depack = new Vp8Depacketizer();
        var resumed = high.Packets[highBefore];
        Assert.True(depack.IsKeyframe(resumed.Payload), "the resumed layer starts with a keyframe");
        Assert.False(depack.IsKeyframe(low.Packets[lowMark].Payload), "the running layer was not made to send one");
    }
}
