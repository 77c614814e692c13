using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Room.Media.Rtp;
using Room.Rtc;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;

namespace Room.Call;

/// <summary>One received stream of a subscription: its m-line, whose feed it is, its SSRCs and payload types.</summary>
public sealed record RemoteTrack(string Mid, string Kind, long Feed, uint Ssrc, uint RtxSsrc, int PayloadType, int RtxPayloadType)
{
    /// <summary>
    /// The streams an offer sends to us, with a=ssrc and a=ssrc-group:FID for the SSRCs; <paramref name="feedsByMid"/>
    /// (from the SFU's signalling) says whose each m-line is. Sections we cannot receive (no VP8 / Opus) are left out.
    /// </summary>
    public static IReadOnlyList<RemoteTrack> FromOffer(SessionDescription offer, IReadOnlyDictionary<string, long>? feedsByMid = null)
    {
        ArgumentNullException.ThrowIfNull(offer);
        var list = new List<RemoteTrack>();
        foreach (var m in offer.Media)
        {
            if (m.IsRejected || m.Direction is "recvonly" or "inactive" || m.Mid is null) continue;
            int pt = m.Kind switch { "video" => m.PayloadTypeFor("VP8"), "audio" => m.PayloadTypeFor("opus"), _ => -1 };
            if (pt < 0) continue;
            int rtxPt = m.Kind == "video" ? m.RtxFor(pt) : -1;
            uint ssrc = 0, rtx = 0;
            foreach (var g in m.All("ssrc-group"))
            {
                var parts = g.Split(' ');
                if (parts.Length == 3 && parts[0] == "FID"
                    && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                    && uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                {
                    (ssrc, rtx) = (a, b);
                }
            }

            if (ssrc == 0) { var ssrcs = m.Ssrcs(); ssrc = ssrcs.Count > 0 ? ssrcs[0] : 0; }
            long feed = feedsByMid is not null && feedsByMid.TryGetValue(m.Mid, out var f) ? f : 0;
            list.Add(new RemoteTrack(m.Mid, m.Kind, feed, ssrc, rtx, pt, rtxPt));
        }

        return list;
    }
}

/// <summary>Receive-side tuning.</summary>
public sealed record SubscriberOptions
{
    /// <summary>
    /// Two legs to repair (sender → SFU, SFU → us): retransmissions get time to come through both. A packet lost on
    /// the first leg reaches us after the SFU's own NACKs (Janus: 12 ms and 167 ms after it sees the gap) plus a round
    /// trip, and that copy may be lost again on our leg; Janus keeps what it sent for a round trip + 100 ms and resends
    /// a packet at most once per 200 ms. So NACKs repeat every 60 ms for about a second; a frame still incomplete after
    /// 300 ms asks for a keyframe while it keeps waiting (a complete keyframe is played at once, ahead of older
    /// incomplete frames), and is given up after 800 ms.
    /// </summary>
    public JitterBufferOptions Jitter { get; init; } = new()
    {
        MaxWait = TimeSpan.FromMilliseconds(800), NackInterval = TimeSpan.FromMilliseconds(60), MaxNacksPerPacket = 16,
        KeyframeRequestAfter = TimeSpan.FromMilliseconds(300),
    };

    public bool PreferHardwareDecoder { get; init; }

    /// <summary>
    /// The audio jitter buffers' delay bounds: each follows its stream's measured jitter within them. The audio gets
    /// no retransmissions (Opus in-band FEC and concealment repair loss), so the buffers wait only for jitter.
    /// </summary>
    public AudioJitterBufferSettings AudioJitter { get; init; } = new();

