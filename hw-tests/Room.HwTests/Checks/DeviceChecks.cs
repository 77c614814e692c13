using Room.Devices;
using Room.HwTests.Gadget;
using Room.Devices.Camera;
using Room.Devices.Display;
using Room.Devices.Linux;
using Room.HwTests.Lab;

namespace Room.HwTests.Checks;

/// <summary>The checks of Room.Devices itself: its Linux provider against the kernel's real drivers.</summary>
public sealed class DeviceChecks(Suite suite, bool inLab, IReadOnlyList<LabFault> faults) : IDisposable
{
    private static readonly TimeSpan Normal = TimeSpan.FromSeconds(40);
    private LinuxDeviceProvider? _provider;
    private string _why = "";

    private LinuxDeviceProvider Provider => _provider ?? throw new SkipException(_why);

    private ICamera PtzCamera()
    {
        var cam = Provider.Cameras.FirstOrDefault(c => c.Name.Contains("Room Lab PTZ", StringComparison.Ordinal))
                  ?? Provider.Cameras.FirstOrDefault(c => c.Limits.CanPan)
                  ?? throw (inLab ? new InvalidOperationException("Room.Devices lists no PTZ camera") : new SkipException("no PTZ camera on this box"));
        return faults.Any(f => f.Name == "ptz-offset") ? new FaultyCamera(cam) : cam;
    }

