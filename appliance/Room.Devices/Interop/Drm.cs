using System.Runtime.InteropServices;

namespace Room.Devices.Interop;

/// <summary>
/// The DRM/KMS uapi (include/uapi/drm/drm.h, drm_mode.h) that a dumb-buffer scanout needs: resources, connectors,
/// encoders, planes and their properties, dumb buffers, framebuffers, atomic commits, and the legacy SETCRTC and
/// PAGE_FLIP fallback. Layouts are the 64-bit kernel's (pointers travel as u64 in every struct).
/// </summary>
internal static unsafe class Drm
{
    public const ulong ClientCapUniversalPlanes = 2;
    public const ulong ClientCapAtomic = 3;
    public const ulong CapDumbBuffer = 0x1;

    public const uint ObjectCrtc = 0xcccccccc;
    public const uint ObjectConnector = 0xc0c0c0c0;
    public const uint ObjectPlane = 0xeeeeeeee;

    public const uint Connected = 1;
    public const uint Disconnected = 2;

    public const uint ModeTypePreferred = 1 << 3;

    public const uint PageFlipEvent = 0x01;
    public const uint AtomicTestOnly = 0x0100;
    public const uint AtomicNonblock = 0x0200;
    public const uint AtomicAllowModeset = 0x0400;

    public const uint EventFlipComplete = 0x02;

    public const ulong PlaneTypePrimary = 1;

    /// <summary>DRM_FORMAT_XRGB8888 ('XR24'): B, G, R, X bytes in memory.</summary>
    public const uint FormatXrgb8888 = 0x34325258;

    public static readonly nuint GetCap = Libc.IoWR('d', 0x0c, sizeof(GetCapArg));
    public static readonly nuint SetClientCap = Libc.IoW('d', 0x0d, sizeof(GetCapArg));
    public static readonly nuint ModeGetResources = Libc.IoWR('d', 0xA0, sizeof(CardRes));
    public static readonly nuint ModeSetCrtc = Libc.IoWR('d', 0xA2, sizeof(CrtcArg));
    public static readonly nuint ModeGetEncoder = Libc.IoWR('d', 0xA6, sizeof(GetEncoderArg));
    public static readonly nuint ModeGetConnector = Libc.IoWR('d', 0xA7, sizeof(GetConnectorArg));
    public static readonly nuint ModeGetProperty = Libc.IoWR('d', 0xAA, sizeof(GetPropertyArg));
    public static readonly nuint ModeRmFb = Libc.IoWR('d', 0xAF, sizeof(uint));
    public static readonly nuint ModePageFlip = Libc.IoWR('d', 0xB0, sizeof(PageFlipArg));
    public static readonly nuint ModeCreateDumb = Libc.IoWR('d', 0xB2, sizeof(CreateDumbArg));
    public static readonly nuint ModeMapDumb = Libc.IoWR('d', 0xB3, sizeof(MapDumbArg));
    public static readonly nuint ModeDestroyDumb = Libc.IoWR('d', 0xB4, sizeof(uint));
    public static readonly nuint ModeGetPlaneResources = Libc.IoWR('d', 0xB5, sizeof(GetPlaneResArg));
    public static readonly nuint ModeGetPlane = Libc.IoWR('d', 0xB6, sizeof(GetPlaneArg));
    public static readonly nuint ModeAddFb2 = Libc.IoWR('d', 0xB8, sizeof(FbCmd2));
    public static readonly nuint ModeObjGetProperties = Libc.IoWR('d', 0xB9, sizeof(ObjGetPropertiesArg));
    public static readonly nuint ModeAtomic = Libc.IoWR('d', 0xBC, sizeof(AtomicArg));
    public static readonly nuint ModeCreatePropBlob = Libc.IoWR('d', 0xBD, sizeof(CreateBlobArg));
    public static readonly nuint ModeDestroyPropBlob = Libc.IoWR('d', 0xBE, sizeof(uint));

    [StructLayout(LayoutKind.Sequential)]
    public struct GetCapArg
    {
        public ulong Capability;
        public ulong Value;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CardRes
    {
        public ulong FbIdPtr;
        public ulong CrtcIdPtr;
        public ulong ConnectorIdPtr;
        public ulong EncoderIdPtr;
        public uint CountFbs;
        public uint CountCrtcs;
        public uint CountConnectors;
        public uint CountEncoders;
        public uint MinWidth;
        public uint MaxWidth;
        public uint MinHeight;
        public uint MaxHeight;
    }

