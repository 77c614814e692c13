using System.Diagnostics;

namespace Room.Media.Rtp;

/// <summary>Tuning for a <see cref="JitterBuffer"/>.</summary>
public sealed record JitterBufferOptions
{
    /// <summary>Packets held at most (rounded up to a power of two).</summary>
    public int Capacity { get; init; } = 1024;

    /// <summary>Largest payload accepted; bigger packets are dropped as malformed.</summary>
    public int MaxPayloadSize { get; init; } = 1500;

    /// <summary>How long to wait for a missing packet (retransmission) before giving the frame up.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>After a lost or corrupt frame, deliver nothing until a keyframe (decoders without reference tracking).</summary>
    public bool RequireKeyframeAfterLoss { get; init; } = true;

    /// <summary>Interval between NACKs for the same packet.</summary>
    public TimeSpan NackInterval { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>NACKs per missing packet before giving up on it.</summary>
    public int MaxNacksPerPacket { get; init; } = 3;

    /// <summary>
    /// When the next frame has waited this long for a retransmission, ask for a keyframe while still waiting
    /// (<see cref="JitterBuffer.ConsumeKeyframeRequest"/>): if the repair never comes, the keyframe is already on its
    /// way when the frame is given up. Zero: only ask once a frame is given up.
    /// </summary>
    public TimeSpan KeyframeRequestAfter { get; init; }
}

/// <summary>What <see cref="JitterBuffer.Insert"/> did with a packet.</summary>
public enum InsertResult
{
    Stored,
    Duplicate,
    Late,
    Malformed,

    /// <summary>The packet was so far ahead that the buffer was flushed and restarted from it.</summary>
    Restarted,
}

/// <summary>A frame assembled by the jitter buffer; <see cref="Data"/> is valid until the next read.</summary>
public readonly ref struct AssembledFrame
{
    public AssembledFrame(ReadOnlySpan<byte> data, uint timestamp, bool keyframe, ushort firstSequence)
    {
        Data = data;
        Timestamp = timestamp;
        Keyframe = keyframe;
        FirstSequence = firstSequence;
    }

    public ReadOnlySpan<byte> Data { get; }

    public uint Timestamp { get; }

    public bool Keyframe { get; }

    public ushort FirstSequence { get; }
}

/// <summary>
/// The receive-side video jitter buffer: stores packets by sequence number in a fixed ring (no allocation per
/// packet), assembles whole frames in order through an <see cref="IDepacketizer"/>, reports missing packets for
/// NACK, gives a frame up after <see cref="JitterBufferOptions.MaxWait"/>, and after any loss or corrupt frame
/// asks for a keyframe and waits for one. Single-threaded: call it from one receive loop.
/// Times are timestamps of the <see cref="TimeProvider"/> it was made with (<see cref="Stopwatch.GetTimestamp"/> by default).
/// </summary>
public sealed class JitterBuffer
{
    private readonly IDepacketizer _depacketizer;
    private readonly JitterBufferOptions _options;
    private readonly int _mask;
    private readonly int _maxPayload;
    private readonly byte[] _data;
    private readonly bool[] _present;
    private readonly long[] _seq;
    private readonly uint[] _ts;
    private readonly bool[] _marker;
    private readonly int[] _length;
    private readonly long[] _arrival;
    private readonly long[] _nackSeq;
    private readonly int[] _nackCount;
    private readonly long[] _nackLast;
    private readonly long _maxWaitTicks;
    private readonly long _nackIntervalTicks;
    private readonly long _earlyKeyframeTicks;
    private bool _earlyKeyframeAsked;
    private bool _initialized;
    private bool _delivered;
    private bool _boundaryKnown;
    private long _head;
    private long _highest;
    private bool _needKeyframe = true;
    private bool _keyframeRequest;
    private int _consecutiveLate;

    /// <summary>Consecutive packets older than the play-out point after which the stream is taken as restarted.</summary>
    private const int RestartAfterLatePackets = 16;

