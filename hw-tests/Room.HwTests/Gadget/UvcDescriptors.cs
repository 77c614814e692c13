namespace Room.HwTests.Gadget;

/// <summary>USB descriptors of the lab's PTZ camera: a UVC 1.1 device, one YUYV 320x240 format, bulk streaming.</summary>
public static class UvcDescriptors
{
    public const byte CameraTerminalId = 1;
    public const byte OutputTerminalId = 2;
    public const byte StreamingEndpoint = 0x81;
    public const int FrameIntervalIn100ns = 1_000_000; // 10 fps: what TCG can carry

    // Camera terminal bmControls: AE mode (D1), exposure absolute (D3), focus absolute (D5),
    // zoom absolute (D9), pan/tilt absolute (D11).
    public const int CameraControls = (1 << 1) | (1 << 3) | (1 << 5) | (1 << 9) | (1 << 11);

    public static byte[] Device() =>
    [
        18, 1, 0x00, 0x02, // bcdUSB 2.00
        0xEF, 0x02, 0x01, 64, // misc class with IAD, ep0 64 bytes
        0x09, 0x12, 0x01, 0x00, // idVendor 0x1209 (pid.codes), idProduct 0x0001 (test)
        0x00, 0x01, 1, 2, 3, 1,
    ];

    /// <summary>The whole configuration (interfaces, class-specific descriptors, endpoint) for one speed.</summary>
    public static byte[] Configuration(bool highSpeed)
    {
        var vcClass = Concat(VcHeader(0), CameraTerminal(), OutputTerminal());
        var vcLength = vcClass.Length;
        vcClass = Concat(VcHeader(vcLength), CameraTerminal(), OutputTerminal());

        var vsClass = Concat(VsInputHeader(0), FormatYuyv(), FrameYuyv());
        vsClass = Concat(VsInputHeader(vsClass.Length), FormatYuyv(), FrameYuyv());

        byte[] iad = [8, 0x0B, 0, 2, 0x0E, 0x03, 0x00, 0];
        byte[] vcIntf = [9, 4, 0, 0, 0, 0x0E, 0x01, 0x00, 0];
        byte[] vsIntf = [9, 4, 1, 0, 1, 0x0E, 0x02, 0x00, 0];
        var body = Concat(iad, vcIntf, vcClass, vsIntf, vsClass, Endpoint(highSpeed));
        var total = 9 + body.Length;
        byte[] config = [9, 2, (byte)total, (byte)(total >> 8), 2, 1, 0, 0xC0, 50];
        return Concat(config, body);
    }

    public static byte[] Endpoint(bool highSpeed)
    {
        var mps = highSpeed ? 512 : 64;
        return [7, 5, StreamingEndpoint, 0x02, (byte)mps, (byte)(mps >> 8), 0];
    }

    private static byte[] VcHeader(int totalLength) =>
    [
        13, 0x24, 0x01, 0x10, 0x01, (byte)totalLength, (byte)(totalLength >> 8),
        0x00, 0x6C, 0xDC, 0x02, // dwClockFrequency 48 MHz
        1, 1, // one streaming interface: 1
    ];

    private static byte[] CameraTerminal() =>
    [
        18, 0x24, 0x02, CameraTerminalId, 0x01, 0x02, 0, 0,
        0, 0, 0, 0, 0, 0, // focal lengths
        3, CameraControls & 0xFF, (CameraControls >> 8) & 0xFF, (CameraControls >> 16) & 0xFF,
    ];

    private static byte[] OutputTerminal() => [9, 0x24, 0x03, OutputTerminalId, 0x01, 0x01, 0, CameraTerminalId, 0];

    private static byte[] VsInputHeader(int totalLength) =>
    [
        14, 0x24, 0x01, 1, (byte)totalLength, (byte)(totalLength >> 8), StreamingEndpoint,
        0, OutputTerminalId, 0, 0, 0, 1, 0,
    ];

    private static byte[] FormatYuyv() =>
    [
        27, 0x24, 0x04, 1, 1,
        (byte)'Y', (byte)'U', (byte)'Y', (byte)'2', 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        16, 1, 0, 0, 0, 0,
    ];

    private static byte[] FrameYuyv()
    {
        const int w = FramePattern.Width, h = FramePattern.Height, size = FramePattern.FrameBytes;
        const int bitrate = size * 8 * 10;
        return
        [
            30, 0x24, 0x05, 1, 0,
            w & 0xFF, w >> 8, h & 0xFF, h >> 8,
            .. Le32(bitrate), .. Le32(bitrate), .. Le32(size), .. Le32(FrameIntervalIn100ns),
            1, .. Le32(FrameIntervalIn100ns),
        ];
    }

    public static byte[] Le32(int v) => [(byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24)];

    private static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        var at = 0;
        foreach (var p in parts)
        {
            p.CopyTo(all, at);
            at += p.Length;
        }

        return all;
    }
}
