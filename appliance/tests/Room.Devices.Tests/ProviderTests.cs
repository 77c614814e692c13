using Room.Devices.Audio;
using Room.Devices.Display;
using Room.Devices.Hotplug;
using Room.Devices.Linux;
using Room.Devices.Visca;

namespace Room.Devices.Tests;

public sealed class ProviderTests : IDisposable
{
    private const string Cards = """
         0 [Loopback       ]: Loopback - Loopback
                              Loopback 1
         1 [Array          ]: USB-Audio - ReSpeaker 4 Mic Array (UAC1.0)
                              SEEED ReSpeaker 4 Mic Array (UAC1.0) at usb-0000:00:14.0-2, full speed
        """;

    private const string Pcm = """
        00-00: Loopback PCM : Loopback PCM : playback 8 : capture 8
        00-01: Loopback PCM : Loopback PCM : playback 8 : capture 8
        01-00: USB Audio : USB Audio : capture 1
        """;

    private readonly TempTree _t = new();

    public ProviderTests()
    {
        var usb = _t.Dir("devices/usb1/1-2");
        File.WriteAllText(Path.Combine(usb, "idVendor"), "046d");
        File.WriteAllText(Path.Combine(usb, "idProduct"), "0853");
        File.WriteAllText(Path.Combine(usb, "serial"), "CAM1");
        _t.Dir("devices/usb1/1-2/1-2:1.0");
        AddVideo("video0", 0);
        AddVideo("video1", 1);
        _t.Write("proc/asound/cards", Cards);
        _t.Write("proc/asound/pcm", Pcm);
        _t.Write("proc/asound/card1/stream0", "X\n\nCapture:\n  Channels: 6\n  Rates: 48000\n");
        _t.Write("sys/class/drm/card0-HDMI-A-1/status", "connected\n");
        _t.Write("sys/class/drm/card0-HDMI-A-1/modes", "1920x1080\n1280x720\n");
        _t.WriteBytes("sys/class/drm/card0-HDMI-A-1/edid", EdidBuilder.Base());
    }

    private LinuxDeviceOptions Options => new()
    {
        SysRoot = Path.Combine(_t.Root, "sys"),
        DevRoot = Path.Combine(_t.Root, "dev"),
        ProcRoot = Path.Combine(_t.Root, "proc"),
        HotPlug = false,
        OpenDevices = false,
        AudioChannels = new Dictionary<string, int> { ["Loopback:1"] = 8 },
        RescanDelay = TimeSpan.FromMilliseconds(20),
    };

    public void Dispose() => _t.Dispose();

    [Fact]
    public async Task Start_lists_cameras_microphones_speakers_and_displays_from_recorded_trees()
    {
        using var p = new LinuxDeviceProvider(Options);
        await p.StartAsync(CancellationToken.None);

        var cam = Assert.Single(p.Cameras);
        Assert.Equal("usb:046d:0853:CAM1", cam.Id);
        Assert.Equal(["alsa:Loopback:0", "alsa:Loopback:1", "alsa:Array:0"], p.Microphones.Select(m => m.Id));
        Assert.Equal(2, p.Microphones[0].Channels);
        Assert.Equal(8, p.Microphones[1].Channels);
        Assert.Equal(6, p.Microphones[2].Channels);
        Assert.Equal(48000, p.Microphones[2].SampleRate);
        Assert.Equal(["alsa:Loopback:0", "alsa:Loopback:1"], p.Speakers.Select(s => s.Id));
        var display = Assert.Single(p.Displays);
        Assert.Equal("drm:HDMI-A-1", display.Id);
        Assert.Equal("GSM 27UL850 serial 1234", display.Monitor);
        Assert.Null(p.Controls);
    }

