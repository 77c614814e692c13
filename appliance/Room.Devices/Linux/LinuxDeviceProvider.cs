using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Room.Devices.Audio;
using Room.Devices.Camera;
using Room.Devices.Display;
using Room.Devices.Gpio;
using Room.Devices.Hotplug;
using Room.Devices.Visca;

namespace Room.Devices.Linux;

/// <summary>
/// The room's real devices on Linux: V4L2 cameras (sysfs + ioctls), VISCA-over-IP cameras, ALSA microphones and
/// speakers (/proc/asound + libasound), DRM displays with EDID and CEC, GPIO controls; follows hot-plug through
/// kernel uevents. A device that fails is listed with health Failed/Degraded/Missing; nothing here throws out
/// of discovery.
/// </summary>
public sealed class LinuxDeviceProvider : IDeviceProvider, IDisposable
{
    private static readonly HashSet<string> s_hotplugSubsystems = ["video4linux", "sound", "drm", "cec", "usb"];

    private readonly LinuxDeviceOptions _options;
    private readonly ILogger _log;
    private readonly Lock _scanGate = new();
    private readonly Dictionary<string, ICecBus> _cecBuses = new(StringComparer.Ordinal);
    private readonly Timer _rescanTimer;
    private ICamera[] _cameras = [];
    private IMicrophone[] _microphones = [];
    private ISpeaker[] _speakers = [];
    private IDisplay[] _displays = [];
    private ViscaCamera[] _visca = [];
    private UeventMonitor? _monitor;
    private string _lastSummary = "";
    private bool _disposed;

    public LinuxDeviceProvider(LinuxDeviceOptions? options = null, ILogger<LinuxDeviceProvider>? logger = null)
    {
        _options = options ?? new LinuxDeviceOptions();
        _log = logger ?? (ILogger)NullLogger.Instance;
        _rescanTimer = new Timer(_ => RescanSafely("hot-plug"));
    }

    public LinuxDeviceOptions Options => _options;

    public IReadOnlyList<ICamera> Cameras => Volatile.Read(ref _cameras);

    public IReadOnlyList<IMicrophone> Microphones => Volatile.Read(ref _microphones);

    public IReadOnlyList<ISpeaker> Speakers => Volatile.Read(ref _speakers);

    public IReadOnlyList<IDisplay> Displays => Volatile.Read(ref _displays);

    public IRoomControls? Controls { get; private set; }

    /// <summary>Whether kernel uevents are being followed (false when netlink was unavailable or disabled).</summary>
    public bool FollowingHotPlug => _monitor is not null;

    /// <summary>Number of rescans done (first discovery included).</summary>
    public int Rescans { get; private set; }

