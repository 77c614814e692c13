using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Room.Media.Rtp;
using Room.Rtc;
using Room.Rtc.Congestion;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;

namespace Room.Call;

/// <summary>What a <see cref="CallPublisher"/> sends: the video layer and encoder, the audio bitrate.</summary>
public sealed record PublisherOptions
{
    /// <summary>The sent picture; the capture is scaled to it when it differs. With a <see cref="Ladder"/>, only its bitrate (the start without a congestion controller) counts.</summary>
    public VideoLayer Video { get; init; } = new(640, 360, 15, 800_000);

    /// <summary>
    /// When given (lowest first, the top no larger than the capture), the sent picture and frame rate follow the video
    /// bitrate along these rungs (<see cref="VideoLadder"/>); null sends <see cref="Video"/> throughout.
    /// </summary>
    public IReadOnlyList<VideoRung>? Ladder { get; init; }

    /// <summary>How long a higher rung must stay earned before the picture grows (<see cref="VideoLadder.UpHold"/>).</summary>
    public TimeSpan LadderUpHold { get; init; } = TimeSpan.FromSeconds(3);

    public EncoderPreference Encoder { get; init; } = EncoderPreference.Auto;

    /// <summary>
    /// Periodic keyframe: the longest a receiver that lost one waits when its PLIs go unanswered. Requests are
    /// answered (paced by <see cref="MinKeyframeSpacing"/>), so this is a backstop, not the way receivers recover:
    /// at 3 s it was 20 keyframes a minute at 15 fps (issue 21 measured 5-6x Chromium's, which sends none unasked).
    /// </summary>
    public int KeyframeIntervalSeconds { get; init; } = 10;

    /// <summary>Encoder threads (0: the encoder decides).</summary>
    public int EncoderThreads { get; init; }

    /// <summary>
    /// At most one requested keyframe per this interval, however often receivers ask (each is a burst). A request
    /// inside the interval is not dropped but served when it ends: a receiver whose keyframe was itself lost then
    /// waits at most this long, not for its next PLI. 300 ms, as libwebrtc's minimum keyframe send interval.
    /// </summary>
    public TimeSpan MinKeyframeSpacing { get; init; } = TimeSpan.FromMilliseconds(300);

    public int AudioBitrate { get; init; } = 32_000;

    /// <summary>The encoder never goes below this, whatever the congestion controller says.</summary>
    public int MinVideoBitrate { get; init; } = 50_000;

    /// <summary>The clock of keyframe spacing and sender reports.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>The SSRCs and payload types one published transport sends with (what the offer announces).</summary>
public sealed record PublishedStreams(uint VideoSsrc, uint RtxSsrc, uint AudioSsrc, byte VideoPayloadType = 96, byte RtxPayloadType = 97, byte AudioPayloadType = 111)
{
    /// <summary>Random SSRCs, the usual payload types.</summary>
    public static PublishedStreams CreateRandom() =>
        new((uint)Random.Shared.NextInt64(1, uint.MaxValue), (uint)Random.Shared.NextInt64(1, uint.MaxValue), (uint)Random.Shared.NextInt64(1, uint.MaxValue));

    /// <summary>The send-only VP8 (with RTX) + Opus offer for these streams on <paramref name="transport"/>.</summary>
    public SessionDescription CreateOffer(RtcTransport transport, string streamId = "room")
    {
        ArgumentNullException.ThrowIfNull(transport);
        return SdpBuilder.CreateSendOffer(transport.Ice, transport.Certificate,
        [
            new SendTrack("audio", "opus", 48000, 2, AudioPayloadType, AudioSsrc, streamId, streamId + "-audio", "minptime=10;useinbandfec=1"),
            new SendTrack("video", "VP8", 90000, 1, VideoPayloadType, VideoSsrc, streamId, streamId + "-video", RtxPayloadType: RtxPayloadType, RtxSsrc: RtxSsrc),
        ]);
    }
}

/// <summary>Hands a packetizer's output to an <see cref="RtpSender"/> (no allocation).</summary>
public sealed class RtpSenderSink(RtpSender sender) : IRtpPacketSink
{
    public long Failed { get; private set; }

