using Room.Devices;
using Room.HwTests.Gadget;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// Unplugs the USB camera and plugs it back: the host de-authorises the whole USB device (every interface and
/// node goes, as with a pulled cable, whatever file descriptors are still open) and then enumerates it again.
/// </summary>
public static class HotplugChecks
{
    public static async Task<string> UsbCameraAsync(IDeviceProvider? provider, bool inLab, CancellationToken ct)
    {
        var usb = LabCameraUsbDevice();
        if (usb is null)
        {
            return inLab ? throw new InvalidOperationException("lab camera not on the USB bus") : throw new SkipException("no lab camera to unplug on this box");
        }

        var authorized = Path.Combine(usb, "authorized");
        var changes = 0;
        void OnChange(object? s, EventArgs e) => Interlocked.Increment(ref changes);
        if (provider is not null)
        {
            provider.DevicesChanged += OnChange;
        }


        try
        {
            await File.WriteAllTextAsync(authorized, "0", ct).ConfigureAwait(false);
            await Expect.Eventually(() => Task.FromResult(LabChecks.GadgetNode()), n => n is null, TimeSpan.FromSeconds(10), "video node after unplug", ct).ConfigureAwait(false);
            var report = $"unplugged USB {Path.GetFileName(usb)}";
            if (provider is not null)
            {
                await Expect.Eventually(() => Task.FromResult(Present(provider)), p => !p, TimeSpan.FromSeconds(20), "camera still listed as OK after unplug", ct).ConfigureAwait(false);
                await Expect.Eventually(() => Task.FromResult(Volatile.Read(ref changes)), c => c > 0, TimeSpan.FromSeconds(5), "DevicesChanged raised on unplug", ct).ConfigureAwait(false);
                report += ", Room.Devices saw it go";
            }

            await File.WriteAllTextAsync(authorized, "1", ct).ConfigureAwait(false);
            var node = await Expect.Eventually(() => Task.FromResult(LabChecks.GadgetNode()), n => n is not null, TimeSpan.FromSeconds(15), "video node after replug", ct).ConfigureAwait(false);
            report += $", replugged as {node}";
            if (provider is not null)
            {
                var before = Volatile.Read(ref changes);
                await Expect.Eventually(() => Task.FromResult(Present(provider)), p => p, TimeSpan.FromSeconds(20), "camera back after replug", ct).ConfigureAwait(false);
                await Expect.Eventually(() => Task.FromResult(Volatile.Read(ref changes)), c => c > before, TimeSpan.FromSeconds(5), "DevicesChanged raised on replug", ct).ConfigureAwait(false);
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

        }
    }

    /// <summary>The lab camera's USB device in sysfs (its <c>authorized</c> file unplugs it), or null.</summary>
    public static string? LabCameraUsbDevice() => Directory.Exists("/sys/bus/usb/devices")
        ? Directory.GetDirectories("/sys/bus/usb/devices").FirstOrDefault(d =>
            File.Exists(Path.Combine(d, "product")) && File.ReadAllText(Path.Combine(d, "product")).Trim() == LabChecks.GadgetCameraName)
        : null;

    private static bool Present(IDeviceProvider provider) =>
        provider.Cameras.Any(c => (c.Name.Contains("Room Lab PTZ", StringComparison.Ordinal) || c.Limits.CanPan) && c.Describe().Health == DeviceHealth.Ok);
}
