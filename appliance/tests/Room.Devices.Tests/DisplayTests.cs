using Room.Devices.Display;

namespace Room.Devices.Tests;

public class DrmConnectorTests
{
    [Fact]
    public void Scan_reads_connectors_status_modes_and_edid()
    {
        using var t = new TempTree();
        t.Write("class/drm/card0-HDMI-A-1/status", "connected\n");
        t.Write("class/drm/card0-HDMI-A-1/enabled", "enabled\n");
        t.Write("class/drm/card0-HDMI-A-1/modes", "1920x1080\n1280x720\n1920x1080i\n1920x1080\n");
        t.WriteBytes("class/drm/card0-HDMI-A-1/edid", EdidBuilder.Base());
        t.Write("class/drm/card0-DP-1/status", "disconnected\n");
        t.Write("class/drm/card0-DP-1/modes", "");
        t.Dir("class/drm/card0");
        t.Dir("class/drm/renderD128");
        t.Write("class/drm/version", "drm 1.1.0 20060810");

        var list = DrmConnectors.Scan(t.Root);

        Assert.Equal(["DP-1", "HDMI-A-1"], list.Select(c => c.Name));
        var hdmi = list[1];
        Assert.Equal("card0", hdmi.Card);
        Assert.True(hdmi.Connected);
        Assert.True(hdmi.Enabled);
        Assert.Equal(3, hdmi.Modes.Count);
        Assert.Equal(128, hdmi.Edid.Length);
        Assert.False(list[0].Connected);
    }

    [Fact]
    public void Missing_drm_class_gives_empty_list() => Assert.Empty(DrmConnectors.Scan("/nonexistent-root"));

    [Theory]
    [InlineData("card0-HDMI-A-1", true)]
    [InlineData("card12-Virtual-1", true)]
    [InlineData("card0", false)]
    [InlineData("card0-", false)]
    [InlineData("cardX-HDMI-A-1", false)]
    [InlineData("renderD128", false)]
    [InlineData("version", false)]
    public void Connector_names_are_recognised(string entry, bool ok) =>
        Assert.Equal(ok, DrmConnectors.TrySplitName(entry, out _, out _));

    [Fact]
    public void Malformed_mode_lines_are_skipped()
    {
        var modes = DrmConnectors.ParseModes("1920x1080\nx\n-5x10\n99999999999x2\n800x\nabc\n\0\0\n640x480\n");
        Assert.Equal([(1920, 1080, false), (640, 480, false)], modes);
    }

    [Fact]
    public void Garbage_status_reads_as_unknown()
    {
        using var t = new TempTree();
        t.Write("class/drm/card0-HDMI-A-1/status", "\u0001\u0002garbage");
        var c = Assert.Single(DrmConnectors.Scan(t.Root));
        Assert.Equal("unknown", c.Status);
        Assert.False(c.Connected);
    }
}

/// <summary>A TV on a fake CEC bus: answers power status, follows Image View On and Standby.</summary>
internal sealed class FakeCecTv : ICecBus
{
    private int _powerQueries;

    public List<CecMessage> Sent { get; } = [];

    public int PowerQueries => Volatile.Read(ref _powerQueries);

    public DisplayPower Power { get; set; } = DisplayPower.Standby;

    public bool Present { get; set; } = true;

    public byte[]? GarbageReply { get; set; }

    public string Name => "cec0";

    public ushort PhysicalAddress => 0x1000;

    public byte LogicalAddress => 4;

    public CecTransmitResult Transmit(CecMessage message, byte replyOpcode, TimeSpan timeout)
    {
        lock (Sent)
        {
            Sent.Add(message);
        }

        if (message.Opcode == CecOpcode.GiveDevicePowerStatus)
        {
            Interlocked.Increment(ref _powerQueries);
        }

        if (!Present)
        {
            return new CecTransmitResult(false, "not acknowledged", null);
        }

        switch (message.Opcode)
        {
            case CecOpcode.ImageViewOn:
                Power = DisplayPower.TransitioningToOn;
                break;
            case CecOpcode.Standby:
                Power = DisplayPower.TransitioningToStandby;
                break;
            case CecOpcode.GiveDevicePowerStatus:
                if (GarbageReply is not null)
                {
                    _ = CecMessage.TryParse(GarbageReply, out var g);
                    return new CecTransmitResult(true, "", g);
                }

                var status = Power switch
                {
                    DisplayPower.On => 0,
                    DisplayPower.Standby => 1,
                    DisplayPower.TransitioningToOn => 2,
                    _ => 3,
                };
                return new CecTransmitResult(true, "", CecMessage.Create(0, LogicalAddress, CecOpcode.ReportPowerStatus, (byte)status));
            default:
                break;
        }

        return new CecTransmitResult(true, "", null);
    }

