namespace Room.CallQuality.Bench;

/// <summary>
/// One look at a call, every half second: seconds since publishing started, the link's rate then, its queue's
/// counters, what the subscriber had decoded, and what the sender said of itself (its encoder target and estimate).
/// </summary>
internal sealed record Sample(double T, double LinkMbps, LinkCounters Link, ReceiverStats? Received, double SenderTargetBps, double SenderEstimateBps, string SenderNote);

/// <summary>The link over one run: <see cref="Clean"/> s at the full rate, <see cref="Low"/> s at the low rate, <see cref="Recover"/> s at full again.</summary>
internal sealed record Schedule(double FullMbps, double LowMbps, double Clean, double Low, double Recover)
{
    public double DropAt => Clean;

    public double RestoreAt => Clean + Low;

    public double End => Clean + Low + Recover;

    public double RateAt(double t) => t >= DropAt && t < RestoreAt ? LowMbps : FullMbps;
}

/// <summary>
/// The figures of issue 21 from one run's samples. Link figures come from the bottleneck's own counters (all that
/// crossed it); picture figures from the subscriber's decoder. Times have the sampling's resolution (0.5 s).
/// </summary>
internal sealed record CallFigures(
    double? SecondsTo90PercentOfLink,
    double SteadyLinkBps,
    double SteadyVideoBps,
    int Width,
    int Height,
    double Fps,
    double KeyframesPerMinute,
    double? SecondsToAdaptDown,
    double? SecondsToAdaptUp,
    double FrozenSecondsLow,
    double FpsLow)
{
    private const double SteadyWindow = 10, RateWindow = 1, QuietWindow = 2;

    public static CallFigures From(IReadOnlyList<Sample> samples, Schedule schedule)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples.Count, 4);
        var steady = samples.Where(s => s.T > schedule.DropAt - SteadyWindow && s.T <= schedule.DropAt).ToList();
        double steadyLink = Rate(samples, s => s.Link.SentBytes, schedule.DropAt - SteadyWindow, schedule.DropAt);
        double steadyVideo = Rate(samples, s => s.Received?.Bytes ?? 0, schedule.DropAt - SteadyWindow, schedule.DropAt);
        var last = steady.LastOrDefault(s => s.Received is { Width: > 0 })?.Received;
        double fps = Median(steady.Where(s => s.Received is not null).Select(s => s.Received!.Fps));

        double? to90 = FirstTime(samples, 0, schedule.DropAt, i => RateAround(samples, i) >= 0.9 * schedule.FullMbps * 1e6);

        // Keyframes over the clean phase, from the first decoded frame on (the first keyframe of all is not a choice).
        var clean = samples.Where(s => s.T <= schedule.DropAt && s.Received is { Frames: > 0 }).ToList();
        double kpm = clean.Count < 2 ? 0 : (clean[^1].Received!.Keyframes - clean[0].Received!.Keyframes) / ((clean[^1].T - clean[0].T) / 60);

        // Down: from the drop, the first moment after which the queue drops nothing for 2 s (the sender fits the link).
        double? down = FirstTime(samples, schedule.DropAt, schedule.RestoreAt - QuietWindow, i =>
            samples.LastOrDefault(s => s.T <= samples[i].T + QuietWindow) is { } later && later.T >= samples[i].T + QuietWindow - 0.25
            && later.Link.Dropped == samples[i].Link.Dropped) - schedule.DropAt;
        // Up: from the restore, the first 1 s that carries 90 % of what this sender carried before the drop.
        double? up = FirstTime(samples, schedule.RestoreAt, schedule.End, i => RateAround(samples, i) >= 0.9 * steadyLink) - schedule.RestoreAt;

        var low = samples.Where(s => s.T >= schedule.DropAt && s.T <= schedule.RestoreAt && s.Received is not null).ToList();
        double frozen = low.Count < 2 ? 0 : low[^1].Received!.FreezeSeconds - low[0].Received!.FreezeSeconds;
        double lowFps = low.Count < 2 ? 0 : (low[^1].Received!.Frames - low[0].Received!.Frames) / (low[^1].T - low[0].T);
        return new CallFigures(to90, steadyLink, steadyVideo, last?.Width ?? 0, last?.Height ?? 0, fps, kpm, down, up, frozen, lowFps);
    }

    /// <summary>Bits per second of a cumulative byte counter between two moments (the nearest samples).</summary>
    private static double Rate(IReadOnlyList<Sample> samples, Func<Sample, long> bytes, double from, double to)
    {
        var a = samples.FirstOrDefault(s => s.T >= from);
        var b = samples.LastOrDefault(s => s.T <= to);
        return a is null || b is null || b.T <= a.T ? 0 : (bytes(b) - bytes(a)) * 8 / (b.T - a.T);
    }

    /// <summary>The link's rate over the second before sample <paramref name="i"/>.</summary>
    private static double RateAround(IReadOnlyList<Sample> samples, int i) =>
        Rate(samples, s => s.Link.SentBytes, samples[i].T - RateWindow, samples[i].T);

    private static double? FirstTime(IReadOnlyList<Sample> samples, double from, double to, Func<int, bool> condition)
    {
        for (int i = 0; i < samples.Count; i++)
        {
            if (samples[i].T >= from && samples[i].T <= to && condition(i)) return samples[i].T;
        }

        return null;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }
}
