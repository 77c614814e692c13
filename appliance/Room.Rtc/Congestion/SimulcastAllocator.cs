namespace Room.Rtc.Congestion;

/// <summary>What one simulcast layer needs: below <see cref="MinBps"/> it is not worth sending, <see cref="TargetBps"/>
/// is its full quality, <see cref="MaxBps"/> the most it can use.</summary>
public readonly record struct SimulcastLayerRate(int MinBps, int TargetBps, int MaxBps);

/// <summary>
/// Splits the congestion controller's target between simulcast layers the way libwebrtc does: from the lowest
/// layer up, each layer gets its target before the next one is started, a layer is started only if its minimum
/// fits, and what is left goes to the highest running layer up to its maximum. So when the estimate drops, the
/// high layers go first; the lowest layer always runs (at least at its minimum). Allocates nothing.
/// </summary>
public static class SimulcastAllocator
{
    /// <summary>
    /// Fills <paramref name="bitrates"/> (one per layer, lowest first) from <paramref name="availableBps"/>;
    /// 0 means the layer is paused. Returns how many layers run (always at least 1).
    /// </summary>
    public static int Allocate(int availableBps, ReadOnlySpan<SimulcastLayerRate> layers, Span<int> bitrates)
    {
        if (layers.IsEmpty) throw new ArgumentException("at least one layer", nameof(layers));
        if (bitrates.Length < layers.Length) throw new ArgumentException("one bitrate per layer", nameof(bitrates));
        foreach (var l in layers)
            if (l.MinBps <= 0 || l.TargetBps < l.MinBps || l.MaxBps < l.TargetBps)
                throw new ArgumentException("each layer needs 0 < min <= target <= max", nameof(layers));
        bitrates[..layers.Length].Clear();
        long left = Math.Max(0, availableBps);
        int running = 0;
        for (int i = 0; i < layers.Length; i++)
        {
            if (i > 0 && left < layers[i].MinBps) break;
            int give = (int)Math.Min(Math.Max(left, layers[i].MinBps), layers[i].TargetBps);
            bitrates[i] = give;
            left -= give;
            running = i + 1;
            if (give < layers[i].TargetBps) break; // this layer is short of its target: none above it
        }
        if (left > 0)
        {
            int top = running - 1;
            bitrates[top] += (int)Math.Min(left, layers[top].MaxBps - bitrates[top]);
        }
        return running;
    }
}