    /// <summary>Shortest time between two PLIs for one stream.</summary>
    public TimeSpan MinPliSpacing { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>While a stream waits for a keyframe, the PLI is repeated this often.</summary>
    public TimeSpan PliRepeat { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>One remote video stream: RTX unwrapped, jitter buffer, per-frame transform (decryption), VP8 decoder.</summary>
public sealed class RemoteVideo : IDisposable
{
    private readonly Lock _gate = new();
    private bool _disposed;
    internal long LastPli = long.MinValue / 2;
    internal long RefusedReported;

    internal RemoteVideo(RemoteTrack stream, SubscriberOptions options, IFrameTransform? transform, RtpReceiver feedback, TimeProvider time)
    {
        Stream = stream;
        Feedback = feedback;
        Pipeline = new VideoReceivePipeline(VideoCodec.Vp8, options.Jitter, options.PreferHardwareDecoder, transform, time);
        Pipeline.KeyframeNeeded += () => _keyframeWanted = true;
        Pipeline.PictureDecoded += (_, width, height, _) =>
        {
            Width = width;
            Height = height;
            LastDecodeTicks = time.GetTimestamp();
            if (FirstDecodeTicks == 0) FirstDecodeTicks = LastDecodeTicks;
        };
    }

    /// <summary>When the first picture was decrypted and decoded (0: none yet), on the same clock as <see cref="LastDecodeTicks"/>.</summary>
    public long FirstDecodeTicks { get; private set; }

    /// <summary>When the last picture was decoded: a timestamp of the subscription's transport's <see cref="RtcTransport.TimeProvider"/>.</summary>
    public long LastDecodeTicks { get; private set; }

    private bool _keyframeWanted;

    public RemoteTrack Stream { get; }

    /// <summary>Reception statistics, receiver reports, and the NACK/PLI compounds for this stream.</summary>
    public RtpReceiver Feedback { get; }

    /// <summary>Jitter buffer, decoder and latest picture (snapshots may be taken from any thread).</summary>
    public VideoReceivePipeline Pipeline { get; }

    public long Packets { get; private set; }

    public long Retransmissions { get; private set; }

    public long FramesDecoded => Pipeline.FramesDecoded;

    /// <summary>Frames that did not authenticate (wrong key, tampered) or were malformed.</summary>
    public long FramesRejected => Pipeline.FramesRejected;

    /// <summary>The last decoded picture's size (it follows the sender's resolution changes).</summary>
    public int Width { get; private set; }

    public int Height { get; private set; }

    internal void OnPacket(ushort sequence, uint timestamp, bool marker, ReadOnlySpan<byte> payload, bool rtx, long now)
    {
        lock (_gate)
        {
            if (_disposed) return;
            if (rtx) Retransmissions++;
            else Packets++;
            if (!rtx) Feedback.OnPacket(Stream.Ssrc, sequence, timestamp, now);
            Pipeline.OnPacket(new RtpPacketView(sequence, timestamp, marker, payload), now);
        }
    }

    internal void Poll(long now)
    {
        lock (_gate)
        {
            if (!_disposed) Pipeline.Poll(now);
        }
    }

    /// <summary>Missing packets to NACK now, and whether to send a PLI now (asked for, or still waiting and due again).</summary>
    private long _decodedSeen, _rejectedAtLastDecode, _pliBackoffTicks;

    internal int CollectFeedback(Span<ushort> nacks, long now, long minPliTicks, long pliRepeatTicks, long maxPliBackoffTicks, out bool pli)
    {
        lock (_gate)
        {
            pli = false;
            if (_disposed) return 0;
            bool wants = _keyframeWanted || Pipeline.JitterBuffer.ConsumeKeyframeRequest()
                || (Pipeline.JitterBuffer.WaitingForKeyframe && now - LastPli > pliRepeatTicks);
            // Frames that do not authenticate (a sender with another key) are not cured by keyframes: while nothing
            // decodes and frames keep being refused, PLIs back off (doubling, up to 8 s) rather than make the sender
            // and everyone else in the room pay for a keyframe every 200 ms.
            if (Pipeline.FramesDecoded != _decodedSeen)
            {
                _decodedSeen = Pipeline.FramesDecoded;
                _rejectedAtLastDecode = Pipeline.FramesRejected;
            }

            bool refusing = Pipeline.FramesRejected > _rejectedAtLastDecode; // refused frames since the last decoded one
            long spacing = refusing ? Math.Max(minPliTicks, _pliBackoffTicks) : minPliTicks;
            if (wants && now - LastPli > spacing)
            {
                pli = true;
                _keyframeWanted = false;
                LastPli = now;
                _pliBackoffTicks = refusing ? Math.Min(Math.Max(_pliBackoffTicks, minPliTicks) * 2, maxPliBackoffTicks) : 0;
            }

            return Pipeline.CollectNacks(nacks, now);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            Pipeline.Dispose();
        }
    }
}

/// <summary>One remote audio stream: per-frame transform (decryption), then the Opus jitter buffer that the mixer plays.</summary>
public sealed class RemoteAudio : IDisposable
{
    private readonly IFrameTransform? _transform;
    private readonly TimeProvider _time;
    private readonly byte[] _clear = new byte[2048];
    internal long RefusedReported;
    private readonly Lock _gate = new();
    private bool _disposed;

    internal RemoteAudio(RemoteTrack stream, SubscriberOptions options, IFrameTransform? transform, RtpReceiver feedback, TimeProvider time)
    {
        Stream = stream;
        Feedback = feedback;
        _transform = transform;
        _time = time;
        JitterBuffer = new AudioJitterBuffer(options.AudioJitter, time);
    }

    public RemoteTrack Stream { get; }

    /// <summary>Reception statistics and receiver reports for this stream.</summary>
    public RtpReceiver Feedback { get; }

    public AudioJitterBuffer JitterBuffer { get; }

    public long Packets { get; private set; }

    /// <summary>Frames that did not authenticate or were malformed.</summary>
    public long FramesRejected { get; private set; }

    /// <summary>Frames decoded by play-out (concealment and FEC not counted).</summary>
    public long FramesDecoded => JitterBuffer.FramesDecoded;

    internal void OnPacket(ushort sequence, uint timestamp, ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (_disposed) return;
            Packets++;
            Feedback.OnPacket(Stream.Ssrc, sequence, timestamp, _time.GetTimestamp());
            if (_transform is not null)
            {
                if (payload.Length + _transform.MaxExpansion > _clear.Length)
                {
                    FramesRejected++;
                    return;
                }

                int n = _transform.Transform(payload, false, _clear);
                if (n < 0)
                {
                    FramesRejected++;
                    return;
                }

                payload = _clear.AsSpan(0, n);
            }

            JitterBuffer.Insert(timestamp, payload);
        }
    }

    internal bool ReadFrame(Span<short> pcm)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                pcm.Clear();
                return false;
            }

            var played = JitterBuffer.ReadFrame(pcm);
            _level = Smooth(_level, played ? Rms(pcm) : 0);
            return played;
        }
    }

