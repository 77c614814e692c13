using Room.Devices.Gpio;

namespace Room.Devices.Tests;

internal sealed class FakePins : IGpioPins
{
    public Dictionary<int, bool> Levels { get; } = [];

    public HashSet<int> Outputs { get; } = [];

    public bool Broken { get; set; }

    /// <summary>Levels the outside world drives on input lines (a held button, a PIR); others read their pull.</summary>
    public Dictionary<int, bool> Driven { get; init; } = [];

    public void OpenInput(int pin, bool pullUp) => Levels[pin] = Driven.TryGetValue(pin, out var level) ? level : pullUp;

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
    public void Missing_gpio_chip_gives_missing_controls_not_an_exception()
    {
        using var c = GpioRoomControls.StartLibgpiod(Options with { Chip = 99 });
        Assert.Equal(DeviceHealth.Missing, c.Describe().Health);
        Assert.Contains("gpiochip99", c.Describe().HealthDetail, StringComparison.Ordinal);
        c.SetIndicator(Indicator.Muted, true);
        Assert.True(c.IsLit(Indicator.Muted));
    }
}

/// <summary>A chip that can be unplugged: opening it while absent throws as the libgpiod path does.</summary>
internal sealed class FakeChip
{
    public bool Present { get; set; } = true;

    public FakePins Pins { get; private set; } = new();

    public int Opens { get; private set; }

    /// <summary>What the outside world drives on the chip's inputs when it is opened.</summary>
    public Dictionary<int, bool> Driven { get; } = [];

    public IGpioPins Open()
    {
        Opens++;
        if (!Present)
        {
            throw new GpioChipMissingException("no GPIO chip labelled 'room'");
        }

        // A chip that comes back is a new chip: fresh lines at their defaults (inputs pulled as requested).
        Pins = new FakePins { Driven = new Dictionary<int, bool>(Driven) };
        return Pins;
    }

    public void Unplug()
    {
        Present = false;
        Pins.Broken = true;
    }
}

public class GpioChipLossTests
{
    private static readonly GpioControlsOptions Options = new()
    {
        ChipLabel = "room", MuteButtonPin = 0, OccupancyPin = 1, MutedLedPin = 2, InCallLedPin = 3,
        ButtonDebounce = TimeSpan.FromMilliseconds(30), OccupancyDebounce = TimeSpan.FromMilliseconds(200), RetryInterval = TimeSpan.FromSeconds(1),
    };

    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void A_chip_that_goes_away_is_reported_missing_and_picked_up_again_with_the_leds_restored()
    {
        var chip = new FakeChip();
        using var c = new GpioRoomControls(chip.Open, Options);
        Assert.Equal(DeviceHealth.Ok, c.Describe().Health);
        c.SetIndicator(Indicator.InCall, true);
        Assert.True(chip.Pins.Levels[3]);

        chip.Unplug();
        c.Poll(Ms(0)); // the read fails: lines closed, the chip looked for at once
        Assert.Equal(DeviceHealth.Degraded, c.Describe().Health);
        c.Poll(Ms(5));
        Assert.Equal(DeviceHealth.Missing, c.Describe().Health);
        Assert.Contains("room", c.Describe().HealthDetail, StringComparison.Ordinal);
        c.SetIndicator(Indicator.Muted, true); // while away: remembered, not thrown
        var opens = chip.Opens;
        c.Poll(Ms(500));
        Assert.Equal(opens, chip.Opens); // not before the retry interval

        chip.Present = true;
        c.Poll(Ms(1005));
        Assert.Equal(DeviceHealth.Ok, c.Describe().Health);
        Assert.Equal(1, c.Reconnects);
        Assert.Equal("1", c.Describe().Capabilities["reconnects"]);
        Assert.True(chip.Pins.Levels[2]); // muted LED set while away
        Assert.True(chip.Pins.Levels[3]); // in-call LED as before
    }

    [Fact]
    public void A_button_held_while_the_chip_comes_back_is_not_a_press_but_the_next_press_is()
    {
        var chip = new FakeChip();
        using var c = new GpioRoomControls(chip.Open, Options);
        var presses = 0;
        c.MuteButtonPressed += (_, _) => presses++;
        chip.Unplug();
        c.Poll(Ms(0));
        c.Poll(Ms(5));
        chip.Present = true;
        chip.Driven[0] = false; // held down (active low) while the chip comes back
        c.Poll(Ms(1010));
        Assert.Equal(DeviceHealth.Ok, c.Describe().Health);
        for (var t = 1015; t < 1200; t += 5)
        {
            c.Poll(Ms(t));
        }

        Assert.Equal(0, presses);
        chip.Pins.Levels[0] = true; // released
        for (var t = 1200; t < 1300; t += 5)
        {
            c.Poll(Ms(t));
        }

        chip.Pins.Levels[0] = false; // pressed
        for (var t = 1300; t < 1400; t += 5)
        {
            c.Poll(Ms(t));
        }

        Assert.Equal(1, presses);
    }

