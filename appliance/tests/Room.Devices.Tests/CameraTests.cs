using System.Runtime.CompilerServices;
using Room.Devices.Camera;
using Room.Devices.Interop;

namespace Room.Devices.Tests;

/// <summary>A UVC PTZ camera's controls in memory (ranges as real UVC PTZ cameras report them).</summary>
internal sealed class FakeControls : IV4l2Controls
{
    public Dictionary<uint, V4l2ControlInfo> Infos { get; } = [];

    public Dictionary<uint, int> Values { get; } = [];

    public int FailWith { get; set; }

    public List<(uint Id, int Value)> Writes { get; } = [];

    public List<(uint Id, int Value)[]> Batches { get; } = [];

    public int SetValues(ReadOnlySpan<(uint Id, int Value)> values)
    {
        Batches.Add(values.ToArray());
        foreach (var (id, value) in values)
        {
            var err = SetValue(id, value);
            if (err != 0)
            {
                return err;
            }
        }

        return 0;
    }

    public static FakeControls PtzCamera()
    {
        var c = new FakeControls();
        c.Add(V4l2.CidPanAbsolute, "Pan, Absolute", -612000, 612000, 3600);
        c.Add(V4l2.CidTiltAbsolute, "Tilt, Absolute", -108000, 324000, 3600);
        c.Add(V4l2.CidZoomAbsolute, "Zoom, Absolute", 100, 500, 1);
        c.Add(V4l2.CidFocusAbsolute, "Focus, Absolute", 0, 1023, 1);
        c.Add(V4l2.CidFocusAuto, "Focus, Auto", 0, 1, 1);
        c.Add(V4l2.CidExposureAuto, "Auto Exposure", 0, 3, 1);
        c.Add(V4l2.CidExposureAbsolute, "Exposure, Absolute", 3, 2047, 1);
        c.Values[V4l2.CidZoomAbsolute] = 100;
        return c;
    }

    public void Add(uint id, string name, long min, long max, long step, uint flags = 0) =>
        Infos[id] = new V4l2ControlInfo(id, name, V4l2.CtrlTypeInteger, min, max, step, 0, flags);

    public V4l2ControlInfo? Query(uint id) => Infos.TryGetValue(id, out var i) ? i : null;

    public int GetValue(uint id, out int value)
    {
        value = Values.GetValueOrDefault(id);
        return FailWith != 0 ? FailWith : Infos.ContainsKey(id) ? 0 : Libc.EINVAL;
    }

    public int SetValue(uint id, int value)
    {
        if (FailWith != 0)
        {
            return FailWith;
        }

        if (!Infos.TryGetValue(id, out var info) || value < info.Minimum || value > info.Maximum)
        {
            return Libc.ERANGE;
        }

        Writes.Add((id, value));
        Values[id] = value;
        return 0;
    }
}

public class UvcPtzTests
{
    private static VideoNode Node => new("video0", "/nonexistent/video0", "PTZ Pro", 0, "usb:046d:0853:ABC", "046d:0853", "ABC", "1-2");

    [Fact]
    public void Limits_come_from_control_ranges_in_degrees()
    {
        var ptz = new UvcPtz(FakeControls.PtzCamera());
        Assert.Equal(-170, ptz.Limits.PanMin);
        Assert.Equal(170, ptz.Limits.PanMax);
        Assert.Equal(-30, ptz.Limits.TiltMin);
        Assert.Equal(90, ptz.Limits.TiltMax);
        Assert.True(ptz.Limits.CanZoom);
        Assert.Equal("pan,tilt,zoom,focus,exposure", ptz.Describe());
    }

    [Fact]
    public async Task Absolute_move_writes_arc_seconds_snapped_to_step_and_normalised_zoom()
    {
        var c = FakeControls.PtzCamera();
        using var cam = new V4l2Camera(Node, null, [new VideoFormat(PixelFormat.Yuyv, 640, 480, 30)], c);
        await cam.MoveToAsync(new PtzPosition(45.4, -10, 0.5));
        Assert.Equal(45 * 3600, c.Values[V4l2.CidPanAbsolute]);
        Assert.Equal(-10 * 3600, c.Values[V4l2.CidTiltAbsolute]);
        Assert.Equal(300, c.Values[V4l2.CidZoomAbsolute]);
        // Pan and tilt in one request: uvcvideo sends them as one SET_CUR, so the camera moves diagonally.
        var batch = Assert.Single(c.Batches);
        Assert.Equal([V4l2.CidPanAbsolute, V4l2.CidTiltAbsolute], batch.Select(b => b.Id));
        var p = await cam.GetPositionAsync();
        Assert.Equal(new PtzPosition(45, -10, 0.5), p);
    }