    /// <summary>struct drm_mode_modeinfo (68 bytes): a display timing.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ModeInfo
    {
        public uint Clock;
        public ushort HDisplay;
        public ushort HSyncStart;
        public ushort HSyncEnd;
        public ushort HTotal;
        public ushort HSkew;
        public ushort VDisplay;
        public ushort VSyncStart;
        public ushort VSyncEnd;
        public ushort VTotal;
        public ushort VScan;
        public uint VRefresh;
        public uint Flags;
        public uint Type;
        public fixed byte Name[32];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CrtcArg
    {
        public ulong SetConnectorsPtr;
        public uint CountConnectors;
        public uint CrtcId;
        public uint FbId;
        public uint X;
        public uint Y;
        public uint GammaSize;
        public uint ModeValid;
        public ModeInfo Mode;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetEncoderArg
    {
        public uint EncoderId;
        public uint EncoderType;
        public uint CrtcId;
        public uint PossibleCrtcs;
        public uint PossibleClones;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetConnectorArg
    {
        public ulong EncodersPtr;
        public ulong ModesPtr;
        public ulong PropsPtr;
        public ulong PropValuesPtr;
        public uint CountModes;
        public uint CountProps;
        public uint CountEncoders;
        public uint EncoderId;
        public uint ConnectorId;
        public uint ConnectorType;
        public uint ConnectorTypeId;
        public uint Connection;
        public uint MmWidth;
        public uint MmHeight;
        public uint Subpixel;
        public uint Pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetPropertyArg
    {
        public ulong ValuesPtr;
        public ulong EnumBlobPtr;
        public uint PropId;
        public uint Flags;
        public fixed byte Name[32];
        public uint CountValues;
        public uint CountEnumBlobs;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PageFlipArg
    {
        public uint CrtcId;
        public uint FbId;
        public uint Flags;
        public uint Reserved;
        public ulong UserData;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CreateDumbArg
    {
        public uint Height;
        public uint Width;
        public uint Bpp;
        public uint Flags;
        public uint Handle;
        public uint Pitch;
        public ulong Size;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MapDumbArg
    {
        public uint Handle;
        public uint Pad;
        public ulong Offset;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetPlaneResArg
    {
        public ulong PlaneIdPtr;
        public uint CountPlanes;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct GetPlaneArg
    {
        public uint PlaneId;
        public uint CrtcId;
        public uint FbId;
        public uint PossibleCrtcs;
        public uint GammaSize;
        public uint CountFormatTypes;
        public ulong FormatTypePtr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct FbCmd2
    {
        public uint FbId;
        public uint Width;
        public uint Height;
        public uint PixelFormat;
        public uint Flags;
        public fixed uint Handles[4];
        public fixed uint Pitches[4];
        public fixed uint Offsets[4];
        public fixed ulong Modifier[4];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ObjGetPropertiesArg
    {
        public ulong PropsPtr;
        public ulong PropValuesPtr;
        public uint CountProps;
        public uint ObjId;
        public uint ObjType;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct AtomicArg
    {
        public uint Flags;
        public uint CountObjs;
        public ulong ObjsPtr;
        public ulong CountPropsPtr;
        public ulong PropsPtr;
        public ulong PropValuesPtr;
        public ulong Reserved;
        public ulong UserData;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CreateBlobArg
    {
        public ulong Data;
        public uint Length;
        public uint BlobId;
    }

    /// <summary>struct drm_event_vblank: what read() returns for a completed flip.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EventVblank
    {
        public uint Type;
        public uint Length;
        public ulong UserData;
        public uint TvSec;
        public uint TvUsec;
        public uint Sequence;
        public uint CrtcId;
    }

    /// <summary>The kernel's connector type names, as sysfs and modetest spell them ("HDMI-A", "Virtual").</summary>
    public static string ConnectorTypeName(uint type) => type switch
    {
        1 => "VGA",
        2 => "DVI-I",
        3 => "DVI-D",
        4 => "DVI-A",
        5 => "Composite",
        6 => "SVIDEO",
        7 => "LVDS",
        8 => "Component",
        9 => "DIN",
        10 => "DP",
        11 => "HDMI-A",
        12 => "HDMI-B",
        13 => "TV",
        14 => "eDP",
        15 => "Virtual",
        16 => "DSI",
        17 => "DPI",
        18 => "Writeback",
        19 => "SPI",
        20 => "USB",
        _ => "Unknown",
    };

    public static string Text(byte* name, int max)
    {
        var n = 0;
        while (n < max && name[n] != 0)
        {
            n++;
        }

        return System.Text.Encoding.ASCII.GetString(name, n);
    }
}