    [Fact]
    public async Task Unplugging_a_camera_and_a_card_marks_them_missing_and_raises_devices_changed()
    {
        using var p = new LinuxDeviceProvider(Options);
        await p.StartAsync(CancellationToken.None);
        var changed = 0;
        p.DevicesChanged += (_, _) => changed++;

        Directory.Delete(Path.Combine(_t.Root, "sys/class/video4linux/video0"), recursive: true);
        Directory.Delete(Path.Combine(_t.Root, "sys/class/video4linux/video1"), recursive: true);
        _t.Write("proc/asound/cards", Cards.Split('\n')[0] + "\n" + Cards.Split('\n')[1] + "\n");
        p.Rescan();

        Assert.Equal(1, changed);
        Assert.Equal(DeviceHealth.Missing, p.Cameras[0].Describe().Health);
        Assert.Equal(DeviceHealth.Missing, p.Microphones.Single(m => m.Id == "alsa:Array:0").Describe().Health);
        Assert.Equal(DeviceHealth.Ok, p.Microphones.Single(m => m.Id == "alsa:Loopback:0").Describe().Health);

        AddVideo("video0", 0);
        _t.Write("proc/asound/cards", Cards);
        p.Rescan();
        Assert.Equal(2, changed);
        Assert.Equal(DeviceHealth.Ok, p.Cameras[0].Describe().Health);
        Assert.Equal(DeviceHealth.Ok, p.Microphones.Single(m => m.Id == "alsa:Array:0").Describe().Health);
    }

    [Fact]
    public async Task Rescan_without_changes_is_quiet()
    {
        using var p = new LinuxDeviceProvider(Options);
        await p.StartAsync(CancellationToken.None);
        var changed = 0;
        p.DevicesChanged += (_, _) => changed++;
        p.Rescan();
        Assert.Equal(0, changed);
    }

    [Fact]
    public async Task A_relevant_uevent_triggers_a_rescan_and_others_are_ignored()
    {
        using var p = new LinuxDeviceProvider(Options);
        await p.StartAsync(CancellationToken.None);
        using var changed = new ManualResetEventSlim();
        p.DevicesChanged += (_, _) => changed.Set();
        Assert.False(p.HandleUevent(new Uevent("add", "/devices/virtual/mem/null", "mem", "null", new Dictionary<string, string>())));
        _t.Write("sys/class/drm/card0-HDMI-A-1/status", "disconnected\n");
        Assert.True(p.HandleUevent(new Uevent("change", "/devices/pci0000:00/drm/card0", "drm", "dri/card0", new Dictionary<string, string>())));
        Assert.True(changed.Wait(TimeSpan.FromSeconds(10)), "no rescan after a drm uevent");
        Assert.Equal(DeviceHealth.Missing, p.Displays[0].Describe().Health);
    }

    [Fact]
    public async Task Garbage_in_every_tree_gives_an_empty_or_degraded_inventory_not_an_exception()
    {
        _t.Write("proc/asound/cards", "\0\0\u0001 garbage [[[ ]]]\n");
        _t.Write("proc/asound/pcm", "zz-zz: : :\n");
        _t.WriteBytes("sys/class/drm/card0-HDMI-A-1/edid", [0, 1, 2, 3]);
        _t.Write("sys/class/video4linux/video0/index", "\u00ff\u00fe");
        using var p = new LinuxDeviceProvider(Options);
        await p.StartAsync(CancellationToken.None);
        Assert.Empty(p.Microphones);
        Assert.Equal(DeviceHealth.Degraded, p.Displays[0].Describe().Health);
        Assert.Single(p.Cameras);
    }

    [Fact]
    public async Task Nodes_that_cannot_be_opened_become_failed_cameras()
    {
        using var p = new LinuxDeviceProvider(Options with { OpenDevices = true });
        await p.StartAsync(CancellationToken.None);
        var cam = Assert.Single(p.Cameras);
        Assert.Equal(DeviceHealth.Failed, cam.Describe().Health);
    }

    [Fact]
    public async Task A_camera_that_failed_to_open_is_retried_on_the_next_rescan()
    {
        using var p = new LinuxDeviceProvider(Options with { OpenDevices = true });
        await p.StartAsync(CancellationToken.None);
        var first = p.Cameras[0];
        Assert.Equal(DeviceHealth.Failed, first.Describe().Health);
        p.Rescan();
        Assert.NotSame(first, p.Cameras[0]);
    }

    [Fact]
    public async Task Visca_cameras_from_options_are_listed_with_their_probe_health()
    {
        await using var server = new SimulatedViscaServer();
        using var p = new LinuxDeviceProvider(Options with
        {
            ViscaCameras = [new ViscaCameraOptions { Id = "visca:front", Endpoint = server.Endpoint }],
        });
        await p.StartAsync(CancellationToken.None);
        var visca = p.Cameras.Single(c => c.Id == "visca:front");
        Assert.Equal(DeviceHealth.Ok, visca.Describe().Health);
        await visca.MoveToAsync(new PtzPosition(10, 0, 0));
        Assert.Equal(144, server.PanUnits);
    }

