using Room.Media.Rtp;

namespace Room.Media.Audio;

/// <summary>How an <see cref="AudioJitterBuffer"/> chooses its delay.</summary>
public sealed record AudioJitterBufferSettings
{
    /// <summary>Never buffer less than this (0: as little as the measured jitter allows).</summary>
    public TimeSpan MinDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Never buffer more than this, however bad the jitter (at most 600 ms).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The delay before the first packets have been measured.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(40);

    /// <summary>Fraction of packets that should arrive in time (the rest are concealed, or recovered by FEC).</summary>
    public double Quantile { get; init; } = 0.95;

    /// <summary>Per-packet weight the delay histogram keeps: closer to 1 remembers spikes longer.</summary>
    public double ForgetFactor { get; init; } = 0.995;

    /// <summary>A fixed delay (min = max = initial = <paramref name="delay"/>).</summary>
    public static AudioJitterBufferSettings Fixed(TimeSpan delay) => new() { MinDelay = delay, MaxDelay = delay, InitialDelay = delay };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for values the buffer cannot honour.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MinDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxDelay, TimeSpan.FromMilliseconds(600));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, MinDelay);
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(InitialDelay, TimeSpan.FromMilliseconds(600));
        ArgumentOutOfRangeException.ThrowIfLessThan(Quantile, 0.5);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Quantile, 0.999);
        ArgumentOutOfRangeException.ThrowIfLessThan(ForgetFactor, 0.9);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ForgetFactor, 0.9999);
    }
}

/// <summary>
/// The receive-side audio jitter buffer for 20 ms Opus packets, played out by RTP timestamp (so DTX gaps stay
/// gaps), with a delay that follows the measured jitter: each packet's arrival is timed (<see cref="TimeProvider"/>)
/// and its delay relative to the fastest packet of the last 2 s goes into an <see cref="ArrivalDelayEstimator"/>,
/// whose 95th percentile is the target. At each read the buffer knows how far the frame it plays lags behind a
/// packet that arrived with no extra delay (<see cref="CurrentDelay"/>); below the target it waits (plays
/// concealment instead of moving on), more than a frame above it drops a frame. In-band FEC recovers a lost frame
/// from the next packet, concealment covers the rest. A fixed ring; nothing allocated per packet.
/// Thread-safe: packets go in on the network thread, <see cref="ReadFrame"/> runs on the playback thread.
/// </summary>
public sealed class AudioJitterBuffer : IDisposable
{
    private const int Slots = 64; // 1.28 s
    private const int MaxPayload = 1500;
    private const int Frame = AudioFormat.FrameSamples;

    /// <summary>Slack around the target before the buffer acts (samples: 5 ms), so read-time noise does not make it churn.</summary>
    private const int Hysteresis = AudioFormat.SampleRate / 200;

    /// <summary>Frames above the target from which the buffer jumps back to it at once instead of a frame per read.</summary>
    private const int FlushAbove = 10;

    /// <summary>Reads in a row above the target before a frame is dropped (unless far above).</summary>
    private const int DropAfterReads = 3;

    /// <summary>
    /// RMS (of 32768) below which a played frame counts as a pause: about -40 dBFS, under speech and over the noise
    /// suppressor's residue. Delay changes go into pauses, where a dropped or repeated 20 ms is not heard.
    /// </summary>
    private const int QuietRms = 328;

    /// <summary>Reads a wanted delay change waits for a pause in continuous speech (500 ms) before it is made anyway.</summary>
    private const int MaxDeferReads = 25;

    /// <summary>In speech that goes on past <see cref="MaxDeferReads"/>, reads between two delay changes (100 ms).</summary>
    private const int SpeechChangeEvery = 5;

    private readonly Lock _gate = new();
    private readonly OpusAudioDecoder _decoder = new();
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly ArrivalDelayEstimator _delays;
    private readonly int _minSamples;
    private readonly int _maxSamples;
    private readonly byte[] _data = new byte[Slots * MaxPayload];
    private readonly int[] _length = new int[Slots];
    private readonly uint[] _ts = new uint[Slots];
    private readonly bool[] _present = new bool[Slots];
    private readonly byte[] _scratch = new byte[MaxPayload];
    private readonly short[] _discard = new short[Frame];
    private bool _started;
    private bool _haveAny;
    private uint _playTs;
    private uint _newestTs;
    private bool _rebuffer;
    private int _aboveReads;
    private int _lastDelay;
    private bool _lastQuiet = true;
    private int _deferredReads;
    private long _reads;
    private long _lastWantedAt = -2;

