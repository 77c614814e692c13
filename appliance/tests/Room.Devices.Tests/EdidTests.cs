using Room.Devices.Display;

namespace Room.Devices.Tests;

public class EdidTests
{
    [Fact]
    public void Base_block_gives_identity_and_preferred_mode()
    {
        var edid = EdidBuilder.Base(serialText: "ABC123");
        Assert.True(EdidParser.TryParse(edid, out var info, out var error), error);
        Assert.Equal("GSM", info!.ManufacturerId);
        Assert.Equal(0x5B7F, info.ProductCode);
        Assert.Equal(1234u, info.SerialNumber);
        Assert.Equal("27UL850", info.ProductName);
        Assert.Equal("ABC123", info.SerialText);
        Assert.Equal(2020, info.ManufactureYear);
        Assert.Equal("1.4", info.Version);
        Assert.Equal(new DisplayMode(1920, 1080, 60), info.PreferredMode);
        Assert.Equal("GSM 27UL850 serial ABC123", info.Monitor);
        Assert.Contains(new DisplayMode(640, 480, 60), info.Modes);
        Assert.Empty(info.Warnings);
    }

    [Fact]
    public void Numeric_serial_is_used_when_no_serial_descriptor()
    {
        var edid = EdidBuilder.Base(serial: 987654);
        Assert.True(EdidParser.TryParse(edid, out var info, out _));
        Assert.Equal("GSM 27UL850 serial 987654", info!.Monitor);
    }

    [Fact]
    public void Cea_extension_adds_vics_dtds_audio_and_hdmi_physical_address()
    {
        var edid = EdidBuilder.Concat(
            EdidBuilder.Base(extensions: 1),
            EdidBuilder.Cea([0x80 | 16, 4, 97], 0x2100, true, (1280, 720, 370, 30, 74250)));
        Assert.True(EdidParser.TryParse(edid, out var info, out var error), error);
        Assert.Equal(1, info!.CeaExtensionCount);
        Assert.True(info.BasicAudio);
        Assert.Equal((ushort)0x2100, info.HdmiPhysicalAddress);
        Assert.Contains(new DisplayMode(3840, 2160, 60), info.Modes);
        Assert.Contains(new DisplayMode(1280, 720, 60), info.Modes);
        Assert.Equal(new DisplayMode(1920, 1080, 60), info.PreferredMode);
    }

    [Fact]
    public void Rejects_short_input()
    {
        Assert.False(EdidParser.TryParse(new byte[100], out var info, out var error));
        Assert.Null(info);
        Assert.Contains("short", error);
    }

    [Fact]
    public void Rejects_empty_input() => Assert.False(EdidParser.TryParse([], out _, out _));

    [Fact]
    public void Rejects_bad_header()
    {
        var edid = EdidBuilder.Base();
        edid[1] = 0x00;
        EdidBuilder.Fix(edid);
        Assert.False(EdidParser.TryParse(edid, out _, out var error));
        Assert.Contains("header", error);
    }

    [Fact]
    public void Rejects_bad_base_checksum()
    {
        var edid = EdidBuilder.Base();
        edid[20] ^= 0x55;
        Assert.False(EdidParser.TryParse(edid, out _, out var error));
        Assert.Contains("checksum", error);
    }

    [Fact]
    public void Bad_extension_checksum_is_ignored_with_warning()
    {
        var cea = EdidBuilder.Cea([97]);
        cea[10] ^= 0xFF;
        var edid = EdidBuilder.Concat(EdidBuilder.Base(extensions: 1), cea);
        Assert.True(EdidParser.TryParse(edid, out var info, out _));
        Assert.Equal(0, info!.CeaExtensionCount);
        Assert.DoesNotContain(new DisplayMode(3840, 2160, 60), info.Modes);
        Assert.Single(info.Warnings);
    }

    [Fact]
    public void Missing_announced_extension_gives_warning_not_failure()
    {
        var edid = EdidBuilder.Base(extensions: 3);
        Assert.True(EdidParser.TryParse(edid, out var info, out _));
        Assert.Contains(info!.Warnings, w => w.Contains("announces"));
    }

    [Fact]
    public void Overrunning_data_block_is_cut_not_thrown()
    {
        var cea = EdidBuilder.Cea([16, 4]);
        cea[4] = (2 << 5) | 31; // claims 31 bytes, past the DTD offset
        EdidBuilder.Fix(cea);
        var edid = EdidBuilder.Concat(EdidBuilder.Base(extensions: 1), cea);
        Assert.True(EdidParser.TryParse(edid, out var info, out _));
        Assert.Contains(info!.Warnings, w => w.Contains("overruns"));
    }

    [Fact]
    public void Bad_dtd_offset_is_reported()
    {
        var cea = EdidBuilder.Cea([16]);
        cea[2] = 2;
        EdidBuilder.Fix(cea);
        Assert.True(EdidParser.TryParse(EdidBuilder.Concat(EdidBuilder.Base(extensions: 1), cea), out var info, out _));
        Assert.Contains(info!.Warnings, w => w.Contains("offset"));
    }

    [Fact]
    public void Random_garbage_never_throws()
    {
        var rng = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var blob = EdidBuilder.Concat(EdidBuilder.Base(extensions: rng.Next(0, 4)), new byte[rng.Next(0, 3) * 128]);
            rng.NextBytes(blob.AsSpan(8 + rng.Next(0, 100), rng.Next(1, 20)));
            for (var b = 0; b * 128 < blob.Length; b++)
            {
                if (rng.Next(2) == 0)
                {
                    EdidBuilder.Fix(blob, b * 128);
                }
            }

            _ = EdidParser.TryParse(blob, out _, out _);
        }
    }
}
