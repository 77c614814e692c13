using System.Runtime.InteropServices;

namespace Room.Devices.Interop;

/// <summary>V4L2 (include/uapi/linux/videodev2.h) structs, ioctls and control ids used by the camera driver (64-bit layout).</summary>
internal static unsafe class V4l2
{
    public const uint CapVideoCapture = 0x00000001;
    public const uint CapStreaming = 0x04000000;
    public const uint CapDeviceCaps = 0x80000000;

    public const uint BufTypeVideoCapture = 1;
    public const uint MemoryMmap = 1;
    public const uint FieldAny = 0;
    public const uint FieldNone = 1;

    public const uint FrmSizeTypeDiscrete = 1;
    public const uint FrmSizeTypeContinuous = 2;
    public const uint FrmSizeTypeStepwise = 3;

    public const uint BufFlagError = 0x40;
    public const uint BufFlagTimestampMask = 0xe000;
    public const uint BufFlagTimestampMonotonic = 0x2000;

    public const uint CtrlFlagDisabled = 0x0001;
    public const uint CtrlFlagReadOnly = 0x0004;
    public const uint CtrlFlagInactive = 0x0010;
    public const uint CtrlFlagWriteOnly = 0x0040;

    public const uint CtrlTypeInteger = 1;
    public const uint CtrlTypeBoolean = 2;
    public const uint CtrlTypeMenu = 3;
    public const uint CtrlTypeButton = 4;

    public const uint CidCameraClassBase = 0x009a0900;
    public const uint CidExposureAuto = CidCameraClassBase + 1;
    public const uint CidExposureAbsolute = CidCameraClassBase + 2;
    public const uint CidPanRelative = CidCameraClassBase + 4;
    public const uint CidTiltRelative = CidCameraClassBase + 5;
    public const uint CidPanAbsolute = CidCameraClassBase + 8;
    public const uint CidTiltAbsolute = CidCameraClassBase + 9;
    public const uint CidFocusAbsolute = CidCameraClassBase + 10;
    public const uint CidFocusRelative = CidCameraClassBase + 11;
    public const uint CidFocusAuto = CidCameraClassBase + 12;
    public const uint CidZoomAbsolute = CidCameraClassBase + 13;
    public const uint CidZoomRelative = CidCameraClassBase + 14;
    public const uint CidZoomContinuous = CidCameraClassBase + 15;
    public const uint CidPanSpeed = CidCameraClassBase + 32;
    public const uint CidTiltSpeed = CidCameraClassBase + 33;

