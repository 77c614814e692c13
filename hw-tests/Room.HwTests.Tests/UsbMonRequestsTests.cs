using System.Buffers.Binary;
using Room.HwTests.Gadget;

namespace Room.HwTests.Tests;

/// <summary>usbmon's binary events (struct mon_bin_hdr) as the lab camera reads them to see the host's side of its bus.</summary>
public class UsbMonRequestsTests
{
    private const byte Camera = 2, RootHub = 1, Control = 2, Bulk = 3;
    private static readonly SetupPacket SetPanTilt = new(0x21, 0x01, 0x0D00, 0x0100, 8);
    private static readonly SetupPacket GetZoom = new(0xA1, 0x81, 0x0B00, 0x0100, 2);
    private static readonly SetupPacket SetProbe = new(0x21, 0x01, 0x0100, 0x0001, 34);

    private readonly UsbMonRequests _requests = new();

    [Fact]
    public void A_control_out_is_handed_over_with_its_data_once_the_host_has_finished_it()
    {
        byte[] data = [0xa0, 0x8c, 0, 0, 0, 0, 0, 0];
        Assert.Null(Add(Submit(1, SetPanTilt, data)));
        Assert.Equal(SetPanTilt, _requests.Waiting);

        var done = Add(Complete(1, 0, microseconds: 2_000_250));

        Assert.True(done!.DeliversData);
        Assert.Equal(SetPanTilt, done.Setup);
        Assert.Equal(data, done.Data);
        Assert.Equal(1000, done.WaitedMs);
        Assert.Null(_requests.Waiting);
    }

    [Fact]
    public void A_34_byte_probe_comes_whole_which_the_text_interface_cut_to_32()
    {
        var probe = Enumerable.Range(1, 34).Select(i => (byte)i).ToArray();
        Add(Submit(7, SetProbe, probe));

        Assert.Equal(probe, Add(Complete(7, 0))!.Data);
    }

    [Fact]
    public void The_oldest_request_without_a_completion_is_the_one_the_host_waits_on()
    {
        Add(Submit(1, SetPanTilt, new byte[8]));
        Add(Complete(1, 0));
        Add(Submit(2, GetZoom, null));

        Assert.Equal(GetZoom, _requests.Waiting);
    }

    [Fact]
    public void A_request_the_device_stalled_or_the_host_gave_up_on_delivers_no_data_and_says_how_it_ended()
    {
        Add(Submit(1, SetPanTilt, new byte[8]));
        var stalled = Add(Complete(1, -32))!;
        Add(Submit(2, SetPanTilt, new byte[8]));
        var killed = Add(Complete(2, -2, microseconds: 6_000_000))!;

        Assert.Equal((false, -32), (stalled.DeliversData, stalled.Status));
        Assert.Equal((false, -2, 5000L), (killed.DeliversData, killed.Status, killed.WaitedMs));
        Assert.Null(_requests.Waiting);
    }

    [Fact]
    public void Data_captured_only_in_part_is_not_handed_over()
    {
        Add(Submit(1, SetPanTilt, new byte[4])); // len_urb 8 (its wLength), len_cap 4

        Assert.False(Add(Complete(1, 0))!.DeliversData);
    }

    [Fact]
    public void The_root_hub_other_endpoints_and_other_transfer_types_are_left_out()
    {
        Add(Submit(1, GetZoom, null, device: RootHub));
        var bulk = Submit(2, GetZoom, null);
        bulk[9] = Bulk;
        Add(bulk);
        var endpoint1 = Submit(3, GetZoom, null);
        endpoint1[10] = 0x81;
        Add(endpoint1);

        Assert.Null(_requests.Waiting);
    }

    [Fact]
    public void A_submission_without_its_setup_packet_is_left_out()
    {
        var record = Submit(1, SetPanTilt, new byte[8]);
        record[14] = (byte)'Z'; // flag_setup: not captured

        Assert.Null(Add(record));
        Assert.Null(_requests.Waiting);
        Assert.Null(Add(Complete(1, 0)));
    }

    [Fact]
    public void A_completion_without_its_submission_changes_nothing()
    {
        Assert.Null(Add(Complete(9, 0)));
        Assert.Null(_requests.Waiting);
    }

    [Theory]
    [InlineData("short", "header of 63 bytes, not 64")]
    [InlineData("type", "event type 0x58")]
    [InlineData("transfer", "transfer type 7")]
    [InlineData("cap-over-urb", "9 bytes captured of a 8-byte transfer")]
    [InlineData("cap-over-delivered", "8 bytes captured, 3 delivered")]
    public void A_malformed_event_is_refused_with_its_reason(string defect, string reason)
    {
        var header = Submit(1, SetPanTilt, null);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(36), 8);
        var data = new byte[8];
        switch (defect)
        {
            case "short": header = header[..63]; break;
            case "type": header[8] = (byte)'X'; break;
            case "transfer": header[9] = 7; break;
            case "cap-over-urb": BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(36), 9); data = new byte[9]; break;
            default: data = new byte[3]; break;
        }

        Assert.False(MonBinHeader.TryParse(header, data, out var ev, out var error));
        Assert.Null(ev);
        Assert.Equal(reason, error);
    }

    /// <summary>One event as MON_IOCX_GETX delivers it: the header, then the data.</summary>
    private UsbMonCompletion? Add(byte[] record)
    {
        Assert.True(MonBinHeader.TryParse(record.AsSpan(0, MonBinHeader.Size), record.AsSpan(MonBinHeader.Size), out var ev, out var error), error);
        return _requests.Add(ev!);
    }

    /// <summary>A submission as mon_bin_event writes it, with an OUT request's data after the header.</summary>
    private static byte[] Submit(ulong id, SetupPacket setup, byte[]? data, byte device = Camera)
    {
        var b = new byte[MonBinHeader.Size + (data?.Length ?? 0)];
        Header(b, id, 'S', setup.IsIn ? (byte)0x80 : (byte)0, device, -115, setup.Length, (uint)(data?.Length ?? 0));
        b[14] = 0; // flag_setup: captured
        b[15] = data is null ? (byte)'<' : (byte)0;
        b[40] = setup.RequestType;
        b[41] = setup.Request;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(42), setup.Value);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(44), setup.Index);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(46), setup.Length);
        data?.CopyTo(b, MonBinHeader.Size);
        return b;
    }

    private static byte[] Complete(ulong id, int status, long microseconds = 1_000_000)
    {
        var b = new byte[MonBinHeader.Size];
        Header(b, id, 'C', 0, Camera, status, 0, 0, microseconds);
        b[14] = (byte)'-';
        b[15] = (byte)'>';
        return b;
    }

    private static void Header(byte[] b, ulong id, char type, byte endpoint, byte device, int status, uint lenUrb, uint lenCap, long microseconds = 1_000_000)
    {
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), microseconds / 1_000_000);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), (int)(microseconds % 1_000_000));
        BinaryPrimitives.WriteUInt64LittleEndian(b, id);
        b[8] = (byte)type;
        b[9] = Control;
        b[10] = endpoint;
        b[11] = device;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), 3);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), status);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), lenUrb);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(36), lenCap);
    }
}