    public void OnPacket(in RtpPacketView packet)
    {
        if (sender.Send(packet.SequenceNumber, packet.Timestamp, packet.Marker, packet.Payload) != RtcError.None) Failed++;
    }
}

/// <summary>
/// Applies an <see cref="IFrameTransform"/> to each RTP payload before passing it on. For Opus one RTP payload is
/// one encoded frame, so this is per-frame end-to-end encryption of audio. One reused buffer.
/// </summary>
public sealed class TransformingPacketSink(IFrameTransform transform, IRtpPacketSink next) : IRtpPacketSink
{
    private byte[] _buffer = new byte[2048];

    public long Dropped { get; private set; }

    public void OnPacket(in RtpPacketView packet)
    {
        int need = packet.Payload.Length + transform.MaxExpansion;
        if (_buffer.Length < need) _buffer = new byte[need]; // only for an unusually large payload
        int n = transform.Transform(packet.Payload, false, _buffer);
        if (n < 0)
        {
            Dropped++;
            return;
        }
        next.OnPacket(new RtpPacketView(packet.SequenceNumber, packet.Timestamp, packet.Marker, _buffer.AsSpan(0, n)));
    }
}

/// <summary>
/// The sending half of a call over one WebRTC transport: camera frames → VP8 (Room.Media's send pipeline, scaling
/// and converting the capture format) → optional per-frame transform (SFrame) → RFC 7741 packets → <see cref="RtpSender"/>
/// (NACK answered with RTX, PLI/FIR with a keyframe at most every <see cref="PublisherOptions.MinKeyframeSpacing"/>);
/// microphone → beamformer/echo canceller → Opus → transform → RTP. The congestion controller's target, less the
/// audio, is the encoder bitrate; with a <see cref="PublisherOptions.Ladder"/> it also chooses the picture size and
/// frame rate (the capture scaled down, the encoder reopened once per step). Sender reports go out about once a second. Steady state allocates nothing per
/// frame or packet.
/// </summary>
public sealed class CallPublisher : IDisposable
{
    private readonly VideoSendPipeline _video;
    private readonly AudioSendPipeline _audio;
    private readonly PublisherOptions _options;
    private readonly CongestionController? _congestion;
    private readonly KeyframePacer _keyframes;
    private readonly VideoLadder? _ladder;
    private readonly TimeProvider _time;
    private long _lastReport;
    private bool _reported;
    private int _bitrate;
    private readonly int _microphoneChannels;
    private readonly short[] _silence;

    /// <param name="transport">Connected (or connecting) transport; its RTCP is handed to the senders.</param>
    /// <param name="captureFormat">Format of the frames given to <see cref="ProcessVideoFrame"/> / <see cref="RunVideoAsync"/>.</param>
    /// <param name="microphoneChannels">Channels of the microphone capture (beamformed to one).</param>
    /// <param name="videoTransform">Per encoded video frame (end-to-end encryption); null sends frames as encoded.</param>
    /// <param name="audioTransform">Per Opus frame.</param>
    /// <param name="processor">Echo canceller shared with the playback side, or null.</param>
    public CallPublisher(RtcTransport transport, PublishedStreams streams, VideoFormat captureFormat, PublisherOptions? options = null,
        int microphoneChannels = 1, IFrameTransform? videoTransform = null, IFrameTransform? audioTransform = null, AudioProcessor? processor = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(streams);
        _options = options ?? new PublisherOptions();
        _time = _options.TimeProvider;
        _keyframes = new KeyframePacer(_options.MinKeyframeSpacing, _time);
        _microphoneChannels = microphoneChannels;
        _silence = new short[AudioFormat.FrameSamples * Math.Max(1, microphoneChannels)];
        Transport = transport;
        Video = new RtpSender(transport, streams.VideoSsrc, streams.VideoPayloadType, 90000, streams.RtxSsrc, streams.RtxPayloadType);
        Audio = new RtpSender(transport, streams.AudioSsrc, streams.AudioPayloadType, 48000);
        VideoSink = new RtpSenderSink(Video);
        AudioSink = new RtpSenderSink(Audio);
        var layer = _options.Video;
        if (_options.Ladder is { } rungs)
        {
            // Starts on the rung the congestion controller's first target earns (as the encoder's first bitrate will be).
            int first = transport.Congestion is { } cc ? VideoShare(cc.TargetBps) : layer.BitrateBps;
            _ladder = new VideoLadder(rungs, first, _time, _options.LadderUpHold);
            layer = layer with { Width = _ladder.Current.Width, Height = _ladder.Current.Height, FramesPerSecond = _ladder.Current.FramesPerSecond };
        }

        _minFrameGap = FrameGap(layer.FramesPerSecond);
        _video = new VideoSendPipeline(captureFormat, VideoCodec.Vp8, [new VideoSendLayer(layer, VideoSink, videoTransform)], _options.Encoder,
            new EncoderOptions { KeyframeIntervalSeconds = _options.KeyframeIntervalSeconds, Threads = _options.EncoderThreads });
        IRtpPacketSink audioSink = audioTransform is null ? AudioSink : new TransformingPacketSink(audioTransform, AudioSink);
        try
        {
            _audio = new AudioSendPipeline(microphoneChannels, audioSink, processor, encoder: new OpusAudioEncoder(_options.AudioBitrate, dtx: false));
        }
        catch
        {
            _video.Dispose();
            throw;
        }

        _bitrate = _options.Video.BitrateBps;
        Video.KeyframeRequested += OnKeyframeRequested;
        transport.RtcpReceived = OnRtcp;
        _congestion = transport.Congestion;
        if (_congestion is not null)
        {
            _congestion.TargetBitrateChanged += OnTargetBitrate;
            OnTargetBitrate(_congestion.TargetBps);
        }
    }