    private float _level;

    /// <summary>
    /// How loud this participant is now: the RMS of the frames played (0..1 of full scale), rising at once and falling
    /// over a few hundred milliseconds, so the active speaker does not flip between the gaps of words.
    /// </summary>
    public float Level
    {
        get
        {
            lock (_gate)
            {
                return _level;
            }
        }
    }

    internal static float Smooth(float level, float rms) => rms >= level ? rms : (level * 0.9f) + (rms * 0.1f);

    internal static float Rms(ReadOnlySpan<short> pcm)
    {
        if (pcm.IsEmpty) return 0;
        long sum = 0;
        foreach (var s in pcm) sum += s * s;
        return (float)Math.Sqrt((double)sum / pcm.Length) / 32768f;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            JitterBuffer.Dispose();
        }
    }
}

/// <summary>
/// The receiving half of a call over one WebRTC transport (an SFU subscription carrying any number of feeds):
/// demultiplexes RTP by SSRC into <see cref="RemoteVideo"/> and <see cref="RemoteAudio"/> streams, unwraps RTX
/// (RFC 4588), sends NACKs for missing packets and PLIs when a stream needs a keyframe, decodes video (pictures for
/// the display, snapshots) and mixes every audio stream for the speaker. Packets, NACKs and PLIs allocate nothing;
/// streams come and go with <see cref="SetStreams"/> (renegotiation).
/// </summary>
public sealed class CallSubscriber : IDisposable
{
    private readonly RtcTransport _transport;
    private readonly SubscriberOptions _options;
    private readonly IFrameTransform? _videoTransform, _audioTransform;
    private readonly Lock _rtcpGate = new();
    private readonly uint _localSsrc = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
    private readonly ushort[] _nacks = new ushort[128];
    private readonly short[] _pcm = new short[AudioFormat.FrameSamples];
    private readonly int[] _mix = new int[AudioFormat.FrameSamples];
    private readonly short[] _mono = new short[AudioFormat.FrameSamples];
    private volatile Routes _routes = Routes.Empty;
    private long _retiredVideoFrames, _retiredAudioFrames;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _minPliTicks, _pliRepeatTicks, _maxPliBackoffTicks;
    private bool _disposed;

