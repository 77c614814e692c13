using System.Diagnostics;
using Room.Bus;
using Room.Bus.Client;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>
/// roomd in the guest: a private dbus-daemon, roomd on it (state in a temporary directory), the Camera API over
/// D-Bus, and presets that survive a roomd restart.
/// </summary>
public sealed partial class RoomdChecks(Suite suite, bool inLab, IReadOnlyList<LabFault> faults, ScanoutChecks? scanout = null) : IDisposable
{
    private static readonly string Roomd = Path.Combine(AppContext.BaseDirectory, "roomd");
    private const string DbusDaemon = "/usr/bin/dbus-daemon";
    // A folder of this run only (bus socket, roomd state), deleted at the end: on a room box nothing stays behind.
    private readonly string _dir = Directory.CreateTempSubdirectory("hwtest-roomd-").FullName;
    private Process? _bus;
    private Process? _roomd;
    private string? _address;
    private bool _up;

    public async Task RunAsync()
    {
        await suite.RunAsync("roomd.dbus", TimeSpan.FromSeconds(120), async ct =>
        {
            // roomd is published beside the suite on every target: its absence is a broken build, not a missing device.
            Expect.True(File.Exists(Roomd), $"roomd is not beside the suite ({Roomd}): the publish of roomd failed");
            Expect.True(File.Exists(DbusDaemon), $"no {DbusDaemon} on this box (Debian package dbus)");

            Directory.CreateDirectory(Path.Combine(_dir, "state"));
            var config = Path.Combine(_dir, "bus.conf");
            await File.WriteAllTextAsync(config, $"""
                <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
                <busconfig>
                  <type>session</type>
                  <listen>unix:path={_dir}/bus</listen>
                  <auth>EXTERNAL</auth>
                  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
                </busconfig>
                """, ct).ConfigureAwait(false);
            _bus = Process.Start(new ProcessStartInfo(DbusDaemon, ["--config-file=" + config, "--nofork", "--nopidfile"]) { UseShellExecute = false })
                ?? throw new InvalidOperationException("dbus-daemon did not start");
            _address = $"unix:path={_dir}/bus";
            await Expect.Eventually(() => Task.FromResult(File.Exists(Path.Combine(_dir, "bus"))), x => x, TimeSpan.FromSeconds(20), "bus socket", ct).ConfigureAwait(false);
            var sw = Stopwatch.StartNew();
            StartRoomd();
            using var client = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false);
            try
            {
                await Expect.Eventually(client.IsRoomdPresentAsync, x => x || _roomd!.HasExited, TimeSpan.FromSeconds(90), "roomd on the bus", ct).ConfigureAwait(false);
                Expect.True(!_roomd!.HasExited, "roomd stopped" + RoomdLog());
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException(e.Message + RoomdLog(), e);
            }

            var camera = await client.GetAllAsync(BusNames.Camera).ConfigureAwait(false);
            _up = true;
            return $"roomd answered on D-Bus {sw.Elapsed.TotalSeconds:0.0} s after start; Camera has {camera.Count} properties";
        }).ConfigureAwait(false);

        await suite.RunAsync("audio.mixer-roomd", TimeSpan.FromSeconds(60), MixerThroughRoomdAsync).ConfigureAwait(false);

