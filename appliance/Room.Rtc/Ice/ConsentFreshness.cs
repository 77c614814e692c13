namespace Room.Rtc.Ice;

/// <summary>What consent on the selected pair says now (RFC 7675).</summary>
internal enum ConsentVerdict
{
    /// <summary>Answered recently enough (or no check went out unanswered for long).</summary>
    Fresh,
    /// <summary>Several checks in a row went unanswered: the path may be gone (the agent reports Disconnected).</summary>
    Fading,
    /// <summary>No answer for the whole timeout: consent is lost, no more media may be sent (RFC 7675 5.1).</summary>
    Expired,
}

/// <summary>
/// Consent freshness (RFC 7675) on the selected pair: when the next consent check is due (the interval randomised to
/// 0.8-1.2 times <see cref="Interval"/>, RFC 7675 5.1), how many went unanswered, and whether consent has expired.
/// Only timers and counters: the agent sends the checks and acts on the verdict. Times are <see cref="IceClock"/> ms.
/// Not thread-safe: the agent calls it under its lock.
/// </summary>
internal sealed class ConsentFreshness(Random? random = null)
{
    /// <summary>Unanswered checks needed, beside the timeout, before consent expires.</summary>
    public const int ChecksBeforeExpiry = 3;

    private readonly Random _random = random ?? Random.Shared;
    private long _nextDelayMs = 4000;
    private long _refreshes;

    /// <summary>A check on the selected pair about this often (randomised 0.8-1.2x).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Without an answer for this long (and <see cref="ChecksBeforeExpiry"/> checks unanswered), consent has expired.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Consent checks sent on the selected pair since the last answer.</summary>
    public int Unanswered { get; private set; }

    /// <summary>Consent checks answered (thread-safe to read).</summary>
    public long Refreshes => Interlocked.Read(ref _refreshes);

    public long LastAnswerMs { get; private set; }

    public long LastSentMs { get; private set; }

    /// <summary>A pair was selected at <paramref name="now"/>: that counts as an answer; the first check is due one interval later.</summary>
    public void Start(long now)
    {
        Unanswered = 0;
        LastAnswerMs = now;
        LastSentMs = now;
        _nextDelayMs = (long)Interval.TotalMilliseconds;
    }

    public bool CheckDue(long now) => now - LastSentMs >= _nextDelayMs;

    /// <summary>A consent check went out at <paramref name="now"/>; the next is due 0.8-1.2 intervals later.</summary>
    public void OnCheckSent(long now)
    {
        LastSentMs = now;
        Unanswered++;
        _nextDelayMs = (long)(Interval.TotalMilliseconds * (0.8 + 0.4 * _random.NextDouble()));
    }

    /// <summary>A check on the selected pair was answered: consent refreshed.</summary>
    public void OnAnswer(long now)
    {
        LastAnswerMs = now;
        Unanswered = 0;
        Interlocked.Increment(ref _refreshes);
    }

    /// <summary>Makes the next check due at once (e.g. after a role change, to check consent in the new role).</summary>
    public void CheckNow() => LastSentMs = IceClock.Never;

    /// <summary>
    /// The verdict at <paramref name="now"/>. Silence counts only while our checks went out unanswered: a process
    /// starved of CPU (no ticks, so no checks) must not declare the peer gone the moment it runs again, before its next
    /// check is answered.
    /// </summary>
    public ConsentVerdict Evaluate(long now)
    {
        long silent = now - LastAnswerMs;
        if (silent > Timeout.TotalMilliseconds && Unanswered >= ChecksBeforeExpiry) return ConsentVerdict.Expired;
        if (silent > 3 * Interval.TotalMilliseconds && Unanswered >= 2) return ConsentVerdict.Fading;
        return ConsentVerdict.Fresh;
    }

    /// <summary>Why consent stands as it does at <paramref name="now"/> (for the log when the agent's state changes).</summary>
    public string Explain(long now) =>
        $"{Unanswered} consent checks unanswered, last answer {now - LastAnswerMs} ms ago " +
        $"(consent expires after {Timeout.TotalMilliseconds:0} ms and {ChecksBeforeExpiry} unanswered checks, RFC 7675)";
}
