// The audio jitter buffer as it was before the adaptive one (commit 330857e), kept only so the benchmark can show
// before and after in one run. Fixed prebuffer of TargetFrames frames; drops one frame when 4 more are buffered.
using Room.Media.Rtp;

using Room.Media.Audio;

namespace Room.Audio.Bench;

/// <summary>
/// The receive-side audio jitter buffer for 20 ms Opus packets, played out by RTP timestamp (so DTX gaps stay
/// gaps): a fixed ring, a prebuffer of <see cref="TargetFrames"/> frames, in-band FEC recovery from the next packet
/// when one is lost, concealment otherwise, and a frame dropped when the buffer runs long (clock drift).
/// Thread-safe: packets go in on the network thread, <see cref="ReadFrame"/> runs on the playback thread.
/// </summary>
internal sealed class LegacyAudioJitterBuffer : IDisposable
{
    private const int Slots = 64; // 1.28 s
    private const int MaxPayload = 1500;
    private readonly Lock _gate = new();
    private readonly OpusAudioDecoder _decoder = new();
    private readonly byte[] _data = new byte[Slots * MaxPayload];
    private readonly int[] _length = new int[Slots];
    private readonly uint[] _ts = new uint[Slots];
    private readonly bool[] _present = new bool[Slots];
    private readonly byte[] _scratch = new byte[MaxPayload];
    private bool _started;
    private bool _haveAny;
    private uint _playTs;
    private uint _newestTs;
    private bool _rebuffer;

    public LegacyAudioJitterBuffer(int targetFrames = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(targetFrames, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetFrames, Slots / 2);
        TargetFrames = targetFrames;
    }

    /// <summary>Play-out delay in 20 ms frames.</summary>
    public int TargetFrames { get; }

    public long FramesDecoded { get; private set; }

    public long FramesRecoveredByFec { get; private set; }

    public long FramesConcealed { get; private set; }

    public long LatePackets { get; private set; }

    public long MalformedPackets { get; private set; }

    /// <summary>Times the buffer ran dry and started buffering again.</summary>
    public long Underruns { get; private set; }

    /// <summary>The RTP timestamp of the frame most recently played (for audio/video sync).</summary>
    public uint PlayingTimestamp { get; private set; }

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
            if (!_haveAny || _rebuffer)
            {
                // First packet, or the first after the buffer ran dry: play out from here after the prebuffer.
                _haveAny = true;
                _rebuffer = false;
                _playTs = _newestTs = timestamp;
            }

            var ahead = (int)(timestamp - _playTs);
            if (_started && ahead < 0)
            {
                LatePackets++;
                return;
            }

            if (ahead >= (Slots - 1) * AudioFormat.FrameSamples || (!_started && ahead < -(Slots / 2) * AudioFormat.FrameSamples))
            {
                // Far away from where we play: the sender jumped. Start over from this packet.
                Array.Clear(_present);
                _started = false;
                _playTs = _newestTs = timestamp;
            }
            else if (!_started && ahead < 0)
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
    /// Returns false (and silence) while prebuffering.
    /// </summary>
    public bool ReadFrame(Span<short> pcm)
    {
        var frame = pcm[..AudioFormat.FrameSamples];
        lock (_gate)
        {
            var buffered = _haveAny ? ((int)(_newestTs - _playTs) / AudioFormat.FrameSamples) + 1 : 0;
            if (!_started)
            {
                if (buffered < TargetFrames)
                {
                    frame.Clear();
                    return false;
                }

                _started = true;
            }

            if (buffered > TargetFrames + 4 && Has(_playTs + AudioFormat.FrameSamples))
            {
                // Running long (sender clock faster, or a burst): skip one frame to get back to the target delay.
                Take(_playTs);
                _playTs += AudioFormat.FrameSamples;
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
                return true;
            }

            var ts = _playTs;
            PlayingTimestamp = ts;
            _playTs += AudioFormat.FrameSamples;
            if (Take(ts) is var len && len > 0)
            {
                _decoder.Decode(_scratch.AsSpan(0, len), frame);
                FramesDecoded++;
            }
            else if (Has(ts + AudioFormat.FrameSamples))
            {
                var next = Slot(ts + AudioFormat.FrameSamples);
                _decoder.DecodeLost(_data.AsSpan(next * MaxPayload, _length[next]), frame);
                FramesRecoveredByFec++;
            }
            else
            {
                _decoder.DecodeLost([], frame);
                FramesConcealed++;
            }

            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _decoder.Dispose();
        }
    }

    private static int Slot(uint ts) => (int)(ts / AudioFormat.FrameSamples % Slots);

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
