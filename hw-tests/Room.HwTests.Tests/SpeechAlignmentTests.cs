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

    private (int[] Lags, double Score, double Control, double SingleLag) Judge(short[] sent, short[] played)
    {
        var s = SpeechChecks.LogEnvelope(SpeechChecks.Envelope(sent));
        var g = SpeechChecks.LogEnvelope(SpeechChecks.Envelope(played));
        var (lags, score) = SpeechChecks.TrackDelay(s, g, SpeechChecks.MaxLagFrames);
        var (_, control) = SpeechChecks.TrackDelay(s, [.. g.Reverse()], SpeechChecks.MaxLagFrames);
        var (_, single) = SpeechChecks.BestLag(s, g, g.Length - s.Length);
        log.WriteLine($"tracked {score:0.000} (control {control:0.000}), one lag {single:0.000}; delays {string.Join(' ', lags.Select(l => l * 10))}");
        return (lags, score, control, single);
    }

    [Fact]
    public void Speech_whose_delay_grows_between_syllables_is_followed_and_the_delay_path_is_reported()
    {
        var speech = SpeechChecks.Speech(out var syllables);
        Assert.InRange(syllables, 20, 40);
        // 250 ms, then 60 ms more three times: 430 ms at the end, the way the lab's runs drifted.
        var (lags, score, control, single) = Judge(speech, Played(speech, 250, (2.0, 60), (4.5, 60), (7.0, 60)));
        Assert.True(score >= SpeechChecks.MinCorrelation && score - control >= 0.2, $"score {score:0.000}, control {control:0.000}");
        Assert.True(score > single, $"tracked {score:0.000} should beat one lag {single:0.000}");
        Assert.InRange(lags[0] * 10, 240, 260);
        Assert.InRange(lags[^3] * 10, 420, 440); // the last windows hold the trailing silence: any lag fits them
    }

    [Fact]
    public void A_steady_delay_is_found_exactly()
    {
        var speech = SpeechChecks.Speech(out _);
        var (lags, score, control, _) = Judge(speech, Played(speech, 300));
        Assert.All(lags[..^2], l => Assert.InRange(l * 10, 290, 310)); // the last two hold the trailing silence
        Assert.True(score > 0.95 && score - control >= 0.2, $"score {score:0.000}, control {control:0.000}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Other_speech_does_not_pass_for_the_speech_sent(int seed)
    {
        var speech = SpeechChecks.Speech(out _);
        var other = SpeechChecks.Speech(out _, seed);
        var (_, score, control, _) = Judge(speech, Played(other, 250));
        Assert.False(score >= SpeechChecks.MinCorrelation && score - control >= 0.2, $"unrelated speech passed: score {score:0.000}, control {control:0.000}");
    }

    [Fact]
    public void Silence_does_not_pass()
    {
        var speech = SpeechChecks.Speech(out _);
        var (_, score, _, _) = Judge(speech, Played(new short[speech.Length], 250));
        Assert.True(score < SpeechChecks.MinCorrelation, $"silence scored {score:0.000}");
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
