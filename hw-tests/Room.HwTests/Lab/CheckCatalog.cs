namespace Room.HwTests.Lab;

/// <summary>Where a check runs: on every target, only in the QEMU lab (it checks the lab itself), or on the lab's host.</summary>
public enum CheckScope
{
    Everywhere,
    LabOnly,
    LabHost,
}

/// <summary>
/// Every check of the suite by name: the host judges a run against this list, so a check that never reported (a
/// crash, a hang, a check that was deleted or renamed by mistake) fails the run. The suite refuses to run a check
/// that is not listed here (it reports it as failed), so the list cannot drift from the code.
/// </summary>
public static class CheckCatalog
{
    public static IReadOnlyList<(string Name, CheckScope Scope)> All { get; } =
    [
        ("lab.gadget-camera.connect", CheckScope.LabOnly),
        ("lab.kernel-modules", CheckScope.Everywhere),
        ("lab.gadget-camera.enumerated", CheckScope.Everywhere),
        ("lab.gadget-camera.ptz-controls", CheckScope.Everywhere),
        ("lab.gadget-camera.stream-and-ptz-in-frame", CheckScope.Everywhere),
        ("lab.vivid.webcam", CheckScope.Everywhere),
        ("lab.cec.adapters", CheckScope.Everywhere),
        ("lab.alsa.cards", CheckScope.Everywhere),
        ("lab.drm.connector-edid", CheckScope.Everywhere),
        ("lab.cec.tv-follower", CheckScope.LabOnly),
        ("devices.provider-start", CheckScope.Everywhere),
        ("camera.discovery", CheckScope.Everywhere),
        ("camera.capabilities", CheckScope.Everywhere),
        ("camera.capture", CheckScope.Everywhere),
        ("camera.ptz.absolute", CheckScope.Everywhere),
        ("camera.ptz.relative", CheckScope.Everywhere),
        ("camera.focus-exposure", CheckScope.Everywhere),
        ("camera.v4l2.formats", CheckScope.Everywhere),
        ("camera.v4l2.capture", CheckScope.Everywhere),
        ("camera.v4l2.user-control", CheckScope.Everywhere),
        ("display.connector-edid", CheckScope.Everywhere),
        ("display.cec.wake", CheckScope.Everywhere),
        ("display.cec.standby", CheckScope.Everywhere),
        ("display.cec.wake-again", CheckScope.Everywhere),
        ("display.kms.scanout", CheckScope.Everywhere),
        ("audio.loopback-8ch", CheckScope.Everywhere),
        ("audio.rate-fallback", CheckScope.Everywhere),
        ("audio.mixer", CheckScope.Everywhere),
        ("audio.usb-speaker", CheckScope.Everywhere),
        ("hotplug.usb-camera", CheckScope.Everywhere),
        ("roomd.dbus", CheckScope.Everywhere),
        ("audio.mixer-roomd", CheckScope.Everywhere),
        ("audio.speech-roomd", CheckScope.Everywhere),
        ("display.roomd-call", CheckScope.Everywhere),
        ("camera.presets-survive-roomd-restart", CheckScope.Everywhere),
        ("hotplug.usb-camera-roomd", CheckScope.Everywhere),
        ("host.display.screendump", CheckScope.LabHost),
        ("host.display.composed", CheckScope.LabHost),
        ("host.display.roomd-call", CheckScope.LabHost),
        ("host.usb-speaker.tone", CheckScope.LabHost),
    ];

    public static bool Contains(string name) => All.Any(c => c.Name == name);

    /// <summary>The checks a run must report: all of them in the lab (guest and host), the suite's own elsewhere.</summary>
    public static IReadOnlyList<string> Expected(bool lab) =>
        [.. All.Where(c => lab || c.Scope == CheckScope.Everywhere).Select(c => c.Name)];
}
