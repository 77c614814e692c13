using System.Net;
using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Room.Rtc;
using Room.Rtc.Dtls;
using Room.Rtc.Sdp;

namespace Room.Call.Tests;

/// <summary>Two connected transports on loopback: our publisher straight into our subscriber.</summary>
internal sealed class LoopbackPair : IDisposable
{
    public RtcTransport Sender { get; } = new([IPAddress.Loopback], controlling: true);
    public RtcTransport Receiver { get; } = new([IPAddress.Loopback], controlling: false);

    public async Task ConnectAsync(CancellationToken ct)
    {
        Sender.Ice.SetRemoteCredentials(Receiver.Ice.LocalUfrag, Receiver.Ice.LocalPassword);
        Receiver.Ice.SetRemoteCredentials(Sender.Ice.LocalUfrag, Sender.Ice.LocalPassword);
        foreach (var c in Sender.Ice.LocalCandidates) Receiver.Ice.AddRemoteCandidate(c);
        foreach (var c in Receiver.Ice.LocalCandidates) Sender.Ice.AddRemoteCandidate(c);
        await Task.WhenAll(
            Sender.ConnectAsync(DtlsRole.Server, Receiver.Certificate.Fingerprint, ct),
            Receiver.ConnectAsync(DtlsRole.Client, Sender.Certificate.Fingerprint, ct));
    }

    public void Dispose()
    {
        Sender.Dispose();
        Receiver.Dispose();
    }
}

public sealed class CallPipelineTests
{
    internal static readonly VideoLayer Small = new(160, 120, 15, 200_000);

