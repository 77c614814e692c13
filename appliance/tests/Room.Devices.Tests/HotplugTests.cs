using System.Text;
using Room.Devices.Hotplug;

namespace Room.Devices.Tests;

public class UeventTests
{
    [Fact]
    public void Kernel_add_event_for_a_camera_parses()
    {
        var raw = Uevent.Format("add", "/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/video4linux/video0",
            ("SUBSYSTEM", "video4linux"), ("MAJOR", "81"), ("MINOR", "0"), ("DEVNAME", "video0"), ("SEQNUM", "4711"));
        Assert.True(Uevent.TryParse(raw, out var ev));
        Assert.Equal("add", ev!.Action);
        Assert.Equal("video4linux", ev.Subsystem);
        Assert.Equal("video0", ev.DevName);
        Assert.Equal("4711", ev.Properties["SEQNUM"]);
    }

    [Fact]
    public void Trailing_field_without_nul_is_accepted()
    {
        var raw = Encoding.ASCII.GetBytes("remove@/devices/x/sound/card1\0ACTION=remove\0DEVPATH=/devices/x/sound/card1\0SUBSYSTEM=sound");
        Assert.True(Uevent.TryParse(raw, out var ev));
        Assert.Equal("sound", ev!.Subsystem);
        Assert.Equal("", ev.DevName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\0")]
    [InlineData("add@/devices/x")] // no properties, no NUL
    [InlineData("add/devices/x\0ACTION=add\0DEVPATH=/devices/x\0")] // no '@'
    [InlineData("@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0")]
    [InlineData("add@\0ACTION=add\0DEVPATH=/devices/x\0")]
    [InlineData("add@/devices/x\0DEVPATH=/devices/x\0")] // no ACTION
    [InlineData("add@/devices/x\0ACTION=add\0")] // no DEVPATH
    [InlineData("add@/devices/x\0ACTION=remove\0DEVPATH=/devices/x\0")] // header disagrees
    [InlineData("add@/devices/x\0ACTION=add\0DEVPATH=/devices/y\0")]
    [InlineData("add@/devices/x\0ACTION=add\0DEVPATH=devices/x\0")] // relative path
    [InlineData("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0NOEQUALS\0")]
    [InlineData("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0=value\0")]
    [InlineData("add@/devices/x\0ACTION=add\0DEVPATH=/devices/x\0KEY=\u0007bell\0")]
    [InlineData("libudev\0\u00fe\u00ed\u00ca\u00fe")]
    public void Malformed_uevents_are_rejected(string text) =>
        Assert.False(Uevent.TryParse(Encoding.Latin1.GetBytes(text), out _));

    [Fact]
    public void Random_bytes_never_throw()
    {
        var rng = new Random(7);
        var good = Uevent.Format("add", "/devices/a/b", ("SUBSYSTEM", "sound"));
        var accepted = 0;
        for (var i = 0; i < 5000; i++)
        {
            var b = (byte[])good.Clone();
            b[rng.Next(b.Length)] = (byte)rng.Next(256);
            accepted += Uevent.TryParse(b.AsSpan(0, rng.Next(b.Length + 1)), out _) ? 1 : 0;
        }

        Assert.True(accepted < 5000);
    }

    [Fact]
    public void Netlink_uevent_socket_opens_and_closes()
    {
        UeventMonitor monitor;
        try
        {
            monitor = UeventMonitor.Start();
        }
        catch (IOException e)
        {
            Assert.Fail("netlink not available as root: " + e.Message);
            return;
        }

        monitor.Dispose();
    }

    [HardwareFact("/sys/class/mem/null/uevent", writable: true)]
    public void Synthetic_kernel_uevent_arrives_through_the_monitor()
    {
        using var got = new ManualResetEventSlim();
        Uevent? seen = null;
        using var monitor = UeventMonitor.Start(m => m.Received += (_, e) =>
        {
            if (e.DevPath == "/devices/virtual/mem/null" && e.Action == "change")
            {
                seen = e;
                got.Set();
            }
        });
        File.WriteAllText("/sys/class/mem/null/uevent", "change");
        Assert.True(got.Wait(TimeSpan.FromSeconds(10)), "no uevent for /dev/null arrived");
        Assert.Equal("mem", seen!.Subsystem);
        Assert.Equal("null", seen.DevName);
    }
}
