using System.Buffers.Binary;

namespace Room.Devices.Visca;

/// <summary>Payload types of Sony's VISCA-over-IP header.</summary>
public enum ViscaPayloadType : ushort
{
    Command = 0x0100,
    Inquiry = 0x0110,
    Reply = 0x0111,
    DeviceSetting = 0x0120,
    Control = 0x0200,
    ControlReply = 0x0201,
}

public enum ViscaReplyKind
{
    Ack,
    Completion,
    Error,
}

/// <summary>A parsed VISCA reply: ACK (90 4y FF), completion (90 5y [data] FF) or error (90 6y ee FF).</summary>
public readonly record struct ViscaReply(ViscaReplyKind Kind, int Socket, byte ErrorCode, ReadOnlyMemory<byte> Data)
{
    public string ErrorText => ErrorCode switch
    {
        0x01 => "message length error",
        0x02 => "syntax error",
        0x03 => "command buffer full",
        0x04 => "command cancelled",
        0x05 => "no socket",
        0x41 => "command not executable",
        _ => $"error 0x{ErrorCode:x2}",
    };
}

/// <summary>Encoding and parsing of VISCA-over-IP datagrams (8-byte header + VISCA packet). Parsers never throw.</summary>
public static class ViscaProtocol
{
    public const int DefaultPort = 52381;
    public const int HeaderSize = 8;

    /// <summary>Writes header + payload into <paramref name="destination"/>; returns the datagram length.</summary>
    public static int Write(Span<byte> destination, ViscaPayloadType type, uint sequence, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], sequence);
        payload.CopyTo(destination[HeaderSize..]);
        return HeaderSize + payload.Length;
    }

    /// <summary>Splits a datagram into header fields and payload; false when short or the length field lies.</summary>
    public static bool TryParseDatagram(ReadOnlySpan<byte> datagram, out ViscaPayloadType type, out uint sequence, out ReadOnlySpan<byte> payload)
    {
        type = default;
        sequence = 0;
        payload = default;
        if (datagram.Length < HeaderSize + 1)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (length == 0 || length > 16 || HeaderSize + length != datagram.Length)
        {
            return false;
        }

        type = (ViscaPayloadType)BinaryPrimitives.ReadUInt16BigEndian(datagram);
        sequence = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]);
        payload = datagram[HeaderSize..];
        return true;
    }

    /// <summary>Parses a VISCA reply packet (address byte 0x90..0xF0, terminator 0xFF).</summary>
    public static bool TryParseReply(ReadOnlyMemory<byte> packet, out ViscaReply reply)
    {
        reply = default;
        var p = packet.Span;
        if (p.Length < 3 || p[^1] != 0xFF || (p[0] & 0x8F) != 0x80 || p[0] == 0x80 || p[..^1].Contains((byte)0xFF))
        {
            return false;
        }

        var socket = p[1] & 0x0F;
        switch (p[1] & 0xF0)
        {
            case 0x40 when p.Length == 3:
                reply = new ViscaReply(ViscaReplyKind.Ack, socket, 0, default);
                return true;
            case 0x50:
                reply = new ViscaReply(ViscaReplyKind.Completion, socket, 0, packet[2..^1]);
                return true;
            case 0x60 when p.Length == 4:
                reply = new ViscaReply(ViscaReplyKind.Error, socket, p[2], default);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reads <paramref name="count"/> nibble bytes (0p 0q ...) as a big-endian value; false if any byte exceeds 0x0F.</summary>
    public static bool TryReadNibbles(ReadOnlySpan<byte> data, int count, out int value)
    {
        value = 0;
        if (data.Length < count)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (data[i] > 0x0F)
            {
                return false;
            }

            value = (value << 4) | data[i];
        }

        return true;
    }

    public static void WriteNibbles(Span<byte> destination, int value, int count)
    {
        for (var i = 0; i < count; i++)
        {
            destination[i] = (byte)((value >> (4 * (count - 1 - i))) & 0x0F);
        }
    }

    /// <summary>Sign-extends a 16-bit position (VISCA pan/tilt are two's complement in four nibbles).</summary>
    public static int ToSigned16(int value) => (short)(ushort)value;
}