    [Fact]
    public void Occupancy_that_changed_while_the_chip_was_away_is_reported_when_it_returns()
    {
        var chip = new FakeChip();
        using var c = new GpioRoomControls(chip.Open, Options);
        var seen = new List<bool>();
        c.OccupancyChanged += (_, o) => seen.Add(o);
        chip.Unplug();
        c.Poll(Ms(0));
        c.Poll(Ms(5));
        chip.Present = true;
        chip.Driven[1] = true; // someone came in while the chip was away
        c.Poll(Ms(1010));
        Assert.Equal([true], seen); // reported on reconnect, no debounce wait: the level is the sensor's held output
        c.Poll(Ms(1015));
        c.Poll(Ms(1300));
        Assert.Equal([true], seen);
        Assert.Equal("yes", c.Describe().Capabilities["occupied"]);
    }

    [Fact]
    public void An_led_only_room_also_picks_its_chip_up_again()
    {
        var chip = new FakeChip();
        using var c = new GpioRoomControls(chip.Open, new GpioControlsOptions { ChipLabel = "room", InCallLedPin = 3 });
        c.SetIndicator(Indicator.InCall, true);
        chip.Unplug();
        c.SetIndicator(Indicator.InCall, false); // the write fails: lines closed, looked for on the next poll
        Assert.Equal(DeviceHealth.Degraded, c.Describe().Health);
        c.Poll(Ms(0));
        Assert.Equal(DeviceHealth.Missing, c.Describe().Health);
        chip.Present = true;
        c.Poll(Ms(1000));
        Assert.Equal(DeviceHealth.Ok, c.Describe().Health);
        Assert.Equal(1, c.Reconnects);
        Assert.False(chip.Pins.Levels[3]);
    }

    [Fact]
    public void A_chip_absent_at_start_is_missing_then_found()
    {
        var chip = new FakeChip { Present = false };
        using var c = new GpioRoomControls(chip.Open, Options);
        Assert.Equal(DeviceHealth.Missing, c.Describe().Health);
        chip.Present = true;
        c.Poll(Ms(999));
        Assert.Equal(DeviceHealth.Missing, c.Describe().Health);
        c.Poll(Ms(1000));
        Assert.Equal(DeviceHealth.Ok, c.Describe().Health);
        Assert.Equal(0, c.Reconnects); // the first open, not a reconnect
    }

    [Fact]
    public void An_invalid_configuration_fails_with_every_problem_and_opens_nothing()
    {
        var chip = new FakeChip();
        using var c = new GpioRoomControls(chip.Open, Options with { OccupancyPin = 0, ButtonDebounce = TimeSpan.Zero - Ms(1) });
        var info = c.Describe();
        Assert.Equal(DeviceHealth.Failed, info.Health);
        Assert.Contains("line 0 is given to mute-button and occupancy", info.HealthDetail, StringComparison.Ordinal);
        Assert.Contains("ButtonDebounce", info.HealthDetail, StringComparison.Ordinal);
        Assert.Equal(0, chip.Opens);
        c.Poll(Ms(5000));
        c.SetIndicator(Indicator.Muted, true);
        Assert.Equal(0, chip.Opens);
        Assert.Equal(DeviceHealth.Failed, c.Describe().Health);
    }
}

public class GpioLineMappingTests
{
    [Fact]
    public void Lines_map_each_fitted_function_to_its_offset_and_polarity_inputs_first()
    {
        var o = new GpioControlsOptions { MutedLedPin = 22, InCallLedPin = 23, MuteButtonPin = 17, OccupancyPin = 5, LedActiveLow = true };
        Assert.Equal(
            [
                new GpioLine(GpioFunction.MuteButton, 17, Input: true, ActiveLow: true),
                new GpioLine(GpioFunction.Occupancy, 5, Input: true, ActiveLow: false),
                new GpioLine(GpioFunction.MutedLed, 22, Input: false, ActiveLow: true),
                new GpioLine(GpioFunction.InCallLed, 23, Input: false, ActiveLow: true),
            ],
            o.Lines());
        Assert.Equal(["mute-button", "occupancy", "led-muted", "led-in-call"], o.Lines().Select(l => l.Name));
    }

    [Fact]
    public void Unfitted_lines_are_left_out()
    {
        var line = Assert.Single(new GpioControlsOptions { InCallLedPin = 4 }.Lines());
        Assert.Equal(GpioFunction.InCallLed, line.Function);
    }