        await suite.RunAsync("audio.speech-roomd", TimeSpan.FromSeconds(180), async ct =>
        {
            if (!_up || _address is null)
            {
                throw new SkipException("roomd did not come up (see roomd.dbus)");
            }

            if (!File.Exists("/proc/asound/cards") || !File.ReadAllText("/proc/asound/cards").Contains("Loopback", StringComparison.Ordinal))
            {
                return inLab ? throw new InvalidOperationException("no snd-aloop card") : throw new SkipException("no snd-aloop card on this box (the suite needs both ends of roomd's microphone and speaker)");
            }

            using var client = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false);
            try
            {
                return await SpeechChecks.ThroughRoomdAsync(client, _roomd, RoomdLog, ct).ConfigureAwait(false);
            }
            finally
            {
                // The checks after this one want roomd out of the call, whatever happened here.
                if ((await client.GetStatusAsync().ConfigureAwait(false)).Meeting.State != MeetingStates.Idle)
                {
                    await client.LeaveAsync().ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);

        await suite.RunAsync("display.roomd-call", TimeSpan.FromSeconds(240), RoomdDisplayAsync).ConfigureAwait(false);

        await suite.RunAsync("camera.presets-survive-roomd-restart", TimeSpan.FromSeconds(150), async ct =>
        {
            if (!_up || _address is null)
            {
                throw new SkipException("roomd did not come up (see roomd.dbus)");
            }

            string cameraId;
            using (var client = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false))
            {
                // roomd drives the real devices here: the USB PTZ camera (uvcvideo + our gadget) is the one with motors.
                var status = await client.GetStatusAsync().ConfigureAwait(false);
                cameraId = status.Camera.Cameras.Select(c => c.Id).FirstOrDefault(id => id.StartsWith("usb:", StringComparison.Ordinal))
                    ?? (inLab ? throw new InvalidOperationException("roomd lists no USB camera: " + string.Join(", ", status.Camera.Cameras.Select(c => c.Id)))
                        : throw new SkipException("roomd lists no USB camera on this box" + (status.Camera.Cameras.Count > 0 ? " (only " + string.Join(", ", status.Camera.Cameras.Select(c => c.Id)) + ")" : "")));
                await client.SelectCameraAsync(cameraId).ConfigureAwait(false);
                var limits = (await client.GetStatusAsync().ConfigureAwait(false)).Camera;
                if (!inLab && !(limits.PanMax - limits.PanMin >= 24 && limits.TiltMax - limits.TiltMin >= 8))
                {
                    throw new SkipException($"camera {cameraId} cannot pan and tilt far enough (pan {limits.PanMin}..{limits.PanMax}, tilt {limits.TiltMin}..{limits.TiltMax})");
                }

                await client.MoveToAsync(12, -4, 0.4).ConfigureAwait(false);
                await client.StorePresetAsync("hwtest").ConfigureAwait(false);
                await client.MoveToAsync(0, 0, 0).ConfigureAwait(false);
            }

            _roomd!.Kill();
            await _roomd!.WaitForExitAsync(ct).ConfigureAwait(false);
            StartRoomd();
            using var again = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false);
            await Expect.Eventually(again.IsRoomdPresentAsync, x => x, TimeSpan.FromSeconds(90), "roomd back on the bus", ct).ConfigureAwait(false);
            await again.SelectCameraAsync(cameraId).ConfigureAwait(false);
            await again.RecallPresetAsync("hwtest").ConfigureAwait(false);
            var cam = await again.GetAllAsync(BusNames.Camera).ConfigureAwait(false);
            var pan = (double)cam["Pan"].GetDouble();
            var tilt = (double)cam["Tilt"].GetDouble();
            var zoom = (double)cam["Zoom"].GetDouble();
            Expect.Near(12, pan, 0.5, "pan after recalling the preset in a new roomd");
            Expect.Near(-4, tilt, 0.5, "tilt after recalling the preset in a new roomd");
            Expect.Near(0.4, zoom, 0.02, "zoom after recalling the preset in a new roomd");
            return $"preset 'hwtest' stored, roomd killed and restarted, recalled on {cameraId} through roomd's Linux devices: pan {pan} tilt {tilt} zoom {zoom}";
        }).ConfigureAwait(false);

