using System.Net;
using Room.Call.E2ee;
using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Room.Media.Rtp;
using Room.Rtc;
using Room.Rtc.Rtp;
using Room.Testing;

namespace Room.Call.Tests;

/// <summary>The media paths of Room.Call allocate nothing per frame or packet once running (E2EE on).</summary>
public sealed class CallAllocationTests
{
    /// <summary>Records what the publisher's encrypted VP8 stream looks like on the wire (RTP packets), for replay.</summary>
    private sealed class Recorder(uint ssrc) : IRtpPacketSink
    {
        public List<byte[]> Packets { get; } = [];

        public void OnPacket(in RtpPacketView p)
        {
            var b = new byte[RtpHeader.FixedLength + p.Payload.Length];
            RtpHeader.WriteFixed(b, 96, p.Marker, p.SequenceNumber, p.Timestamp, ssrc);
            p.Payload.CopyTo(b.AsSpan(RtpHeader.FixedLength));
            Packets.Add(b);
        }
    }

    [Fact]
    public void Publishing_allocates_nothing_per_frame_once_running()
    {
        // Not connected: the sender's SRTP session does not exist yet, so packets stop at the transport, after
        // encoding, SFrame, packetizing and the RTP sender's history.
        using var transport = new RtcTransport([IPAddress.Loopback], controlling: true);
        using var link = LinkKey.FromSecret(new byte[32]);
        using var video = link.CreateEncryptor(FrameKind.Vp8, 100);
        using var audio = link.CreateEncryptor(FrameKind.Audio, 101);
        var layer = CallPipelineTests.Small;
        using var publisher = new CallPublisher(transport, PublishedStreams.CreateRandom(), new VideoFormat(PixelFormat.I420, layer.Width, layer.Height, 15),
            new PublisherOptions { Video = layer, Encoder = EncoderPreference.SoftwareOnly, EncoderThreads = 1 }, 1, video, audio);
        var i420 = new byte[layer.I420Size];
        var pcm = new short[AudioFormat.FrameSamples];
        void Frame(int i)
        {
            i420.AsSpan(0, layer.Width * layer.Height).Fill((byte)(i * 5));
            publisher.ProcessVideoFrame(i420, TimeSpan.FromMilliseconds(i * 1000 / 15));
            publisher.ProcessAudioFrame(pcm);
        }

        for (int i = 0; i < 60; i++) Frame(i);
        long before = ThreadAllocations.Start();
        for (int i = 60; i < 160; i++) Frame(i);
        long bytes = ThreadAllocations.Since(before);
        Assert.True(video.Frames >= 150, $"{video.Frames} frames encrypted");
        Assert.True(bytes == 0, $"{bytes} bytes allocated for 100 video and audio frames");
    }

    [Fact]
    public void Receiving_decrypting_and_decoding_allocate_nothing_per_packet_once_running()
    {
        const uint ssrc = 0x5eed;
        using var link = LinkKey.FromSecret(new byte[32]);
        using var enc = link.CreateEncryptor(FrameKind.Vp8, 200);
        var layer = CallPipelineTests.Small;
        var recorder = new Recorder(ssrc);
        using (var send = new VideoSendPipeline(new VideoFormat(PixelFormat.I420, layer.Width, layer.Height, 15), VideoCodec.Vp8,
                   [new VideoSendLayer(layer, recorder, enc)], EncoderPreference.SoftwareOnly, new EncoderOptions { KeyframeIntervalSeconds = 100 }))
        {
            var i420 = new byte[layer.I420Size];
            for (int i = 0; i < 160; i++)
            {
                i420.AsSpan(0, layer.Width * layer.Height).Fill((byte)(i * 5));
                send.ProcessFrame(i420, TimeSpan.FromMilliseconds(i * 1000 / 15));
            }
        }

        using var transport = new RtcTransport([IPAddress.Loopback], controlling: false);
        using var dec = link.CreateDecryptor(FrameKind.Vp8);
        using var subscriber = new CallSubscriber(transport, videoTransform: dec);
        subscriber.SetStreams([new RemoteTrack("0", "video", 1, ssrc, 0, 96, -1)]);
        var deliver = transport.RtpReceived!;
        int half = recorder.Packets.Count / 2;
        for (int i = 0; i < half; i++) deliver(recorder.Packets[i]);
        long decoded = subscriber.VideoFramesDecoded;
        long before = ThreadAllocations.Start();
        for (int i = half; i < recorder.Packets.Count; i++) deliver(recorder.Packets[i]);
        long bytes = ThreadAllocations.Since(before);
        Assert.True(subscriber.VideoFramesDecoded - decoded >= 70, $"{subscriber.VideoFramesDecoded - decoded} frames decoded");
        Assert.Equal(0, dec.Rejected);
        Assert.True(bytes == 0, $"{bytes} bytes allocated for {recorder.Packets.Count - half} packets");
    }
}
