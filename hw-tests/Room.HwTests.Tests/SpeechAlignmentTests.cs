using Xunit.Abstractions;
using Room.HwTests.Checks;

namespace Room.HwTests.Tests;

/// <summary>
/// The speech check's judgement, on recordings made up here: it must pass speech that came through with a delay that
/// moved during the call, and fail speech that did not come through.
/// </summary>
public class SpeechAlignmentTests(ITestOutputHelper log)
{
    private const int Rate = 48000;

    /// <summary>The speech as a path would play it: <paramref name="delayMs"/> of silence first, then extra silence inserted at the given points (a jitter buffer raising its delay between syllables), faint noise throughout.</summary>
    private static short[] Played(short[] speech, int delayMs, params (double AtSeconds, int Ms)[] inserts)
    {
        var rng = new Random(3);
        var output = new List<short>(speech.Length + (Rate * 4));
        output.AddRange(new short[Rate * delayMs / 1000]);
        var next = 0;
        for (var i = 0; i < speech.Length; i++)
        {
            if (next < inserts.Length && i == (int)(inserts[next].AtSeconds * Rate))
            {
                output.AddRange(new short[Rate * inserts[next].Ms / 1000]);
                next++;
            }

            output.Add(speech[i]);
        }

        output.AddRange(new short[Rate * 3]);
        return [.. output.Select(s => (short)Math.Clamp(s + rng.Next(-40, 41), short.MinValue, short.MaxValue))];
    }

    private SpeechChecks.Verdict Judge(short[] sent, short[] played)
    {
        var verdict = SpeechChecks.Judge(sent, played);
        log.WriteLine(verdict.ToString());
        return verdict;
    }

    [Fact]
    public void Speech_whose_delay_grows_between_syllables_is_followed_and_the_delay_path_is_reported()
    {
        var speech = SpeechChecks.Speech(out var syllables);
        Assert.InRange(syllables, 20, 40);
        // 250 ms, then 60 ms more three times: 430 ms at the end, the way the lab's runs drifted.
        var verdict = Judge(speech, Played(speech, 250, (2.0, 60), (4.5, 60), (7.0, 60)));
        Assert.True(verdict.Follows, verdict.ToString());
        Assert.True(verdict.Score > verdict.SingleLagScore + 0.2, verdict.ToString());
        Assert.True(verdict.PitchShare > 0.95, verdict.ToString());
        Assert.InRange(verdict.Lags[0] * 10, 240, 260);
        Assert.InRange(verdict.Lags[^3] * 10, 420, 440); // the last windows hold the trailing silence: any lag fits them
    }

    [Fact]
    public void A_steady_delay_is_found_exactly()
    {
        var speech = SpeechChecks.Speech(out _);
        var verdict = Judge(speech, Played(speech, 300));
        Assert.All(verdict.Lags[..^2], l => Assert.InRange(l * 10, 290, 310)); // the last two hold the trailing silence
        Assert.True(verdict.Follows && verdict.Score > 0.95, verdict.ToString());
        Assert.Equal(300, verdict.SingleLag * 10);
    }

    [Fact]
    public void Other_speech_does_not_pass_for_the_speech_sent_though_its_syllables_can_be_made_to_fit()
    {
        // The delay's freedom lets unrelated syllables line up (envelope 0.58-0.73 over 30 seeds, above the 0.5 bar);
        // their pitch agrees by chance only (28-40 %).
        var speech = SpeechChecks.Speech(out _);
        foreach (var seed in Enumerable.Range(1, 30))
        {
            var verdict = Judge(speech, Played(SpeechChecks.Speech(out _, seed), 250));
            Assert.False(verdict.Follows, $"unrelated speech (seed {seed}) passed: {verdict}");
            Assert.True(verdict.PitchShare < SpeechChecks.MinPitchAgreement - 0.2, $"seed {seed}: {verdict}");
        }
    }

    [Fact]
    public void The_speech_with_its_pitch_moved_a_tone_does_not_pass()
    {
        // Same syllables at the same times, every frequency 12 % up (a resampling fault, a wrong rate): the envelope
        // fits perfectly, the melody does not.
        var speech = SpeechChecks.Speech(out _);
        var shifted = new short[(int)(speech.Length / 1.12)];
        for (var i = 0; i < shifted.Length; i++)
        {
            shifted[i] = speech[(int)(i * 1.12)];
        }

        var verdict = Judge(speech, Played(shifted, 250));
        Assert.False(verdict.Follows, verdict.ToString());
    }

    [Fact]
    public void Silence_does_not_pass()
    {
        var speech = SpeechChecks.Speech(out _);
        var verdict = Judge(speech, Played(new short[speech.Length], 250));
        Assert.False(verdict.Follows, verdict.ToString());
        Assert.Equal(0, verdict.PitchCompared);
    }

    [Fact]
    public void A_recording_too_short_for_any_lag_scores_nothing()
    {
        var s = SpeechChecks.LogEnvelope(SpeechChecks.Envelope(SpeechChecks.Speech(out _)));
        var (lags, score) = SpeechChecks.TrackDelay(s, s[..(s.Length / 2)], SpeechChecks.MaxLagFrames);
        Assert.Empty(lags);
        Assert.Equal(0, score);
    }
}
