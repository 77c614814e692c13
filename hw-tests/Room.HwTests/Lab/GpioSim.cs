using System.Globalization;
using Room.HwTests.Interop;

namespace Room.HwTests.Lab;

/// <summary>
/// The lab's gpio-sim chip, made by the guest's /init through configfs (gpio-sim.ko is built by lab/gpio-sim.sh):
/// one bank of 8 lines labelled <see cref="Label"/>. The suite plays the room's wiring on it: the mute button pulls
/// line 0 low (a pull-up otherwise), the PIR sensor drives line 1 high on motion, and the LEDs on lines 2 and 3 are
/// read back from the sim's <c>value</c> attributes. Writing the device's <c>live</c> attribute removes and re-adds
/// the chip, as an unplugged GPIO hat would.
/// </summary>
public sealed unsafe class GpioSim
{
    public const string Label = "room-lab-gpio";
    public const string ConfigDir = "/sys/kernel/config/gpio-sim/room";
    public const int Button = 0, Pir = 1, MutedLed = 2, InCallLed = 3;

    private const uint FlagUsed = 1, FlagOutput = 2;
    private static readonly uint s_getLineInfo = Native.Iowr((char)0xB4, 0x02, 72);

    private readonly string _dir;

    private GpioSim(string dir) => _dir = dir;

    /// <summary>The lab's chip, or null when this box has none (no gpio-sim, or /init did not make it).</summary>
    public static GpioSim? Find() => Directory.Exists(Path.Combine(ConfigDir, "bank0")) ? new GpioSim(ConfigDir) : null;

    /// <summary>roomd's configuration for the lab's wiring (command-line form).</summary>
    public static string[] RoomdArguments =>
    [
        "--Devices:Linux:Gpio:ChipLabel", Label,
        "--Devices:Linux:Gpio:MuteButtonPin", Button.ToString(CultureInfo.InvariantCulture),
        "--Devices:Linux:Gpio:OccupancyPin", Pir.ToString(CultureInfo.InvariantCulture),
        "--Devices:Linux:Gpio:MutedLedPin", MutedLed.ToString(CultureInfo.InvariantCulture),
        "--Devices:Linux:Gpio:InCallLedPin", InCallLed.ToString(CultureInfo.InvariantCulture),
    ];

    public bool Live
    {
        get => Read(Path.Combine(_dir, "live")) == "1";
        set => File.WriteAllText(Path.Combine(_dir, "live"), value ? "1" : "0");
    }

    /// <summary>The chip's kernel name while it is live ("gpiochip0").</summary>
    public string ChipName => Read(Path.Combine(_dir, "bank0", "chip_name"));

    public string DevicePath => "/dev/" + ChipName;

    /// <summary>The outside world pulls a line up or down (what a button or a sensor does to an input).</summary>
    public void Pull(int line, bool up) => File.WriteAllText(Attribute(line, "pull"), up ? "pull-up" : "pull-down");

    /// <summary>The line's level as the sim holds it: for an output, what its consumer drives.</summary>
    public int Value(int line) => int.Parse(Read(Attribute(line, "value")), CultureInfo.InvariantCulture);

    /// <summary>What the kernel says of a line: requested by someone, an output, by whom.</summary>
    public (bool Used, bool Output, string Consumer) LineInfo(int line)
    {
        var fd = Native.Open(DevicePath, Native.O_RDONLY | Native.O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"{DevicePath}: {Native.LastError()}");
        }

        try
        {
            var info = stackalloc byte[72];
            new Span<byte>(info, 72).Clear();
            *(uint*)info = (uint)line;
            if (Native.Ioctl(fd, s_getLineInfo, info) < 0)
            {
                throw new IOException($"{DevicePath}: GPIO_GET_LINEINFO_IOCTL line {line}: {Native.LastError()}");
            }

            var flags = *(uint*)(info + 4);
            var consumer = new Span<byte>(info + 40, 32);
            var end = consumer.IndexOf((byte)0);
            return ((flags & FlagUsed) != 0, (flags & FlagOutput) != 0, System.Text.Encoding.UTF8.GetString(end < 0 ? consumer : consumer[..end]));
        }
        finally
        {
            Native.Close(fd);
        }
    }

    private string Attribute(int line, string name) =>
        $"/sys/devices/platform/{Read(Path.Combine(_dir, "dev_name"))}/{ChipName}/sim_gpio{line}/{name}";

    private static string Read(string path) => File.ReadAllText(path).Trim();
}