        await suite.RunAsync("hotplug.usb-camera-roomd", TimeSpan.FromSeconds(150), UsbCameraReplugAsync).ConfigureAwait(false);
    }

    /// <summary>
    /// The USB camera unplugged and plugged back while roomd runs: roomd must report it missing on
    /// org.room.Appliance1.Devices (PropertiesChanged and the property), refuse moves with DeviceUnavailable, then
    /// report it ok again and move it through the Camera interface, all without being restarted.
    /// </summary>
    private async Task<string> UsbCameraReplugAsync(CancellationToken ct)
    {
        if (!_up || _address is null || _roomd is not { HasExited: false } roomd)
        {
            throw new SkipException("roomd is not running (see roomd.dbus)");
        }

        var usb = HotplugChecks.LabCameraUsbDevice()
            ?? (inLab ? throw new InvalidOperationException("lab camera not on the USB bus") : throw new SkipException("no lab camera to unplug on this box"));
        var authorized = Path.Combine(usb, "authorized");
        var pid = roomd.Id;
        using var client = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false);
        var status = await client.GetStatusAsync().ConfigureAwait(false);
        var id = status.Camera.Cameras.Select(c => c.Id).FirstOrDefault(i => i.StartsWith("usb:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("roomd lists no USB camera: " + string.Join(", ", status.Camera.Cameras.Select(c => c.Id)));
        Expect.True(Health(status.Devices, id) == "ok", $"{id} is {Health(status.Devices, id)} in roomd before the unplug");
        await client.SelectCameraAsync(id).ConfigureAwait(false);

        // What roomd announces, as a panel would see it (clients never poll).
        var announced = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var watch = await client.WatchAsync((iface, changed) =>
        {
            if (iface == BusNames.Devices)
            {
                announced.Enqueue(Health(RoomStatus.Empty.Apply(iface, changed).Devices, id));
            }
        }).ConfigureAwait(false);

        var plugged = true;
        try
        {
            await File.WriteAllTextAsync(authorized, "0", ct).ConfigureAwait(false);
            plugged = false;
            var gone = await Expect.Eventually(async () => Health((await client.GetStatusAsync().ConfigureAwait(false)).Devices, id),
                h => h is "missing" or "failed" or "degraded" or "absent", TimeSpan.FromSeconds(30), $"{id} in roomd's Devices after unplug", ct).ConfigureAwait(false);
            await Expect.Eventually(() => Task.FromResult(announced.Contains(gone)), x => x, TimeSpan.FromSeconds(10), $"PropertiesChanged with {id} {gone}", ct).ConfigureAwait(false);

            // A move now is refused with a reason, not hung or crashed.
            string refused;
            try
            {
                await client.MoveToAsync(5, 0, 0).ConfigureAwait(false);
                refused = "accepted";
            }
            catch (RoomBusException e)
            {
                refused = e.ErrorName;
            }

            Expect.True(refused is BusErrors.DeviceUnavailable or BusErrors.UnknownCamera, $"Camera.MoveTo while unplugged: {refused}, expected {BusErrors.DeviceUnavailable}");

            await File.WriteAllTextAsync(authorized, "1", ct).ConfigureAwait(false);
            plugged = true;
            var node = await Expect.Eventually(() => Task.FromResult(LabChecks.GadgetNode()), n => n is not null, TimeSpan.FromSeconds(30), "video node after replug", ct).ConfigureAwait(false);
            await Expect.Eventually(async () => Health((await client.GetStatusAsync().ConfigureAwait(false)).Devices, id),
                h => h == "ok", TimeSpan.FromSeconds(60), $"{id} in roomd's Devices after replug", ct).ConfigureAwait(false);
            await Expect.Eventually(() => Task.FromResult(announced.Contains("ok")), x => x, TimeSpan.FromSeconds(10), $"PropertiesChanged with {id} ok", ct).ConfigureAwait(false);
            Expect.True(!roomd.HasExited && roomd.Id == pid, "roomd exited during the replug" + RoomdLog());

            // roomd drives the re-plugged camera: Camera.MoveTo, read back by roomd and by the kernel.
            await client.SelectCameraAsync(id).ConfigureAwait(false);
            await client.MoveToAsync(15, 5, 0.3).ConfigureAwait(false);
            var cam = await client.GetAllAsync(BusNames.Camera).ConfigureAwait(false);
            Expect.Near(15, cam["Pan"].GetDouble(), 1, "pan roomd reads back after the replug");
            Expect.Near(5, cam["Tilt"].GetDouble(), 1, "tilt roomd reads back after the replug");
            using var v = V4l2Probe.Open(node!);
            var kPan = v.Get(V4l2Probe.CidPanAbsolute);
            Expect.Near(15 * 3600, kPan, 3600, "pan as V4L2 holds it after the replug (arc-seconds)");
            return $"roomd (pid {pid}, not restarted) reported {id} {gone} on Devices (PropertiesChanged: {string.Join(" -> ", announced.Distinct())}), refused MoveTo with {refused}, "
                + $"then ok again on {node}; Camera.MoveTo(15, 5, 0.3) reached pan {cam["Pan"].GetDouble()} tilt {cam["Tilt"].GetDouble()}, V4L2 pan {kPan}";
        }
        finally
        {
            if (!plugged)
            {
                await File.WriteAllTextAsync(authorized, "1", CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Meeting.SetVolume over D-Bus reaching a card's mixer: roomd sets every speaker it has, so the snd-dummy card's
    /// Master Volume (read back with snd_ctl_elem_read) shows it. The speaker roomd plays calls on is named in the
    /// result: in the lab that is a snd-aloop side, which has no mixer (roomd skips it), so this proves the D-Bus
    /// call reaches Room.Devices' mixer code on the real driver, not the volume of the call's own speaker.
    /// </summary>
    private async Task<string> MixerThroughRoomdAsync(CancellationToken ct)
    {
        if (!_up || _address is null)
        {
            throw new SkipException("roomd did not come up (see roomd.dbus)");
        }

        using var ctl = Lab.AlsaControl.TryOpen($"hw:CARD={MixerChecks.Card}");
        if (ctl is null)
        {
            return inLab ? throw new InvalidOperationException("no snd-dummy card") : throw new SkipException("no snd-dummy card on this box (a real card's mixer is not changed by the suite)");
        }

        using var client = await RoomBusClient.ConnectAsync(_address, ct).ConfigureAwait(false);
        var before = await client.GetStatusAsync().ConfigureAwait(false);
        var speakers = before.Devices.Where(d => string.Equals(d.Kind, "speaker", StringComparison.OrdinalIgnoreCase)).Select(d => $"{d.Id} ({d.Health})").ToList();
        var seen = new List<string>();
        foreach (var percent in new uint[] { 40, 85 })
        {
            await client.SetVolumeAsync(percent).ConfigureAwait(false);
            var (values, min, max) = ctl.Read("Master Volume");
            var want = MixerChecks.Expected(min, max, (int)percent);
            Expect.True(values.Length > 0 && values.All(v => v == want), $"Meeting.SetVolume({percent}): snd-dummy's Master Volume reads {string.Join("/", values)}, expected {want} (range {min}..{max}); roomd's speakers: {string.Join(", ", speakers)}" + RoomdLog());
            var volume = (await client.GetStatusAsync().ConfigureAwait(false)).Meeting.Volume;
            Expect.True(volume == percent, $"Meeting.Volume reads {volume} after SetVolume({percent})");
            seen.Add($"{percent}->{values[0]}");
        }

        return $"Meeting.SetVolume over D-Bus: snd-dummy Master Volume {string.Join(", ", seen)} (snd_ctl_elem_read); roomd's speakers {string.Join(", ", speakers)}: "
            + "it sets every speaker's mixer, the snd-aloop ones have none (skipped), so this is the dummy card's, not the call's speaker";
    }

    private static string Health(IReadOnlyList<DeviceEntry> devices, string id) =>
        devices.FirstOrDefault(d => d.Id == id) is { } d ? d.Health : "absent";

    private void StartRoomd(params string[] extra)
    {
        string[] args = ["--bus", _address!, "--state", Path.Combine(_dir, "state"), "--Room:Devices", "linux", .. extra];
        // HWTEST_FAULT=roomd-mixer-ioctl: roomd runs under a seccomp filter that fails the ALSA control write ioctl
        // inside its own process (the suite execs it through `Room.HwTests fault-exec`, so the pid is roomd's).
        var psi = faults.Any(f => f.Name == "roomd-mixer-ioctl")
            ? new ProcessStartInfo(Environment.ProcessPath!, ["fault-exec", "--ioctl", LabFault.MixerWrite.ToString(), "--", Roomd, .. args])
            : new ProcessStartInfo(Roomd, args);
        psi.UseShellExecute = false;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.Environment["ROOM_CONFIG"] = Path.Combine(_dir, "none.json");
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        _roomd = Process.Start(psi) ?? throw new InvalidOperationException("roomd did not start");
        _roomd.OutputDataReceived += (_, e) => Keep(e.Data);
        _roomd.ErrorDataReceived += (_, e) => Keep(e.Data);
        _roomd.BeginOutputReadLine();
        _roomd.BeginErrorReadLine();
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 12)
        {
            _log.TryDequeue(out _);
        }
    }

    private string RoomdLog() => $" (roomd {(_roomd is { HasExited: true } r ? $"exited {r.ExitCode}" : "running")}; its last lines: {string.Join(" ¶ ", _log)})";

    public void Dispose()
    {
        foreach (var p in new[] { _roomd, _bus })
        {
            if (p is { HasExited: false })
            {
                p.Kill();
            }

            p?.WaitForExit(5000);
            p?.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
