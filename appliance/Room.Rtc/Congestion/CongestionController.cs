using Room.Rtc.Rtcp;

namespace Room.Rtc.Congestion;

/// <summary>
/// Send-side bandwidth estimation in the spirit of Google Congestion Control (draft-ietf-rmcat-gcc-02): a delay-based
/// controller (trendline of one-way delay variation between packet groups, adaptive threshold, AIMD rate control)
/// and a loss-based controller, combined as the minimum and capped by REMB. Feed it what was sent (transport-wide
/// sequence numbers) and the TWCC feedback; it raises <see cref="TargetBitrateChanged"/> for the encoders.
/// Times are in milliseconds on the caller's clock so it can be driven by a simulation.
/// </summary>
public sealed class CongestionController
{
    private const int History = 4096;
    private const int TrendWindow = 20;
    private const double BurstMs = 5;

    private readonly long[] _sendTime = new long[History];
    private readonly int[] _sendSize = new int[History];
    private readonly ushort[] _sendSeq = new ushort[History];
    private readonly bool[] _known = new bool[History];
    private readonly double[] _trendX = new double[TrendWindow];
    private readonly double[] _trendY = new double[TrendWindow];
    private int _trendCount, _trendNext;
    private double _accumulatedDelay, _smoothedDelay;
    private double _threshold = 12.5;
    private long _lastThresholdUpdate = -1;
    private double _previousTrend;
    private long _overuseStart = -1;
    private int _deltaCount;

    // current packet group
    private long _groupFirstSend = -1, _groupLastSend, _groupLastArrival;
    private long _prevGroupSend = -1, _prevGroupArrival;

    // rates
    private double _delayRate, _lossRate;
    private long _lastIncrease = -1, _lastLossUpdate = -1, _lastDecrease = -1;
    private int _lost, _received;
    private readonly Queue<(long Time, int Bytes)> _acked = new();
    private long _ackedBytes;
    private ulong _remb = ulong.MaxValue;
    private int _lastReported;

    public CongestionController(int initialBps = 600_000, int minBps = 50_000, int maxBps = 4_000_000)
    {
        MinBps = minBps;
        MaxBps = maxBps;
        _delayRate = _lossRate = initialBps;
        _lastReported = initialBps;
    }

    public int MinBps { get; }
    public int MaxBps { get; }

    /// <summary>The current target send bitrate for all media, in bits per second.</summary>
    public int TargetBps => (int)Math.Clamp(Math.Min(Math.Min(_delayRate, _lossRate), _remb), MinBps, MaxBps);

    /// <summary>Raised when the target moves by more than 2 % (or crosses a decrease).</summary>
    public event Action<int>? TargetBitrateChanged;

    public BandwidthUsage LastUsage { get; private set; } = BandwidthUsage.Normal;

    /// <summary>Acknowledged receive rate over the last 500 ms of feedback, bits per second.</summary>
    public double AckedBps
    {
        get
        {
            if (_acked.Count < 2) return 0;
            long span = _acked.Last().Time - _acked.Peek().Time;
            return span <= 0 ? 0 : _ackedBytes * 8000.0 / span;
        }
    }

    /// <summary>Records a packet sent with transport-wide sequence number <paramref name="sequence"/>.</summary>
    public void OnPacketSent(ushort sequence, int bytes, long nowMs)
    {
        int slot = sequence % History;
        _sendSeq[slot] = sequence;
        _sendTime[slot] = nowMs;
        _sendSize[slot] = bytes;
        _known[slot] = true;
    }

    public void OnRemb(ulong bps, long nowMs)
    {
        _ = nowMs;
        _remb = bps;
        Report();
    }

    /// <summary>Processes the packet results of one TWCC feedback (in sequence order).</summary>
    public void OnFeedback(ReadOnlySpan<PacketResult> results, long nowMs)
    {
        foreach (var r in results)
        {
            int slot = r.SequenceNumber % History;
            if (!_known[slot] || _sendSeq[slot] != r.SequenceNumber) continue;
            _known[slot] = false;
            if (!r.Received)
            {
                _lost++;
                continue;
            }
            _received++;
            long send = _sendTime[slot];
            long arrival = r.ArrivalMicroseconds / 1000;
            _acked.Enqueue((arrival, _sendSize[slot]));
            _ackedBytes += _sendSize[slot];
            while (_acked.Count > 1 && arrival - _acked.Peek().Time > 500) _ackedBytes -= _acked.Dequeue().Bytes;
            OnArrival(send, arrival, nowMs);
        }
        UpdateLoss(nowMs);
        UpdateDelayRate(nowMs);
        Report();
    }