    public async Task RunAsync()
    {
        await suite.RunAsync("devices.provider-start", Normal, async ct =>
        {
            // The room's configuration in the lab: snd-aloop is the 8-channel microphone array and speaker.
            var options = inLab ? new LinuxDeviceOptions { AudioChannels = new Dictionary<string, int> { ["Loopback"] = 8 } } : new LinuxDeviceOptions();
            _provider = new LinuxDeviceProvider(options);
            _why = nameof(LinuxDeviceProvider);

            await _provider.StartAsync(ct).ConfigureAwait(false);
            return $"{_why}: {_provider.Cameras.Count} cameras, {_provider.Microphones.Count} microphones, {_provider.Speakers.Count} speakers, {_provider.Displays.Count} displays";
        }).ConfigureAwait(false);

        await suite.RunAsync("camera.discovery", Normal, _ =>
        {
            var cams = Provider.Cameras;
            if (!inLab && cams.Count == 0)
            {
                throw new SkipException("no camera on this box");
            }

            if (!inLab && !cams.Any(c => c.Limits.CanPan))
            {
                // A room box with fixed cameras only: discovery is still checked, the PTZ checks skip.
                Expect.True(cams.Any(c => c.Describe().Health == DeviceHealth.Ok), "no camera is healthy: " + string.Join("; ", cams.Select(c => $"{c.Id} {c.Describe().Health} {c.Describe().HealthDetail}")));
                return Task.FromResult(string.Join("; ", cams.Select(c => $"{c.Id} '{c.Name}' {c.Describe().Driver} {c.Describe().Health}")) + " (no PTZ camera)");
            }

            var ptz = PtzCamera();
            var info = ptz.Describe();
            Expect.True(info.Kind == DeviceKind.Camera && info.Health == DeviceHealth.Ok, $"PTZ camera {info.Kind} {info.Health} {info.HealthDetail}");
            return Task.FromResult(string.Join("; ", cams.Select(c => $"{c.Id} '{c.Name}' {c.Describe().Driver}")));
        }).ConfigureAwait(false);

        await suite.RunAsync("camera.capabilities", Normal, _ =>
        {
            var ptz = PtzCamera();
            if (!inLab)
            {
                // A real camera: its own formats and mechanical range, whatever they are.
                Expect.True(ptz.Formats.Count > 0, $"{ptz.Id} offers no usable capture format");
                Expect.True(ptz.Limits.PanMax > ptz.Limits.PanMin || ptz.Limits.TiltMax > ptz.Limits.TiltMin, $"{ptz.Id} limits {ptz.Limits}");
                return Task.FromResult($"{ptz.Id}: {string.Join(", ", ptz.Formats.Take(8))}{(ptz.Formats.Count > 8 ? ", ..." : "")}; {ptz.Limits}");
            }

            var want = new VideoFormat(PixelFormat.Yuyv, FramePattern.Width, FramePattern.Height, 10);
            Expect.True(ptz.Formats.Any(f => f.Pixel == want.Pixel && f.Width == want.Width && f.Height == want.Height), "formats lack YUYV 320x240: " + string.Join(", ", ptz.Formats));
            var l = ptz.Limits;
            Expect.True(l.CanPan && l.CanTilt && l.CanZoom, $"limits {l}");
            Expect.Near(-170, l.PanMin, 0.5, "pan min");
            Expect.Near(170, l.PanMax, 0.5, "pan max");
            Expect.Near(-30, l.TiltMin, 0.5, "tilt min");
            Expect.Near(30, l.TiltMax, 0.5, "tilt max");
            return Task.FromResult($"{string.Join(", ", ptz.Formats)}; {l}");
        }).ConfigureAwait(false);

        await suite.RunAsync("camera.capture", TimeSpan.FromSeconds(60), async ct =>
        {
            if (!inLab)
            {
                // The painted frame counters exist only on the lab camera: a real one is checked for size, sequence and timestamps.
                return PtzCamera() is V4l2Camera real ? await V4l2CameraChecks.CaptureAsync(real, false, ct).ConfigureAwait(false) : throw new SkipException("the PTZ camera is not a V4L2 camera");
            }

            var counters = await CaptureAsync(PtzCamera(), 10, ct).ConfigureAwait(false);
            return $"10 frames, monotonic sequence and timestamps, counters {counters[0]}..{counters[^1]}";
        }).ConfigureAwait(false);

        await suite.RunAsync("camera.ptz.absolute", TimeSpan.FromSeconds(60), ct => MoveAndVerifyAsync(new PtzPosition(20, -10, 0.5), ct)).ConfigureAwait(false);

        await suite.RunAsync("camera.ptz.relative", TimeSpan.FromSeconds(60), async ct =>
        {
            // Room.Devices' relative move (V4l2Camera.MoveByAsync: read the position from the camera, add the step).
            var cam = PtzCamera();
            var at = await cam.GetPositionAsync(ct).ConfigureAwait(false);
            var (dp, dt, dz) = (-35.0, 15.0, -0.25);
            Func<ICamera, CancellationToken, ValueTask>? moveBy = cam is V4l2Camera v4l2 ? (_, c) => v4l2.MoveByAsync(dp, dt, dz, c) : null;
            return $"MoveBy({dp}, {dt}, {dz}) from {at}: " + await MoveAndVerifyAsync(new PtzPosition(at.Pan + dp, at.Tilt + dt, at.Zoom + dz), ct, moveBy).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await suite.RunAsync("camera.focus-exposure", Normal, async ct =>
        {
            // Room.Devices' manual focus and exposure (and back to automatic exposure) on the camera's real
            // camera-terminal controls, read back through the kernel.
            // ptz-offset breaks the pan path only: focus and exposure are checked on the camera itself.
            var ptz = PtzCamera() is FaultyCamera faulty ? faulty.Inner : PtzCamera();
            var cam = ptz as V4l2Camera ?? (inLab ? throw new InvalidOperationException($"the lab's PTZ camera {ptz.Id} is not a V4L2 camera") : throw new SkipException("the PTZ camera is not a V4L2 camera"));
            if (cam.Ptz is not { Focus: { } focus, ExposureAuto: not null, Exposure: { } exposure })
            {
                throw inLab ? new InvalidOperationException($"{cam.Id} lacks focus or exposure controls") : new SkipException($"{cam.Id} has no manual focus and exposure controls");
            }

            using var v = V4l2Probe.Open(cam.Node.DevicePath);
            cam.SetFocus(0.5);
            cam.SetExposure(0.25);
            var wantFocus = focus.Snap(focus.Minimum + (0.5 * (focus.Maximum - focus.Minimum)));
            var wantExposure = exposure.Snap(exposure.Minimum + (0.25 * (exposure.Maximum - exposure.Minimum)));
            // uvcvideo reads exposure_time_absolute from the camera each time (an auto-update control).
            var kExposure = v.Get(V4l2Probe.CidExposureAbsolute);
            var (kFocus, kMode) = (v.Get(V4l2Probe.CidFocusAbsolute), v.Get(V4l2Probe.CidExposureAuto));
            Expect.True(kFocus == wantFocus, $"focus_absolute {kFocus}, Room.Devices set {wantFocus}");
            Expect.True(kMode == 1, $"exposure_auto {kMode}, expected 1 (manual) after a manual exposure");
            Expect.True(kExposure == wantExposure, $"exposure_time_absolute {kExposure}, Room.Devices set {wantExposure}");
            cam.SetExposure(null);
            var kAuto = v.Get(V4l2Probe.CidExposureAuto);
            Expect.True(kAuto != 1, $"exposure_auto {kAuto} (manual) after asking for automatic exposure");
            return $"{cam.Id}: focus 0.5 -> focus_absolute {kFocus}, exposure 0.25 -> exposure_auto {kMode} (manual), exposure_time_absolute {kExposure}; automatic again -> exposure_auto {kAuto}";
        }).ConfigureAwait(false);

        await V4l2CameraChecks.RunAsync(suite, () => Provider, inLab).ConfigureAwait(false);

        await suite.RunAsync("display.connector-edid", Normal, _ =>
        {
            var d = Provider.Displays.FirstOrDefault(x => x.Connected && x.Modes.Count > 0)
                    ?? throw (inLab ? new InvalidOperationException("no connected display with modes: " + string.Join(", ", Provider.Displays.Select(x => x.Name))) : new SkipException("no display connected"));
            Expect.True(d.PreferredMode is not null, "no preferred mode");
            Expect.True(d.Monitor.Length > 0, "no monitor identity from EDID");
            return Task.FromResult($"{d.Name}: {d.Modes.Count} modes, preferred {d.PreferredMode}, monitor '{d.Monitor}'");
        }).ConfigureAwait(false);

        foreach (var (name, wake) in new[] { ("display.cec.wake", true), ("display.cec.standby", false), ("display.cec.wake-again", true) })
        {
            await suite.RunAsync(name, TimeSpan.FromSeconds(60), async ct =>
            {
                IDisplay? d = null;
                foreach (var x in Provider.Displays)
                {
                    if (await x.GetPowerAsync(ct).ConfigureAwait(false) != DisplayPower.Unknown)
                    {
                        d = x;
                        break;
                    }
                }

                if (d is null)
                {
                    throw inLab ? new InvalidOperationException("no display answers over CEC") : new SkipException("no CEC display");
                }

                var target = wake ? DisplayPower.On : DisplayPower.Standby;
                if (wake)
                {
                    await d.WakeAsync(ct).ConfigureAwait(false);
                }
                else
                {
                    await d.StandbyAsync(ct).ConfigureAwait(false);
                }

                var seen = new List<DisplayPower>();
                await Expect.Eventually(async () =>
                {
                    var p = await d.GetPowerAsync(ct).ConfigureAwait(false);
                    if (seen.Count == 0 || seen[^1] != p)
                    {
                        seen.Add(p);
                    }

                    return p;
                }, p => p == target, TimeSpan.FromSeconds(20), $"{d.Name} power", ct).ConfigureAwait(false);
                return $"{d.Name}: {string.Join(" -> ", seen)}";
            }).ConfigureAwait(false);
        }

        await suite.RunAsync("audio.loopback-8ch", TimeSpan.FromSeconds(60), ct => AudioChecks.LoopbackAsync(Provider, inLab, ct)).ConfigureAwait(false);
        await suite.RunAsync("audio.rate-fallback", TimeSpan.FromSeconds(30), ct => AudioChecks.RateFallbackAsync(Provider, inLab, ct)).ConfigureAwait(false);
        await suite.RunAsync("audio.mixer", TimeSpan.FromSeconds(30), ct => MixerChecks.VolumeAndMuteAsync(Provider, inLab, ct)).ConfigureAwait(false);
        await suite.RunAsync("audio.usb-speaker", TimeSpan.FromSeconds(60), ct => UsbSpeakerChecks.ToneAsync(Provider, inLab, ct)).ConfigureAwait(false);

        await suite.RunAsync("hotplug.usb-camera", TimeSpan.FromSeconds(90), ct => HotplugChecks.UsbCameraAsync(_provider, inLab, ct)).ConfigureAwait(false);
    }

    public void Dispose() => _provider?.Dispose();

    private async Task<string> MoveAndVerifyAsync(PtzPosition target, CancellationToken ct, Func<ICamera, CancellationToken, ValueTask>? move = null)
    {
        var cam = PtzCamera();
        target = cam.Limits.Clamp(target);
        await (move ?? ((c, t) => c.MoveToAsync(target, t)))(cam, ct).ConfigureAwait(false);
        var back = await cam.GetPositionAsync(ct).ConfigureAwait(false);
        Expect.Near(target.Pan, back.Pan, 1, "pan read back through Room.Devices");
        Expect.Near(target.Tilt, back.Tilt, 1, "tilt read back through Room.Devices");
        Expect.Near(target.Zoom, back.Zoom, 0.01, "zoom read back through Room.Devices");

        var node = LabChecks.GadgetNode();
        var kernel = "";
        var kZoom = -1;
        if (node is not null)
        {
            using var v = V4l2Probe.Open(node);
            var kPan = v.Get(V4l2Probe.CidPanAbsolute);
            var kTilt = v.Get(V4l2Probe.CidTiltAbsolute);
            kZoom = v.Get(V4l2Probe.CidZoomAbsolute);
            Expect.Near(target.Pan * 3600, kPan, 3600, "pan as V4L2 holds it (arc-seconds)");
            Expect.Near(target.Tilt * 3600, kTilt, 3600, "tilt as V4L2 holds it (arc-seconds)");
            Expect.Near(UvcGadget.ZoomMin + (target.Zoom * (UvcGadget.ZoomMax - UvcGadget.ZoomMin)), kZoom, 4, "zoom as V4L2 holds it (camera units)");
            kernel = $"; V4L2 pan {kPan} tilt {kTilt} zoom {kZoom}";
        }

        if (!inLab)
        {
            return $"moved to {back}{kernel}";
        }

        // The picture: the gadget paints the position it was sent. Skip frames queued before the move.
        var format = new VideoFormat(PixelFormat.Yuyv, FramePattern.Width, FramePattern.Height, 10);
        var seen = new List<string>();
        var capture = await cam.OpenCaptureAsync(format, ct).ConfigureAwait(false);
        await using (capture.ConfigureAwait(false))
        {
            for (var i = 0; i < 8; i++)
            {
                using var frame = await capture.ReadFrameAsync(ct).ConfigureAwait(false);
                var pan = FramePattern.Decode(frame.Data.Span, 0);
                var tilt = FramePattern.Decode(frame.Data.Span, 1);
                var zoom = FramePattern.Decode(frame.Data.Span, 2);
                seen.Add($"#{FramePattern.Decode(frame.Data.Span, 3)}:{pan / 3600.0:0.#}/{tilt / 3600.0:0.#}/{zoom}");
                if (Math.Abs(pan - (target.Pan * 3600)) <= 3600 && Math.Abs(tilt - (target.Tilt * 3600)) <= 3600 && zoom == kZoom)
                {
                    return $"moved to {back}{kernel}; frame {i + 1} shows pan {pan / 3600.0:0.#}° tilt {tilt / 3600.0:0.#}° zoom {zoom}";
                }
            }
        }

        throw new InvalidOperationException($"frames (counter:pan/tilt/zoom) {string.Join(" ", seen)}, commanded {target}, V4L2 zoom {kZoom}");
    }

    /// <summary>Captures <paramref name="n"/> frames and checks size, sequence and timestamps; returns the painted counters.</summary>
    public static async Task<List<int>> CaptureAsync(ICamera cam, int n, CancellationToken ct)
    {
        var format = new VideoFormat(PixelFormat.Yuyv, FramePattern.Width, FramePattern.Height, 10);
        var capture = await cam.OpenCaptureAsync(format, ct).ConfigureAwait(false);
        await using (capture.ConfigureAwait(false))
        {
            var counters = new List<int>();
            long lastSeq = -1;
            var lastTs = TimeSpan.MinValue;
            for (var i = 0; i < n; i++)
            {
                using var frame = await capture.ReadFrameAsync(ct).ConfigureAwait(false);
                Expect.True(frame.Format.Width == format.Width && frame.Format.Height == format.Height, $"frame format {frame.Format}");
                Expect.True(frame.Data.Length == FramePattern.FrameBytes, $"frame {i} has {frame.Data.Length} bytes, expected {FramePattern.FrameBytes}");
                Expect.True(frame.Sequence > lastSeq, $"sequence {frame.Sequence} after {lastSeq}");
                Expect.True(frame.Timestamp > lastTs, $"timestamp {frame.Timestamp} after {lastTs}");
                lastSeq = frame.Sequence;
                lastTs = frame.Timestamp;
                counters.Add(FramePattern.Decode(frame.Data.Span, 3));
            }

            Expect.True(counters.Zip(counters.Skip(1)).All(p => p.Second > p.First), "painted frame counters not increasing: " + string.Join(",", counters));
            return counters;
        }
    }
}