    [Fact]
    public async Task A_visca_camera_configured_without_a_valid_endpoint_is_left_out_and_the_others_work()
    {
        await using var server = new SimulatedViscaServer();
        using var p = new LinuxDeviceProvider(Options with
        {
            ViscaCameras =
            [
                new ViscaCameraOptions { Id = "visca:bad", Endpoint = null! }, // what configuration gives for "camera.local:abc"
                new ViscaCameraOptions { Id = "visca:front", Endpoint = server.Endpoint },
            ],
        });
        await p.StartAsync(CancellationToken.None);
        Assert.DoesNotContain(p.Cameras, c => c.Id == "visca:bad");
        Assert.Equal(DeviceHealth.Ok, p.Cameras.Single(c => c.Id == "visca:front").Describe().Health);
    }

    [Fact]
    public async Task Loopback_channels_are_probed_and_capped_for_both_directions_when_devices_are_opened()
    {
        // The "null" PCM stands in for the card: it accepts any channel count, so the cap applies.
        using var p = new LinuxDeviceProvider(Options with
        {
            OpenDevices = true,
            AlsaDeviceTemplate = "null",
            AudioChannels = new Dictionary<string, int>(),
            MaxProbedChannels = 8,
        });
        await p.StartAsync(CancellationToken.None);
        var probed = AlsaPcm.ProbeMaxChannels("null", capture: true);
        var expected = probed is { } m ? Math.Min(m, 8) : 2;
        Assert.Equal(expected, p.Microphones.Single(x => x.Id == "alsa:Loopback:0").Channels);
        Assert.Equal(expected, p.Speakers.Single(x => x.Id == "alsa:Loopback:0").Channels);
        Assert.Equal(6, p.Microphones.Single(x => x.Id == "alsa:Array:0").Channels); // USB: what /proc says
    }

    [Fact]
    public void Cec_adapters_are_found_on_the_cec_bus_and_odd_names_skipped()
    {
        _t.Dir("sys/bus/cec/devices/cec1");
        _t.Dir("sys/bus/cec/devices/cec0");
        _t.Dir("sys/bus/cec/devices/cecX");
        _t.Dir("sys/bus/cec/devices/cec");
        Assert.Equal(["cec0", "cec1"], LinuxDeviceProvider.CecAdapterNames(Path.Combine(_t.Root, "sys")));
        Assert.Empty(LinuxDeviceProvider.CecAdapterNames("/nonexistent"));
    }

    [Fact]
    public void Cec_pairing_uses_mapping_then_a_lone_pair_then_cec_only()
    {
        DrmConnector C(string name, string status = "connected") => new("card0", name, status, true, [], []);
        var (paired, only) = LinuxDeviceProvider.PairCec([C("HDMI-A-1")], ["cec0"], new Dictionary<string, string>());
        Assert.Equal("cec0", paired["HDMI-A-1"]);
        Assert.Empty(only);

        (paired, only) = LinuxDeviceProvider.PairCec([C("HDMI-A-1"), C("HDMI-A-2")], ["cec0", "cec1"],
            new Dictionary<string, string> { ["HDMI-A-2"] = "cec1" });
        Assert.Equal("cec1", paired["HDMI-A-2"]);
        Assert.Equal(["cec0"], only);

        (paired, only) = LinuxDeviceProvider.PairCec([], ["cec1"], new Dictionary<string, string>());
        Assert.Empty(paired);
        Assert.Equal(["cec1"], only);
    }

    [Fact]
    public async Task Live_system_scan_never_throws()
    {
        using var p = new LinuxDeviceProvider(new LinuxDeviceOptions { HotPlug = true });
        await p.StartAsync(CancellationToken.None);
        Assert.True(p.Rescans >= 1);
        Assert.All(p.Cameras, c => Assert.NotNull(c.Describe()));
    }

    private void AddVideo(string node, int index)
    {
        _t.Write($"sys/class/video4linux/{node}/name", "PTZ Pro Camera\n");
        _t.Write($"sys/class/video4linux/{node}/index", $"{index}\n");
        _t.Link($"sys/class/video4linux/{node}/device", Path.Combine(_t.Root, "devices/usb1/1-2/1-2:1.0"));
    }
}
