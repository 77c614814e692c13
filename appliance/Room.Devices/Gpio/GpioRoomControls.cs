using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Diagnostics;

namespace Room.Devices.Gpio;

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
/// Inputs are sampled on a background thread (every 10 ms by default); <see cref="Poll"/> is public so tests and
/// the hardware-lab suite can drive it with their own clock.
/// A chip that goes away (a hat unplugged, a driver unbound) is reported Missing, not fatal: the controls look for it
/// again every <see cref="GpioControlsOptions.RetryInterval"/>, and when it is back they set the LEDs to the current
/// state again and take the inputs' levels as they are then (a button held while the chip came back is no press).
/// An invalid configuration is reported Failed with every problem, and nothing is opened.
/// </summary>
public sealed class GpioRoomControls : IRoomControls, IDisposable
{
    private readonly Func<IGpioPins> _open;
    private readonly GpioControlsOptions _options;
    private readonly IReadOnlyList<GpioLine> _lines;
    private readonly GpioLine? _buttonLine;
    private readonly GpioLine? _occupancyLine;
    private readonly bool[] _indicators = new bool[Enum.GetValues<Indicator>().Length];
    private readonly Lock _gate = new();
    private readonly bool _invalid;
    private Debouncer? _button;
    private Debouncer? _occupancy;
    private bool _occupied;
    private IGpioPins? _pins;
    private TimeSpan _retryAt;
    private int _reconnects;
    private bool _opened;
    private Thread? _thread;
    private volatile bool _stopping;
    private DeviceHealth _health = DeviceHealth.Ok;
    private string _detail = "";

    /// <summary>Controls on pins that are already open (tests); a lost line is looked for again on the same pins.</summary>
    public GpioRoomControls(IGpioPins pins, GpioControlsOptions options)
        : this(() => pins, options)
    {
    }

    /// <summary>
    /// Controls that open their pins with <paramref name="open"/> now and again after losing them;
    /// <paramref name="open"/> throws <see cref="GpioChipMissingException"/> when the chip is not there.
    /// </summary>
    public GpioRoomControls(Func<IGpioPins> open, GpioControlsOptions options)
    {
        _open = open;
        _options = options;
        _lines = options.Lines();
        _buttonLine = _lines.FirstOrDefault(l => l.Function == GpioFunction.MuteButton);
        _occupancyLine = _lines.FirstOrDefault(l => l.Function == GpioFunction.Occupancy);
        if (options.Validate() is { Count: > 0 } errors)
        {
            _invalid = true;
            _health = DeviceHealth.Failed;
            _detail = "GPIO configuration invalid: " + string.Join("; ", errors);
            return;
        }

        Open(TimeSpan.Zero, out _);
    }

    public string Id => $"gpio:{_options.ChipLabel ?? "gpiochip" + _options.Chip.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    public event EventHandler? MuteButtonPressed;

    public event EventHandler<bool>? OccupancyChanged;

    /// <summary>Times the chip was found again after it had gone.</summary>
    public int Reconnects
    {
        get
        {
            lock (_gate)
            {
                return _reconnects;
            }
        }
    }

    /// <summary>Opens the pins on a gpiochip (by label or number) through libgpiod and starts sampling.</summary>
    public static GpioRoomControls StartLibgpiod(GpioControlsOptions options, string devRoot = "/dev")
    {
        var controls = new GpioRoomControls(() => ControllerPins.OpenLibgpiod(GpioChipLocator.Find(options, devRoot)), options);
        controls.Start();
        return controls;
    }

    public DeviceInfo Describe()
    {
        lock (_gate)
        {
            var capabilities = new Dictionary<string, string>
            {
                ["inputs"] = string.Join(",", _lines.Where(l => l.Input).Select(l => l.Name)),
                ["outputs"] = string.Join(",", _lines.Where(l => !l.Input).Select(l => l.Name)),
                ["lines"] = string.Join(",", _lines.Select(l => $"{l.Name}={l.Offset}{(l.ActiveLow ? " active-low" : "")}")),
                ["led-muted"] = _indicators[(int)Indicator.Muted] ? "on" : "off",
                ["led-in-call"] = _indicators[(int)Indicator.InCall] ? "on" : "off",
                ["occupied"] = _occupancyLine is not null && _occupied ? "yes" : "no",
                ["reconnects"] = _reconnects.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            return new DeviceInfo(Id, DeviceKind.Gpio, "Room controls", "gpio", _health, _detail, capabilities);
        }
    }

    public void SetIndicator(Indicator indicator, bool lit)
    {
        var function = indicator == Indicator.Muted ? GpioFunction.MutedLed : GpioFunction.InCallLed;
        var line = _lines.FirstOrDefault(l => l.Function == function);
        lock (_gate)
        {
            _indicators[(int)indicator] = lit;
            if (line is not null && _pins is { } pins)
            {
                try
                {
                    pins.Write(line.Offset, line.Level(lit));
                }
#pragma warning disable CA1031 // a line that stops answering makes the controls look for their chip again; never the caller's problem.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Lose(e);
                }
            }
        }
    }