    [Fact]
    public async Task Relative_move_adds_to_the_read_position_and_clamps()
    {
        var c = FakeControls.PtzCamera();
        using var cam = new V4l2Camera(Node, null, [new VideoFormat(PixelFormat.Yuyv, 640, 480, 30)], c);
        await cam.MoveToAsync(new PtzPosition(160, 0, 0.9));
        await cam.MoveByAsync(20, 5, 0.5);
        var p = await cam.GetPositionAsync();
        Assert.Equal(170, p.Pan);
        Assert.Equal(5, p.Tilt);
        Assert.Equal(1, p.Zoom);
    }

    [Fact]
    public async Task Drive_uses_speed_controls_when_present_and_zero_stops()
    {
        var c = FakeControls.PtzCamera();
        c.Add(V4l2.CidPanSpeed, "Pan, Speed", -1, 1, 1);
        c.Add(V4l2.CidTiltSpeed, "Tilt, Speed", -1, 1, 1);
        c.Add(V4l2.CidZoomContinuous, "Zoom, Continuous", -1, 1, 1);
        using var cam = new V4l2Camera(Node, null, [], c);
        await cam.DriveAsync(1, -1, 1);
        Assert.Equal(1, c.Values[V4l2.CidPanSpeed]);
        Assert.Equal(-1, c.Values[V4l2.CidTiltSpeed]);
        Assert.Equal(1, c.Values[V4l2.CidZoomContinuous]);
        await cam.StopAsync();
        Assert.Equal(0, c.Values[V4l2.CidPanSpeed]);
        Assert.Equal(0, c.Values[V4l2.CidZoomContinuous]);
    }

    [Fact]
    public async Task Drive_without_speed_controls_steps_the_absolute_controls()
    {
        var c = FakeControls.PtzCamera();
        using var cam = new V4l2Camera(Node, null, [], c);
        await cam.DriveAsync(1, 0, 1);
        Assert.True(c.Values[V4l2.CidPanAbsolute] > 0);
        Assert.True(c.Values[V4l2.CidZoomAbsolute] > 100);
    }

    [Fact]
    public void Focus_and_exposure_switch_auto_modes()
    {
        var c = FakeControls.PtzCamera();
        using var cam = new V4l2Camera(Node, null, [], c);
        cam.SetFocus(0.5);
        Assert.Equal(0, c.Values[V4l2.CidFocusAuto]);
        Assert.Equal(512, c.Values[V4l2.CidFocusAbsolute]);
        cam.SetFocus(null);
        Assert.Equal(1, c.Values[V4l2.CidFocusAuto]);
        cam.SetExposure(0);
        Assert.Equal(1, c.Values[V4l2.CidExposureAuto]);
        Assert.Equal(3, c.Values[V4l2.CidExposureAbsolute]);
        cam.SetExposure(null);
        Assert.Equal(3, c.Values[V4l2.CidExposureAuto]);
    }

    [Fact]
    public async Task Camera_without_ptz_controls_is_fixed()
    {
        using var cam = new V4l2Camera(Node, null, [new VideoFormat(PixelFormat.Yuyv, 640, 480, 30)], new FakeControls());
        Assert.Equal(PtzLimits.Fixed, cam.Limits);
        Assert.Equal(default, await cam.GetPositionAsync());
        await Assert.ThrowsAsync<NotSupportedException>(async () => await cam.MoveToAsync(new PtzPosition(1, 1, 0)));
    }

    [Fact]
    public async Task Disabled_controls_are_ignored()
    {
        var c = FakeControls.PtzCamera();
        c.Add(V4l2.CidPanAbsolute, "Pan, Absolute", -612000, 612000, 3600, V4l2.CtrlFlagDisabled);
        using var cam = new V4l2Camera(Node, null, [], c);
        Assert.False(cam.Limits.CanPan);
        await cam.MoveToAsync(new PtzPosition(50, 0, 0));
        Assert.False(c.Values.ContainsKey(V4l2.CidPanAbsolute));
    }

