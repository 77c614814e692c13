using Room.Devices;
using Room.HwTests.Gadget;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>Unplugs the USB camera (unbinding uvcvideo from it, as a pulled cable removes it) and plugs it back.</summary>
public static class HotplugChecks
{
    public static async Task<string> UsbCameraAsync(IDeviceProvider? provider, bool inLab, CancellationToken ct)
    {
        var usb = Directory.Exists("/sys/bus/usb/devices")
            ? Directory.GetDirectories("/sys/bus/usb/devices").FirstOrDefault(d =>
                File.Exists(Path.Combine(d, "product")) && File.ReadAllText(Path.Combine(d, "product")).Trim() == LabChecks.GadgetCameraName)
            : null;
        if (usb is null)
        {
            return inLab ? throw new InvalidOperationException("lab camera not on the USB bus") : throw new SkipException("no lab camera to unplug on this box");
        }

        var intf = Path.GetFileName(usb) + ":1.0";
        const string driver = "/sys/bus/usb/drivers/uvcvideo";
        var changes = 0;
        var composed = provider as ComposedDevices;
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var nodeName = Path.GetFileName(LabChecks.GadgetNode() ?? "");
        void OnChange(object? s, EventArgs e) => Interlocked.Increment(ref changes);
        void OnUevent(object? s, Room.Devices.Hotplug.Uevent e)
        {
            if (e.Subsystem == "video4linux")
            {
                seen.Enqueue($"{e.Action} {e.DevName}");
            }
        }

        if (provider is not null)
        {
            provider.DevicesChanged += OnChange;
        }

        if (composed is not null)
        {
            composed.Uevent += OnUevent;
        }

        try
        {
            await File.WriteAllTextAsync(Path.Combine(driver, "unbind"), intf, ct).ConfigureAwait(false);
            await Expect.Eventually(() => Task.FromResult(LabChecks.GadgetNode()), n => n is null, TimeSpan.FromSeconds(10), "video node after unplug", ct).ConfigureAwait(false);
            var report = $"unplugged {intf}";
            if (composed is not null)
            {
                await Expect.Eventually(() => Task.FromResult(seen.ToArray()), a => a.Any(x => x.StartsWith("remove", StringComparison.Ordinal) && x.EndsWith(nodeName, StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "uevent 'remove' of the camera node", ct).ConfigureAwait(false);
                report += $", Room.Devices' uevent monitor saw remove {nodeName}";
            }
            else if (provider is not null)
            {
                await Expect.Eventually(() => Task.FromResult(Present(provider)), p => !p, TimeSpan.FromSeconds(20), "camera still listed as OK after unplug", ct).ConfigureAwait(false);
                Expect.True(Volatile.Read(ref changes) > 0, "DevicesChanged not raised on unplug");
                report += ", Room.Devices saw it go";
            }

            await File.WriteAllTextAsync(Path.Combine(driver, "bind"), intf, ct).ConfigureAwait(false);
            var node = await Expect.Eventually(() => Task.FromResult(LabChecks.GadgetNode()), n => n is not null, TimeSpan.FromSeconds(15), "video node after replug", ct).ConfigureAwait(false);
            report += $", replugged as {node}";
            if (composed is not null)
            {
                var name = Path.GetFileName(node!);
                await Expect.Eventually(() => Task.FromResult(seen.ToArray()), a => a.Any(x => x == "add " + name), TimeSpan.FromSeconds(10), "uevent 'add' of the camera node", ct).ConfigureAwait(false);
                Expect.True(Volatile.Read(ref changes) > 0, "DevicesChanged not raised");
                using var v = V4l2Probe.Open(node!);
                var n = 0;
                v.Capture(FramePattern.Width, FramePattern.Height, 2, TimeSpan.FromSeconds(30), (_, _, _) => n++);
                report += $" and add {name}; kernel captures again ({n} frames); V4L2 camera driver not in Room.Devices yet";
            }
            else if (provider is not null)
            {
                var before = Volatile.Read(ref changes);
                await Expect.Eventually(() => Task.FromResult(Present(provider)), p => p, TimeSpan.FromSeconds(20), "camera back after replug", ct).ConfigureAwait(false);
                Expect.True(Volatile.Read(ref changes) >= before, "DevicesChanged not raised on replug");
                var cam = provider.Cameras.First(c => c.Name.Contains("Room Lab PTZ", StringComparison.Ordinal) || c.Limits.CanPan);
                var counters = await DeviceChecks.CaptureAsync(cam, 3, ct).ConfigureAwait(false);
                report += $", Room.Devices captures again (counters {string.Join(",", counters)})";
            }
            else
            {
                using var v = V4l2Probe.Open(node!);
                var n = 0;
                v.Capture(FramePattern.Width, FramePattern.Height, 2, TimeSpan.FromSeconds(30), (_, _, _) => n++);
                report += $", kernel captures again ({n} frames)";
            }

            return report;
        }
        finally
        {
            if (provider is not null)
            {
                provider.DevicesChanged -= OnChange;
            }

            if (composed is not null)
            {
                composed.Uevent -= OnUevent;
            }
        }
    }

    private static bool Present(IDeviceProvider provider) =>
        provider.Cameras.Any(c => (c.Name.Contains("Room Lab PTZ", StringComparison.Ordinal) || c.Limits.CanPan) && c.Describe().Health == DeviceHealth.Ok);
}
