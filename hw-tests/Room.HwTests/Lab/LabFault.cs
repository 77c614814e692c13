namespace Room.HwTests.Lab;

/// <summary>Where a fault is injected.</summary>
public enum FaultSite
{
    /// <summary>The guest's /init: a driver unloaded or loaded with other module parameters.</summary>
    Kernel,

    /// <summary>roomd's own process: it runs under a seccomp filter that fails one ioctl (<see cref="IoctlFault"/>).</summary>
    Roomd,

    /// <summary>Room.Devices' driver code as the suite uses it: a wrapper with a bug.</summary>
    DeviceCode,
}

/// <summary>
/// A fault `make hw-test-fault` injects into the path under test, and the checks that must catch it. A fault run
/// passes only when every <see cref="CaughtBy"/> check FAILS and every check outside all injected faults'
/// <see cref="CaughtBy"/> and <see cref="AlsoFails"/> PASSES: each failure is explained by the fault that caused it.
/// </summary>
public sealed record LabFault(string Name, FaultSite Site, string Breaks, IReadOnlyList<string> CaughtBy, IReadOnlyList<string> AlsoFails)
{
    /// <summary>The ioctl roomd's process is denied under <c>roomd-mixer-ioctl</c>: SNDRV_CTL_IOCTL_ELEM_WRITE ('U', 0x13; the size bits vary with the ABI, so they are masked).</summary>
    public static readonly IoctlFault MixerWrite = new(0x5513, 0xFFFF, 5 /* EIO */);

    public static IReadOnlyList<LabFault> All { get; } =
    [
        new("usb-audio-unloaded", FaultSite.Kernel,
            "the USB speaker's driver, snd-usb-audio, is not loaded: QEMU's USB speaker is on the bus without a driver",
            ["audio.usb-speaker"], ["host.usb-speaker.tone"]),
        new("vivid-no-hdmi-output", FaultSite.Kernel,
            "vivid is loaded with output_types=0: its output is S-Video, so the playback-side CEC adapter the room drives the screen through is gone",
            ["display.cec.wake"], ["lab.cec.adapters", "lab.cec.tv-follower", "display.cec.standby", "display.cec.wake-again"]),
        new("roomd-mixer-ioctl", FaultSite.Roomd,
            "inside roomd's process the ALSA control write ioctl (SNDRV_CTL_IOCTL_ELEM_WRITE) fails with EIO (seccomp filter)",
            ["audio.mixer-roomd"], []),
        new("ptz-offset", FaultSite.DeviceCode,
            "Room.Devices' camera driver sends every pan 10 degrees off",
            ["camera.ptz.absolute"], ["camera.ptz.relative"]),
        new("scanout-no-flip", FaultSite.DeviceCode,
            "the last composed frame is written into the buffer on screen with no page flip: the guest's memory has it, virtio-gpu is never told, the display keeps the blank frame",
            ["host.display.composed"], []),
    ];

    /// <summary>Parses HWTEST_FAULT: fault names separated by commas, or <c>all</c> (empty: none). Unknown names are refused.</summary>
    public static IReadOnlyList<LabFault> Parse(string? spec)
    {
        if (spec?.Trim() == "all")
        {
            return All;
        }

        var names = (spec ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var faults = new List<LabFault>();
        foreach (var name in names)
        {
            var f = All.FirstOrDefault(x => x.Name == name)
                ?? throw new ArgumentException($"unknown fault '{name}'; known: {string.Join(", ", All.Select(x => x.Name))}");
            if (!faults.Contains(f))
            {
                faults.Add(f);
            }
        }

        return faults;
    }
}

/// <summary>An ioctl request (compared after <see cref="Mask"/>) that fails with <see cref="Errno"/>.</summary>
public sealed record IoctlFault(uint Request, uint Mask, int Errno)
{
    /// <summary>Command-line form for <c>Room.HwTests fault-exec</c>: <c>0x5513/0xffff:5</c>.</summary>
    public override string ToString() => $"0x{Request:x}/0x{Mask:x}:{Errno}";

    public static IoctlFault Parse(string s)
    {
        var colon = s.IndexOf(':', StringComparison.Ordinal);
        var slash = s.IndexOf('/', StringComparison.Ordinal);
        if (colon < 0 || slash < 0 || slash > colon)
        {
            throw new FormatException($"ioctl fault '{s}': expected REQUEST/MASK:ERRNO, e.g. 0x5513/0xffff:5");
        }

        var request = Hex(s[..slash]);
        var mask = Hex(s[(slash + 1)..colon]);
        if (!int.TryParse(s[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var errno) || errno is < 1 or > 4095)
        {
            throw new FormatException($"ioctl fault '{s}': errno must be 1..4095");
        }

        if (mask == 0 || (request & ~mask) != 0)
        {
            throw new FormatException($"ioctl fault '{s}': the request has bits outside the mask");
        }

        return new IoctlFault(request, mask, errno);

        uint Hex(string x) => x.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && uint.TryParse(x.AsSpan(2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new FormatException($"ioctl fault '{s}': '{x}' is not a 0x hex number");
    }
}
