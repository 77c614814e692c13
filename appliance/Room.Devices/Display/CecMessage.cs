namespace Room.Devices.Display;

/// <summary>CEC opcodes the display driver sends or understands (HDMI 1.4b CEC, table 8 onwards).</summary>
public static class CecOpcode
{
    public const byte FeatureAbort = 0x00;
    public const byte ImageViewOn = 0x04;
    public const byte TextViewOn = 0x0D;
    public const byte Standby = 0x36;
    public const byte ActiveSource = 0x82;
    public const byte GivePhysicalAddress = 0x83;
    public const byte ReportPhysicalAddress = 0x84;
    public const byte RequestActiveSource = 0x85;
    public const byte SetStreamPath = 0x86;
    public const byte DeviceVendorId = 0x87;
    public const byte GiveDevicePowerStatus = 0x8F;
    public const byte ReportPowerStatus = 0x90;
    public const byte InactiveSource = 0x9D;
}

/// <summary>A CEC frame of up to 16 bytes: header (initiator, destination), optional opcode and operands.</summary>
public readonly struct CecMessage
{
    public const byte Broadcast = 0xF;
    public const byte Tv = 0x0;

    private readonly byte[] _bytes;

    private CecMessage(byte[] bytes) => _bytes = bytes;

    public byte Initiator => (byte)(_bytes[0] >> 4);

    public byte Destination => (byte)(_bytes[0] & 0xF);

    /// <summary>A header-only frame is a poll (used to allocate logical addresses).</summary>
    public bool IsPoll => _bytes.Length == 1;

    public byte Opcode => _bytes.Length > 1 ? _bytes[1] : (byte)0;

    public ReadOnlySpan<byte> Operands => _bytes.Length > 2 ? _bytes.AsSpan(2) : [];

    public ReadOnlySpan<byte> Bytes => _bytes;

    public static CecMessage Create(byte initiator, byte destination, byte opcode, params ReadOnlySpan<byte> operands)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(initiator, (byte)15);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(destination, (byte)15);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(operands.Length, 14);
        var b = new byte[2 + operands.Length];
        b[0] = (byte)((initiator << 4) | destination);
        b[1] = opcode;
        operands.CopyTo(b.AsSpan(2));
        return new CecMessage(b);
    }

    /// <summary>Parses a received frame; false for empty or over-long input.</summary>
    public static bool TryParse(ReadOnlySpan<byte> frame, out CecMessage message)
    {
        message = default;
        if (frame.IsEmpty || frame.Length > 16)
        {
            return false;
        }

        message = new CecMessage(frame.ToArray());
        return true;
    }

    /// <summary>Report Power Status [power status]: 0 on, 1 standby, 2 standby→on, 3 on→standby.</summary>
    public static bool TryGetPowerStatus(in CecMessage message, out DisplayPower power)
    {
        power = DisplayPower.Unknown;
        if (message._bytes is null || message.Opcode != CecOpcode.ReportPowerStatus || message.Operands.Length != 1)
        {
            return false;
        }

        power = message.Operands[0] switch
        {
            0 => DisplayPower.On,
            1 => DisplayPower.Standby,
            2 => DisplayPower.TransitioningToOn,
            3 => DisplayPower.TransitioningToStandby,
            _ => DisplayPower.Unknown,
        };
        return power != DisplayPower.Unknown;
    }

    /// <summary>Physical address a.b.c.d as text.</summary>
    public static string FormatPhysicalAddress(ushort pa) => $"{pa >> 12}.{(pa >> 8) & 0xF}.{(pa >> 4) & 0xF}.{pa & 0xF}";

    public override string ToString() => _bytes is null ? "" : Convert.ToHexString(_bytes);
}