    public bool IsLit(Indicator indicator)
    {
        lock (_gate)
        {
            return _indicators[(int)indicator];
        }
    }

    /// <summary>Samples the inputs once at <paramref name="now"/> and raises events for debounced changes; looks for a lost chip again when due.</summary>
    public void Poll(TimeSpan now)
    {
        var pressed = false;
        bool? occupancy = null;
        lock (_gate)
        {
            if (_invalid)
            {
                return;
            }

            if (_pins is null)
            {
                if (now < _retryAt || !Open(now, out occupancy))
                {
                    return;
                }
            }

            try
            {
                if (_buttonLine is { } b && _button is { } button)
                {
                    pressed = button.Sample(b.Active(_pins!.Read(b.Offset)), now) == true;
                }

                if (_occupancyLine is { } o && _occupancy is { } debouncer && debouncer.Sample(o.Active(_pins!.Read(o.Offset)), now) is { } changed)
                {
                    _occupied = changed;
                    occupancy = changed;
                }
            }
#pragma warning disable CA1031 // see SetIndicator
            catch (Exception e)
#pragma warning restore CA1031
            {
                Lose(e);
                _retryAt = now; // at once: a chip that is really gone says so (Missing) on this first attempt
            }
        }

        if (pressed)
        {
            MuteButtonPressed?.Invoke(this, EventArgs.Empty);
        }

        if (occupancy is { } o2)
        {
            OccupancyChanged?.Invoke(this, o2);
        }
    }

    /// <summary>Starts the sampling thread (it also looks for a lost chip, so it runs for LED-only rooms too).</summary>
    public void Start()
    {
        if (_thread is not null || _invalid)
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
        lock (_gate)
        {
            _pins?.Dispose();
            _pins = null;
        }
    }

    /// <summary>
    /// Opens every line (under the gate). On success the LEDs show the current state and the inputs' present levels are
    /// the debouncers' starting point; an occupancy that changed while the chip was away is returned to be raised.
    /// </summary>
    private bool Open(TimeSpan now, out bool? occupancyChange)
    {
        occupancyChange = null;
        IGpioPins? pins = null;
        try
        {
            pins = _open();
            var levels = new Dictionary<GpioFunction, bool>();
            foreach (var line in _lines)
            {
                if (line.Input)
                {
                    // The mute button's usual wiring is to ground with a pull-up; the PIR drives its line itself.
                    pins.OpenInput(line.Offset, pullUp: line.Function == GpioFunction.MuteButton && line.ActiveLow);
                    levels[line.Function] = line.Active(pins.Read(line.Offset));
                }
                else
                {
                    var lit = _indicators[(int)(line.Function == GpioFunction.MutedLed ? Indicator.Muted : Indicator.InCall)];
                    pins.OpenOutput(line.Offset, initialHigh: line.Level(lit));
                }
            }

            var first = !_opened;
            if (_buttonLine is not null)
            {
                _button = new Debouncer(_options.ButtonDebounce, initial: levels[GpioFunction.MuteButton]);
            }

            if (_occupancyLine is not null)
            {
                // At start the room counts as empty, so someone already there is reported once the sensor held its level;
                // after a reconnect the last known state stays and a change while away is reported now.
                var present = levels[GpioFunction.Occupancy];
                _occupancy = new Debouncer(_options.OccupancyDebounce, initial: first ? false : present);
                if (!first && present != _occupied)
                {
                    _occupied = present;
                    occupancyChange = present;
                }
            }

            if (!first)
            {
                _reconnects++;
            }

            _pins = pins;
            _opened = true;
            _health = DeviceHealth.Ok;
            _detail = "";
            return true;
        }
#pragma warning disable CA1031 // GPIO drivers throw many types; any of them leaves the controls unusable for now, never roomd.
        catch (Exception e)
#pragma warning restore CA1031
        {
            pins?.Dispose();
            _health = e is GpioChipMissingException ? DeviceHealth.Missing : DeviceHealth.Failed;
            _detail = (e is GpioChipMissingException ? "" : "GPIO setup failed: ") + e.Message + $"; looking for it again every {_options.RetryInterval.TotalSeconds:0.#} s";
            _retryAt = now + _options.RetryInterval;
            return false;
        }
    }

    /// <summary>A line stopped answering (under the gate): close everything, report it, look for the chip again.</summary>
    private void Lose(Exception e)
    {
        try
        {
            _pins?.Dispose();
        }
#pragma warning disable CA1031 // closing lines of a vanished chip may fail too; they are gone either way.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        _pins = null;
        _health = DeviceHealth.Degraded;
        _detail = "GPIO access failed: " + e.Message;
    }
}