    public AudioJitterBuffer(AudioJitterBufferSettings? settings = null, TimeProvider? timeProvider = null)
    {
        settings ??= new AudioJitterBufferSettings();
        settings.Validate();
        Settings = settings;
        _time = timeProvider ?? TimeProvider.System;
        _epoch = _time.GetTimestamp();
        _minSamples = Samples(settings.MinDelay);
        _maxSamples = Samples(settings.MaxDelay);
        _delays = new ArrivalDelayEstimator(settings.Quantile, settings.ForgetFactor, Math.Clamp(Samples(settings.InitialDelay), _minSamples, _maxSamples));
    }

    public AudioJitterBufferSettings Settings { get; }

    public long FramesDecoded { get; private set; }

    public long FramesRecoveredByFec { get; private set; }

    public long FramesConcealed { get; private set; }

    /// <summary>Frames dropped to bring the delay down to the target (a burst, or the sender's clock running fast).</summary>
    public long FramesDropped { get; private set; }

    /// <summary>Reads that played concealment to let the delay grow to the target (jitter went up, or a packet is late).</summary>
    public long FramesStretched { get; private set; }

    /// <summary>Frames dropped or stretched while the sound was not a pause (continuous speech that did not pause for 500 ms).</summary>
    public long ChangesInSpeech { get; private set; }

    public long LatePackets { get; private set; }

    public long MalformedPackets { get; private set; }

    /// <summary>Times the buffer ran dry and started buffering again.</summary>
    public long Underruns { get; private set; }

    /// <summary>The RTP timestamp of the frame most recently played (for audio/video sync).</summary>
    public uint PlayingTimestamp { get; private set; }

    /// <summary>The delay the buffer aims for: the measured jitter's quantile, within the settings' bounds.</summary>
    public TimeSpan TargetDelay
    {
        get
        {
            lock (_gate)
            {
                return Duration(Target());
            }
        }
    }

    /// <summary>At the last read: how far the frame played lagged behind a packet that met no extra network delay.</summary>
    public TimeSpan CurrentDelay
    {
        get
        {
            lock (_gate)
            {
                return Duration(_lastDelay);
            }
        }
    }

    /// <summary>RFC 3550 interarrival jitter of the packets received.</summary>
    public TimeSpan Jitter
    {
        get
        {
            lock (_gate)
            {
                return TimeSpan.FromSeconds(_delays.Jitter / AudioFormat.SampleRate);
            }
        }
    }

    public void Insert(in RtpPacketView packet) => Insert(packet.Timestamp, packet.Payload);

    public void Insert(uint timestamp, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload.Length > MaxPayload || OpusPacketizer.FrameCount(payload) < 0)
        {
            lock (_gate)
            {
                MalformedPackets++;
            }

            return;
        }