    private void OnArrival(long send, long arrival, long nowMs)
    {
        if (_groupFirstSend < 0)
        {
            _groupFirstSend = _groupLastSend = send;
            _groupLastArrival = arrival;
            return;
        }
        if (send - _groupFirstSend <= BurstMs)
        {
            _groupLastSend = Math.Max(_groupLastSend, send);
            _groupLastArrival = Math.Max(_groupLastArrival, arrival);
            return;
        }
        // group complete
        if (_prevGroupSend >= 0)
        {
            double sendDelta = _groupLastSend - _prevGroupSend;
            double arrivalDelta = _groupLastArrival - _prevGroupArrival;
            UpdateTrend(arrivalDelta - sendDelta, _groupLastArrival, nowMs);
        }
        _prevGroupSend = _groupLastSend;
        _prevGroupArrival = _groupLastArrival;
        _groupFirstSend = _groupLastSend = send;
        _groupLastArrival = arrival;
    }

    private void UpdateTrend(double delayVariation, long arrival, long nowMs)
    {
        _deltaCount = Math.Min(_deltaCount + 1, 60);
        _accumulatedDelay += delayVariation;
        _smoothedDelay = 0.9 * _smoothedDelay + 0.1 * _accumulatedDelay;
        _trendX[_trendNext] = arrival;
        _trendY[_trendNext] = _smoothedDelay;
        _trendNext = (_trendNext + 1) % TrendWindow;
        if (_trendCount < TrendWindow) { _trendCount++; return; }
        double mx = 0, my = 0;
        for (int i = 0; i < TrendWindow; i++) { mx += _trendX[i]; my += _trendY[i]; }
        mx /= TrendWindow;
        my /= TrendWindow;
        double num = 0, den = 0;
        for (int i = 0; i < TrendWindow; i++)
        {
            num += (_trendX[i] - mx) * (_trendY[i] - my);
            den += (_trendX[i] - mx) * (_trendX[i] - mx);
        }
        double slope = den == 0 ? 0 : num / den;
        double trend = slope * _deltaCount * 4.0;
        Detect(trend, nowMs);
    }

    private void Detect(double trend, long nowMs)
    {
        if (trend > _threshold)
        {
            if (_overuseStart < 0) _overuseStart = nowMs;
            if (nowMs - _overuseStart >= 10 && trend >= _previousTrend) LastUsage = BandwidthUsage.Overusing;
        }
        else if (trend < -_threshold)
        {
            _overuseStart = -1;
            LastUsage = BandwidthUsage.Underusing;
        }
        else
        {
            _overuseStart = -1;
            LastUsage = BandwidthUsage.Normal;
        }
        _previousTrend = trend;
        // adaptive threshold (gcc-02 5.4)
        if (_lastThresholdUpdate < 0) _lastThresholdUpdate = nowMs;
        double abs = Math.Abs(trend);
        if (abs <= _threshold + 15)
        {
            double k = abs < _threshold ? 0.039 : 0.0087;
            double dt = Math.Min(nowMs - _lastThresholdUpdate, 100);
            _threshold = Math.Clamp(_threshold + k * (abs - _threshold) * dt, 6, 600);
        }
        _lastThresholdUpdate = nowMs;
    }

    /// <summary>
    /// The link's capacity as measured at the last overuse (the acked rate then), or -1 while unknown: at the start,
    /// and again once more than <see cref="CapacityExceeded"/> times it gets through (the link got faster). As
    /// libwebrtc's AimdRateControl link capacity, it chooses how fast the rate grows.
    /// </summary>
    public double LinkCapacityBps { get; private set; } = -1;

    /// <summary>
    /// Growth per second while the capacity is unknown: a free link is found in seconds, not the minute that 8 %/s
    /// takes from a low start. libwebrtc finds it with probe clusters of padding; we have no padding to probe with,
    /// so the media itself ramps, always capped at 1.5x what is acknowledged (so it never runs ahead of the encoder).
    /// </summary>
    private const double SearchGrowth = 1.5;

