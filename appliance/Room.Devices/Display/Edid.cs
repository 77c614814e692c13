using System.Text;

namespace Room.Devices.Display;

/// <summary>What an EDID (VESA E-EDID 1.3/1.4 base block plus CEA-861 extensions) says about a screen.</summary>
public sealed record EdidInfo(
    string ManufacturerId,
    ushort ProductCode,
    uint SerialNumber,
    string SerialText,
    string ProductName,
    int ManufactureYear,
    int ManufactureWeek,
    string Version,
    DisplayMode? PreferredMode,
    IReadOnlyList<DisplayMode> Modes,
    int CeaExtensionCount,
    bool BasicAudio,
    ushort? HdmiPhysicalAddress,
    IReadOnlyList<string> Warnings)
{
    /// <summary>"GSM 27UL850 serial 1234" — manufacturer, product name (or code), serial.</summary>
    public string Monitor
    {
        get
        {
            var product = ProductName.Length > 0 ? ProductName : $"0x{ProductCode:x4}";
            var serial = SerialText.Length > 0 ? SerialText : SerialNumber != 0 ? SerialNumber.ToString() : "";
            return serial.Length > 0 ? $"{ManufacturerId} {product} serial {serial}" : $"{ManufacturerId} {product}";
        }
    }
}

/// <summary>Parses EDID blobs as read from /sys/class/drm/*/edid. Never throws on bad input.</summary>
public static class EdidParser
{
    public const int BlockSize = 128;

    private static ReadOnlySpan<byte> Header => [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];

    // (width, height, refresh) for the established timings bits: byte 35 bit 7 .. byte 36 bit 0.
    private static readonly (int W, int H, double Hz)[] s_established =
    [
        (720, 400, 70), (720, 400, 88), (640, 480, 60), (640, 480, 67), (640, 480, 72), (640, 480, 75), (800, 600, 56), (800, 600, 60),
        (800, 600, 72), (800, 600, 75), (832, 624, 75), (1024, 768, 87), (1024, 768, 60), (1024, 768, 70), (1024, 768, 75), (1280, 1024, 75),
    ];

    /// <summary>CEA-861 video identification codes that matter for a meeting room (progressive only).</summary>
    private static readonly Dictionary<int, DisplayMode> s_vics = new()
    {
        [1] = new(640, 480, 60), [2] = new(720, 480, 60), [3] = new(720, 480, 60), [4] = new(1280, 720, 60),
        [16] = new(1920, 1080, 60), [17] = new(720, 576, 50), [18] = new(720, 576, 50), [19] = new(1280, 720, 50),
        [31] = new(1920, 1080, 50), [32] = new(1920, 1080, 24), [33] = new(1920, 1080, 25), [34] = new(1920, 1080, 30),
        [93] = new(3840, 2160, 24), [94] = new(3840, 2160, 25), [95] = new(3840, 2160, 30), [96] = new(3840, 2160, 50),
        [97] = new(3840, 2160, 60), [98] = new(4096, 2160, 24), [99] = new(4096, 2160, 25), [100] = new(4096, 2160, 30),
        [101] = new(4096, 2160, 50), [102] = new(4096, 2160, 60),
    };

    /// <summary>Parses an EDID; false with a reason when the base block is unusable.</summary>
    public static bool TryParse(ReadOnlySpan<byte> edid, out EdidInfo? info, out string error)
    {
        info = null;
        if (edid.Length < BlockSize)
        {
            error = $"EDID too short ({edid.Length} bytes, need {BlockSize})";
            return false;
        }

        if (!edid[..8].SequenceEqual(Header))
        {
            error = "EDID header missing";
            return false;
        }

        if (!ChecksumOk(edid[..BlockSize]))
        {
            error = "EDID base block checksum mismatch";
            return false;
        }

        var warnings = new List<string>();
        var modes = new List<DisplayMode>();
        DisplayMode? preferred = null;

        var m = (edid[8] << 8) | edid[9];
        var manufacturer = DecodeManufacturer(m);
        var productCode = (ushort)(edid[10] | (edid[11] << 8));
        var serial = (uint)(edid[12] | (edid[13] << 8) | (edid[14] << 16) | (edid[15] << 24));
        var week = edid[16];
        var year = edid[17] == 0 ? 0 : 1990 + edid[17];
        var version = $"{edid[18]}.{edid[19]}";
        string serialText = "", productName = "";

        for (var d = 0; d < 4; d++)
        {
            var desc = edid.Slice(54 + (d * 18), 18);
            if (desc[0] != 0 || desc[1] != 0)
            {
                if (TryDetailedTiming(desc, out var mode))
                {
                    preferred ??= mode;
                    AddMode(modes, mode);
                }

                continue;
            }

            switch (desc[3])
            {
                case 0xFF:
                    serialText = DescriptorText(desc);
                    break;
                case 0xFC:
                    productName = DescriptorText(desc);
                    break;
                default:
                    break;
            }
        }

        for (var bit = 0; bit < 16; bit++)
        {
            var b = edid[35 + (bit / 8)];
            if ((b & (0x80 >> (bit % 8))) != 0)
            {
                var (w, h, hz) = s_established[bit];
                AddMode(modes, new DisplayMode(w, h, hz));
            }
        }

        for (var i = 0; i < 8; i++)
        {
            var b1 = edid[38 + (i * 2)];
            var b2 = edid[39 + (i * 2)];
            if ((b1 == 0x01 && b2 == 0x01) || b1 == 0)
            {
                continue;
            }

            var w = (b1 + 31) * 8;
            var h = (b2 >> 6) switch
            {
                0 => edid[18] == 1 && edid[19] < 3 ? w : w * 10 / 16,
                1 => w * 3 / 4,
                2 => w * 4 / 5,
                _ => w * 9 / 16,
            };
            AddMode(modes, new DisplayMode(w, h, (b2 & 0x3F) + 60));
        }

        var extensions = edid[126];
        var ceaCount = 0;
        var basicAudio = false;
        ushort? physical = null;
        for (var e = 1; e <= extensions; e++)
        {
            if (edid.Length < (e + 1) * BlockSize)
            {
                warnings.Add($"EDID announces {extensions} extension blocks but holds {(edid.Length / BlockSize) - 1}");
                break;
            }

            var block = edid.Slice(e * BlockSize, BlockSize);
            if (!ChecksumOk(block))
            {
                warnings.Add($"extension block {e} checksum mismatch, ignored");
                continue;
            }

            if (block[0] != 0x02)
            {
                continue;
            }

            ceaCount++;
            ParseCea(block, modes, ref preferred, ref basicAudio, ref physical, warnings, e);
        }

        info = new EdidInfo(manufacturer, productCode, serial, serialText, productName, year, week, version,
            preferred, modes, ceaCount, basicAudio, physical, warnings);
        error = "";
        return true;
    }