    [Fact]
    public async Task Control_errors_degrade_the_camera_and_throw_device_unavailable()
    {
        var c = FakeControls.PtzCamera();
        using var cam = new V4l2Camera(Node, null, [new VideoFormat(PixelFormat.Yuyv, 640, 480, 30)], c);
        c.FailWith = Libc.EIO;
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await cam.GetPositionAsync());
        Assert.Equal(DeviceHealth.Degraded, cam.Describe().Health);
        Assert.Contains("PTZ", cam.Describe().HealthDetail);
    }

    [Fact]
    public async Task A_reading_outside_the_range_is_garbage_and_degrades()
    {
        var c = FakeControls.PtzCamera();
        c.Values[V4l2.CidPanAbsolute] = 99_999_999;
        using var cam = new V4l2Camera(Node, null, [new VideoFormat(PixelFormat.Yuyv, 640, 480, 30)], c);
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await cam.GetPositionAsync());
        Assert.Equal(DeviceHealth.Degraded, cam.Describe().Health);
    }

    [Fact]
    public async Task Unplugged_camera_refuses_everything()
    {
        using var cam = new V4l2Camera(Node, null, [], FakeControls.PtzCamera());
        cam.SetHealth(DeviceHealth.Missing, "unplugged");
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await cam.GetPositionAsync());
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await cam.OpenCaptureAsync(default));
    }

    [Fact]
    public void Node_that_cannot_be_opened_becomes_a_failed_camera()
    {
        using var cam = V4l2Camera.Open(Node);
        Assert.Equal(DeviceHealth.Failed, cam.Describe().Health);
        Assert.Equal("usb:046d:0853:ABC", cam.Id);
        Assert.Empty(cam.Formats);
    }

    [Theory]
    [InlineData(-170.0, -612000)]
    [InlineData(0.5, 0)]
    [InlineData(1.6, 7200)]
    public void Snap_rounds_to_the_step_grid(double degrees, int expected)
    {
        var info = new V4l2ControlInfo(V4l2.CidPanAbsolute, "pan", 1, -612000, 612000, 3600, 0, 0);
        Assert.Equal(expected, info.Snap(degrees * 3600));
    }
}

public class SysfsVideoTests
{
    [Fact]
    public void Usb_camera_gets_vendor_product_serial_id_and_nodes_sort_numerically()
    {
        using var t = new TempTree();
        var usb = t.Dir("devices/pci0000:00/0000:00:14.0/usb1/1-2");
        File.WriteAllText(Path.Combine(usb, "idVendor"), "046d\n");
        File.WriteAllText(Path.Combine(usb, "idProduct"), "0853\n");
        File.WriteAllText(Path.Combine(usb, "serial"), "A1B2C3\n");
        t.Dir("devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0");
        foreach (var (node, index) in new[] { ("video0", 0), ("video1", 1), ("video10", 0) })
        {
            t.Write($"class/video4linux/{node}/name", "PTZ Pro Camera\n");
            t.Write($"class/video4linux/{node}/index", $"{index}\n");
        }

        t.Link("class/video4linux/video0/device", Path.Combine(t.Root, "devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0"));
        t.Link("class/video4linux/video1/device", Path.Combine(t.Root, "devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0"));
        t.Dir("devices/platform/vivid.0");
        t.Link("class/video4linux/video10/device", "../../../devices/platform/vivid.0");

        var nodes = SysfsVideo.Scan(t.Root, "/dev");

        Assert.Equal(["video0", "video1", "video10"], nodes.Select(n => n.Node));
        Assert.Equal("usb:046d:0853:A1B2C3", nodes[0].StableId);
        Assert.Equal("usb:046d:0853:A1B2C3:1", nodes[1].StableId);
        Assert.Equal("1-2", nodes[0].UsbBusPath);
        Assert.Equal("/dev/video0", nodes[0].DevicePath);
        Assert.Equal("PTZ Pro Camera", nodes[0].Title);
        Assert.Equal("v4l2:vivid.0", nodes[2].StableId);
    }