    public RtcTransport Transport { get; }

    /// <summary>Where our own camera's pictures go for the room display's self-view (null: nowhere).</summary>
    public LatestPicture? SelfView
    {
        get => _video.SelfView;
        set => _video.SelfView = value;
    }

    public RtpSender Video { get; }

    public RtpSender Audio { get; }

    public RtpSenderSink VideoSink { get; }

    public RtpSenderSink AudioSink { get; }

    /// <summary>Which encoder is used and why (for the media report).</summary>
    public string VideoDescription => _video.Description;

    public string AudioDescription => $"Opus ({_audio.Encoder.Backend}) {_options.AudioBitrate / 1000} kbit/s";

    public long VideoFramesSent => _video.FramesProcessed;

    public long AudioFramesSent => _audio.FramesSent;

    /// <summary>The bitrate last given to the video encoder.</summary>
    public int VideoBitrate => Volatile.Read(ref _bitrate);

    /// <summary>Keyframes made for receivers' requests (PLI/FIR), at once or when the spacing ended.</summary>
    public long KeyframesRequested => _keyframes.Served + _keyframes.Deferred;

    /// <summary>Sets the video encoder's bitrate (the congestion controller does this when the transport has one).</summary>
    public void SetVideoBitrate(int bitsPerSecond)
    {
        int bps = Math.Max(_options.MinVideoBitrate, bitsPerSecond);
        Volatile.Write(ref _bitrate, bps);
        _video.SetBitrate(0, bps);
    }

    private void OnTargetBitrate(int bps) => SetVideoBitrate(VideoShare(bps));

    private int VideoShare(int targetBps) => targetBps - _options.AudioBitrate - 8_000; // audio and its RTP overhead

    // A 30 fps camera for a 15 fps layer: every other frame. 10 % slack so that capture jitter drops nothing.
    private static TimeSpan FrameGap(int framesPerSecond) => TimeSpan.FromSeconds(0.9 / Math.Max(1, framesPerSecond));

    /// <summary>The picture being sent now: size and frame rate (they change with the bitrate when there is a ladder).</summary>
    public VideoLayer VideoSize => _video.LayerSize(0);

    /// <summary>Picture changes the bitrate made (ladder steps up and down), and the last one with its reason; all zero without a ladder.</summary>
    public (long Up, long Down, RungChange? Last) VideoSizeChanges => _ladder is null ? default : (_ladder.Ups, _ladder.Downs, _ladder.LastChange);

    /// <summary>Ladder steps the encoder could not take (it stayed at the picture it had), and why the last failed.</summary>
    public (long Count, string? Last) VideoSizeFailures => (_resizeFailures, _lastResizeFailure);

    private long _resizeFailures;
    private string? _lastResizeFailure;

    /// <summary>Follows the ladder to its new rung (on the frame thread): the frame after this one is sent at the new picture.</summary>
    private void TakeRung(VideoRung rung)
    {
        try
        {
            _video.ResizeLayer(0, rung.Width, rung.Height, rung.FramesPerSecond);
            _minFrameGap = FrameGap(rung.FramesPerSecond);
        }
        catch (MediaException ex)
        {
            _resizeFailures++;
            _lastResizeFailure = ex.Message;
        }
    }