    public event EventHandler<CecMessage>? Received;

    /// <summary>A frame from the bus as the adapter's receive thread would hand it over.</summary>
    public void Deliver(params byte[] frame)
    {
        Assert.True(CecMessage.TryParse(frame, out var m));
        Received?.Invoke(this, m);
    }

    public bool HasReceivers => Received is not null;

    public void Dispose()
    {
    }
}

public class CecDisplayTests
{
    private static DrmConnector Hdmi(byte[]? edid = null, string status = "connected") =>
        new("card0", "HDMI-A-1", status, true, [(1920, 1080, false), (1280, 720, false)], edid ?? EdidBuilder.Base());

    [Fact]
    public async Task Wake_sends_image_view_on_to_tv_then_active_source_with_our_address()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        await d.WakeAsync();
        Assert.Equal(2, tv.Sent.Count);
        Assert.Equal(CecOpcode.ImageViewOn, tv.Sent[0].Opcode);
        Assert.Equal(CecMessage.Tv, tv.Sent[0].Destination);
        Assert.Equal(CecOpcode.ActiveSource, tv.Sent[1].Opcode);
        Assert.Equal(CecMessage.Broadcast, tv.Sent[1].Destination);
        Assert.Equal([0x10, 0x00], tv.Sent[1].Operands.ToArray());
    }

    [Fact]
    public async Task Power_follows_the_tv_including_transitions()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        Assert.Equal(DisplayPower.Standby, await d.GetPowerAsync());
        await d.WakeAsync();
        Assert.Equal(DisplayPower.TransitioningToOn, await d.GetPowerAsync());
        tv.Power = DisplayPower.On;
        Assert.Equal(DisplayPower.On, await d.GetPowerAsync());
        await d.StandbyAsync();
        Assert.Equal(CecOpcode.Standby, tv.Sent[^1].Opcode);
        Assert.Equal(DisplayPower.TransitioningToStandby, await d.GetPowerAsync());
    }

    [Theory]
    [InlineData(new byte[] { 0x04, 0x90, 0x07 })]
    [InlineData(new byte[] { 0x04, 0x90 })]
    [InlineData(new byte[] { 0x04, 0x90, 0x00, 0x00 })]
    [InlineData(new byte[] { 0x04, 0x00, 0x8F, 0x04 })]
    [InlineData(new byte[] { 0x04 })]
    public async Task Garbage_power_reply_gives_unknown_and_degraded(byte[] reply)
    {
        var tv = new FakeCecTv { GarbageReply = reply };
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        Assert.Equal(DisplayPower.Unknown, await d.GetPowerAsync());
        Assert.Equal(DeviceHealth.Degraded, d.Describe().Health);
    }

    [Fact]
    public async Task The_inventory_entry_shows_the_power_the_tv_last_reported_and_unknown_after_garbage()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        Assert.Equal("unknown", d.Describe().Capabilities["power"]);
        tv.Power = DisplayPower.On;
        await d.GetPowerAsync();
        Assert.Equal("on", d.Describe().Capabilities["power"]);

        tv.GarbageReply = [0x04, 0x90, 0x07];
        await d.GetPowerAsync();
        Assert.Equal("unknown", d.Describe().Capabilities["power"]);
        Assert.Equal(DeviceHealth.Degraded, d.Describe().Health);
    }

    private static async Task<List<CecMessage>> ActiveSourcesSentAsync(FakeCecTv tv, int atLeast)
    {
        for (var i = 0; i < 3000; i++)
        {
            lock (tv.Sent)
            {
                var found = tv.Sent.Where(m => m.Opcode == CecOpcode.ActiveSource).ToList();
                if (found.Count >= atLeast)
                {
                    return found;
                }
            }

            await Task.Delay(10);
        }

        Assert.Fail($"fewer than {atLeast} Active Source frames were sent");
        return [];
    }

    [Fact]
    public async Task While_active_source_we_answer_the_tvs_request_and_after_standby_we_do_not()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        d.OnCecReceived(tv, Frame(0x0F, CecOpcode.RequestActiveSource));
        Assert.DoesNotContain(tv.Sent, m => m.Opcode == CecOpcode.ActiveSource);

        await d.WakeAsync();
        Assert.True(d.IsActiveSource);
        Assert.Equal("yes", d.Describe().Capabilities["active-source"]);
        tv.Deliver(0x0F, CecOpcode.RequestActiveSource);
        var answers = await ActiveSourcesSentAsync(tv, 2); // the wake's and the answer
        Assert.Equal(CecMessage.Broadcast, answers[^1].Destination);
        Assert.Equal([0x10, 0x00], answers[^1].Operands.ToArray());

        await d.StandbyAsync();
        Assert.False(d.IsActiveSource);
        var before = tv.Sent.Count;
        d.OnCecReceived(tv, Frame(0x0F, CecOpcode.RequestActiveSource));
        Assert.Equal(before, tv.Sent.Count);
    }

    [Fact]
    public async Task The_tv_going_to_standby_by_its_remote_is_followed_and_ends_our_active_source()
    {
        var tv = new FakeCecTv { Power = DisplayPower.On };
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        await d.WakeAsync();
        await d.GetPowerAsync();

        tv.Deliver(0x0F, CecOpcode.Standby);

        Assert.Equal("standby", d.Describe().Capabilities["power"]);
        Assert.False(d.IsActiveSource);
    }

    [Fact]
    public async Task Another_source_takes_over_and_the_tv_routing_to_our_address_gives_it_back()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        await d.WakeAsync();

        tv.Deliver(0x8F, CecOpcode.ActiveSource, 0x20, 0x00); // a media player at 2.0.0.0
        Assert.False(d.IsActiveSource);

        tv.Deliver(0x0F, CecOpcode.SetStreamPath, 0x10, 0x00); // the TV's input menu picks us (1.0.0.0)
        Assert.True(d.IsActiveSource);
        await ActiveSourcesSentAsync(tv, 2);
    }

    [Fact]
    public async Task Asked_for_our_power_status_we_report_on_to_whoever_asked()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);

        tv.Deliver(0x04, CecOpcode.GiveDevicePowerStatus); // TV (0) to us (4)

        for (var i = 0; i < 3000; i++)
        {
            lock (tv.Sent)
            {
                if (tv.Sent.Exists(m => m.Opcode == CecOpcode.ReportPowerStatus))
                {
                    break;
                }
            }

            await Task.Delay(10);
        }

        CecMessage report;
        lock (tv.Sent)
        {
            report = tv.Sent.Single(m => m.Opcode == CecOpcode.ReportPowerStatus);
        }

        Assert.Equal(CecMessage.Tv, report.Destination);
        Assert.Equal([0x00], report.Operands.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0x0F })] // poll
    [InlineData(new byte[] { 0x0F, 0x85, 0x01 })] // Request Active Source with an operand
    [InlineData(new byte[] { 0x04, 0x85 })] // ... sent to us directly, not broadcast
    [InlineData(new byte[] { 0x0F, 0x86, 0x10 })] // Set Stream Path, half an address
    [InlineData(new byte[] { 0x0F, 0x86, 0x10, 0x00, 0x00 })] // ... and one byte too many
    [InlineData(new byte[] { 0x8F, 0x82 })] // Active Source without an address
    [InlineData(new byte[] { 0x0F, 0x36, 0x00 })] // Standby with an operand
    [InlineData(new byte[] { 0x4F, 0x36 })] // Standby from someone who is not the TV
    [InlineData(new byte[] { 0x04, 0x90, 0x09 })] // Report Power Status out of range
    [InlineData(new byte[] { 0x04, 0xFE, 0xFF, 0xFF, 0xFF })] // unknown opcode
    [InlineData(new byte[] { 0x05, 0x8F })] // Give Device Power Status for another device
    [InlineData(new byte[] { 0x04, 0x8F, 0x01 })] // ... with an operand
    public async Task Malformed_or_foreign_frames_from_the_bus_change_nothing(byte[] frame)
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        await d.WakeAsync();
        tv.Power = DisplayPower.On;
        await d.GetPowerAsync();
        var sent = tv.Sent.Count;

        tv.Deliver(frame);

        Assert.True(d.IsActiveSource);
        Assert.Equal("on", d.Describe().Capabilities["power"]);
        Assert.Equal(sent, tv.Sent.Count);
    }

    [Fact]
    public void A_disposed_display_stops_listening_to_its_bus()
    {
        var tv = new FakeCecTv();
        var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv, ownsCec: false);
        Assert.True(tv.HasReceivers);
        d.Dispose();
        Assert.False(tv.HasReceivers);
    }

    private static CecMessage Frame(params byte[] bytes)
    {
        Assert.True(CecMessage.TryParse(bytes, out var m));
        return m;
    }

    [Fact]
    public async Task Absent_tv_degrades_display_and_wake_throws_device_unavailable()
    {
        var tv = new FakeCecTv { Present = false };
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        await Assert.ThrowsAsync<DeviceUnavailableException>(async () => await d.WakeAsync());
        Assert.Equal(DeviceHealth.Degraded, d.Describe().Health);
        Assert.Equal(DisplayPower.Unknown, await d.GetPowerAsync());
    }

    [Fact]
    public async Task Waiting_for_power_follows_the_transition_to_on()
    {
        var tv = new FakeCecTv();
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        await d.WakeAsync();
        var task = Task.Run(async () =>
        {
            while (tv.PowerQueries < 3)
            {
                await Task.Delay(1);
            }

            tv.Power = DisplayPower.On;
        });
        var power = await d.WaitForPowerAsync(DisplayPower.On, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1));
        await task;
        Assert.Equal(DisplayPower.On, power);
        Assert.True(tv.PowerQueries >= 3);
    }

    [Fact]
    public async Task Waiting_for_power_gives_up_with_the_last_state()
    {
        var tv = new FakeCecTv { Power = DisplayPower.TransitioningToOn };
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), tv);
        Assert.Equal(DisplayPower.TransitioningToOn, await d.WaitForPowerAsync(DisplayPower.On, TimeSpan.Zero));
    }

    [Fact]
    public void Modes_take_refresh_from_edid_and_monitor_from_edid()
    {
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(), null);
        Assert.Equal(new DisplayMode(1920, 1080, 60), d.PreferredMode);
        Assert.Equal("GSM 27UL850 serial 1234", d.Monitor);
        Assert.Equal(DeviceHealth.Ok, d.Describe().Health);
        Assert.Equal("no", d.Describe().Capabilities["cec"]);
    }

    [Fact]
    public void Unreadable_edid_degrades_but_keeps_sysfs_modes()
    {
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(edid: new byte[] { 1, 2, 3 }), null);
        Assert.Equal(DeviceHealth.Degraded, d.Describe().Health);
        Assert.Equal(2, d.Modes.Count);
        Assert.Equal("", d.Monitor);
    }

    [Fact]
    public void Disconnected_connector_is_missing()
    {
        using var d = new LinuxDisplay("drm:HDMI-A-1", Hdmi(status: "disconnected"), null);
        Assert.Equal(DeviceHealth.Missing, d.Describe().Health);
    }

    [Fact]
    public void Cec_frames_reject_empty_and_overlong_input()
    {
        Assert.False(CecMessage.TryParse([], out _));
        Assert.False(CecMessage.TryParse(new byte[17], out _));
        Assert.True(CecMessage.TryParse([0x40], out var poll));
        Assert.True(poll.IsPoll);
        Assert.False(CecMessage.TryGetPowerStatus(poll, out _));
        Assert.False(CecMessage.TryGetPowerStatus(default, out _));
    }

    [HardwareFact("/dev/cec*")]
    public void Real_cec_adapter_opens_and_reports_addresses()
    {
        var path = HardwareFactAttribute.FindDevice("/dev/cec*")!;
        using var a = LinuxCecAdapter.Open(path);
        Assert.NotEqual(0xF, a.LogicalAddress);
    }
}