    internal static async Task PumpAsync(CallPublisher publisher, VideoLayer layer, Func<bool> done, CancellationToken ct)
    {
        var i420 = new byte[layer.I420Size];
        var pcm = new short[AudioFormat.FrameSamples];
        int frame = 0;
        long audio = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!done())
        {
            ct.ThrowIfCancellationRequested();
            // Real-time pacing: the receiver plays audio out on its own 20 ms clock.
            while (audio * AudioFormat.FrameMilliseconds <= clock.ElapsedMilliseconds)
            {
                for (int s = 0; s < pcm.Length; s++) pcm[s] = (short)(6000 * Math.Sin(2 * Math.PI * 440 * s / AudioFormat.SampleRate));
                publisher.ProcessAudioFrame(pcm);
                audio++;
            }
            if (frame * 1000L / layer.FramesPerSecond <= clock.ElapsedMilliseconds)
            {
                i420.AsSpan(0, layer.Width * layer.Height).Fill((byte)(frame * 7));
                i420.AsSpan(layer.Width * layer.Height).Fill(128);
                publisher.ProcessVideoFrame(i420, TimeSpan.FromMilliseconds(frame * 1000.0 / layer.FramesPerSecond));
                frame++;
            }
            await Task.Delay(5, ct);
        }
    }

    [Fact]
    public async Task Publisher_frames_reach_the_subscriber_decoded_with_keyframe_requests_answered()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var pair = new LoopbackPair();
        await pair.ConnectAsync(ct);
        var streams = PublishedStreams.CreateRandom();
        using var publisher = new CallPublisher(pair.Sender, streams, new VideoFormat(PixelFormat.I420, Small.Width, Small.Height, 15),
            new PublisherOptions { Video = Small, Encoder = EncoderPreference.SoftwareOnly, KeyframeIntervalSeconds = 30, MinKeyframeSpacing = TimeSpan.Zero });
        using var subscriber = new CallSubscriber(pair.Receiver);
        subscriber.SetStreams([
            new RemoteTrack("0", "audio", 1, streams.AudioSsrc, 0, streams.AudioPayloadType, -1),
            new RemoteTrack("1", "video", 1, streams.VideoSsrc, streams.RtxSsrc, streams.VideoPayloadType, streams.RtxPayloadType),
        ]);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = subscriber.RunAsync(null, null, stop.Token);
        await PumpAsync(publisher, Small, () => subscriber.VideoFramesDecoded >= 10 && subscriber.AudioFramesDecoded >= 10, ct);

        Assert.Equal(Small.Width, subscriber.Videos[0].Width);
        Assert.Equal(0, subscriber.UnknownPackets);
        // A keyframe request from the subscriber side reaches the encoder through RTCP PLI.
        long before = publisher.KeyframesRequested;
        subscriber.Videos[0].Pipeline.JitterBuffer.ResyncAtKeyframe();
        await PumpAsync(publisher, Small, () => publisher.KeyframesRequested > before, ct);
        Assert.True(subscriber.PlisSent > 0);
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_ladder_step_reaches_the_far_end_decoder_as_a_new_picture_size_up_after_the_hold_and_down_at_once()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var pair = new LoopbackPair();
        await pair.ConnectAsync(ct);
        var streams = PublishedStreams.CreateRandom();
        var capture = new VideoLayer(320, 180, 15, 200_000);
        using var publisher = new CallPublisher(pair.Sender, streams, new VideoFormat(PixelFormat.I420, capture.Width, capture.Height, 15),
            new PublisherOptions
            {
                Video = capture, Ladder = [new VideoRung(160, 90, 15, 0), new VideoRung(320, 180, 15, 1_000_000)], LadderUpHold = TimeSpan.FromSeconds(2),
                Encoder = EncoderPreference.SoftwareOnly, KeyframeIntervalSeconds = 30, MinKeyframeSpacing = TimeSpan.Zero, TimeProvider = clock,
            });
        using var subscriber = new CallSubscriber(pair.Receiver);
        subscriber.SetStreams([new RemoteTrack("1", "video", 1, streams.VideoSsrc, streams.RtxSsrc, streams.VideoPayloadType, streams.RtxPayloadType)]);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = subscriber.RunAsync(null, null, stop.Token);
        var far = () => (subscriber.Videos[0].Width, subscriber.Videos[0].Height);
        await PumpAsync(publisher, capture, () => subscriber.VideoFramesDecoded >= 3, ct);
        Assert.Equal((160, 90), far()); // 200 kbit/s earns the lower rung only

        publisher.SetVideoBitrate(1_500_000);
        long sent = publisher.VideoFramesSent;
        await PumpAsync(publisher, capture, () => publisher.VideoFramesSent > sent + 2, ct);
        Assert.Equal(160, publisher.VideoSize.Width); // not before the hold
        clock.Advance(TimeSpan.FromSeconds(2));
        await PumpAsync(publisher, capture, () => subscriber.Videos[0].Width == 320, ct);
        Assert.Equal((320, 180), far());
        Assert.Equal((1L, 0L), (publisher.VideoSizeChanges.Up, publisher.VideoSizeChanges.Down));

        publisher.SetVideoBitrate(300_000);
        await PumpAsync(publisher, capture, () => subscriber.Videos[0].Width == 160, ct);
        Assert.Equal((160, 90), far());
        Assert.Equal((1L, 1L), (publisher.VideoSizeChanges.Up, publisher.VideoSizeChanges.Down));
        Assert.Equal("320x180@15 -> 160x90@15: down, 300 kbit/s (below 800)", publisher.VideoSizeChanges.Last.ToString());
        Assert.Equal(0, publisher.VideoSizeFailures.Count);
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public void A_publisher_nobody_asks_for_keyframes_sends_only_its_first_in_eight_seconds_of_frames()
    {
        using var pair = new LoopbackPair();
        var layer = Small with { FramesPerSecond = 15 };
        using var publisher = new CallPublisher(pair.Sender, PublishedStreams.CreateRandom(), new VideoFormat(PixelFormat.I420, layer.Width, layer.Height, 15),
            new PublisherOptions { Video = layer, Encoder = EncoderPreference.SoftwareOnly });
        var i420 = new byte[layer.I420Size];
        for (int frame = 0; frame < 8 * 15; frame++)
        {
            i420.AsSpan(0, layer.Width * layer.Height).Fill((byte)(frame * 7));
            i420.AsSpan(layer.Width * layer.Height).Fill(128);
            publisher.ProcessVideoFrame(i420, TimeSpan.FromSeconds(frame / 15.0));
        }

        Assert.Equal(8 * 15, publisher.VideoFramesSent);
        Assert.Equal(1, publisher.KeyframesSent);
    }

    [Fact]
    public async Task Removed_streams_stop_and_their_counts_are_kept()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        using var pair = new LoopbackPair();
        await pair.ConnectAsync(ct);
        var streams = PublishedStreams.CreateRandom();
        using var publisher = new CallPublisher(pair.Sender, streams, new VideoFormat(PixelFormat.I420, Small.Width, Small.Height, 15),
            new PublisherOptions { Video = Small, Encoder = EncoderPreference.SoftwareOnly });
        using var subscriber = new CallSubscriber(pair.Receiver);
        var video = new RemoteTrack("1", "video", 1, streams.VideoSsrc, streams.RtxSsrc, streams.VideoPayloadType, streams.RtxPayloadType);
        subscriber.SetStreams([video]);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = subscriber.RunAsync(null, null, stop.Token);
        await PumpAsync(publisher, Small, () => subscriber.VideoFramesDecoded >= 5, ct);
        long decoded = subscriber.VideoFramesDecoded;

        subscriber.SetStreams([]);
        Assert.Empty(subscriber.Videos);
        Assert.True(subscriber.VideoFramesDecoded >= decoded);
        await PumpAsync(publisher, Small, () => subscriber.UnknownPackets > 5, ct);
        await stop.CancelAsync();
        await run;
    }
}

