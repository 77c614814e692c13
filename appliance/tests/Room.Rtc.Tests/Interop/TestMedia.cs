using Room.Media;
using Room.Media.Audio;
using Room.Media.Rtp;
using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;

namespace Room.Rtc.Tests.Interop;

/// <summary>Adapts Room.Media's packetizer output to a Room.Rtc sender.</summary>
internal sealed class SenderSink(RtpSender sender) : IRtpPacketSink
{
    public void OnPacket(in RtpPacketView packet) => sender.Send(packet.SequenceNumber, packet.Timestamp, packet.Marker, packet.Payload);
}

/// <summary>Publishes a synthetic VP8 video (moving bars) and an Opus tone until disposed.</summary>
internal sealed class TestPublisher : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _video, _audio;
    private readonly VideoEncoder _encoder;

    private readonly bool _noise;
    private long _lastKeyframe;

    public TestPublisher(RtpSender video, RtpSender audio, VideoLayer layer, bool noise = false)
    {
        _noise = noise;
        Video = video;
        Audio = audio;
        _encoder = VideoEncoder.Create(VideoCodec.Vp8, layer, EncoderPreference.SoftwareOnly,
            new EncoderOptions { KeyframeIntervalSeconds = 3, Threads = 1 });
        video.KeyframeRequested += () =>
        {
            // At most one keyframe a second however often it is asked for (each one is a burst the network must carry).
            long now = Environment.TickCount64;
            if (now - _lastKeyframe < 1000) return;
            _lastKeyframe = now;
            _encoder.RequestKeyframe();
        };
        _video = Task.Run(() => VideoLoop(layer));
        _audio = Task.Run(AudioLoop);
    }

    public RtpSender Video { get; }
    public RtpSender Audio { get; }
    public long FramesEncoded => _encoder.FramesEncoded;

    /// <summary>Changes the encoder bitrate (what the congestion controller drives).</summary>
    public void SetBitrate(int bps) => _encoder.SetBitrate(bps);

    private sealed class FrameSink(Vp8Packetizer packetizer, IRtpPacketSink rtp) : IEncodedFrameSink
    {
        public void OnEncodedFrame(in EncodedFrame frame) => packetizer.Packetize(frame.Data, (uint)(frame.Pts * 90000 / 1000), rtp);
    }

    private async Task VideoLoop(VideoLayer layer)
    {
        var packetizer = new Vp8Packetizer(1100, (ushort)Random.Shared.Next());
        var sink = new FrameSink(packetizer, new SenderSink(Video));
        var i420 = new byte[layer.I420Size];
        int frame = 0;
        var start = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            int w = layer.Width, h = layer.Height;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    i420[y * w + x] = (byte)((x + frame * 4) & 0xFF);
            if (_noise)
            {
                // A noisy band (a third of the picture): detail the encoder can spend any budget on, like a real scene.
                for (int y = h / 3; y < h / 2; y++) Random.Shared.NextBytes(i420.AsSpan(y * w, w));
            }
            i420.AsSpan(w * h).Fill((byte)(128 + (frame % 64)));
            long pts = frame * 1000L / layer.FramesPerSecond; // ms
            _encoder.Encode(i420, pts, sink);
            frame++;
            long due = start + frame * 1000L / layer.FramesPerSecond;
            int wait = (int)(due - Environment.TickCount64);
            if (wait > 0) await Task.Delay(wait).ConfigureAwait(false);
            if (frame % 15 == 0) { Video.SendSenderReport(); Audio.SendSenderReport(); }
        }
    }

    private async Task AudioLoop()
    {
        var encoder = new OpusAudioEncoder(32000, dtx: false);
        var packetizer = new OpusPacketizer((ushort)Random.Shared.Next());
        var sink = new SenderSink(Audio);
        var pcm = new short[AudioFormat.FrameSamples];
        var packet = new byte[AudioFormat.MaxPacketSize];
        long n = 0;
        var start = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            for (int i = 0; i < pcm.Length; i++) pcm[i] = (short)(8000 * Math.Sin(2 * Math.PI * 440 * (n * pcm.Length + i) / AudioFormat.SampleRate));
            int len = encoder.Encode(pcm, packet);
            if (len > 0) packetizer.Packetize(packet.AsSpan(0, len), (uint)(n * AudioFormat.FrameSamples), sink);
            n++;
            long due = start + n * AudioFormat.FrameMilliseconds;
            int wait = (int)(due - Environment.TickCount64);
            if (wait > 0) await Task.Delay(wait).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { Task.WaitAll([_video, _audio], 5000); } catch (AggregateException) { }
        _encoder.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// Receives one subscription: Room.Media's jitter buffer reassembles VP8 (NACKs missing packets, unwraps RTX,
/// asks for keyframes with PLI), frames are decoded; Opus is decoded.
/// </summary>
internal sealed class TestReceiver : IDisposable
{
    private readonly RtcTransport _transport;
    private readonly int _videoPt, _audioPt, _rtxPt;
    private readonly VideoDecoder _decoder = VideoDecoder.Create(VideoCodec.Vp8, preferHardware: false);
    private readonly OpusAudioDecoder _opus = new();
    // Two legs to repair (us -> Janus, Janus -> us): give retransmissions time to come through both.
    private readonly JitterBuffer _jitter = new(new Vp8Depacketizer(), new JitterBufferOptions
    {
        MaxWait = TimeSpan.FromMilliseconds(400), NackInterval = TimeSpan.FromMilliseconds(40), MaxNacksPerPacket = 6,
    });
    private readonly short[] _pcm = new short[5760];
    private readonly byte[] _rtcp = new byte[1500];
    private readonly ushort[] _nacks = new ushort[128];
    private long _lastPli;
    private uint _videoSsrc;

    public TestReceiver(RtcTransport transport, int videoPayloadType, int audioPayloadType, int rtxPayloadType = -1)
    {
        _transport = transport;
        _videoPt = videoPayloadType;
        _audioPt = audioPayloadType;
        _rtxPt = rtxPayloadType;
        transport.RtpReceived = OnRtp;
    }

    public long VideoFramesDecoded;
    public long AudioFramesDecoded;
    public long VideoPackets;
    public long PlisSent;
    public long NacksSent;
    public int Width => _decoder.Width;
    public long LastDecodeTicks;

    private void OnRtp(ReadOnlySpan<byte> packet)
    {
        if (RtpHeader.TryParse(packet, out var h) != RtcError.None) return;
        var payload = h.Payload(packet);
        if (h.PayloadType == _audioPt)
        {
            long errors = _opus.Errors;
            if (_opus.Decode(payload, _pcm) > 0 && _opus.Errors == errors) Interlocked.Increment(ref AudioFramesDecoded);
            return;
        }
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (h.PayloadType == _rtxPt && payload.Length > 2)
        {
            ushort osn = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(payload);
            _jitter.Insert(osn, h.Timestamp, h.Marker, payload[2..], now);
        }
        else if (h.PayloadType == _videoPt)
        {
            VideoPackets++;
            _videoSsrc = h.Ssrc;
            _jitter.Insert(h.SequenceNumber, h.Timestamp, h.Marker, payload, now);
        }
        else
        {
            return;
        }
        while (_jitter.TryReadFrame(now, out var frame))
        {
            if (_decoder.Decode(frame.Data))
            {
                Interlocked.Increment(ref VideoFramesDecoded);
                LastDecodeTicks = Environment.TickCount64;
            }
            else
            {
                _jitter.ResyncAtKeyframe();
            }
        }
        int n = _jitter.CollectNacks(_nacks, now);
        if (n > 0 && _videoSsrc != 0)
        {
            int len = RtcpWriter.WriteNack(_rtcp, 1, _videoSsrc, _nacks.AsSpan(0, n));
            if (_transport.SendRtcp(_rtcp.AsSpan(0, len)) == RtcError.None) NacksSent++;
        }
        bool wants = _jitter.ConsumeKeyframeRequest() || (_jitter.WaitingForKeyframe && Environment.TickCount64 - _lastPli > 1000);
        if (wants && _videoSsrc != 0 && Environment.TickCount64 - _lastPli > 200) RequestKeyframe();
    }

    private void RequestKeyframe()
    {
        _lastPli = Environment.TickCount64;
        int n = RtcpWriter.WritePli(_rtcp, 1, _videoSsrc);
        if (_transport.SendRtcp(_rtcp.AsSpan(0, n)) == RtcError.None) PlisSent++;
    }

    public void Dispose() => _decoder.Dispose();
}