    private sealed record Route(RemoteVideo? Video, RemoteAudio? Audio, bool Rtx);

    private sealed record Routes(Dictionary<uint, Route> BySsrc, RemoteVideo[] Videos, RemoteAudio[] Audios)
    {
        public static Routes Empty { get; } = new([], [], []);
    }

    /// <param name="logger">Streams starting and stopping, and frames end-to-end decryption refused (why a picture or voice is missing).</param>
    public CallSubscriber(RtcTransport transport, SubscriberOptions? options = null, IFrameTransform? videoTransform = null, IFrameTransform? audioTransform = null,
        ILogger? logger = null)
    {
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        _logger = logger ?? NullLogger.Instance;
        _options = options ?? new SubscriberOptions();
        _videoTransform = videoTransform;
        _audioTransform = audioTransform;
        // One clock for the whole subscription: the transport's (its RTCP feedback is timed on it too).
        _time = transport.TimeProvider;
        _minPliTicks = (long)(_options.MinPliSpacing.TotalSeconds * _time.TimestampFrequency);
        _pliRepeatTicks = (long)(_options.PliRepeat.TotalSeconds * _time.TimestampFrequency);
        _maxPliBackoffTicks = 8 * _time.TimestampFrequency;
        transport.RtpReceived = OnRtp;
        transport.RtcpReceived = OnRtcp;
    }

    public IReadOnlyList<RemoteVideo> Videos => _routes.Videos;

    public IReadOnlyList<RemoteAudio> Audios => _routes.Audios;

    /// <summary>Frames decoded, over all video streams ever received on this subscription.</summary>
    public long VideoFramesDecoded => Interlocked.Read(ref _retiredVideoFrames) + _routes.Videos.Sum(v => v.FramesDecoded);

    /// <summary>Opus frames decoded by play-out, over all audio streams ever received.</summary>
    public long AudioFramesDecoded => Interlocked.Read(ref _retiredAudioFrames) + _routes.Audios.Sum(a => a.FramesDecoded);

    public long VideoFramesRejected => _routes.Videos.Sum(v => v.FramesRejected);

    public long AudioFramesRejected => _routes.Audios.Sum(a => a.FramesRejected);

    public long PlisSent { get; private set; }

    public long NacksSent { get; private set; }

    /// <summary>Packets on an SSRC no stream claims.</summary>
    public long UnknownPackets { get; private set; }

