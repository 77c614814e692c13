using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Diagnostics;

namespace Room.Devices.Gpio;

/// <summary>Which GPIO lines the room's controls use (from configuration); a null pin means "not fitted".</summary>
public sealed record GpioControlsOptions
{
    /// <summary>gpiochip number for the libgpiod driver.</summary>
    public int Chip { get; init; }

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

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(5);
}

/// <summary>The pin access the controls need; <see cref="ControllerPins"/> adapts a System.Device.Gpio controller.</summary>
public interface IGpioPins : IDisposable
{
    void OpenInput(int pin, bool pullUp);

    void OpenOutput(int pin, bool initialHigh);

    bool Read(int pin);

    void Write(int pin, bool high);
}

/// <summary>IGpioPins over a <see cref="GpioController"/> (libgpiod on Linux).</summary>
public sealed class ControllerPins(GpioController controller) : IGpioPins
{
    public static ControllerPins OpenLibgpiod(int chip) => new(new GpioController(new LibGpiodDriver(chip)));

    public void OpenInput(int pin, bool pullUp)
    {
        var mode = pullUp && controller.IsPinModeSupported(pin, PinMode.InputPullUp) ? PinMode.InputPullUp : PinMode.Input;
        controller.OpenPin(pin, mode);
    }

    public void OpenOutput(int pin, bool initialHigh) => controller.OpenPin(pin, PinMode.Output, initialHigh ? PinValue.High : PinValue.Low);

    public bool Read(int pin) => controller.Read(pin) == PinValue.High;

    public void Write(int pin, bool high) => controller.Write(pin, high ? PinValue.High : PinValue.Low);

    public void Dispose() => controller.Dispose();
}

/// <summary>
/// Mute button (debounced, one event per press), mute and in-call LEDs and an optional PIR occupancy sensor on GPIO.
/// Inputs are sampled on a background thread (every 5 ms by default); <see cref="Poll"/> is public so tests and
/// the hardware-lab suite can drive it with their own clock.
/// </summary>
public sealed class GpioRoomControls : IRoomControls, IDisposable
{
    private readonly IGpioPins _pins;
    private readonly GpioControlsOptions _options;
    private readonly Debouncer? _button;
    private readonly Debouncer? _occupancy;
    private readonly bool[] _indicators = new bool[Enum.GetValues<Indicator>().Length];
    private readonly Lock _gate = new();
    private Thread? _thread;
    private volatile bool _stopping;
    private DeviceHealth _health = DeviceHealth.Ok;
    private string _detail = "";

