using System.Runtime.CompilerServices;
using Room.Devices.Display;
using Room.Devices.Interop;

namespace Room.Devices.Tests;

/// <summary>
/// KMS scanout without a display controller: the uapi layouts the kernel expects, and the errors for a card that is
/// not there or not a display. The real scanout runs in the QEMU lab (hw-tests: display.kms.scanout on virtio-gpu,
/// read back with a QMP screendump).
/// </summary>
public class KmsScanoutTests
{
    [Fact]
    public void Uapi_structs_have_the_64_bit_kernels_sizes()
    {
        Assert.Equal(68, Unsafe.SizeOf<Drm.ModeInfo>());
        Assert.Equal(104, Unsafe.SizeOf<Drm.CrtcArg>());
        Assert.Equal(64, Unsafe.SizeOf<Drm.CardRes>());
        Assert.Equal(80, Unsafe.SizeOf<Drm.GetConnectorArg>());
        Assert.Equal(64, Unsafe.SizeOf<Drm.GetPropertyArg>());
        Assert.Equal(32, Unsafe.SizeOf<Drm.CreateDumbArg>());
        Assert.Equal(104, Unsafe.SizeOf<Drm.FbCmd2>());
        Assert.Equal(32, Unsafe.SizeOf<Drm.ObjGetPropertiesArg>());
        Assert.Equal(56, Unsafe.SizeOf<Drm.AtomicArg>());
        Assert.Equal(32, Unsafe.SizeOf<Drm.EventVblank>());
        Assert.Equal(16, Unsafe.SizeOf<Drm.GetPlaneResArg>());
        Assert.Equal(32, Unsafe.SizeOf<Drm.GetPlaneArg>());
    }

    [Fact]
    public void Ioctl_numbers_match_libdrm()
    {
        // From the kernel headers: DRM_IOCTL_MODE_ATOMIC 0xC03864BC, _CREATE_DUMB 0xC02064B2, _ADDFB2 0xC06864B8,
        // _GETCONNECTOR 0xC05064A7, _SETCRTC 0xC06864A2, SET_CLIENT_CAP 0x4010640D.
        Assert.Equal((nuint)0xC03864BC, Drm.ModeAtomic);
        Assert.Equal((nuint)0xC02064B2, Drm.ModeCreateDumb);
        Assert.Equal((nuint)0xC06864B8, Drm.ModeAddFb2);
        Assert.Equal((nuint)0xC05064A7, Drm.ModeGetConnector);
        Assert.Equal((nuint)0xC06864A2, Drm.ModeSetCrtc);
        Assert.Equal((nuint)0x4010640D, Drm.SetClientCap);
    }

    [Fact]
    public void A_missing_card_is_unavailable_with_the_reason()
    {
        var e = Assert.Throws<DeviceUnavailableException>(() => KmsScanout.Open("/nonexistent/dri/card7"));
        Assert.Contains("/nonexistent/dri/card7", e.Message, StringComparison.Ordinal);
        Assert.Contains("No such file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_that_is_not_a_display_controller_is_refused_clearly()
    {
        var e = Assert.Throws<InvalidOperationException>(() => KmsScanout.Open("/dev/null"));
        Assert.Contains("/dev/null has no dumb buffers", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("change", "drm", "dri/card0", "1", null, true)]
    [InlineData("change", "drm", "dri/card0", "1", "42", true)]
    [InlineData("change", "drm", "dri/card0", "1", "43", false)]
    [InlineData("change", "drm", "dri/card1", "1", null, false)]
    [InlineData("change", "drm", "dri/card0", null, null, false)]
    [InlineData("add", "drm", "dri/card0", "1", null, false)]
    [InlineData("change", "video4linux", "dri/card0", "1", null, false)]
    public void Only_a_hotplug_uevent_of_our_card_and_connector_asks_for_a_refresh(string action, string subsystem, string devName, string? hotplug, string? connector, bool ours)
    {
        var props = new Dictionary<string, string> { ["ACTION"] = action, ["SUBSYSTEM"] = subsystem, ["DEVNAME"] = devName };
        if (hotplug is not null)
        {
            props["HOTPLUG"] = hotplug;
        }

        if (connector is not null)
        {
            props["CONNECTOR"] = connector;
        }

        var e = new Hotplug.Uevent(action, "/devices/pci0000:00/0000:00:02.0/drm/card0", subsystem, devName, props);
        Assert.Equal(ours, KmsScanout.IsHotplug(e, "card0", 42));
    }

    [Fact]
    public void Connector_type_names_are_the_ones_sysfs_uses()
    {
        Assert.Equal("HDMI-A", Drm.ConnectorTypeName(11));
        Assert.Equal("Virtual", Drm.ConnectorTypeName(15));
        Assert.Equal("DP", Drm.ConnectorTypeName(10));
        Assert.Equal("Unknown", Drm.ConnectorTypeName(99));
    }

}
