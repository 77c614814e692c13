using Room.Devices.Gpio;

namespace Room.Devices.Tests;

internal sealed class FakePins : IGpioPins
{
    public Dictionary<int, bool> Levels { get; } = [];

    public HashSet<int> Outputs { get; } = [];

    public bool Broken { get; set; }

    public void OpenInput(int pin, bool pullUp) => Levels[pin] = pullUp;

    public void OpenOutput(int pin, bool initialHigh)
    {
        Outputs.Add(pin);
        Levels[pin] = initialHigh;
    }

    public bool Read(int pin) => Broken ? throw new IOException("line gone") : Levels[pin];

    public void Write(int pin, bool high) => Levels[pin] = Broken ? throw new IOException("line gone") : high;

    public void Dispose()
    {
    }
}

public class DebouncerTests
{
    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void Level_counts_only_after_holding_for_the_window()
    {
        var d = new Debouncer(Ms(30));
        Assert.Null(d.Sample(true, Ms(0)));
        Assert.Null(d.Sample(true, Ms(20)));
        Assert.True(d.Sample(true, Ms(30)));
        Assert.Null(d.Sample(true, Ms(100)));
        Assert.True(d.Stable);
    }

    [Fact]
    public void Bounces_shorter_than_the_window_are_ignored()
    {
        var d = new Debouncer(Ms(30));
        for (var t = 0; t < 100; t += 5)
        {
            Assert.Null(d.Sample(t % 10 == 0, Ms(t)));
        }

        Assert.False(d.Stable);
    }
}

public class GpioRoomControlsTests
{
    private static readonly GpioControlsOptions Options = new()
    {
        MuteButtonPin = 17, MutedLedPin = 22, InCallLedPin = 23, OccupancyPin = 5,
        ButtonDebounce = TimeSpan.FromMilliseconds(30), OccupancyDebounce = TimeSpan.FromMilliseconds(200),
    };

    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void One_bouncy_press_raises_one_event()
    {
        var pins = new FakePins();
        using var c = new GpioRoomControls(pins, Options);
        var presses = 0;
        c.MuteButtonPressed += (_, _) => presses++;
        var t = 0;
        c.Poll(Ms(t));
        // press (active low) with contact bounce, hold, release with bounce, idle
        foreach (var level in new[] { false, true, false, true, false })
        {
            pins.Levels[17] = level;
            c.Poll(Ms(t += 2));
        }

        for (var i = 0; i < 20; i++)
        {
            c.Poll(Ms(t += 5));
        }

        foreach (var level in new[] { true, false, true })
        {
            pins.Levels[17] = level;
            c.Poll(Ms(t += 2));
        }

        for (var i = 0; i < 20; i++)
        {
            c.Poll(Ms(t += 5));
        }

        Assert.Equal(1, presses);
    }

    [Fact]
    public void Leds_follow_indicators_with_polarity()
    {
        var pins = new FakePins();
        using var c = new GpioRoomControls(pins, Options);
        c.SetIndicator(Indicator.Muted, true);
        Assert.True(pins.Levels[22]);
        Assert.False(pins.Levels[23]);
        c.SetIndicator(Indicator.Muted, false);
        Assert.False(pins.Levels[22]);

        var inverted = new FakePins();
        using var c2 = new GpioRoomControls(inverted, Options with { LedActiveLow = true });
        Assert.True(inverted.Levels[23]); // off = high
        c2.SetIndicator(Indicator.InCall, true);
        Assert.False(inverted.Levels[23]);
        Assert.Equal("on", c2.Describe().Capabilities["led-in-call"]);
    }

    [Fact]
    public void Occupancy_changes_are_debounced_and_reported_both_ways()
    {
        var pins = new FakePins();
        using var c = new GpioRoomControls(pins, Options);
        var seen = new List<bool>();
        c.OccupancyChanged += (_, o) => seen.Add(o);
        pins.Levels[17] = true;
        pins.Levels[5] = true;
        c.Poll(Ms(0));
        c.Poll(Ms(100));
        pins.Levels[5] = false; // a glitch
        c.Poll(Ms(150));
        pins.Levels[5] = true;
        c.Poll(Ms(160));
        c.Poll(Ms(400));
        pins.Levels[5] = false;
        c.Poll(Ms(500));
        c.Poll(Ms(800));
        Assert.Equal([true, false], seen);
    }

    [Fact]
    public void A_failing_line_degrades_the_controls_without_throwing()
    {
        var pins = new FakePins();
        using var c = new GpioRoomControls(pins, Options);
        pins.Broken = true;
        c.Poll(Ms(0));
        c.SetIndicator(Indicator.Muted, true);
        Assert.Equal(DeviceHealth.Degraded, c.Describe().Health);
    }

    [Fact]
    public void Missing_gpio_chip_gives_failed_controls_not_an_exception()
    {
        using var c = GpioRoomControls.StartLibgpiod(Options with { Chip = 99 });
        Assert.Equal(DeviceHealth.Failed, c.Describe().Health);
        c.SetIndicator(Indicator.Muted, true);
        Assert.True(c.IsLit(Indicator.Muted));
    }
}
