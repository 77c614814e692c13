namespace Room.Call;

/// <summary>
/// At most one requested keyframe per spacing for one encoded stream, however often receivers ask (each keyframe is
/// a burst for the sender and everyone behind the SFU). A request inside the spacing is not dropped but remembered and
/// served when the spacing ends, so a receiver whose keyframe was itself lost waits at most the spacing, not for its
/// next PLI. A keyframe made for another reason (a new key, a new subscriber) starts the spacing too.
/// Thread-safe: requests come from the RTCP thread, <see cref="TakeDeferred"/> from the capture thread (per frame).
/// </summary>
public sealed class KeyframePacer
{
    private readonly TimeSpan _spacing;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _last;
    private bool _started;
    private volatile bool _pending;

    public KeyframePacer(TimeSpan spacing, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(spacing, TimeSpan.Zero);
        _spacing = spacing;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Keyframes made at once for a receiver's request (PLI/FIR).</summary>
    public long Served { get; private set; }

    /// <summary>Keyframes made for a request that came inside the spacing, when it ended.</summary>
    public long Deferred { get; private set; }

    /// <summary>Keyframes made for other reasons (<see cref="Forced"/>).</summary>
    public long ForcedCount { get; private set; }

    /// <summary>A receiver asked for a keyframe: true when one is to be made now; otherwise it is made later.</summary>
    public bool OnRequest()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            if (Within(now))
            {
                _pending = true;
                return false;
            }

            Start(now);
            Served++;
            return true;
        }
    }

    /// <summary>Per frame: true when a request that came inside the spacing is due now (it is then taken).</summary>
    public bool TakeDeferred()
    {
        if (!_pending)
        {
            return false;
        }

        lock (_gate)
        {
            long now = _time.GetTimestamp();
            if (!_pending || Within(now))
            {
                return false;
            }

            _pending = false;
            Start(now);
            Deferred++;
            return true;
        }
    }

    /// <summary>A keyframe is made for another reason: it answers any waiting request and starts the spacing.</summary>
    public void Forced()
    {
        lock (_gate)
        {
            _pending = false;
            Start(_time.GetTimestamp());
            ForcedCount++;
        }
    }

    private bool Within(long now) => _started && _time.GetElapsedTime(_last, now) < _spacing;

    private void Start(long now)
    {
        _last = now;
        _started = true;
    }
}