    /// <summary>Requests that arrived inside the minimum spacing and were served at its end.</summary>
    public long KeyframesDeferred => _keyframes.Deferred;

    /// <summary>Keyframes the encoder made, for any reason (requests, forced, its periodic interval, the first frame).</summary>
    public long KeyframesSent => _video.KeyframesSent;

    /// <summary>Keyframes forced by <see cref="RequestKeyframe"/> (a new key, a new subscriber).</summary>
    public long KeyframesForced => _keyframes.ForcedCount;

    private void OnKeyframeRequested()
    {
        if (_keyframes.OnRequest()) _video.RequestKeyframe();
    }

    /// <summary>Serves a request deferred by the spacing once the spacing has passed (called per frame).</summary>
    private void ServeDeferredKeyframe()
    {
        if (_keyframes.TakeDeferred()) _video.RequestKeyframe();
    }

    /// <summary>Forces the next frame to be a keyframe now (a new key, a new subscriber).</summary>
    public void RequestKeyframe()
    {
        _keyframes.Forced();
        _video.RequestKeyframe();
    }

    private void OnRtcp(ReadOnlySpan<byte> compound)
    {
        Video.OnRtcp(compound);
        Audio.OnRtcp(compound);
    }

    /// <summary>Captured frames not sent because the camera delivers more than the layer's frame rate.</summary>
    public long VideoFramesSkipped { get; private set; }

    /// <summary>Time from a captured frame to its last packet (the last frame sent): scaling, encoding, encryption, sending.</summary>
    public TimeSpan LastCaptureToPacket => _video.LastCaptureToPacket;

    /// <summary>Encodes and sends one captured frame (in the capture format); frames faster than the layer's rate are skipped.</summary>
    public void ProcessVideoFrame(ReadOnlySpan<byte> frame, TimeSpan captureTime)
    {
        if (_ladder is not null && _ladder.Update(VideoBitrate)) TakeRung(_ladder.Current);
        if (_lastCapture is { } last && captureTime - last < _minFrameGap && captureTime >= last)
        {
            VideoFramesSkipped++;
            return;
        }

        _lastCapture = captureTime;
        ServeDeferredKeyframe();
        _video.ProcessFrame(frame, captureTime);
        MaybeReport();
    }

    private TimeSpan? _lastCapture;
    private TimeSpan _minFrameGap;

    /// <summary>While true, silence is sent in place of the microphones (the stream keeps its timing).</summary>
    public bool MicrophoneMuted { get; set; }

    /// <summary>Processes and sends 20 ms of interleaved microphone capture.</summary>
    public void ProcessAudioFrame(ReadOnlySpan<short> interleaved) => _audio.ProcessFrame(MicrophoneMuted ? _silence.AsSpan(0, interleaved.Length) : interleaved);

    /// <summary>Reads the camera and sends until cancelled (the capture is not disposed here).</summary>
    public Task RunVideoAsync(IVideoCapture capture, CancellationToken cancellationToken) =>
        VideoSendPipeline.PumpAsync(capture, static (frame, time, self) => self.ProcessVideoFrame(frame, time), this, cancellationToken);

    /// <summary>
    /// Reads the microphone (the channel count given at construction, any rate from 8 to 192 kHz: resampled to 48 kHz
    /// when the card runs at another) and sends until cancelled.
    /// </summary>
    public Task RunAudioAsync(IAudioCapture capture, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(capture);
        if (capture.Channels != _microphoneChannels)
        {
            throw new NotSupportedException($"capture is {capture.Channels} ch at {capture.SampleRate} Hz; the publisher wants {_microphoneChannels} ch");
        }

        return AudioDevicePumps.CaptureBlocksAsync(capture, static (block, self) => self.ProcessAudioFrame(block), this, cancellationToken);
    }

    private void MaybeReport()
    {
        long now = _time.GetTimestamp();
        if (_reported && _time.GetElapsedTime(_lastReport, now) < TimeSpan.FromSeconds(1)) return;
        _reported = true;
        _lastReport = now;
        Video.SendSenderReport();
        Audio.SendSenderReport();
    }

    public void Dispose()
    {
        if (_congestion is not null) _congestion.TargetBitrateChanged -= OnTargetBitrate;
        Video.KeyframeRequested -= OnKeyframeRequested;
        _video.Dispose();
        _audio.Dispose();
    }
}