        lock (_gate)
        {
            var arrival = Now();
            if (!_haveAny || _rebuffer)
            {
                // First packet, or the first after the buffer ran dry: play out from here after the prebuffer.
                _haveAny = true;
                _rebuffer = false;
                _playTs = _newestTs = timestamp;
            }

            var ahead = (int)(timestamp - _playTs);
            if (ahead >= (Slots - 1) * Frame || ahead < -(Slots / 2) * Frame)
            {
                // Far away from where we play: the sender jumped (or restarted). Start over from this packet, with
                // fresh statistics: the old stream's transit times say nothing about the new one.
                Array.Clear(_present);
                _started = false;
                _playTs = _newestTs = timestamp;
                _delays.Reset();
                ahead = 0;
            }

            // Timed before the late check: a late packet is exactly what must raise the target.
            _delays.Update(timestamp, arrival);
            if (_started && ahead < 0)
            {
                LatePackets++;
                return;
            }

            if (!_started && ahead < 0)
            {
                _playTs = timestamp; // a reordered earlier packet before play-out began
            }

            var slot = Slot(timestamp);
            _present[slot] = true;
            _ts[slot] = timestamp;
            _length[slot] = payload.Length;
            payload.CopyTo(_data.AsSpan(slot * MaxPayload));
            if ((int)(timestamp - _newestTs) > 0)
            {
                _newestTs = timestamp;
            }
        }
    }

    /// <summary>
    /// Produces the next 20 ms of mono audio into <paramref name="pcm"/> (at least <see cref="AudioFormat.FrameSamples"/>).
    /// Returns false (and silence) while prebuffering. Call it when the audio is due (the device's pace): the delay
    /// it measures is the time of this call.
    /// </summary>
    public bool ReadFrame(Span<short> pcm)
    {
        var frame = pcm[..Frame];
        lock (_gate)
        {
            _reads++;
            var target = Target();
            // How far behind "just arrived, no jitter" the frame we are about to play is.
            var delay = _haveAny ? (int)((uint)(Now() - _delays.MinTransit) - _playTs) : 0;
            _lastDelay = delay;
            if (!_started)
            {
                if (!_haveAny || delay < target)
                {
                    frame.Clear();
                    _lastQuiet = true;
                    return false;
                }

                _started = true;
                _aboveReads = 0;
            }

            if ((int)(_newestTs - _playTs) < 0 && delay < target + Frame)
            {
                // Nothing here yet, but the frame due may still come in time (a little late, within a frame of the
                // target): wait for it, playing concealment, rather than start over.
                _decoder.DecodeLost([], frame);
                FramesStretched++;
                _aboveReads = 0;
                return Played(frame);
            }

            if ((int)(_newestTs - _playTs) < 0)
            {
                // Ran dry (the stream paused, or arrives later than we play): conceal and buffer up again from the
                // next packet, rather than moving the play point ahead of the stream, after which every packet
                // would arrive late and be dropped.
                _started = false;
                _rebuffer = true;
                Array.Clear(_present);
                _decoder.DecodeLost([], frame);
                FramesConcealed++;
                Underruns++;
                return Played(frame);
            }

            // A frame can go when the delay stays at or above the target without it (stretching starts only below
            // target - hysteresis, so the two never undo each other).
            _aboveReads = delay >= target + Frame ? _aboveReads + 1 : 0;
            if (delay >= target + (FlushAbove * Frame) && (int)(_newestTs - _playTs) >= 2 * Frame)
            {
                // Far behind (the player stalled: a busy machine, a long pause in the process): jump to one frame
                // above the target at once rather than a frame per read, keeping the newest frame to play. Skipped
                // frames are not decoded (the sound was broken by the stall anyway).
                var skip = Math.Min(((delay - target) / Frame) - 1, ((int)(_newestTs - _playTs) / Frame) - 1);
                for (var i = 0; i < skip; i++)
                {
                    _ = Take(_playTs);
                    _playTs += Frame;
                }

                FramesDropped += skip;
                _aboveReads = 0;
            }
            else if (_aboveReads > 0 && (_aboveReads >= DropAfterReads || delay >= target + (5 * Frame)) && (int)(_newestTs - _playTs) >= Frame && ChangeNow())
            {
                // Running long (a burst, the sender's clock faster than ours, or the jitter went down): skip one
                // frame (a missing one costs nothing). A present frame is decoded and thrown away so the decoder's
                // state stays continuous.
                if (Take(_playTs) is var dropped and > 0)
                {
                    _decoder.Decode(_scratch.AsSpan(0, dropped), _discard);
                }

                _playTs += Frame;
                FramesDropped++;
                _aboveReads = 0;
            }
            else if (delay + Hysteresis < target && (!Has(_playTs) || (delay + Frame <= target && ChangeNow())))
            {
                // Below the target (the jitter grew, or the frame due is not here yet and may still come): play
                // concealment and keep the play point, which lets the delay grow by a frame. With the frame here,
                // that waits for a pause (ChangeNow); a frame not here must be waited for whatever is playing.
                _decoder.DecodeLost([], frame);
                FramesStretched++;
                return Played(frame);
            }

            var ts = _playTs;
            PlayingTimestamp = ts;
            _playTs += Frame;
            if (Take(ts) is var len && len > 0)
            {
                _decoder.Decode(_scratch.AsSpan(0, len), frame);
                FramesDecoded++;
            }
            else if (Has(ts + Frame))
            {
                var next = Slot(ts + Frame);
                _decoder.DecodeLost(_data.AsSpan(next * MaxPayload, _length[next]), frame);
                FramesRecoveredByFec++;
            }
            else
            {
                _decoder.DecodeLost([], frame);
                FramesConcealed++;
            }

            return Played(frame);
        }
    }

    /// <summary>Notes whether the frame just produced was quiet (where a delay change may go next) and returns true.</summary>
    private bool Played(Span<short> frame)
    {
        _lastQuiet = Quiet(frame);
        return true;
    }

    /// <summary>
    /// Whether a wanted delay change (a drop or a stretch) is made on this read: at once in a pause; in speech only
    /// after it has waited <see cref="MaxDeferReads"/> reads for one, then every <see cref="SpeechChangeEvery"/>th read.
    /// </summary>
    private bool ChangeNow()
    {
        if (_lastWantedAt != _reads - 1 && _lastWantedAt != _reads)
        {
            _deferredReads = 0; // the last wish lapsed: the wait starts over
        }

        _lastWantedAt = _reads;
        if (_lastQuiet)
        {
            _deferredReads = 0;
            return true;
        }

        if (++_deferredReads < MaxDeferReads)
        {
            return false;
        }

        _deferredReads = MaxDeferReads - SpeechChangeEvery;
        ChangesInSpeech++;
        return true;
    }

    private static bool Quiet(ReadOnlySpan<short> frame)
    {
        long sum = 0;
        foreach (var x in frame)
        {
            sum += x * x;
        }

        return sum < (long)QuietRms * QuietRms * frame.Length;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _decoder.Dispose();
        }
    }

    private int Target() => Math.Clamp(_delays.TargetDelaySamples, _minSamples, _maxSamples);

    private long Now() => (long)(_time.GetElapsedTime(_epoch).Ticks * (AudioFormat.SampleRate / (double)TimeSpan.TicksPerSecond));

    private static int Samples(TimeSpan t) => (int)Math.Round(t.TotalSeconds * AudioFormat.SampleRate);

    private static TimeSpan Duration(int samples) => TimeSpan.FromSeconds((double)samples / AudioFormat.SampleRate);

    private static int Slot(uint ts) => (int)(ts / Frame % Slots);

    private bool Has(uint ts)
    {
        var s = Slot(ts);
        return _present[s] && _ts[s] == ts;
    }

    private int Take(uint ts)
    {
        if (!Has(ts))
        {
            return 0;
        }

        var s = Slot(ts);
        _present[s] = false;
        _data.AsSpan(s * MaxPayload, _length[s]).CopyTo(_scratch);
        return _length[s];
    }
}