    public static bool ChecksumOk(ReadOnlySpan<byte> block)
    {
        byte sum = 0;
        foreach (var b in block)
        {
            sum += b;
        }

        return sum == 0;
    }

    private static void ParseCea(ReadOnlySpan<byte> block, List<DisplayMode> modes, ref DisplayMode? preferred,
        ref bool basicAudio, ref ushort? physical, List<string> warnings, int index)
    {
        var dtdOffset = block[2];
        if (block[1] >= 2)
        {
            basicAudio |= (block[3] & 0x40) != 0;
        }

        if (dtdOffset != 0 && (dtdOffset < 4 || dtdOffset > 127))
        {
            warnings.Add($"CEA block {index}: bad detailed-timing offset {dtdOffset}");
            return;
        }

        // Data block collection from byte 4 up to the detailed timings (revision 3+).
        var end = dtdOffset == 0 ? 4 : dtdOffset;
        var p = 4;
        while (block[1] >= 3 && p < end)
        {
            var tag = block[p] >> 5;
            var len = block[p] & 0x1F;
            if (p + 1 + len > end)
            {
                warnings.Add($"CEA block {index}: data block at {p} overruns the collection");
                break;
            }

            var payload = block.Slice(p + 1, len);
            if (tag == 2)
            {
                foreach (var svd in payload)
                {
                    // CEA-861-F: 129..192 carry a native flag on VIC 1..64; 193..253 are eight-bit VICs.
                    var vic = svd is >= 129 and <= 192 ? svd & 0x7F : svd;

                    if (s_vics.TryGetValue(vic, out var mode))
                    {
                        AddMode(modes, mode);
                    }
                }
            }
            else if (tag == 3 && len >= 5 && payload[0] == 0x03 && payload[1] == 0x0C && payload[2] == 0x00)
            {
                physical = (ushort)((payload[3] << 8) | payload[4]);
            }

            p += 1 + len;
        }

        if (dtdOffset == 0)
        {
            return;
        }

        for (var d = dtdOffset; d + 18 <= 127; d += 18)
        {
            var desc = block.Slice(d, 18);
            if (desc[0] == 0 && desc[1] == 0)
            {
                break;
            }

            if (TryDetailedTiming(desc, out var mode))
            {
                preferred ??= mode;
                AddMode(modes, mode);
            }
        }
    }

    private static bool TryDetailedTiming(ReadOnlySpan<byte> d, out DisplayMode mode)
    {
        mode = default;
        var clock = (d[0] | (d[1] << 8)) * 10_000L;
        var hActive = d[2] | ((d[4] & 0xF0) << 4);
        var hBlank = d[3] | ((d[4] & 0x0F) << 8);
        var vActive = d[5] | ((d[7] & 0xF0) << 4);
        var vBlank = d[6] | ((d[7] & 0x0F) << 8);
        var interlaced = (d[17] & 0x80) != 0;
        var total = (long)(hActive + hBlank) * (vActive + vBlank);
        if (clock == 0 || hActive == 0 || vActive == 0 || total == 0)
        {
            return false;
        }

        var hz = Math.Round((double)clock / total * (interlaced ? 2 : 1), 2);
        mode = new DisplayMode(hActive, interlaced ? vActive * 2 : vActive, hz);
        return true;
    }

    private static string DescriptorText(ReadOnlySpan<byte> desc)
    {
        var text = desc.Slice(5, 13);
        var nl = text.IndexOf((byte)0x0A);
        if (nl >= 0)
        {
            text = text[..nl];
        }

        var sb = new StringBuilder(text.Length);
        foreach (var b in text)
        {
            sb.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        }

        return sb.ToString().Trim();
    }

    private static string DecodeManufacturer(int m)
    {
        Span<char> c = stackalloc char[3];
        for (var i = 0; i < 3; i++)
        {
            var v = (m >> (10 - (5 * i))) & 0x1F;
            c[i] = v is >= 1 and <= 26 ? (char)('A' + v - 1) : '?';
        }

        return new string(c);
    }

    private static void AddMode(List<DisplayMode> modes, DisplayMode mode)
    {
        foreach (var existing in modes)
        {
            if (existing.Width == mode.Width && existing.Height == mode.Height && Math.Abs(existing.RefreshHz - mode.RefreshHz) < 0.5)
            {
                return;
            }
        }

        modes.Add(mode);
    }
}