    [StructLayout(LayoutKind.Sequential)]
    public struct Capability
    {
        public fixed byte Driver[16];
        public fixed byte Card[32];
        public fixed byte BusInfo[32];
        public uint Version;
        public uint Capabilities;
        public uint DeviceCaps;
        public fixed uint Reserved[3];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct FmtDesc
    {
        public uint Index;
        public uint Type;
        public uint Flags;
        public fixed byte Description[32];
        public uint PixelFormat;
        public uint MbusCode;
        public fixed uint Reserved[3];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct FrmSizeEnum
    {
        public uint Index;
        public uint PixelFormat;
        public uint Type;
        // discrete: width, height; stepwise: min_width, max_width, step_width, min_height, max_height, step_height
        public fixed uint Union[6];
        public fixed uint Reserved[2];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct FrmIvalEnum
    {
        public uint Index;
        public uint PixelFormat;
        public uint Width;
        public uint Height;
        public uint Type;
        // discrete: numerator, denominator; stepwise: min, max, step fractions
        public fixed uint Union[6];
        public fixed uint Reserved[2];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PixFormat
    {
        public uint Width;
        public uint Height;
        public uint PixelFormat;
        public uint Field;
        public uint BytesPerLine;
        public uint SizeImage;
        public uint Colorspace;
        public uint Priv;
        public uint Flags;
        public uint YcbcrEnc;
        public uint Quantization;
        public uint XferFunc;
    }

    [StructLayout(LayoutKind.Explicit, Size = 208)]
    public struct Format
    {
        [FieldOffset(0)]
        public uint Type;

        [FieldOffset(8)]
        public PixFormat Pix;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct RequestBuffers
    {
        public uint Count;
        public uint Type;
        public uint Memory;
        public uint Capabilities;
        public byte Flags;
        public fixed byte Reserved[3];
    }

    [StructLayout(LayoutKind.Explicit, Size = 88)]
    public struct Buffer
    {
        [FieldOffset(0)]
        public uint Index;

        [FieldOffset(4)]
        public uint Type;

        [FieldOffset(8)]
        public uint BytesUsed;

        [FieldOffset(12)]
        public uint Flags;

        [FieldOffset(16)]
        public uint Field;

        [FieldOffset(24)]
        public long TimestampSec;

        [FieldOffset(32)]
        public long TimestampUsec;

        [FieldOffset(56)]
        public uint Sequence;

        [FieldOffset(60)]
        public uint Memory;

        [FieldOffset(64)]
        public uint Offset;

        [FieldOffset(72)]
        public uint Length;
    }

    [StructLayout(LayoutKind.Explicit, Size = 204)]
    public struct StreamParm
    {
        [FieldOffset(0)]
        public uint Type;

        [FieldOffset(4)]
        public uint Capability;

        [FieldOffset(8)]
        public uint CaptureMode;

        [FieldOffset(12)]
        public uint TimePerFrameNumerator;

        [FieldOffset(16)]
        public uint TimePerFrameDenominator;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct QueryExtCtrl
    {
        public uint Id;
        public uint Type;
        public fixed byte Name[32];
        public long Minimum;
        public long Maximum;
        public ulong Step;
        public long DefaultValue;
        public uint Flags;
        public uint ElemSize;
        public uint Elems;
        public uint NrOfDims;
        public fixed uint Dims[4];
        public fixed uint Reserved[32];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct QueryCtrl
    {
        public uint Id;
        public uint Type;
        public fixed byte Name[32];
        public int Minimum;
        public int Maximum;
        public int Step;
        public int DefaultValue;
        public uint Flags;
        public fixed uint Reserved[2];
    }

    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public struct ExtControl
    {
        public uint Id;
        public uint Size;
        public uint Reserved2;
        public long Value64;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ExtControls
    {
        public uint Which;
        public uint Count;
        public uint ErrorIdx;
        public int RequestFd;
        public uint Reserved;
        public ExtControl* Controls;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Control
    {
        public uint Id;
        public int Value;
    }

    public static readonly nuint QueryCap = Libc.IoR('V', 0, sizeof(Capability));
    public static readonly nuint EnumFmt = Libc.IoWR('V', 2, sizeof(FmtDesc));
    public static readonly nuint GFmt = Libc.IoWR('V', 4, sizeof(Format));
    public static readonly nuint SFmt = Libc.IoWR('V', 5, sizeof(Format));
    public static readonly nuint ReqBufs = Libc.IoWR('V', 8, sizeof(RequestBuffers));
    public static readonly nuint QueryBuf = Libc.IoWR('V', 9, sizeof(Buffer));
    public static readonly nuint QBuf = Libc.IoWR('V', 15, sizeof(Buffer));
    public static readonly nuint DqBuf = Libc.IoWR('V', 17, sizeof(Buffer));
    public static readonly nuint StreamOn = Libc.IoW('V', 18, sizeof(int));
    public static readonly nuint StreamOff = Libc.IoW('V', 19, sizeof(int));
    public static readonly nuint GParm = Libc.IoWR('V', 21, sizeof(StreamParm));
    public static readonly nuint SParm = Libc.IoWR('V', 22, sizeof(StreamParm));
    public static readonly nuint GCtrl = Libc.IoWR('V', 27, sizeof(Control));
    public static readonly nuint SCtrl = Libc.IoWR('V', 28, sizeof(Control));
    public static readonly nuint QueryCtrlIoctl = Libc.IoWR('V', 36, sizeof(QueryCtrl));
    public static readonly nuint SExtCtrls = Libc.IoWR('V', 72, sizeof(ExtControls));
    public static readonly nuint EnumFrameSizes = Libc.IoWR('V', 74, sizeof(FrmSizeEnum));
    public static readonly nuint EnumFrameIntervals = Libc.IoWR('V', 75, sizeof(FrmIvalEnum));
    public static readonly nuint QueryExtCtrlIoctl = Libc.IoWR('V', 103, sizeof(QueryExtCtrl));

    public static uint FourCc(string s) => (uint)(s[0] | (s[1] << 8) | (s[2] << 16) | (s[3] << 24));

    public static string FourCcText(uint v) =>
        new([(char)(v & 0xFF), (char)((v >> 8) & 0xFF), (char)((v >> 16) & 0xFF), (char)((v >> 24) & 0xFF)]);

    public static string Text(byte* p, int max)
    {
        var n = 0;
        while (n < max && p[n] != 0)
        {
            n++;
        }

        return System.Text.Encoding.UTF8.GetString(p, n);
    }
}
