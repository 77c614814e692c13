using Microsoft.Extensions.Time.Testing;

namespace Room.Call.Tests;

public sealed class KeyframePacerTests
{
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(300);
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void The_first_request_is_served_at_once_and_the_next_inside_the_spacing_waits_for_its_end()
    {
        var pacer = new KeyframePacer(Spacing, _clock);
        Assert.True(pacer.OnRequest());

        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.False(pacer.OnRequest());
        Assert.False(pacer.OnRequest()); // a burst of PLIs: still one keyframe
        _clock.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(pacer.TakeDeferred());

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(pacer.TakeDeferred());
        Assert.False(pacer.TakeDeferred());
        Assert.Equal((1, 1), (pacer.Served, pacer.Deferred));
    }

    [Fact]
    public void A_deferred_keyframe_starts_the_spacing_again()
    {
        var pacer = new KeyframePacer(Spacing, _clock);
        Assert.True(pacer.OnRequest());
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.False(pacer.OnRequest());
        _clock.Advance(TimeSpan.FromMilliseconds(250));
        Assert.True(pacer.TakeDeferred());

        _clock.Advance(TimeSpan.FromMilliseconds(299));
        Assert.False(pacer.OnRequest());
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(pacer.TakeDeferred());
        Assert.Equal((1, 2), (pacer.Served, pacer.Deferred));
    }

    [Fact]
    public void A_forced_keyframe_answers_a_waiting_request_and_starts_the_spacing()
    {
        var pacer = new KeyframePacer(Spacing, _clock);
        Assert.True(pacer.OnRequest());
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.False(pacer.OnRequest());

        pacer.Forced(); // a new key: its keyframe is the one the receiver waits for
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(pacer.TakeDeferred());

        pacer.Forced();
        Assert.False(pacer.OnRequest());
        Assert.Equal((1L, 0L, 2L), (pacer.Served, pacer.Deferred, pacer.ForcedCount));
    }

    [Fact]
    public void Requests_further_apart_than_the_spacing_are_each_served_at_once()
    {
        var pacer = new KeyframePacer(Spacing, _clock);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(pacer.OnRequest());
            Assert.False(pacer.TakeDeferred());
            _clock.Advance(Spacing);
        }

        Assert.Equal((5, 0), (pacer.Served, pacer.Deferred));
    }

    [Fact]
    public void A_negative_spacing_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyframePacer(TimeSpan.FromMilliseconds(-1), _clock));
    }
}
