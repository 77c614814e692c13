using Room.Rtc.Ice;

namespace Room.Rtc.Tests;

/// <summary>Consent freshness's timers and counters (RFC 7675) on their own, with the default 5 s interval and 30 s timeout.</summary>
public class ConsentFreshnessTests
{
    [Fact]
    public void The_first_check_is_due_one_interval_after_selection_then_every_4_to_6_seconds()
    {
        var consent = new ConsentFreshness(new Random(7));
        consent.Start(1000);
        Assert.False(consent.CheckDue(5999));
        Assert.True(consent.CheckDue(6000));

        long now = 6000, min = long.MaxValue, max = 0;
        for (int i = 0; i < 1000; i++)
        {
            consent.OnCheckSent(now);
            consent.OnAnswer(now);
            long delay = 1;
            while (!consent.CheckDue(now + delay)) delay++;
            min = Math.Min(min, delay);
            max = Math.Max(max, delay);
            now += delay;
        }
        // RFC 7675 5.1: uniformly 0.8-1.2 times the interval; a thousand draws cover nearly all of it.
        Assert.InRange(min, 4000, 4100);
        Assert.InRange(max, 5900, 6000);
    }

    [Fact]
    public void Consent_expires_only_after_the_timeout_with_three_checks_unanswered()
    {
        var consent = new ConsentFreshness();
        consent.Start(0);
        consent.OnCheckSent(5000);
        consent.OnCheckSent(10000);
        Assert.Equal(ConsentVerdict.Fresh, consent.Evaluate(15000));
        Assert.Equal(ConsentVerdict.Fading, consent.Evaluate(15001)); // three intervals silent, two unanswered
        Assert.Equal(ConsentVerdict.Fading, consent.Evaluate(40000)); // long silent, but only two checks went out
        consent.OnCheckSent(40000);
        Assert.Equal(ConsentVerdict.Expired, consent.Evaluate(40000));
        Assert.Contains("3 consent checks unanswered, last answer 40000 ms ago", consent.Explain(40000), StringComparison.Ordinal);
    }

    [Fact]
    public void An_answer_makes_consent_fresh_and_restarts_the_timeout()
    {
        var consent = new ConsentFreshness();
        consent.Start(0);
        for (long t = 5000; t <= 25000; t += 5000) consent.OnCheckSent(t);
        Assert.Equal(ConsentVerdict.Fading, consent.Evaluate(25000));
        consent.OnAnswer(26000);
        Assert.Equal(1, consent.Refreshes);
        Assert.Equal(0, consent.Unanswered);
        Assert.Equal(ConsentVerdict.Fresh, consent.Evaluate(40000));
        for (long t = 31000; t <= 51000; t += 5000) consent.OnCheckSent(t);
        Assert.Equal(ConsentVerdict.Fading, consent.Evaluate(56000));
        Assert.Equal(ConsentVerdict.Expired, consent.Evaluate(56001)); // 30 s after the answer, not after selection
    }

    [Fact]
    public void Check_now_makes_the_next_check_due_at_once()
    {
        var consent = new ConsentFreshness();
        consent.Start(0);
        consent.OnCheckSent(5000);
        Assert.False(consent.CheckDue(5001));
        consent.CheckNow();
        Assert.True(consent.CheckDue(5001));
    }
}
