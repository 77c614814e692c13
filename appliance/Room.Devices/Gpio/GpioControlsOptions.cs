namespace Room.Devices.Gpio;

/// <summary>What a GPIO line does in the room.</summary>
public enum GpioFunction
{
    MuteButton,
    Occupancy,
    MutedLed,
    InCallLed,
}

/// <summary>One configured line: its function, its offset on the chip, whether it is an input and its polarity.</summary>
public sealed record GpioLine(GpioFunction Function, int Offset, bool Input, bool ActiveLow)
{
    /// <summary>The name in the Devices entry's capabilities ("mute-button", "led-muted", ...).</summary>
    public string Name => Function switch
    {
        GpioFunction.MuteButton => "mute-button",
        GpioFunction.Occupancy => "occupancy",
        GpioFunction.MutedLed => "led-muted",
        _ => "led-in-call",
    };

    /// <summary>Physical level for a logical state ("pressed", "lit", "occupied").</summary>
    public bool Level(bool active) => active != ActiveLow;

    /// <summary>Logical state for a physical level.</summary>
    public bool Active(bool level) => level != ActiveLow;
}

/// <summary>Which GPIO lines the room's controls use (from configuration); a null pin means "not fitted".</summary>
public sealed record GpioControlsOptions
{
    /// <summary>The Linux GPIO label is at most 31 bytes (the chip info's 32-byte field with its terminating zero).</summary>
    public const int MaxLabelLength = 31;

    /// <summary>gpiochip number for the libgpiod driver (used when <see cref="ChipLabel"/> is not set).</summary>
    public int Chip { get; init; }

    /// <summary>
    /// The chip's label as its driver names it (e.g. "pinctrl-bcm2711", "gpio-sim.0-node0"); when set, the chip is found
    /// by label, so it is found again under a new number after it went away and came back.
    /// </summary>
    public string? ChipLabel { get; init; }

    public int? MuteButtonPin { get; init; }

    /// <summary>Button to ground with a pull-up (pressed = low), the usual wiring.</summary>
    public bool MuteButtonActiveLow { get; init; } = true;

    public int? MutedLedPin { get; init; }

    public int? InCallLedPin { get; init; }

    public bool LedActiveLow { get; init; }

    /// <summary>PIR occupancy sensor output (high = motion), optional.</summary>
    public int? OccupancyPin { get; init; }

    public bool OccupancyActiveLow { get; init; }

    public TimeSpan ButtonDebounce { get; init; } = TimeSpan.FromMilliseconds(30);

    public TimeSpan OccupancyDebounce { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How often the inputs are sampled: 10 ms gives the 30 ms button debounce three samples. (At 5 ms the sampling thread used 1.5 s of CPU
    /// while the lab's speech check spoke, under TCG on a starved host.)
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How often a chip that went away (or could not be opened) is looked for again.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The configured lines, inputs first.</summary>
    public IReadOnlyList<GpioLine> Lines()
    {
        var lines = new List<GpioLine>();
        if (MuteButtonPin is { } b) { lines.Add(new GpioLine(GpioFunction.MuteButton, b, Input: true, MuteButtonActiveLow)); }
        if (OccupancyPin is { } o) { lines.Add(new GpioLine(GpioFunction.Occupancy, o, Input: true, OccupancyActiveLow)); }
        if (MutedLedPin is { } m) { lines.Add(new GpioLine(GpioFunction.MutedLed, m, Input: false, LedActiveLow)); }
        if (InCallLedPin is { } c) { lines.Add(new GpioLine(GpioFunction.InCallLed, c, Input: false, LedActiveLow)); }
        return lines;
    }

    /// <summary>Every problem of this configuration, as a person fixing room.json needs it; empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ChipLabel is null && Chip < 0)
        {
            errors.Add($"Gpio:Chip must be 0 or more, not {Chip}");
        }

        if (ChipLabel is not null && (ChipLabel.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(ChipLabel) > MaxLabelLength || ChipLabel.Any(char.IsControl)))
        {
            errors.Add($"Gpio:ChipLabel must be 1 to {MaxLabelLength} bytes without control characters");
        }

        var lines = Lines();
        if (lines.Count == 0)
        {
            errors.Add("Gpio has no line: set MuteButtonPin, OccupancyPin, MutedLedPin or InCallLedPin (or leave Gpio out)");
        }

        foreach (var line in lines.Where(l => l.Offset < 0))
        {
            errors.Add($"Gpio: {line.Name} line {line.Offset} is negative");
        }

        foreach (var shared in lines.GroupBy(l => l.Offset).Where(g => g.Count() > 1))
        {
            errors.Add($"Gpio: line {shared.Key} is given to {string.Join(" and ", shared.Select(l => l.Name))}");
        }

        Window(errors, "ButtonDebounce", ButtonDebounce, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Window(errors, "OccupancyDebounce", OccupancyDebounce, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Window(errors, "PollInterval", PollInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));
        Window(errors, "RetryInterval", RetryInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        return errors;
    }

    private static void Window(List<string> errors, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"Gpio:{name} must be between {min} and {max}, not {value}");
        }
    }
}