    /// <summary>Replaces the set of received streams: new ones start, gone ones stop (same SSRC and mid: kept).</summary>
    public void SetStreams(IEnumerable<RemoteTrack> streams)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var old = _routes;
        var byssrc = new Dictionary<uint, Route>();
        var videos = new List<RemoteVideo>();
        var audios = new List<RemoteAudio>();
        foreach (var s in streams)
        {
            if (s.Ssrc == 0) continue;
            if (s.Kind == "video")
            {
                var v = old.Videos.FirstOrDefault(x => x.Stream == s) ?? new RemoteVideo(s, _options, _videoTransform, new RtpReceiver(_transport, _localSsrc, 90000, s.Ssrc), _time);
                videos.Add(v);
                byssrc[s.Ssrc] = new Route(v, null, false);
                if (s.RtxSsrc != 0) byssrc[s.RtxSsrc] = new Route(v, null, true);
            }
            else if (s.Kind == "audio")
            {
                var a = old.Audios.FirstOrDefault(x => x.Stream == s) ?? new RemoteAudio(s, _options, _audioTransform, new RtpReceiver(_transport, _localSsrc, 48000, s.Ssrc), _time);
                audios.Add(a);
                byssrc[s.Ssrc] = new Route(null, a, false);
            }
        }

        _routes = new Routes(byssrc, [.. videos], [.. audios]);
        foreach (var t in videos.Select(v => v.Stream).Concat(audios.Select(a => a.Stream)).Except(old.Videos.Select(v => v.Stream).Concat(old.Audios.Select(a => a.Stream))))
            _logger.LogInformation("receiving {Kind} of feed {Feed} (mid {Mid}, SSRC {Ssrc})", t.Kind, t.Feed, t.Mid, t.Ssrc);

        foreach (var v in old.Videos.Except(videos))
        {
            _logger.LogInformation("no longer receiving video of feed {Feed} (mid {Mid}): {Decoded} frames decoded, {Rejected} refused", v.Stream.Feed, v.Stream.Mid, v.FramesDecoded, v.FramesRejected);
            Interlocked.Add(ref _retiredVideoFrames, v.FramesDecoded);
            v.Dispose();
        }

