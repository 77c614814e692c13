namespace Room.Rtc.Ice;

/// <summary>
/// The agent's monotonic clock: milliseconds since the agent was made, read from its <see cref="TimeProvider"/> (so
/// pacing, retransmission and consent can be driven by a fake clock in tests).
/// </summary>
internal sealed class IceClock(TimeProvider time)
{
    /// <summary>A time long before any reading: "never sent", so anything paced against it is due at once.</summary>
    public const long Never = long.MinValue / 4;

    private readonly long _start = time.GetTimestamp();

    public TimeProvider Provider { get; } = time;

    public long NowMs => (long)Provider.GetElapsedTime(_start).TotalMilliseconds;
}