/// <summary>
/// Lip sync: maps each stream's RTP time to the sender's wall clock using RTCP sender reports (Room.Rtc parses
/// them and calls <see cref="OnSenderReport"/>), then says how long to hold a video frame so it shows together
/// with the audio being played.
/// </summary>
public sealed class AvSync
{
    private readonly Lock _gate = new();
    private (double Ntp, uint Rtp, bool Valid) _audio;
    private (double Ntp, uint Rtp, bool Valid) _video;

    /// <param name="isAudio">True for the audio stream's report (48 kHz clock), false for video (90 kHz).</param>
    /// <param name="ntpSeconds">The report's NTP timestamp in seconds.</param>
    public void OnSenderReport(bool isAudio, double ntpSeconds, uint rtpTimestamp)
    {
        lock (_gate)
        {
            if (isAudio)
            {
                _audio = (ntpSeconds, rtpTimestamp, true);
            }
            else
            {
                _video = (ntpSeconds, rtpTimestamp, true);
            }
        }
    }

    /// <summary>
    /// How much later than now the video frame with <paramref name="videoTimestamp"/> should be shown, given the
    /// audio frame with <paramref name="playingAudioTimestamp"/> is playing now. Negative: it is late (show at once
    /// or drop). Null until both streams have had a sender report.
    /// </summary>
    public TimeSpan? VideoDelay(uint videoTimestamp, uint playingAudioTimestamp)
    {
        lock (_gate)
        {
            if (!_audio.Valid || !_video.Valid)
            {
                return null;
            }

            var videoNtp = _video.Ntp + ((int)(videoTimestamp - _video.Rtp) / 90000.0);
            var audioNtp = _audio.Ntp + ((int)(playingAudioTimestamp - _audio.Rtp) / (double)AudioFormat.SampleRate);
            return TimeSpan.FromSeconds(videoNtp - audioNtp);
        }
    }
}
