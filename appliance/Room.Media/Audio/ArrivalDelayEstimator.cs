namespace Room.Media.Audio;

/// <summary>
/// How late packets arrive, for an adaptive jitter buffer: each packet's delay relative to the fastest packet of the
/// last two seconds (arrival time minus RTP time, minus the smallest such transit in the window: what a buffer must
/// wait for that packet), kept in a histogram that forgets old packets, and the delay a chosen fraction of packets
/// arrive within (the target). This is the relative-delay estimate WebRTC's NetEQ uses; the RFC 3550 interarrival
/// jitter (section 6.4.1, the figure receiver reports carry) is kept beside it for reporting. Times are in 48 kHz
/// samples. Fixed arrays, nothing allocated per packet. Not thread-safe.
/// </summary>
public sealed class ArrivalDelayEstimator
{
    /// <summary>Packets whose transit times the minimum is taken over (2 s of 20 ms packets).</summary>
    public const int Window = 100;

    /// <summary>Histogram resolution: 5 ms.</summary>
    public const int BucketSamples = AudioFormat.SampleRate / 200;

    /// <summary>Histogram range: 0..1 s (the last bucket holds anything later).</summary>
    public const int Buckets = 200;

    private readonly long[] _transit = new long[Window];
    private readonly double[] _histogram = new double[Buckets];
    private readonly double _forget;
    private readonly double _quantile;
    private readonly int _initialSamples;
    private int _count;
    private int _next;
    private long _packets;
    private bool _have;
    private uint _lastTs;
    private long _lastExtended;
    private long _lastTransit;
    private double _jitter;

    /// <param name="quantile">Fraction of packets the target delay covers (0.5..0.999).</param>
    /// <param name="forgetFactor">Per-packet weight kept by the histogram in steady state (0.9..0.9999); 0.995 forgets half in about 2.8 s.</param>
    /// <param name="initialDelaySamples">The target before any packet has been seen (it fades out over the first packets).</param>
    public ArrivalDelayEstimator(double quantile = 0.95, double forgetFactor = 0.995, int initialDelaySamples = 2 * AudioFormat.FrameSamples)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quantile, 0.5);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 0.999);
        ArgumentOutOfRangeException.ThrowIfLessThan(forgetFactor, 0.9);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(forgetFactor, 0.9999);
        ArgumentOutOfRangeException.ThrowIfNegative(initialDelaySamples);
        _quantile = quantile;
        _forget = forgetFactor;
        _initialSamples = initialDelaySamples;
        Reset();
    }

    /// <summary>Packets seen since the last <see cref="Reset"/>.</summary>
    public long Packets => _packets;

    /// <summary>The smallest transit (arrival minus RTP time, samples) in the window: the network's base delay plus the clock offset.</summary>
    public long MinTransit { get; private set; }

    /// <summary>RFC 3550 interarrival jitter, in samples.</summary>
    public double Jitter => _jitter;

    /// <summary>The relative delay (samples, rounded up to the histogram's resolution) that the quantile of packets arrive within.</summary>
    public int TargetDelaySamples
    {
        get
        {
            double sum = 0;
            for (var b = 0; b < Buckets; b++)
            {
                sum += _histogram[b];
                if (sum >= _quantile)
                {
                    return (b + 1) * BucketSamples;
                }
            }

            return Buckets * BucketSamples;
        }
    }

    /// <summary>Forgets everything (a new stream: the sender restarted or jumped).</summary>
    public void Reset()
    {
        Array.Clear(_histogram);
        _histogram[Math.Min(Buckets - 1, Math.Max(0, (_initialSamples - 1) / BucketSamples))] = 1;
        _count = _next = 0;
        _packets = 0;
        _have = false;
        _jitter = 0;
        MinTransit = 0;
    }

    /// <summary>Records one packet's arrival; returns its relative delay in samples (0 for the fastest in the window).</summary>
    /// <param name="timestamp">The packet's RTP timestamp (48 kHz).</param>
    /// <param name="arrival">When it arrived, in samples on the receiver's clock.</param>
    public long Update(uint timestamp, long arrival)
    {
        // RTP time extended past 32-bit wrap, in either direction (reordered packets are a little behind).
        long extended = _have ? _lastExtended + (int)(timestamp - _lastTs) : timestamp;
        long transit = arrival - extended;
        if (_have)
        {
            var d = Math.Abs(transit - _lastTransit);
            _jitter += (d - _jitter) / 16;
        }

        if (!_have || (int)(timestamp - _lastTs) > 0)
        {
            _lastTs = timestamp;
            _lastExtended = extended;
        }

        _have = true;
        _lastTransit = transit;
        _transit[_next] = transit;
        _next = (_next + 1) % Window;
        _count = Math.Min(_count + 1, Window);
        var min = long.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            min = Math.Min(min, _transit[i]);
        }

        MinTransit = min;
        var relative = transit - min;
        var bucket = (int)Math.Min(Buckets - 1, relative / BucketSamples);

        // Plain average over the first packets (so the initial guess fades quickly), exponential forgetting after.
        var weight = Math.Max(1 - _forget, 1.0 / (_packets + 2));
        for (var b = 0; b < Buckets; b++)
        {
            _histogram[b] *= 1 - weight;
        }

        _histogram[bucket] += weight;
        _packets++;
        return relative;
    }
}
