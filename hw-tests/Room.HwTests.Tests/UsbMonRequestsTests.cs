using Room.HwTests.Gadget;

namespace Room.HwTests.Tests;

/// <summary>usbmon's text lines ("u" format) as the lab camera reads them to see the host's side of its bus.</summary>
public class UsbMonRequestsTests
{
    private readonly UsbMonRequests _requests = new();

    [Fact]
    public void A_control_out_submission_and_its_completion_leave_its_data_among_the_completed()
    {
        _requests.Parse("ffff8880047a3c00 1530467981 S Co:1:002:0 s 21 01 0d00 0100 0008 8 = a08c0000 00000000");
        Assert.Equal(new SetupPacket(0x21, 0x01, 0x0D00, 0x0100, 8), _requests.View().Waiting);

        _requests.Parse("ffff8880047a3c00 1530468002 C Co:1:002:0 0 8 >");
        var view = _requests.View();

        Assert.Null(view.Waiting);
        var (setup, data) = Assert.Single(view.Completed);
        Assert.Equal(new SetupPacket(0x21, 0x01, 0x0D00, 0x0100, 8), setup);
        Assert.Equal([0xa0, 0x8c, 0, 0, 0, 0, 0, 0], data);
    }

    [Fact]
    public void The_oldest_request_without_a_completion_is_the_one_the_host_waits_on()
    {
        _requests.Parse("ffff888004000100 1 S Co:1:002:0 s 21 01 0d00 0100 0008 8 = a08c0000 00000000");
        _requests.Parse("ffff888004000100 2 C Co:1:002:0 0 8 >");
        _requests.Parse("ffff888004000200 3 S Ci:1:002:0 s a1 81 0b00 0100 0002 2 <");

        Assert.Equal(new SetupPacket(0xA1, 0x81, 0x0B00, 0x0100, 2), _requests.View().Waiting);
    }

    [Fact]
    public void The_root_hub_other_endpoints_and_other_transfer_types_are_left_out()
    {
        _requests.Parse("d5ea89a0 3575914555 S Ci:1:001:0 s a3 00 0000 0003 0004 4 <");
        _requests.Parse("d5ea8aa0 3575914556 S Bi:1:002:1 -115 16384 <");
        _requests.Parse("d5ea8ba0 3575914557 S Ii:1:002:2 -115:128 4 <");

        Assert.Null(_requests.View().Waiting);
        Assert.Empty(_requests.View().Completed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("tag 1 S Co:1:002:0 s 21 01 0d00 0100")]
    [InlineData("tag 1 S Co:1:002:0 s zz 01 0d00 0100 0008 8 = a08c0000 00000000")]
    [InlineData("tag 1 S Co:1:002:0 s 21 01 0d0 0100 0008 8 =")]
    [InlineData("tag 1 S Co:1:002 s 21 01 0d00 0100 0008 8 =")]
    [InlineData("tag 1 X Co:1:002:0 s 21 01 0d00 0100 0008 8 =")]
    public void Malformed_lines_are_ignored(string line)
    {
        _requests.Parse(line);

        Assert.Null(_requests.View().Waiting);
        Assert.Empty(_requests.View().Completed);
    }

    [Fact]
    public void Data_words_that_are_not_whole_hex_bytes_are_not_taken_as_data()
    {
        _requests.Parse("t 1 S Co:1:002:0 s 21 01 0d00 0100 0008 8 = a08c000 0000000g");
        _requests.Parse("t 2 C Co:1:002:0 0 8 >");

        Assert.Null(Assert.Single(_requests.View().Completed).Data);
    }

    [Fact]
    public void A_completion_without_its_submission_changes_nothing()
    {
        _requests.Parse("unknown 2 C Co:1:002:0 0 8 >");

        Assert.Empty(_requests.View().Completed);
    }
}