    public GpioRoomControls(IGpioPins pins, GpioControlsOptions options)
    {
        _pins = pins;
        _options = options;
        try
        {
            if (options.MuteButtonPin is { } b)
            {
                pins.OpenInput(b, pullUp: options.MuteButtonActiveLow);
                _button = new Debouncer(options.ButtonDebounce, initial: false);
            }

            if (options.OccupancyPin is { } o)
            {
                pins.OpenInput(o, pullUp: false);
                _occupancy = new Debouncer(options.OccupancyDebounce, initial: false);
            }

            foreach (var led in new[] { options.MutedLedPin, options.InCallLedPin })
            {
                if (led is { } pin)
                {
                    pins.OpenOutput(pin, initialHigh: options.LedActiveLow);
                }
            }
        }
#pragma warning disable CA1031 // GPIO drivers throw many types; any of them means the controls are unusable, not roomd.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _health = DeviceHealth.Failed;
            _detail = "GPIO setup failed: " + e.Message;
        }
    }

    public string Id => $"gpio:gpiochip{_options.Chip}";

    public event EventHandler? MuteButtonPressed;

    public event EventHandler<bool>? OccupancyChanged;

    /// <summary>Opens the pins on a gpiochip through libgpiod and starts sampling.</summary>
    public static GpioRoomControls StartLibgpiod(GpioControlsOptions options)
    {
        IGpioPins pins;
        try
        {
            pins = ControllerPins.OpenLibgpiod(options.Chip);
        }
#pragma warning disable CA1031 // libgpiod missing or no chip: controls report Failed instead of stopping roomd.
        catch (Exception e)
#pragma warning restore CA1031
        {
            pins = new UnavailablePins(e.Message);
        }

        var controls = new GpioRoomControls(pins, options);
        controls.Start();
        return controls;
    }

    public DeviceInfo Describe()
    {
        lock (_gate)
        {
            var inputs = new List<string>();
            if (_button is not null) { inputs.Add("mute-button"); }
            if (_occupancy is not null) { inputs.Add("occupancy"); }
            var outputs = new List<string>();
            if (_options.MutedLedPin is not null) { outputs.Add("led-muted"); }
            if (_options.InCallLedPin is not null) { outputs.Add("led-in-call"); }
            return new DeviceInfo(Id, DeviceKind.Gpio, "Room controls", "gpio", _health, _detail, new Dictionary<string, string>
            {
                ["inputs"] = string.Join(",", inputs),
                ["outputs"] = string.Join(",", outputs),
                ["led-muted"] = _indicators[(int)Indicator.Muted] ? "on" : "off",
                ["led-in-call"] = _indicators[(int)Indicator.InCall] ? "on" : "off",
                ["occupied"] = _occupancy?.Stable == true ? "yes" : "no",
            });
        }
    }

    public void SetIndicator(Indicator indicator, bool lit)
    {
        var pin = indicator == Indicator.Muted ? _options.MutedLedPin : _options.InCallLedPin;
        lock (_gate)
        {
            _indicators[(int)indicator] = lit;
        }

        if (pin is { } p && _health != DeviceHealth.Failed)
        {
            Guard(() => _pins.Write(p, lit != _options.LedActiveLow));
        }
    }

    public bool IsLit(Indicator indicator)
    {
        lock (_gate)
        {
            return _indicators[(int)indicator];
        }
    }

    /// <summary>Samples the inputs once at <paramref name="now"/> and raises events for debounced changes.</summary>
    public void Poll(TimeSpan now)
    {
        if (_health == DeviceHealth.Failed)
        {
            return;
        }

        if (_button is not null && _options.MuteButtonPin is { } b)
        {
            var pressed = false;
            if (Guard(() => pressed = _pins.Read(b) != _options.MuteButtonActiveLow) && _button.Sample(pressed, now) == true)
            {
                MuteButtonPressed?.Invoke(this, EventArgs.Empty);
            }
        }

        if (_occupancy is not null && _options.OccupancyPin is { } o)
        {
            var occupied = false;
            if (Guard(() => occupied = _pins.Read(o) != _options.OccupancyActiveLow) && _occupancy.Sample(occupied, now) is { } changed)
            {
                OccupancyChanged?.Invoke(this, changed);
            }
        }
    }

    /// <summary>Starts the sampling thread (only when an input is configured).</summary>
    public void Start()
    {
        if (_thread is not null || (_button is null && _occupancy is null))
        {
            return;
        }

        _thread = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            while (!_stopping)
            {
                Poll(Stopwatch.GetElapsedTime(start));
                Thread.Sleep(_options.PollInterval);
            }
        })
        { IsBackground = true, Name = "gpio controls" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        _thread?.Join(TimeSpan.FromSeconds(1));
        _pins.Dispose();
    }

    private bool Guard(Action action)
    {
        try
        {
            action();
            return true;
        }
#pragma warning disable CA1031 // a pin that stops answering degrades the controls; it must not kill the sampling thread.
        catch (Exception e)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                _health = DeviceHealth.Degraded;
                _detail = "GPIO access failed: " + e.Message;
            }

            return false;
        }
    }

    private sealed class UnavailablePins(string why) : IGpioPins
    {
        public void OpenInput(int pin, bool pullUp) => throw new IOException(why);

        public void OpenOutput(int pin, bool initialHigh) => throw new IOException(why);

        public bool Read(int pin) => throw new IOException(why);

        public void Write(int pin, bool high) => throw new IOException(why);

        public void Dispose()
        {
        }
    }
}