    /// <param name="time">Whose timestamps the <c>nowTicks</c> arguments are (its frequency times the waits); default the system's.</param>
    public JitterBuffer(IDepacketizer depacketizer, JitterBufferOptions? options = null, TimeProvider? time = null)
    {
        long frequency = (time ?? TimeProvider.System).TimestampFrequency;
        _depacketizer = depacketizer ?? throw new ArgumentNullException(nameof(depacketizer));
        _options = options ?? new JitterBufferOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Capacity, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.Capacity, 32768);
        var cap = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_options.Capacity);
        _mask = cap - 1;
        _maxPayload = _options.MaxPayloadSize;
        _data = new byte[cap * _maxPayload];
        _present = new bool[cap];
        _seq = new long[cap];
        _ts = new uint[cap];
        _marker = new bool[cap];
        _length = new int[cap];
        _arrival = new long[cap];
        _nackSeq = new long[cap];
        _nackCount = new int[cap];
        _nackLast = new long[cap];
        Array.Fill(_nackSeq, -1);
        _maxWaitTicks = (long)(_options.MaxWait.TotalSeconds * frequency);
        _nackIntervalTicks = (long)(_options.NackInterval.TotalSeconds * frequency);
        _earlyKeyframeTicks = (long)(_options.KeyframeRequestAfter.TotalSeconds * frequency);
        RequireKeyframeAfterLoss = _options.RequireKeyframeAfterLoss;
        _needKeyframe = RequireKeyframeAfterLoss;
    }

    private bool RequireKeyframeAfterLoss { get; }

    private int Capacity => _mask + 1;

    public long PacketsStored { get; private set; }

    public long Duplicates { get; private set; }

    public long LatePackets { get; private set; }

    public long MalformedPackets { get; private set; }

    public long FramesDelivered { get; private set; }

    /// <summary>Frames given up: incomplete past the wait, corrupt, or discarded while waiting for a keyframe.</summary>
    public long FramesDropped { get; private set; }

    /// <summary>Frames given up because packets were still missing after the wait (or the ring filled).</summary>
    public long FramesExpired { get; private set; }

    /// <summary>Complete frames discarded because the buffer was waiting for a keyframe (their references were lost).</summary>
    public long FramesSkippedForKeyframe { get; private set; }

    /// <summary>
    /// Frames given up because the next frame followed them with no gap in the sequence numbers while their last
    /// (marker) packet never came: an SFU that renumbers across a source switch or a resumed stream (Janus does) makes
    /// a cut-off frame look whole; delivered, it would fail end-to-end authentication or corrupt the decoder.
    /// </summary>
    public long FramesCutOff { get; private set; }

    /// <summary>Times a complete keyframe was delivered ahead of older frames still missing packets (which it makes moot).</summary>
    public long JumpsToKeyframe { get; private set; }

    /// <summary>Keyframe requests made while a frame was still waiting (<see cref="JitterBufferOptions.KeyframeRequestAfter"/>).</summary>
    public long EarlyKeyframeRequests { get; private set; }

    /// <summary>Whether the buffer is waiting for a keyframe before delivering again.</summary>
    public bool WaitingForKeyframe => _needKeyframe;

    /// <summary>True once after the buffer decided it needs a keyframe (send a PLI/FIR); reading clears it.</summary>
    public bool ConsumeKeyframeRequest()
    {
        var r = _keyframeRequest;
        _keyframeRequest = false;
        return r;
    }

    /// <summary>The decoder failed on a delivered frame: deliver nothing more until a keyframe (and ask for one).</summary>
    public void ResyncAtKeyframe()
    {
        _needKeyframe = true;
        _keyframeRequest = true;
    }

    public InsertResult Insert(in RtpPacketView packet, long nowTicks) =>
        Insert(packet.SequenceNumber, packet.Timestamp, packet.Marker, packet.Payload, nowTicks);

    public InsertResult Insert(ushort sequenceNumber, uint timestamp, bool marker, ReadOnlySpan<byte> payload, long nowTicks)
    {
        if (payload.IsEmpty || payload.Length > _maxPayload)
        {
            MalformedPackets++;
            return InsertResult.Malformed;
        }

        long ext;
        if (!_initialized)
        {
            _initialized = true;
            ext = _highest = _head = sequenceNumber + 65536L; // headroom below for early reordering
        }
        else
        {
            ext = _highest + (short)(ushort)(sequenceNumber - (ushort)_highest);
        }

        if (!_delivered && ext < _head && _head - ext < Capacity / 2 && _highest - ext < Capacity)
        {
            _head = ext; // before the first frame, a reordered earlier packet moves the start back
        }

        var result = InsertResult.Stored;
        if (ext < _head)
        {
            LatePackets++;
            if (++_consecutiveLate < RestartAfterLatePackets)
            {
                return InsertResult.Late;
            }

            // A run of "late" packets is a sender that restarted its sequence numbers: follow it.
            Flush();
            _head = _highest = ext;
            _boundaryKnown = false;
            LoseSync();
            result = InsertResult.Restarted;
        }
        else if (ext - _head >= Capacity)
        {
            // Far ahead: what we hold is useless. Start over from this packet.
            Flush();
            _head = _highest = ext;
            _boundaryKnown = false;
            LoseSync();
            result = InsertResult.Restarted;
        }

        var slot = (int)(ext & _mask);
        if (_present[slot] && _seq[slot] == ext)
        {
            Duplicates++;
            return InsertResult.Duplicate;
        }

        _present[slot] = true;
        _seq[slot] = ext;
        _ts[slot] = timestamp;
        _marker[slot] = marker;
        _length[slot] = payload.Length;
        _arrival[slot] = nowTicks;
        payload.CopyTo(_data.AsSpan(slot * _maxPayload, _maxPayload));
        if (ext > _highest)
        {
            _highest = ext;
        }

        PacketsStored++;
        _consecutiveLate = 0;
        return result;
    }

    /// <summary>
    /// Writes the sequence numbers worth NACKing now into <paramref name="destination"/> (missing packets between
    /// the oldest held and the newest seen, each at most <see cref="JitterBufferOptions.MaxNacksPerPacket"/> times).
    /// </summary>
    public int CollectNacks(Span<ushort> destination, long nowTicks)
    {
        var n = 0;
        if (!_initialized)
        {
            return 0;
        }

        for (var ext = _head; ext < _highest && n < destination.Length; ext++)
        {
            var slot = (int)(ext & _mask);
            if (_present[slot] && _seq[slot] == ext)
            {
                continue;
            }

            if (_nackSeq[slot] != ext)
            {
                _nackSeq[slot] = ext;
                _nackCount[slot] = 0;
                _nackLast[slot] = long.MinValue / 2;
            }

            if (_nackCount[slot] < _options.MaxNacksPerPacket && nowTicks - _nackLast[slot] >= _nackIntervalTicks)
            {
                _nackCount[slot]++;
                _nackLast[slot] = nowTicks;
                destination[n++] = (ushort)ext;
            }
        }

        return n;
    }

    /// <summary>
    /// Returns the next complete frame in order, if there is one. Frames whose packets are missing are waited for
    /// up to <see cref="JitterBufferOptions.MaxWait"/> (measured from the arrival of later packets), then dropped.
    /// </summary>
    public bool TryReadFrame(long nowTicks, out AssembledFrame frame)
    {
        while (_initialized && _head <= _highest)
        {
            var state = FrameAtHead(out var end);
            if (state == HeadState.CutOff)
            {
                PassFrameTo(end + 1);
                FramesDropped++;
                FramesCutOff++;
                LoseSync();
                continue;
            }

            if (state == HeadState.Complete)
            {
                var firstSlot = (int)(_head & _mask);
                var first = Payload(firstSlot);
                var key = _depacketizer.IsKeyframe(first);
                var ts = _ts[firstSlot];
                var firstSeq = (ushort)_head;
                var ok = true;
                _depacketizer.Begin();
                for (var ext = _head; ext <= end && ok; ext++)
                {
                    ok = _depacketizer.Append(Payload((int)(ext & _mask)));
                }

                PassFrameTo(end + 1);
                if (!ok || _depacketizer.Frame.IsEmpty)
                {
                    FramesDropped++;
                    LoseSync();
                    continue;
                }

                if (_needKeyframe && !key)
                {
                    FramesDropped++;
                    FramesSkippedForKeyframe++;
                    _keyframeRequest = true;
                    continue;
                }

                _needKeyframe = false;
                FramesDelivered++;
                frame = new AssembledFrame(_depacketizer.Frame, ts, key, firstSeq);
                return true;
            }

            // Incomplete. A complete keyframe further on makes everything before it moot: go straight to it (once
            // the head has waited a NACK interval, so plain reordering is not taken for loss). Only where frames
            // depend on their predecessors; a concealing decoder would rather have every frame.
            var oldest = OldestArrivalAfterHead();
            var waited = oldest == long.MaxValue ? 0 : nowTicks - oldest;
            var keyStart = RequireKeyframeAfterLoss && waited > _nackIntervalTicks ? CompleteKeyframeAfterHead() : -1;
            if (keyStart > 0)
            {
                PassFrameTo(keyStart);
                FramesDropped++;
                FramesExpired++;
                JumpsToKeyframe++;
                continue;
            }

            // Otherwise give it up once later data has waited long enough, or the ring is filling.
            var expired = waited > _maxWaitTicks;
            var crowded = _highest - _head > Capacity * 3 / 4;
            if (!expired && !crowded)
            {
                if (_earlyKeyframeTicks > 0 && waited > _earlyKeyframeTicks && !_earlyKeyframeAsked && _delivered)
                {
                    // The repair is late: ask for a keyframe now, keep waiting for the repair meanwhile.
                    _earlyKeyframeAsked = true;
                    _keyframeRequest = true;
                    EarlyKeyframeRequests++;
                }

                break;
            }

            _earlyKeyframeAsked = false;

            var next = NextFrameStart();
            if (next < 0)
            {
                if (!crowded)
                {
                    break;
                }

                Release(_head, _highest);
                _head = _highest + 1;
                _boundaryKnown = false;
                FramesDropped++;
                FramesExpired++;
                LoseSync();
                break;
            }

            AdvanceTo(next);
            if (_delivered || state != HeadState.NotAStart)
            {
                FramesDropped++;
                FramesExpired++;
                LoseSync();
            }

            _delivered = true; // the start is settled; late earlier packets no longer move it
        }

        frame = default;
        return false;
    }

    private enum HeadState
    {
        Complete,
        Missing,
        NotAStart,

        /// <summary>All packets up to <c>end</c> are here, but the next one starts another frame: the marker packet is lost for good.</summary>
        CutOff,
    }

    private HeadState FrameAtHead(out long end)
    {
        end = -1;
        var slot = (int)(_head & _mask);
        if (!Has(_head))
        {
            return HeadState.Missing;
        }

        if (!_boundaryKnown && !_depacketizer.IsFrameStart(Payload(slot)))
        {
            return HeadState.NotAStart;
        }

        var ts = _ts[slot];
        for (var ext = _head; ext <= _highest; ext++)
        {
            if (!Has(ext))
            {
                return HeadState.Missing;
            }

            var s = (int)(ext & _mask);
            if (_ts[s] != ts)
            {
                // Another frame began before this one's marker packet (RFC 7741 and RFC 6184 senders always set it).
                end = ext - 1;
                return HeadState.CutOff;
            }

            if (_marker[s])
            {
                end = ext;
                return HeadState.Complete;
            }
        }

        return HeadState.Missing;
    }

    /// <summary>The first packet after head that starts a keyframe whose packets are all here, or -1.</summary>
    private long CompleteKeyframeAfterHead()
    {
        for (var ext = _head + 1; ext <= _highest; ext++)
        {
            if (!Has(ext) || !_depacketizer.IsFrameStart(Payload((int)(ext & _mask))) || !_depacketizer.IsKeyframe(Payload((int)(ext & _mask))))
            {
                continue;
            }

            var ts = _ts[(int)(ext & _mask)];
            for (var e = ext; e <= _highest; e++)
            {
                if (!Has(e))
                {
                    break;
                }

                var s = (int)(e & _mask);
                if (_ts[s] != ts)
                {
                    break; // cut off before its marker packet: not complete
                }

                if (_marker[s])
                {
                    return ext;
                }
            }
        }

        return -1;
    }

    /// <summary>The next packet after head that certainly starts a frame, or -1.</summary>
    private long NextFrameStart()
    {
        for (var ext = _head + 1; ext <= _highest; ext++)
        {
            if (!Has(ext))
            {
                continue;
            }

            var s = (int)(ext & _mask);
            var prevKnown = Has(ext - 1);
            if (prevKnown)
            {
                var p = (int)((ext - 1) & _mask);
                if (_marker[p] || _ts[p] != _ts[s])
                {
                    return ext;
                }
            }
            else if (_depacketizer.IsFrameStart(Payload(s)))
            {
                return ext;
            }
        }

        return -1;
    }

    private long OldestArrivalAfterHead()
    {
        var oldest = long.MaxValue;
        for (var ext = _head; ext <= _highest; ext++)
        {
            var s = (int)(ext & _mask);
            if (_present[s] && _seq[s] == ext && _arrival[s] < oldest)
            {
                oldest = _arrival[s];
            }
        }

        return oldest;
    }

    private void LoseSync()
    {
        if (RequireKeyframeAfterLoss)
        {
            _needKeyframe = true;
            _keyframeRequest = true;
        }
    }

    private bool Has(long ext)
    {
        var s = (int)(ext & _mask);
        return _present[s] && _seq[s] == ext;
    }

    private ReadOnlySpan<byte> Payload(int slot) => _data.AsSpan(slot * _maxPayload, _length[slot]);

    /// <summary>Frees the slots before <paramref name="next"/>, which starts a frame, and moves the head there.</summary>
    private void AdvanceTo(long next)
    {
        Release(_head, next - 1);
        _head = next;
        _boundaryKnown = true;
    }

    /// <summary>The head frame is settled (played or given up): the stream has a known start and the wait begins anew.</summary>
    private void PassFrameTo(long next)
    {
        AdvanceTo(next);
        _delivered = true;
        _earlyKeyframeAsked = false;
    }

    private void Release(long from, long to)
    {
        for (var ext = from; ext <= to; ext++)
        {
            var s = (int)(ext & _mask);
            if (_seq[s] == ext)
            {
                _present[s] = false;
            }
        }
    }

    private void Flush() => Array.Clear(_present);
}
