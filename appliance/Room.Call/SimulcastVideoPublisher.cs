using Room.Devices;
using Room.Media;
using Room.Rtc;
using Room.Rtc.Congestion;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;

namespace Room.Call;

/// <summary>One simulcast layer: its rid, picture and full-quality bitrate, and the least bitrate worth sending it at.</summary>
public sealed record SimulcastLayer(string Rid, VideoLayer Video, int MinBps);

/// <summary>
/// Sends one camera as VP8 simulcast (RFC 8853, rid-based, what Janus and browsers do): Room.Media's send pipeline
/// scales each captured frame once per layer and encodes it; every layer is its own <see cref="RtpSender"/> (own
/// SSRC and RTX SSRC) stamping MID and rid (repaired rid on RTX) so the SFU can tell the layers apart; the
/// transport's congestion target is split by <see cref="SimulcastAllocator"/>, so the highest layers stop first
/// when the estimate falls (a stopped layer is not even encoded) and resume with a keyframe. PLI/FIR for a layer's
/// SSRC asks that layer's encoder for a keyframe (at most one per layer per 300 ms). Steady state allocates nothing per frame or packet.
/// </summary>
public sealed class SimulcastVideoPublisher : IDisposable
{
    /// <summary>h/m/l: 640x360 900 kbit/s, 320x180 300 kbit/s, 160x90 100 kbit/s, 15 fps (highest first).</summary>
    public static IReadOnlyList<SimulcastLayer> DefaultLayers { get; } =
    [
        new("h", new VideoLayer(640, 360, 15, 900_000), 400_000),
        new("m", new VideoLayer(320, 180, 15, 300_000), 150_000),
        new("l", new VideoLayer(160, 90, 15, 100_000), 50_000),
    ];

    private readonly VideoSendPipeline _pipeline;
    private readonly SimulcastLayerRate[] _rates; // lowest first, for the allocator
    private readonly int[] _allocated;
    private readonly Lock _gate = new();
    private readonly CongestionController? _congestion;
    private readonly TimeProvider _time;
    private long _lastReport;
    private bool _reported;
    private readonly KeyframePacer[] _keyframes;

    /// <summary>At most one requested keyframe per layer per 300 ms (libwebrtc's spacing); one asked for inside it is served when it ends.</summary>
    public static readonly TimeSpan MinKeyframeSpacing = TimeSpan.FromMilliseconds(300);

    /// <param name="transport">The connected publishing transport (its RTCP goes to the layers' senders).</param>
    /// <param name="answer">The SFU's answer: the MID / rid / repaired-rid a=extmap ids come from it.</param>
    /// <param name="ssrcs">SSRC and RTX SSRC of each layer, in <paramref name="layers"/> order.</param>
    /// <param name="captureFormat">Format of the frames given to <see cref="ProcessVideoFrame"/>.</param>
    /// <param name="layers">Highest first, as offered (<see cref="CreateTrack"/>); null: <see cref="DefaultLayers"/>.</param>
    public SimulcastVideoPublisher(RtcTransport transport, SessionDescription answer, IReadOnlyList<(uint Ssrc, uint RtxSsrc)> ssrcs,
        VideoFormat captureFormat, IReadOnlyList<SimulcastLayer>? layers = null, EncoderPreference encoder = EncoderPreference.Auto,
        int encoderThreads = 0, int keyframeIntervalSeconds = 3, byte payloadType = 96, byte rtxPayloadType = 97, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(ssrcs);
        layers ??= DefaultLayers;
        if (layers.Count is < 1 or > 3 || ssrcs.Count != layers.Count) throw new ArgumentException("1..3 layers, one SSRC pair each");
        var video = answer.Media.FirstOrDefault(m => m.Kind == "video") ?? throw new ArgumentException("no video in the answer", nameof(answer));
        int midId = video.ExtensionId(SdpBuilder.MidUri), ridId = video.ExtensionId(SdpBuilder.RidUri);
        int repairedId = Math.Max(0, video.ExtensionId(SdpBuilder.RepairedRidUri));
        if (midId <= 0 || ridId <= 0 || video.Mid is null) throw new ArgumentException("the answer did not accept the MID and rid extensions", nameof(answer));
        Layers = layers;
        _time = time ?? TimeProvider.System;
        _keyframes = [.. layers.Select(_ => new KeyframePacer(MinKeyframeSpacing, _time))];
        var senders = new RtpSender[layers.Count];
        Senders = senders;
        var sendLayers = new VideoSendLayer[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            var sender = new RtpSender(transport, ssrcs[i].Ssrc, payloadType, 90000, ssrcs[i].RtxSsrc, rtxPayloadType);
            sender.SetStreamIdentifiers(midId, video.Mid, ridId, layers[i].Rid, repairedId);
            int layer = i;
            sender.KeyframeRequested += () => OnKeyframeRequested(layer);
            senders[i] = sender;
            sendLayers[i] = new VideoSendLayer(layers[i].Video, new RtpSenderSink(sender));
        }
        _pipeline = new VideoSendPipeline(captureFormat, VideoCodec.Vp8, sendLayers, encoder,
            new EncoderOptions { KeyframeIntervalSeconds = keyframeIntervalSeconds, Threads = encoderThreads });
        _rates = [.. layers.Reverse().Select(l => new SimulcastLayerRate(l.MinBps, l.Video.BitrateBps, l.Video.BitrateBps * 4 / 3))];
        _allocated = new int[layers.Count];
        transport.RtcpReceived = OnRtcp;
        _congestion = transport.Congestion;
        if (_congestion is not null)
        {
            _congestion.TargetBitrateChanged += Allocate;
            Allocate(_congestion.TargetBps);
        }
    }

