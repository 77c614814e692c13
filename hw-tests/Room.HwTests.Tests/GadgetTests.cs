using Room.HwTests.Gadget;

namespace Room.HwTests.Tests;

public class GadgetTests
{
    [Theory]
    [InlineData(0, 0, 100, 1)]
    [InlineData(72000, -36000, 300, 17)]
    [InlineData(-612000, 108000, 500, int.MaxValue)]
    public void Frame_pattern_reads_back_what_was_painted(int pan, int tilt, int zoom, int counter)
    {
        var frame = new byte[FramePattern.FrameBytes];
        FramePattern.Render(frame, pan, tilt, zoom, counter);
        Assert.Equal(pan, FramePattern.Decode(frame, 0));
        Assert.Equal(tilt, FramePattern.Decode(frame, 1));
        Assert.Equal(zoom, FramePattern.Decode(frame, 2));
        Assert.Equal(counter, FramePattern.Decode(frame, 3));
    }

    [Fact]
    public void Decoding_a_truncated_frame_is_refused()
    {
        Assert.Throws<ArgumentException>(() => FramePattern.Decode(new byte[FramePattern.FrameBytes - 1], 0));
    }

    [Fact]
    public void Decoding_an_all_dark_frame_gives_zero_not_garbage()
    {
        Assert.Equal(0, FramePattern.Decode(new byte[FramePattern.FrameBytes], 2));
    }

    [Theory]
    [InlineData(false, 64)]
    [InlineData(true, 512)]
    public void Configuration_lengths_add_up_for_each_speed(bool highSpeed, int maxPacket)
    {
        var config = UvcDescriptors.Configuration(highSpeed);
        Assert.Equal(config.Length, config[2] | (config[3] << 8));
        var offset = 0;
        var endpoints = 0;
        while (offset < config.Length)
        {
            var length = config[offset];
            Assert.True(length >= 2 && offset + length <= config.Length, $"descriptor at {offset} overruns");
            if (config[offset + 1] == 5)
            {
                endpoints++;
                Assert.Equal(UvcDescriptors.StreamingEndpoint, config[offset + 2]);
                Assert.Equal(maxPacket, config[offset + 4] | (config[offset + 5] << 8));
            }

            offset += length;
        }

        Assert.Equal(1, endpoints);
    }

    [Fact]
    public void Class_specific_totals_match_their_descriptors()
    {
        var config = UvcDescriptors.Configuration(true);
        // VC header: wTotalLength covers the header, camera terminal and output terminal.
        var vc = IndexOf(config, 0x24, 0x01);
        Assert.Equal(13 + 18 + 9, config[vc + 5] | (config[vc + 6] << 8));
        // VS input header: covers itself, the format and the frame.
        var vs = IndexOf(config, 0x24, 0x01, vc + config[vc]);
        Assert.Equal(14 + 27 + 30, config[vs + 4] | (config[vs + 5] << 8));
    }

    [Fact]
    public void Device_descriptor_declares_one_configuration_with_interface_association()
    {
        var d = UvcDescriptors.Device();
        Assert.Equal(18, d.Length);
        Assert.Equal(0xEF, d[4]);
        Assert.Equal(1, d[17]);
    }

    private static int IndexOf(byte[] config, byte type, byte subtype, int from = 0)
    {
        for (var i = from; i < config.Length; i += config[i])
        {
            if (config[i + 1] == type && config[i + 2] == subtype)
            {
                return i;
            }
        }

        throw new InvalidOperationException("descriptor not found");
    }
}
