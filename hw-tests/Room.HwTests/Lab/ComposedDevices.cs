using Room.Devices;
using Room.Devices.Audio;
using Room.Devices.Display;
using Room.Devices.Hotplug;

namespace Room.HwTests.Lab;

/// <summary>
/// Until Room.Devices ships its Linux provider, the suite assembles the Linux drivers it already has the way a
/// provider would: displays from DRM sysfs (EDID) and the CEC adapter, audio from /proc/asound and libasound,
/// hot-plug from the kernel's uevents. Cameras come only from a provider (the V4L2 driver is not in yet).
/// </summary>
public sealed class ComposedDevices(string? fault) : IDeviceProvider, IDisposable
{
    private readonly List<IDisplay> _displays = [];
    private readonly List<ISpeaker> _speakers = [];
    private readonly List<IMicrophone> _mics = [];
    private UeventMonitor? _uevents;

    public IReadOnlyList<ICamera> Cameras => [];

    public IReadOnlyList<IMicrophone> Microphones => _mics;

    public IReadOnlyList<ISpeaker> Speakers => _speakers;

    public IReadOnlyList<IDisplay> Displays => _displays;

    public IRoomControls? Controls => null;

    public event EventHandler? DevicesChanged;

    /// <summary>Every uevent, for the hot-plug check.</summary>
    public event EventHandler<Uevent>? Uevent;

    /// <summary>The CEC adapter the suite talks through (the source side); null without CEC.</summary>
    public string? CecSource { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var c in DrmConnectors.Scan("/sys"))
        {
            _displays.Add(new LinuxDisplay("drm:" + c.Name, c, null));
        }

        // The playback-side adapter has a physical address other than 0.0.0.0 (that one is the TV).
        var source = Directory.GetFiles("/dev", "cec*").Order(StringComparer.Ordinal)
            .FirstOrDefault(p => LinuxCecAdapter.ProbePhysicalAddress(p) is not (0 or 0xFFFF));
        if (source is not null)
        {
            CecSource = source;
            ICecBus bus = LinuxCecAdapter.Open(source);
            if (fault == "cec-opcode")
            {
                bus = new FaultyCecBus(bus);
            }

            _displays.Add(new LinuxDisplay("cec:" + Path.GetFileName(source), null, bus, TimeSpan.FromSeconds(2)));
        }

        foreach (var inv in ProcAsound.Scan("/proc"))
        {
            var channels = Math.Max(inv.Stream?.PlaybackChannels ?? 0, 8);
            foreach (var pcm in inv.Devices)
            {
                var id = $"alsa:{inv.Card.Id}:{pcm.Device}";
                var settings = new AlsaPcmSettings { Device = $"hw:CARD={inv.Card.Id},DEV={pcm.Device}", Channels = channels, SampleRate = 48000 };
                var control = $"hw:CARD={inv.Card.Id}";
                if (inv.Card.Id == "Loopback")
                {
                    // snd-aloop: what is played on device 0 is captured on device 1.
                    if (pcm.Device == 0)
                    {
                        _speakers.Add(new AlsaSpeaker(id, $"{inv.Card.Name} playback", settings, control));
                    }
                    else if (pcm.Device == 1)
                    {
                        _mics.Add(new AlsaMicrophone(id, $"{inv.Card.Name} capture", settings, control));
                    }

                    continue;
                }

                if (pcm.PlaybackSubdevices > 0)
                {
                    _speakers.Add(new AlsaSpeaker(id, pcm.Name, settings, control));
                }

                if (pcm.CaptureSubdevices > 0)
                {
                    _mics.Add(new AlsaMicrophone(id, pcm.Name, settings, control));
                }
            }
        }

        _uevents = UeventMonitor.Start(m => m.Received += (_, e) =>
        {
            Uevent?.Invoke(this, e);
            DevicesChanged?.Invoke(this, EventArgs.Empty);
        });
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _uevents?.Dispose();
        foreach (var d in _displays.OfType<IDisposable>())
        {
            d.Dispose();
        }
    }
}
