namespace Room.Devices.Tests;

/// <summary>Builds EDID blobs with correct checksums for tests.</summary>
internal static class EdidBuilder
{
    public static byte[] Base(string manufacturer = "GSM", ushort product = 0x5B7F, uint serial = 1234,
        string name = "27UL850", string serialText = "", int extensions = 0,
        (int W, int H, int HBlank, int VBlank, int ClockKHz)? preferred = null)
    {
        var e = new byte[128];
        byte[] header = [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];
        header.CopyTo(e, 0);
        var m = ((manufacturer[0] - 'A' + 1) << 10) | ((manufacturer[1] - 'A' + 1) << 5) | (manufacturer[2] - 'A' + 1);
        e[8] = (byte)(m >> 8);
        e[9] = (byte)m;
        e[10] = (byte)product;
        e[11] = (byte)(product >> 8);
        BitConverter.TryWriteBytes(e.AsSpan(12), serial);
        e[16] = 12;
        e[17] = 30; // 2020
        e[18] = 1;
        e[19] = 4;
        e[35] = 0x20; // 640x480@60
        for (var i = 38; i < 54; i++)
        {
            e[i] = 0x01;
        }

        e[38] = (1920 / 8) - 31; // standard timing 1920x1080@60 (16:9)
        e[39] = 0xC0;
        var p = preferred ?? (1920, 1080, 280, 45, 148500);
        Dtd(p.W, p.H, p.HBlank, p.VBlank, p.ClockKHz).CopyTo(e, 54);
        Text(0xFC, name).CopyTo(e, 72);
        if (serialText.Length > 0)
        {
            Text(0xFF, serialText).CopyTo(e, 90);
        }
        else
        {
            Text(0x10, "").CopyTo(e, 90);
        }

        Text(0x10, "").CopyTo(e, 108);
        e[126] = (byte)extensions;
        Fix(e);
        return e;
    }

    /// <summary>A CEA-861 rev 3 block: video data block with the VICs, HDMI VSDB with the physical address, and DTDs.</summary>
    public static byte[] Cea(byte[] vics, ushort physicalAddress = 0x1000, bool basicAudio = true,
        params (int W, int H, int HBlank, int VBlank, int ClockKHz)[] dtds)
    {
        var b = new byte[128];
        b[0] = 0x02;
        b[1] = 0x03;
        b[3] = (byte)(basicAudio ? 0x40 : 0);
        var p = 4;
        b[p++] = (byte)((2 << 5) | vics.Length);
        vics.CopyTo(b, p);
        p += vics.Length;
        b[p++] = (3 << 5) | 5;
        b[p++] = 0x03;
        b[p++] = 0x0C;
        b[p++] = 0x00;
        b[p++] = (byte)(physicalAddress >> 8);
        b[p++] = (byte)physicalAddress;
        b[2] = (byte)p;
        foreach (var d in dtds)
        {
            Dtd(d.W, d.H, d.HBlank, d.VBlank, d.ClockKHz).CopyTo(b, p);
            p += 18;
        }

        Fix(b);
        return b;
    }

    public static byte[] Concat(params byte[][] blocks) => blocks.SelectMany(x => x).ToArray();

    public static void Fix(byte[] block, int offset = 0)
    {
        byte sum = 0;
        for (var i = 0; i < 127; i++)
        {
            sum += block[offset + i];
        }

        block[offset + 127] = (byte)(256 - sum);
    }

    private static byte[] Dtd(int w, int h, int hBlank, int vBlank, int clockKHz)
    {
        var d = new byte[18];
        var clock = clockKHz / 10;
        d[0] = (byte)clock;
        d[1] = (byte)(clock >> 8);
        d[2] = (byte)w;
        d[3] = (byte)hBlank;
        d[4] = (byte)(((w >> 8) << 4) | (hBlank >> 8));
        d[5] = (byte)h;
        d[6] = (byte)vBlank;
        d[7] = (byte)(((h >> 8) << 4) | (vBlank >> 8));
        d[17] = 0x18;
        return d;
    }

    private static byte[] Text(byte tag, string text)
    {
        var d = new byte[18];
        d[3] = tag;
        var t = new byte[13];
        Array.Fill(t, (byte)0x20);
        if (text.Length < 13)
        {
            t[text.Length] = 0x0A;
        }

        for (var i = 0; i < Math.Min(13, text.Length); i++)
        {
            t[i] = (byte)text[i];
        }

        t.CopyTo(d, 5);
        return d;
    }
}