        foreach (var a in old.Audios.Except(audios))
        {
            _logger.LogInformation("no longer receiving audio of feed {Feed} (mid {Mid}): {Decoded} frames decoded, {Rejected} refused", a.Stream.Feed, a.Stream.Mid, a.FramesDecoded, a.FramesRejected);
            Interlocked.Add(ref _retiredAudioFrames, a.FramesDecoded);
            a.Dispose();
        }
    }

    private void OnRtp(ReadOnlySpan<byte> packet)
    {
        if (RtpHeader.TryParse(packet, out var h) != RtcError.None) return;
        if (!_routes.BySsrc.TryGetValue(h.Ssrc, out var route))
        {
            UnknownPackets++;
            return;
        }

        var payload = h.Payload(packet);
        if (route.Audio is { } audio)
        {
            if (h.PayloadType == audio.Stream.PayloadType) audio.OnPacket(h.SequenceNumber, h.Timestamp, payload);
            return;
        }

        var video = route.Video!;
        long now = _time.GetTimestamp();
        if (route.Rtx)
        {
            if (h.PayloadType != video.Stream.RtxPayloadType || payload.Length <= 2) return;
            ushort osn = BinaryPrimitives.ReadUInt16BigEndian(payload);
            video.OnPacket(osn, h.Timestamp, h.Marker, payload[2..], true, now);
        }
        else
        {
            if (h.PayloadType != video.Stream.PayloadType) return;
            video.OnPacket(h.SequenceNumber, h.Timestamp, h.Marker, payload, false, now);
        }

        Feedback(video, now);
    }

    /// <summary>The senders' SRs: each stream's receiver reports echo them (LSR/DLSR), which is how the SFU measures the round trip.</summary>
    private void OnRtcp(ReadOnlySpan<byte> compound)
    {
        long now = _time.GetTimestamp();
        var routes = _routes;
        foreach (var v in routes.Videos) v.Feedback.OnRtcp(compound, now);
        foreach (var a in routes.Audios) a.Feedback.OnRtcp(compound, now);
    }

    /// <summary>Delivers frames whose wait expired and sends due NACKs/PLIs; <see cref="RunAsync"/> calls it every 10 ms.</summary>
    public void Poll()
    {
        long now = _time.GetTimestamp();
        var routes = _routes;
        foreach (var v in routes.Videos)
        {
            v.Poll(now);
            Feedback(v, now);
            ReportRefused("video", v.Stream, v.FramesRejected, ref v.RefusedReported, now);
        }

        foreach (var a in routes.Audios) ReportRefused("audio", a.Stream, a.FramesRejected, ref a.RefusedReported, now);
    }

    private long _lastRefusalLog = long.MinValue / 2;

    /// <summary>Refused frames are logged as they happen, at most once in 5 s for the whole subscription (a sender with another key refuses every frame).</summary>
    private void ReportRefused(string kind, RemoteTrack stream, long refused, ref long reported, long now)
    {
        if (refused == reported || now - _lastRefusalLog < 5 * _time.TimestampFrequency) return;
        _logger.LogWarning("{Count} {Kind} frames of feed {Feed} refused by end-to-end decryption ({Total} so far)", refused - reported, kind, stream.Feed, refused);
        reported = refused;
        _lastRefusalLog = now;
    }

    private void Feedback(RemoteVideo video, long now)
    {
        lock (_rtcpGate)
        {
            if (_disposed) return;
            int n = video.CollectFeedback(_nacks, now, _minPliTicks, _pliRepeatTicks, _maxPliBackoffTicks, out bool pli);
            // Feedback goes out behind a receiver report (RFC 4585 compound): Janus drops a bare PLI from an SSRC it
            // does not know, and only retransmits to a receiver whose reports gave it a round trip.
            if (n > 0 && video.Feedback.SendNack(_nacks.AsSpan(0, n), now) == RtcError.None) NacksSent++;

            if (pli && video.Feedback.SendPli(now) == RtcError.None) PlisSent++;
        }
    }

    /// <summary>
    /// Mixes the next 20 ms of every audio stream into <paramref name="mono"/> (saturating); hands it to the echo
    /// canceller as what the speaker plays. Returns whether any stream played.
    /// </summary>
    public bool ReadAudio(Span<short> mono, AudioProcessor? processor = null)
    {
        var frame = mono[..AudioFormat.FrameSamples];
        Array.Clear(_mix);
        bool any = false;
        foreach (var a in _routes.Audios)
        {
            if (!a.ReadFrame(_pcm)) continue;
            any = true;
            for (int i = 0; i < _mix.Length; i++) _mix[i] += _pcm[i];
        }

        for (int i = 0; i < frame.Length; i++) frame[i] = (short)Math.Clamp(_mix[i], short.MinValue, short.MaxValue);
        processor?.OnPlayback(frame);
        return any;
    }

    /// <summary>
    /// Until cancelled: polls the video streams every 10 ms and plays the audio mix every 20 ms to
    /// <paramref name="playback"/> (paced by its blocking write), or, without a speaker, decodes it on a timer.
    /// </summary>
    public async Task RunAsync(IAudioPlayback? playback, AudioProcessor? processor, CancellationToken cancellationToken)
    {
        // Any device rate from 8 to 192 kHz: the mix is resampled from 48 kHz when the card runs at another. An
        // unusable device is refused here, before anything starts.
        using var writer = playback is null ? null : AudioDevicePumps.CreateWriter(playback);
        // The poll loop stops with playback however playback ends (cancelled, or the speaker failed).
        using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var poll = PollLoopAsync(stopPolling.Token);
        try
        {
            if (writer is null)
            {
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds));
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false)) ReadAudio(_mono, processor);
            }
            else
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    // The mix is taken only when the device has room for it: it waits in the device's queue no longer than it must.
                    await writer.WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
                    ReadAudio(_mono, processor);
                    await writer.WriteAsync(_mono, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await stopPolling.CancelAsync().ConfigureAwait(false);
            await poll.ConfigureAwait(false);
        }
    }

    private async Task PollLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false)) Poll();
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        _transport.RtpReceived = null;
        _transport.RtcpReceived = null;
        lock (_rtcpGate) _disposed = true;
        var routes = _routes;
        _routes = Routes.Empty;
        foreach (var v in routes.Videos) v.Dispose();
        foreach (var a in routes.Audios) a.Dispose();
    }
}