    [Theory]
    [InlineData(false, true, true)]
    [InlineData(false, false, false)]
    [InlineData(true, true, false)]
    [InlineData(true, false, true)]
    public void Polarity_maps_logical_state_to_level_and_back(bool activeLow, bool active, bool level)
    {
        var line = new GpioLine(GpioFunction.MutedLed, 0, Input: false, activeLow);
        Assert.Equal(level, line.Level(active));
        Assert.Equal(active, line.Active(level));
    }

    [Fact]
    public void The_controls_describe_their_line_mapping()
    {
        using var c = new GpioRoomControls(new FakePins(), new GpioControlsOptions { ChipLabel = "pinctrl-bcm2711", MuteButtonPin = 17, InCallLedPin = 23 });
        var info = c.Describe();
        Assert.Equal("gpio:pinctrl-bcm2711", info.Id);
        Assert.Equal("mute-button=17 active-low,led-in-call=23", info.Capabilities["lines"]);
        Assert.Equal("mute-button", info.Capabilities["inputs"]);
        Assert.Equal("led-in-call", info.Capabilities["outputs"]);
    }

    [Theory]
    [InlineData("gpiochip0", 0)]
    [InlineData("gpiochip12", 12)]
    [InlineData("gpiochip", null)]
    [InlineData("gpiochip-1", null)]
    [InlineData("gpiochip1a", null)]
    [InlineData("gpiochip99999", null)]
    [InlineData("gpiomem0", null)]
    [InlineData("", null)]
    public void Chip_numbers_come_only_from_well_formed_kernel_names(string name, int? number) =>
        Assert.Equal(number, GpioChipLocator.Number(name));

    [Fact]
    public void Finding_a_chip_that_is_not_there_says_what_was_looked_for()
    {
        var dir = Directory.CreateTempSubdirectory("room-gpio-dev-");
        try
        {
            var byLabel = Assert.Throws<GpioChipMissingException>(() => GpioChipLocator.Find(new GpioControlsOptions { ChipLabel = "room" }, dir.FullName));
            Assert.Equal("no GPIO chip labelled 'room' (no GPIO chip present)", byLabel.Message);
            var byNumber = Assert.Throws<GpioChipMissingException>(() => GpioChipLocator.Find(new GpioControlsOptions { Chip = 3 }, dir.FullName));
            Assert.Equal("no GPIO chip gpiochip3", byNumber.Message);
            // A file named like a chip that is no GPIO character device is passed over, not taken.
            File.WriteAllText(Path.Combine(dir.FullName, "gpiochip0"), "not a device");
            Assert.Throws<GpioChipMissingException>(() => GpioChipLocator.Find(new GpioControlsOptions { ChipLabel = "room" }, dir.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public class GpioConfigurationValidationTests
{
    private static readonly GpioControlsOptions Valid = new() { MuteButtonPin = 17, MutedLedPin = 22, InCallLedPin = 23, OccupancyPin = 5 };

    [Fact]
    public void A_usual_configuration_is_valid() => Assert.Empty(Valid.Validate());

    [Fact]
    public void A_chip_by_label_is_valid() => Assert.Empty((Valid with { ChipLabel = "gpio-sim.0-node0", Chip = -1 }).Validate());

    public static TheoryData<string, GpioControlsOptions> Invalid => new()
    {
        { "Gpio:Chip must be 0 or more, not -1", Valid with { Chip = -1 } },
        { "Gpio:ChipLabel must be 1 to 31 bytes", Valid with { ChipLabel = "" } },
        { "Gpio:ChipLabel must be 1 to 31 bytes", Valid with { ChipLabel = new string('x', 32) } },
        { "Gpio:ChipLabel must be 1 to 31 bytes", Valid with { ChipLabel = "room\n" } },
        { "Gpio has no line", new GpioControlsOptions() },
        { "Gpio: mute-button line -1 is negative", Valid with { MuteButtonPin = -1 } },
        { "Gpio: line 22 is given to led-muted and led-in-call", Valid with { InCallLedPin = 22 } },
        { "Gpio:ButtonDebounce must be between", Valid with { ButtonDebounce = TimeSpan.FromSeconds(5) } },
        { "Gpio:OccupancyDebounce must be between", Valid with { OccupancyDebounce = TimeSpan.FromMilliseconds(-1) } },
        { "Gpio:PollInterval must be between", Valid with { PollInterval = TimeSpan.Zero } },
        { "Gpio:RetryInterval must be between", Valid with { RetryInterval = TimeSpan.FromMilliseconds(10) } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Each_problem_is_named(string expected, GpioControlsOptions options) =>
        Assert.Contains(options.Validate(), e => e.StartsWith(expected, StringComparison.Ordinal));

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var errors = (Valid with { Chip = -2, OccupancyPin = 17, PollInterval = TimeSpan.Zero }).Validate();
        Assert.Equal(3, errors.Count);
    }
}