    public event EventHandler? DevicesChanged;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var o in _options.ViscaCameras.Where(o => o.Endpoint is null))
        {
            _log.LogError("VISCA camera {Id} has no valid Endpoint (an IP address with an optional port, e.g. \"192.0.2.10:52381\") in its configuration; it is left out", o.Id);
        }

        _visca = [.. _options.ViscaCameras.Where(o => o.Endpoint is not null).Select(o => new ViscaCamera(o))];
        if (_options.Gpio is { } gpio)
        {
            Controls = GpioRoomControls.StartLibgpiod(gpio);
        }

        RescanSafely("start");
        if (_options.HotPlug)
        {
            try
            {
                _monitor = UeventMonitor.Start(m => m.Received += (_, e) => HandleUevent(e));
            }
            catch (IOException e)
            {
                _log.LogWarning("Hot-plug monitoring unavailable ({Reason}); devices are scanned at start only.", e.Message);
            }
        }

        foreach (var v in _visca)
        {
            _ = await v.ProbeAsync(cancellationToken);
        }

        if (_visca.Length > 0)
        {
            RaiseIfChanged();
        }
    }

    /// <summary>Feeds a kernel uevent (the monitor does; tests and the lab may too): schedules a rescan when relevant.</summary>
    public bool HandleUevent(Uevent uevent)
    {
        if (!s_hotplugSubsystems.Contains(uevent.Subsystem))
        {
            return false;
        }

        if (!_disposed)
        {
            _rescanTimer.Change(_options.RescanDelay, Timeout.InfiniteTimeSpan);
        }

        return true;
    }

    /// <summary>Scans everything now and raises <see cref="DevicesChanged"/> when the inventory changed.</summary>
    public void Rescan()
    {
        lock (_scanGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Rescans++;
            var cameras = ScanCameras();
            var (mics, speakers) = ScanAudio();
            var displays = ScanDisplays();

            // Publish together, right before the change event, so a reader never sees half a rescan for long.
            Volatile.Write(ref _cameras, cameras);
            Volatile.Write(ref _microphones, mics);
            Volatile.Write(ref _speakers, speakers);
            Volatile.Write(ref _displays, displays);
        }

        RaiseIfChanged();
    }

    public void Dispose()
    {
        lock (_scanGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _rescanTimer.Dispose();
        _monitor?.Dispose();
        foreach (var d in _cameras.OfType<IDisposable>().Concat(_displays.OfType<IDisposable>()).Concat(_visca))
        {
            d.Dispose();
        }

        foreach (var bus in _cecBuses.Values)
        {
            bus.Dispose();
        }

        (Controls as IDisposable)?.Dispose();
    }

    /// <summary>
    /// Pairs CEC adapters with DRM connectors: explicit mapping first, then a lone connected connector with a lone
    /// adapter; adapters left over become CEC-only displays.
    /// </summary>
    public static (Dictionary<string, string> Paired, List<string> CecOnly) PairCec(
        IReadOnlyList<DrmConnector> connectors, IReadOnlyList<string> adapters, IReadOnlyDictionary<string, string> mapping)
    {
        var paired = new Dictionary<string, string>(StringComparer.Ordinal);
        var free = adapters.ToList();
        foreach (var c in connectors)
        {
            if (mapping.TryGetValue(c.Name, out var a) && free.Remove(a))
            {
                paired[c.Name] = a;
            }
        }

        var connected = connectors.Where(c => c.Connected && !paired.ContainsKey(c.Name)).ToList();
        if (connected.Count == 1 && free.Count == 1 && paired.Count == 0)
        {
            paired[connected[0].Name] = free[0];
            free.Clear();
        }

        return (paired, free);
    }

    private void RescanSafely(string why)
    {
        try
        {
            Rescan();
        }
        catch (ObjectDisposedException)
        {
        }
#pragma warning disable CA1031 // discovery must survive anything a broken device or odd sysfs does; it is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _log.LogError(e, "Device rescan ({Why}) failed", why);
        }
    }

    private ICamera[] ScanCameras()
    {
        var nodes = SysfsVideo.Scan(_options.SysRoot, _options.DevRoot);
        var old = _cameras.OfType<V4l2Camera>().ToDictionary(c => c.Id, StringComparer.Ordinal);
        var next = new List<ICamera>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (seen.Contains(node.StableId))
            {
                continue;
            }

            // Keep a working camera object (roomd may hold it); reopen one that was unplugged or failed to open
            // (a node that appeared mid-enumeration often refuses its first open).
            if (old.TryGetValue(node.StableId, out var existing) && existing.Node.DevicePath == node.DevicePath
                && existing.Describe().Health is DeviceHealth.Ok or DeviceHealth.Degraded)
            {
                next.Add(existing);
                seen.Add(node.StableId);
                old.Remove(node.StableId);
                continue;
            }

            V4l2Camera camera;
            if (_options.OpenDevices)
            {
                camera = V4l2Camera.Open(node);
                var usable = camera.Capability is { CanCapture: true };
                if (!usable && !(camera.Capability is null && node.Index == 0))
                {
                    camera.Dispose(); // metadata or output node
                    continue;
                }
            }
            else
            {
                if (node.Index != 0)
                {
                    continue;
                }

                camera = new V4l2Camera(node, null, [], null);
                camera.SetHealth(DeviceHealth.Ok, "not opened (recorded tree)");
            }

            if (old.Remove(node.StableId, out var replaced))
            {
                replaced.Dispose();
            }

            next.Add(camera);
            seen.Add(node.StableId);
        }

        // Cameras seen before and gone now stay listed as Missing, so roomd can tell "unplugged" from "never there".
        foreach (var gone in old.Values)
        {
            gone.SetHealth(DeviceHealth.Missing, "unplugged");
            next.Add(gone);
        }

        next.AddRange(_visca);
        return [.. next];
    }

    private (IMicrophone[] Microphones, ISpeaker[] Speakers) ScanAudio()
    {
        var cards = ProcAsound.Scan(_options.ProcRoot);
        var mics = _microphones.OfType<AlsaMicrophone>().ToDictionary(m => m.Id, StringComparer.Ordinal);
        var speakers = _speakers.OfType<AlsaSpeaker>().ToDictionary(s => s.Id, StringComparer.Ordinal);
        var nextMics = new List<IMicrophone>();
        var nextSpeakers = new List<ISpeaker>();
        foreach (var inv in cards)
        {
            var card = inv.Card;
            if (_options.IgnoredAudioCards.Contains(card.Id) || _options.IgnoredAudioCards.Contains(card.Driver))
            {
                continue;
            }

            foreach (var dev in inv.Devices)
            {
                var id = $"alsa:{card.Id}:{dev.Device}";
                var control = $"hw:CARD={card.Id}";
                var name = inv.Devices.Count > 1 ? $"{card.Name} ({dev.Name})" : card.Name;
                if (dev.CaptureSubdevices > 0)
                {
                    nextMics.Add(Reuse(mics, id) ?? new AlsaMicrophone(id, name, Settings(inv, dev, capture: true), control));
                }

                if (dev.PlaybackSubdevices > 0)
                {
                    nextSpeakers.Add(Reuse(speakers, id) ?? new AlsaSpeaker(id, name, Settings(inv, dev, capture: false), control));
                }
            }
        }

        foreach (var gone in mics.Values)
        {
            gone.SetHealth(DeviceHealth.Missing, "sound card removed");
            nextMics.Add(gone);
        }

        foreach (var gone in speakers.Values)
        {
            gone.SetHealth(DeviceHealth.Missing, "sound card removed");
            nextSpeakers.Add(gone);
        }

        return ([.. nextMics], [.. nextSpeakers]);
    }

    private static T? Reuse<T>(Dictionary<string, T> known, string id)
        where T : AlsaDevice
    {
        if (!known.Remove(id, out var device))
        {
            return null;
        }

        if (device.Describe().Health == DeviceHealth.Missing)
        {
            device.SetHealth(DeviceHealth.Ok, "");
        }

        return device;
    }

    private AlsaPcmSettings Settings(AlsaCardInventory inv, AlsaPcmDevice dev, bool capture)
    {
        var card = inv.Card.Id;
        var device = _options.AlsaDeviceTemplate.Replace("{card}", card, StringComparison.Ordinal)
            .Replace("{device}", dev.Device.ToString(), StringComparison.Ordinal);
        var channels = _options.AudioChannels.TryGetValue($"{card}:{dev.Device}", out var c1) ? c1
            : _options.AudioChannels.TryGetValue(card, out var c2) ? c2
            : (capture ? inv.Stream?.CaptureChannels : inv.Stream?.PlaybackChannels)
              ?? ProbedChannels(inv, device, capture)
              ?? 2;
        return new AlsaPcmSettings
        {
            Device = device,
            Channels = channels,
            SampleRate = _options.SampleRate,
            Format = _options.AudioFormats.TryGetValue(card, out var f) ? f : null,
        };
    }

    private int? ProbedChannels(AlsaCardInventory inv, string device, bool capture)
    {
        // USB cards state their channels in /proc; for others ask the hardware, capture only (a speaker stays
        // stereo) except on snd-aloop, whose playback side is what a capture side hears.
        if (!_options.OpenDevices || inv.Stream is not null || (!capture && inv.Card.Driver != "Loopback"))
        {
            return null;
        }

        return AlsaPcm.ProbeMaxChannels(device, capture) is { } max ? Math.Min(max, _options.MaxProbedChannels) : null;
    }

    private IDisplay[] ScanDisplays()
    {
        var connectors = DrmConnectors.Scan(_options.SysRoot);
        var adapters = _options.OpenDevices ? CecCandidates() : [];
        var (paired, cecOnly) = PairCec(connectors, adapters, _options.CecForConnector);
        var old = _displays.OfType<LinuxDisplay>().ToDictionary(d => d.Id, StringComparer.Ordinal);
        var next = new List<IDisplay>();
        foreach (var c in connectors)
        {
            var id = $"drm:{c.Name}";
            var cec = paired.TryGetValue(c.Name, out var a) ? Bus(a) : null;
            if (old.Remove(id, out var existing) && existing.Connector is { } prev && prev.Status == c.Status
                && prev.Edid.AsSpan().SequenceEqual(c.Edid) && prev.Modes.SequenceEqual(c.Modes) && HasSameCec(existing, cec))
            {
                next.Add(existing);
                continue;
            }

            existing?.Dispose();
            next.Add(new LinuxDisplay(id, c, cec, ownsCec: false));
        }

        foreach (var a in cecOnly)
        {
            var id = $"cec:{a}";
            if (Bus(a) is not { } bus)
            {
                continue;
            }

            next.Add(old.Remove(id, out var existing) ? existing : new LinuxDisplay(id, null, bus, ownsCec: false));
        }

        foreach (var gone in old.Values)
        {
            gone.Dispose();
        }

        return [.. next];
    }

    private static bool HasSameCec(LinuxDisplay display, ICecBus? cec) =>
        display.Describe().Capabilities.GetValueOrDefault("cec-adapter") == cec?.Name;

    /// <summary>CEC adapters: the kernel registers them on the "cec" bus (/sys/bus/cec/devices), not as a class.</summary>
    public static IReadOnlyList<string> CecAdapterNames(string sysRoot)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var dir in new[] { Path.Combine(sysRoot, "bus", "cec", "devices"), Path.Combine(sysRoot, "class", "cec") })
        {
            try
            {
                if (Directory.Exists(dir))
                {
                    foreach (var e in Directory.GetFileSystemEntries(dir, "cec*"))
                    {
                        var name = Path.GetFileName(e);
                        if (name.Length > 3 && name[3..].All(char.IsAsciiDigit))
                        {
                            names.Add(name);
                        }
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return [.. names];
    }

    private List<string> CecCandidates()
    {
        var names = CecAdapterNames(_options.SysRoot);
        if (_options.CecAdapters is { } chosen)
        {
            return [.. names.Where(chosen.Contains)];
        }

        // A sink (TV side, physical address 0.0.0.0) is not ours to drive.
        return [.. names.Where(n => LinuxCecAdapter.ProbePhysicalAddress(Path.Combine(_options.DevRoot, n)) != 0x0000)];
    }

    private ICecBus? Bus(string adapter)
    {
        if (_cecBuses.TryGetValue(adapter, out var bus))
        {
            return bus;
        }

        try
        {
            bus = LinuxCecAdapter.Open(Path.Combine(_options.DevRoot, adapter), _options.CecOsdName);
            _cecBuses[adapter] = bus;
            return bus;
        }
        catch (DeviceUnavailableException e)
        {
            _log.LogWarning("CEC adapter {Adapter} unusable: {Reason}", adapter, e.Message);
            return null;
        }
    }

    private void RaiseIfChanged()
    {
        var summary = string.Join("\n", Cameras.Cast<IDevice>().Concat(Microphones).Concat(Speakers).Concat(Displays)
            .Select(d => d.Describe()).Select(i => $"{i.Kind} {i.Id} {i.Health}"));
        lock (_scanGate)
        {
            if (summary == _lastSummary)
            {
                return;
            }

            _lastSummary = summary;
        }

        DevicesChanged?.Invoke(this, EventArgs.Empty);
    }
}