    /// <summary>The offered video track for <paramref name="layers"/> (highest first).</summary>
    public static SendTrack CreateTrack(uint ssrc, uint rtxSsrc, IReadOnlyList<SimulcastLayer>? layers = null, string streamId = "room", byte payloadType = 96, byte rtxPayloadType = 97) =>
        new("video", "VP8", 90000, 1, payloadType, ssrc, streamId, streamId + "-video", RtxPayloadType: rtxPayloadType, RtxSsrc: rtxSsrc,
            Rids: [.. (layers ?? DefaultLayers).Select(l => l.Rid)]);

    public IReadOnlyList<SimulcastLayer> Layers { get; }

    /// <summary>One sender per layer, highest first.</summary>
    public IReadOnlyList<RtpSender> Senders { get; }

    /// <summary>Whether layer <paramref name="index"/> (0 = highest) is being sent.</summary>
    public bool IsLayerActive(int index) => _pipeline.IsLayerActive(index);

    /// <summary>Bitrate last given to layer <paramref name="index"/> (0 = highest; 0 when stopped).</summary>
    public int LayerBitrate(int index)
    {
        lock (_gate) return _allocated[_allocated.Length - 1 - index];
    }

    private void Allocate(int bps)
    {
        lock (_gate)
        {
            SimulcastAllocator.Allocate(bps, _rates, _allocated);
            for (int low = 0; low < _allocated.Length; low++)
            {
                int layer = _allocated.Length - 1 - low;
                if (_allocated[low] > 0) _pipeline.SetBitrate(layer, _allocated[low]);
                _pipeline.SetLayerActive(layer, _allocated[low] > 0);
            }
        }
    }

    private void OnKeyframeRequested(int layer)
    {
        if (_keyframes[layer].OnRequest()) _pipeline.RequestKeyframe(layer);
    }

    private void ServeDeferredKeyframes()
    {
        for (int layer = 0; layer < _keyframes.Length; layer++)
        {
            if (_keyframes[layer].TakeDeferred()) _pipeline.RequestKeyframe(layer);
        }
    }

    private void OnRtcp(ReadOnlySpan<byte> compound)
    {
        foreach (var s in Senders) s.OnRtcp(compound);
    }

    /// <summary>Encodes and sends one captured frame on every running layer; sender reports about once a second.</summary>
    public void ProcessVideoFrame(ReadOnlySpan<byte> frame, TimeSpan captureTime)
    {
        ServeDeferredKeyframes();
        _pipeline.ProcessFrame(frame, captureTime);
        long now = _time.GetTimestamp();
        if (_reported && _time.GetElapsedTime(_lastReport, now) < TimeSpan.FromSeconds(1)) return;
        _reported = true;
        _lastReport = now;
        foreach (var s in Senders) s.SendSenderReport();
    }

    public void Dispose()
    {
        if (_congestion is not null) _congestion.TargetBitrateChanged -= Allocate;
        _pipeline.Dispose();
    }
}