    [Fact]
    public void Class_entries_that_are_links_resolve_device_relative_to_the_physical_directory()
    {
        // As real sysfs: class/video4linux/video2 -> ../../devices/.../1-1:1.0/video4linux/video2,
        // whose "device" is the relative link ../../../1-1:1.0.
        using var t = new TempTree();
        var usb = t.Dir("devices/platform/dummy_hcd.0/usb1/1-1");
        File.WriteAllText(Path.Combine(usb, "idVendor"), "1209\n");
        File.WriteAllText(Path.Combine(usb, "idProduct"), "0001\n");
        File.WriteAllText(Path.Combine(usb, "serial"), "LAB-0001\n");
        var node = t.Dir("devices/platform/dummy_hcd.0/usb1/1-1/1-1:1.0/video4linux/video2");
        File.WriteAllText(Path.Combine(node, "name"), "Room Lab PTZ Camera\n");
        File.WriteAllText(Path.Combine(node, "index"), "0\n");
        File.CreateSymbolicLink(Path.Combine(node, "device"), "../../../1-1:1.0");
        t.Dir("class/video4linux");
        t.Link("class/video4linux/video2", "../../devices/platform/dummy_hcd.0/usb1/1-1/1-1:1.0/video4linux/video2");

        var found = Assert.Single(SysfsVideo.Scan(t.Root, "/dev"));
        Assert.Equal("usb:1209:0001:LAB-0001", found.StableId);
        Assert.Equal("1-1", found.UsbBusPath);
    }

    [Fact]
    public void Usb_camera_without_serial_is_identified_by_its_port_path()
    {
        using var t = new TempTree();
        var usb = t.Dir("devices/usb1/1-1/1-1.4");
        File.WriteAllText(Path.Combine(usb, "idVendor"), "1d6b");
        File.WriteAllText(Path.Combine(usb, "idProduct"), "0102");
        File.WriteAllText(Path.Combine(usb, "serial"), "   ");
        t.Dir("devices/usb1/1-1/1-1.4/1-1.4:1.0");
        t.Link("class/video4linux/video0/device", Path.Combine(t.Root, "devices/usb1/1-1/1-1.4/1-1.4:1.0"));
        var node = Assert.Single(SysfsVideo.Scan(t.Root, "/dev"));
        Assert.Equal("usb:1d6b:0102@1-1.4", node.StableId);
        Assert.Null(node.UsbSerial);
    }

    [Fact]
    public void Odd_entries_and_garbage_files_do_not_break_the_scan()
    {
        using var t = new TempTree();
        t.Dir("class/video4linux/videoX");
        t.Dir("class/video4linux/v4l-subdev0");
        t.Write("class/video4linux/video3/index", "not a number");
        t.Write("class/video4linux/video3/name", "");
        t.Link("class/video4linux/video3/device", "/nonexistent/dangling");
        var node = Assert.Single(SysfsVideo.Scan(t.Root, "/dev"));
        Assert.Equal("video3", node.Title);
        Assert.Equal(0, node.Index);
        Assert.Equal("v4l2:video3", node.StableId);
        Assert.Empty(SysfsVideo.Scan("/nonexistent", "/dev"));
    }

    [Theory]
    [InlineData("usb:046d:0853:AB_C_x", "046d:0853", " AB/C x ", "1-2")]
    [InlineData("usb:046d:0853@1-2", "046d:0853", null, "1-2")]
    [InlineData("v4l2:vivid.0:2", null, null, null)]
    public void Stable_ids_are_filename_safe(string expected, string? vp, string? serial, string? bus) =>
        Assert.Equal(expected, SysfsVideo.MakeStableId(vp, serial, bus, "vivid.0", expected.EndsWith(":2") ? 2 : 0));
}

public class CameraFormatTests
{
    [Fact]
    public void Formats_are_ordered_best_first()
    {
        var ordered = CameraFormats.Order(
        [
            new(PixelFormat.Mjpeg, 1920, 1080, 30),
            new(PixelFormat.Yuyv, 640, 480, 30),
            new(PixelFormat.Yuyv, 1920, 1080, 5),
            new(PixelFormat.Yuyv, 1920, 1080, 60),
            new(PixelFormat.Nv12, 1920, 1080, 30),
            new(PixelFormat.Nv12, 1920, 1080, 30),
        ]);
        Assert.Equal(
        [
            new(PixelFormat.Nv12, 1920, 1080, 30),
            new(PixelFormat.Mjpeg, 1920, 1080, 30),
            new(PixelFormat.Yuyv, 1920, 1080, 5),
            new(PixelFormat.Yuyv, 1920, 1080, 60),
            new(PixelFormat.Yuyv, 640, 480, 30),
        ], ordered);
    }