    /// <summary>Growth per second near the known capacity (gcc-02's multiplicative increase, at most 8 %/s).</summary>
    private const double SteadyGrowth = 1.08;

    private const double CapacityExceeded = 1.25;

    private void UpdateDelayRate(long nowMs)
    {
        double acked = AckedBps;
        switch (LastUsage)
        {
            case BandwidthUsage.Overusing:
                if (_lastDecrease < 0 || nowMs - _lastDecrease > 300)
                {
                    double basis = acked > 0 ? acked : _delayRate;
                    _delayRate = Math.Min(_delayRate, 0.85 * basis);
                    LinkCapacityBps = basis;
                    _lastDecrease = nowMs;
                    Decreases++;
                }
                _lastIncrease = nowMs;
                break;
            case BandwidthUsage.Underusing:
                _lastIncrease = nowMs; // hold
                break;
            default:
                if (_lastIncrease < 0) _lastIncrease = nowMs;
                double seconds = Math.Min(nowMs - _lastIncrease, 1000) / 1000.0;
                _lastIncrease = nowMs;
                if (LinkCapacityBps > 0 && acked > CapacityExceeded * LinkCapacityBps) LinkCapacityBps = -1;
                // Never more than 1.5x what actually gets through; but a sender that makes less than its target (a
                // still picture, an encoder between keyframes) does not lower the estimate: only congestion does
                // (libwebrtc's increase limit likewise only stops increases).
                double limit = 1.5 * acked + 10_000;
                if (acked > 0 && _delayRate < limit)
                    _delayRate = Math.Min(limit, _delayRate * Math.Pow(LinkCapacityBps < 0 ? SearchGrowth : SteadyGrowth, seconds));
                break;
        }
        _delayRate = Math.Clamp(_delayRate, MinBps, MaxBps);
    }

    /// <summary>Decreases the delay-based controller made for overuse (queueing delay growing), for the media report.</summary>
    public long Decreases { get; private set; }

    private void UpdateLoss(long nowMs)
    {
        if (_lastLossUpdate < 0) _lastLossUpdate = nowMs;
        int total = _lost + _received;
        // Once a second at most and over 20 packets or more (gcc-02 6: per report interval, not per packet): libwebrtc
        // acts every 300 ms, but it paces; we send a keyframe as one burst, and a queue that drops its tail is one
        // burst's loss, which a second's packets put in proportion.
        if (total < 20 || nowMs - _lastLossUpdate < 1000) return;
        double loss = (double)_lost / total;
        if (loss > 0.10)
        {
            // A queue overflowing (its delay is high but no longer growing, so the delay-based side sees nothing) or a
            // link losing much: cut (gcc-02's 1 - loss/2), to no more than got through (a full queue passes the link's
            // rate), and have the delay-based side go on from there, so that no estimate stays above the link and
            // springs back when the loss ends.
            _lossRate = Math.Min(_lossRate, TargetBps) * (1 - 0.5 * loss);
            if (AckedBps > 0) _lossRate = Math.Min(_lossRate, AckedBps);
            _delayRate = Math.Min(_delayRate, _lossRate);
            LossDecreases++;
        }
        else if (loss < 0.02)
        {
            _lossRate = Math.Max(_lossRate, _delayRate); // no loss: the delay-based estimate rules
        }

        // 2-10 %: hold (random loss of a lossy link is no reason to send less; FEC and NACK repair it).
        _lossRate = Math.Clamp(_lossRate, MinBps, MaxBps);
        LastLossFraction = loss;
        _lost = _received = 0;
        _lastLossUpdate = nowMs;
    }

    /// <summary>Cuts the loss-based controller made for heavy loss (over 10 %), for the media report.</summary>
    public long LossDecreases { get; private set; }

    public double LastLossFraction { get; private set; }

    private void Report()
    {
        int target = TargetBps;
        if (Math.Abs(target - _lastReported) > _lastReported * 0.02)
        {
            _lastReported = target;
            TargetBitrateChanged?.Invoke(target);
        }
    }
}

public enum BandwidthUsage { Normal, Underusing, Overusing }
