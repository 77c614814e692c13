using System.Runtime.InteropServices;

namespace Room.Devices.Interop;

/// <summary>Linux CEC API (include/uapi/linux/cec.h): the structs and ioctls the display driver uses.</summary>
internal static unsafe class Cec
{
    public const uint ModeInitiator = 0x1;
    public const uint ModeFollower = 0x10;

    public const byte TxStatusOk = 0x01;
    public const byte TxStatusArbLost = 0x02;
    public const byte TxStatusNack = 0x04;
    public const byte TxStatusLowDrive = 0x08;
    public const byte TxStatusError = 0x10;
    public const byte TxStatusMaxRetries = 0x20;
    public const byte TxStatusAborted = 0x40;
    public const byte TxStatusTimeout = 0x80;

    public const byte RxStatusOk = 0x01;
    public const byte RxStatusTimeout = 0x02;
    public const byte RxStatusFeatureAbort = 0x04;

    public const byte LogAddrTypePlayback = 3;
    public const byte PrimDevTypePlayback = 4;
    public const byte AllDevTypePlayback = 0x10;
    public const byte CecVersion14 = 5;
    public const uint VendorIdNone = 0xffffffff;

    [StructLayout(LayoutKind.Sequential)]
    public struct CecMsg
    {
        public ulong TxTs;
        public ulong RxTs;
        public uint Len;
        public uint Timeout;
        public uint Sequence;
        public uint Flags;
        public fixed byte Msg[16];
        public byte Reply;
        public byte RxStatus;
        public byte TxStatus;
        public byte TxArbLostCnt;
        public byte TxNackCnt;
        public byte TxLowDriveCnt;
        public byte TxErrorCnt;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CecLogAddrs
    {
        public fixed byte LogAddr[4];
        public ushort LogAddrMask;
        public byte CecVersion;
        public byte NumLogAddrs;
        public uint VendorId;
        public uint Flags;
        public fixed byte OsdName[15];
        public fixed byte PrimaryDeviceType[4];
        public fixed byte LogAddrType[4];
        public fixed byte AllDeviceTypes[4];
        public fixed byte Features[48];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CecCaps
    {
        public fixed byte Driver[32];
        public fixed byte Name[32];
        public uint AvailableLogAddrs;
        public uint Capabilities;
        public uint Version;
    }

    public static readonly nuint AdapGCaps = Libc.IoWR('a', 0, sizeof(CecCaps));
    public static readonly nuint AdapGPhysAddr = Libc.IoR('a', 1, sizeof(ushort));
    public static readonly nuint AdapGLogAddrs = Libc.IoR('a', 3, sizeof(CecLogAddrs));
    public static readonly nuint AdapSLogAddrs = Libc.IoWR('a', 4, sizeof(CecLogAddrs));
    public static readonly nuint Transmit = Libc.IoWR('a', 5, sizeof(CecMsg));
    public static readonly nuint Receive = Libc.IoWR('a', 6, sizeof(CecMsg));
    public static readonly nuint SMode = Libc.IoW('a', 9, sizeof(uint));
}
