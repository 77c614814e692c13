using Room.Devices.Gpio;
using Room.Devices.Visca;

namespace Room.Devices.Linux;

/// <summary>
/// Where the Linux provider looks and what it is told about the room. The roots default to the live system; tests
/// and the hardware lab point them at recorded trees.
/// </summary>
public sealed record LinuxDeviceOptions
{
    public string SysRoot { get; init; } = "/sys";

    public string DevRoot { get; init; } = "/dev";

    public string ProcRoot { get; init; } = "/proc";

    /// <summary>Follow hot-plug through kernel uevents (NETLINK_KOBJECT_UEVENT).</summary>
    public bool HotPlug { get; init; } = true;

    /// <summary>
    /// Open device nodes (V4L2 QUERYCAP/controls, CEC adapters). Off for recorded sysfs trees, where the nodes
    /// are not real: cameras are then listed from sysfs alone and displays have no CEC.
    /// </summary>
    public bool OpenDevices { get; init; } = true;

    /// <summary>Network PTZ cameras (VISCA over IP) in the room.</summary>
    public IReadOnlyList<ViscaCameraOptions> ViscaCameras { get; init; } = [];

    /// <summary>GPIO pins of the mute button, LEDs and occupancy sensor; null when the room has none.</summary>
    public GpioControlsOptions? Gpio { get; init; }

    /// <summary>Sample rate for every ALSA stream.</summary>
    public int SampleRate { get; init; } = 48000;

    /// <summary>
    /// Channel counts by ALSA card id ("Loopback") or card id and device ("Loopback:1"), overriding what /proc
    /// says (USB stream info), the hardware probe (capture: its maximum up to <see cref="MaxProbedChannels"/>)
    /// and the default of 2 for playback.
    /// </summary>
    public IReadOnlyDictionary<string, int> AudioChannels { get; init; } = new Dictionary<string, int>();

    /// <summary>
    /// Upper bound on channels when the count is probed from the hardware (capture of non-USB cards, and both
    /// directions of snd-aloop, whose playback side feeds a capture side): mic arrays have up to 8.
    /// </summary>
    public int MaxProbedChannels { get; init; } = 8;

    /// <summary>Sample format per card id; absent = try S16, then S32.</summary>
    public IReadOnlyDictionary<string, Audio.AlsaSampleFormat> AudioFormats { get; init; } = new Dictionary<string, Audio.AlsaSampleFormat>();

    /// <summary>ALSA PCM name template: {card} is the card id, {device} the device number.</summary>
    public string AlsaDeviceTemplate { get; init; } = "hw:CARD={card},DEV={device}";

    /// <summary>Ignore ALSA cards with these ids or drivers (e.g. "HDMI" outputs that are not the room speaker).</summary>
    public IReadOnlySet<string> IgnoredAudioCards { get; init; } = new HashSet<string>();

    /// <summary>
    /// CEC adapters to use ("cec0"); null = every adapter that is not a sink (a sink has physical address 0.0.0.0).
    /// </summary>
    public IReadOnlyList<string>? CecAdapters { get; init; }

    /// <summary>Which CEC adapter drives which DRM connector ("HDMI-A-1" → "cec0").</summary>
    public IReadOnlyDictionary<string, string> CecForConnector { get; init; } = new Dictionary<string, string>();

    /// <summary>Our name on the CEC bus.</summary>
    public string CecOsdName { get; init; } = "Room";

    /// <summary>Hot-plug events arriving within this delay are handled by one rescan.</summary>
    public TimeSpan RescanDelay { get; init; } = TimeSpan.FromMilliseconds(300);
}