public sealed class RemoteTrackTests
{
    private const string JanusLikeOffer = """
        v=0
        o=- 1 1 IN IP4 127.0.0.1
        s=VideoRoom 1234
        t=0 0
        a=group:BUNDLE 0 1 2
        m=audio 9 UDP/TLS/RTP/SAVPF 111
        c=IN IP4 127.0.0.1
        a=sendonly
        a=mid:0
        a=rtpmap:111 opus/48000/2
        a=ssrc:1001 cname:janus
        m=video 9 UDP/TLS/RTP/SAVPF 96 97
        c=IN IP4 127.0.0.1
        a=sendonly
        a=mid:1
        a=rtpmap:96 VP8/90000
        a=rtpmap:97 rtx/90000
        a=fmtp:97 apt=96
        a=ssrc-group:FID 2002 2003
        a=ssrc:2002 cname:janus
        a=ssrc:2003 cname:janus
        m=video 9 UDP/TLS/RTP/SAVPF 100
        c=IN IP4 127.0.0.1
        a=sendonly
        a=mid:2
        a=rtpmap:100 H265/90000
        """;

    [Fact]
    public void A_subscription_offer_yields_one_track_per_receivable_section_with_its_feed_and_rtx()
    {
        var offer = SessionDescription.Parse(JanusLikeOffer.ReplaceLineEndings("\r\n") + "\r\n");
        var tracks = RemoteTrack.FromOffer(offer, new Dictionary<string, long> { ["0"] = 77, ["1"] = 77 });
        Assert.Equal(2, tracks.Count);
        Assert.Equal(new RemoteTrack("0", "audio", 77, 1001, 0, 111, -1), tracks[0]);
        Assert.Equal(new RemoteTrack("1", "video", 77, 2002, 2003, 96, 97), tracks[1]);
    }

    [Theory]
    [InlineData("a=ssrc-group:FID x y")]
    [InlineData("a=ssrc-group:FID 1")]
    [InlineData("a=ssrc-group:FID 99999999999 1")]
    [InlineData("a=ssrc:-5 cname:x")]
    public void Malformed_ssrc_lines_leave_the_track_without_an_ssrc_rather_than_throwing(string line)
    {
        var text = $"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=mid:v\r\na=rtpmap:96 VP8/90000\r\n{line}\r\n";
        var tracks = RemoteTrack.FromOffer(SessionDescription.Parse(text));
        var track = Assert.Single(tracks);
        Assert.Equal(0u, track.Ssrc);
        Assert.Equal(0u, track.RtxSsrc);
    }
}

public sealed class WrongKeyTests
{
    [Fact]
    public async Task Frames_that_never_authenticate_back_off_keyframe_requests()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = timeout.Token;
        using var pair = new LoopbackPair();
        await pair.ConnectAsync(ct);
        using var theirs = Room.Call.E2ee.LinkKey.FromSecret(new byte[32]);
        using var ours = Room.Call.E2ee.LinkKey.FromSecret(Enumerable.Repeat((byte)7, 32).ToArray());
        using var enc = theirs.CreateEncryptor(Room.Call.E2ee.FrameKind.Vp8, 1000);
        using var dec = ours.CreateDecryptor(Room.Call.E2ee.FrameKind.Vp8);
        var streams = PublishedStreams.CreateRandom();
        var layer = CallPipelineTests.Small;
        using var publisher = new CallPublisher(pair.Sender, streams, new VideoFormat(PixelFormat.I420, layer.Width, layer.Height, 15),
            new PublisherOptions { Video = layer, Encoder = EncoderPreference.SoftwareOnly, MinKeyframeSpacing = TimeSpan.Zero }, videoTransform: enc);
        using var subscriber = new CallSubscriber(pair.Receiver, videoTransform: dec);
        subscriber.SetStreams([new RemoteTrack("1", "video", 1, streams.VideoSsrc, streams.RtxSsrc, streams.VideoPayloadType, streams.RtxPayloadType)]);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = subscriber.RunAsync(null, null, stop.Token);
        // 60 frames take about 4 s at 15 fps: a PLI every 200 ms would be about 20.
        await CallPipelineTests.PumpAsync(publisher, layer, () => publisher.VideoFramesSent >= 60 && subscriber.VideoFramesRejected >= 2, ct);
        await stop.CancelAsync();
        await run;
        Assert.Equal(0, subscriber.VideoFramesDecoded);
        Assert.InRange(subscriber.PlisSent, 1, 8);
    }
}