    [Fact]
    public void Fourcc_mapping_round_trips()
    {
        foreach (var p in Enum.GetValues<PixelFormat>())
        {
            Assert.Equal(p, CameraFormats.FromFourCc(CameraFormats.ToFourCc(p)));
        }

        Assert.Null(CameraFormats.FromFourCc(V4l2.FourCc("H264")));
        Assert.Equal(0x56595559u, V4l2.FourCc("YUYV"));
    }

    [Theory]
    [InlineData(1u, 30u, 30)]
    [InlineData(1001u, 30000u, 30)]
    [InlineData(0u, 30u, 0)]
    [InlineData(1u, 0u, 0)]
    public void Frame_intervals_become_rates(uint num, uint den, int fps) => Assert.Equal(fps, CameraFormats.Fps(num, den));
}

public class InteropLayoutTests
{
    [Fact]
    public void V4l2_structs_match_the_kernel_abi()
    {
        Assert.Equal(104, Unsafe.SizeOf<V4l2.Capability>());
        Assert.Equal(64, Unsafe.SizeOf<V4l2.FmtDesc>());
        Assert.Equal(44, Unsafe.SizeOf<V4l2.FrmSizeEnum>());
        Assert.Equal(52, Unsafe.SizeOf<V4l2.FrmIvalEnum>());
        Assert.Equal(208, Unsafe.SizeOf<V4l2.Format>());
        Assert.Equal(20, Unsafe.SizeOf<V4l2.RequestBuffers>());
        Assert.Equal(88, Unsafe.SizeOf<V4l2.Buffer>());
        Assert.Equal(204, Unsafe.SizeOf<V4l2.StreamParm>());
        Assert.Equal(232, Unsafe.SizeOf<V4l2.QueryExtCtrl>());
        Assert.Equal(68, Unsafe.SizeOf<V4l2.QueryCtrl>());
        Assert.Equal(20, Unsafe.SizeOf<V4l2.ExtControl>());
        Assert.Equal(32, Unsafe.SizeOf<V4l2.ExtControls>());
    }

    [Fact]
    public void V4l2_ioctl_numbers_match_videodev2_h()
    {
        Assert.Equal((nuint)0x80685600, V4l2.QueryCap);
        Assert.Equal((nuint)0xc0405602, V4l2.EnumFmt);
        Assert.Equal((nuint)0xc0d05605, V4l2.SFmt);
        Assert.Equal((nuint)0xc0585611, V4l2.DqBuf);
        Assert.Equal((nuint)0x40045612, V4l2.StreamOn);
        Assert.Equal((nuint)0xc02c564a, V4l2.EnumFrameSizes);
        Assert.Equal((nuint)0xc0e85667, V4l2.QueryExtCtrlIoctl);
        Assert.Equal((nuint)0xc0205648, V4l2.SExtCtrls);
    }

    [Fact]
    public void Cec_structs_and_ioctls_match_cec_h()
    {
        Assert.Equal(56, Unsafe.SizeOf<Cec.CecMsg>());
        Assert.Equal(92, Unsafe.SizeOf<Cec.CecLogAddrs>());
        Assert.Equal((nuint)0xc0386105, Cec.Transmit);
        Assert.Equal((nuint)0x805c6103, Cec.AdapGLogAddrs);
        Assert.Equal((nuint)0x80026101, Cec.AdapGPhysAddr);
    }
}

public class V4l2HardwareTests
{
    [HardwareFact("/dev/video*")]
    public async Task Real_capture_node_streams_frames_with_increasing_timestamps()
    {
        var node = SysfsVideo.Scan("/sys", "/dev")[0];
        using var cam = V4l2Camera.Open(node);
        Assert.NotEmpty(cam.Formats);
        var format = cam.Formats[^1];
        await using var cap = await cam.OpenCaptureAsync(format);
        TimeSpan last = default;
        for (var i = 0; i < 5; i++)
        {
            using var frame = await cap.ReadFrameAsync();
            Assert.True(frame.Data.Length > 0);
            Assert.True(frame.Timestamp >= last);
            last = frame.Timestamp;
        }
    }
}
