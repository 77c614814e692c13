using System.Buffers.Binary;

namespace Room.HwTests.Gadget;

/// <summary>One event of usbmon's binary interface: a URB submitted (S), completed (C) or failed to submit (E).</summary>
/// <param name="Setup">A control submission's SETUP packet, when usbmon captured it.</param>
/// <param name="Data">The data usbmon captured, whole (an OUT transfer's at submission, an IN's at completion), or null
/// when it captured none or only part of it.</param>
public sealed record UsbMonEvent(ulong Id, char Type, byte TransferType, byte Endpoint, byte Device, int Status, SetupPacket? Setup, byte[]? Data)
{
    public const byte Control = 2;

    public bool IsControlOnEndpointZero => TransferType == Control && (Endpoint & 0x7F) == 0;
}

/// <summary>
/// struct mon_bin_hdr (drivers/usb/mon/mon_bin.c; Documentation/usb/usbmon.rst, "binary interface"), 64 bytes as
/// MON_IOCX_GETX delivers it, followed by the captured data. Unlike the text interface (at most 32 data bytes an event)
/// it carries a whole control data stage, a 34-byte UVC probe included.
/// </summary>
public static class MonBinHeader
{
    public const int Size = 64;

    /// <summary>Parses one event: <paramref name="header"/> as the kernel filled it, <paramref name="data"/> the bytes
    /// delivered with it. A malformed event gives false and the reason; nothing is taken from it.</summary>
    public static bool TryParse(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data, out UsbMonEvent? ev, out string error)
    {
        ev = null;
        error = "";
        if (header.Length < Size)
        {
            error = $"header of {header.Length} bytes, not {Size}";
            return false;
        }

        var type = (char)header[8];
        var transfer = header[9];
        var lenUrb = BinaryPrimitives.ReadUInt32LittleEndian(header[32..]);
        var lenCap = BinaryPrimitives.ReadUInt32LittleEndian(header[36..]);
        if (type is not ('S' or 'C' or 'E'))
        {
            error = $"event type 0x{header[8]:x2}";
        }
        else if (transfer > 3)
        {
            error = $"transfer type {transfer}";
        }
        else if (lenCap > lenUrb && transfer != 0)
        {
            error = $"{lenCap} bytes captured of a {lenUrb}-byte transfer";
        }
        else if (lenCap > data.Length)
        {
            error = $"{lenCap} bytes captured, {data.Length} delivered";
        }

        if (error.Length > 0)
        {
            return false;
        }

        // flag_setup and flag_data are 0 when the SETUP packet and the data were captured (else a reason character).
        var setup = transfer == UsbMonEvent.Control && type == 'S' && header[14] == 0 ? SetupPacket.Parse(header.Slice(40, 8)) : (SetupPacket?)null;
        var whole = header[15] == 0 && lenCap > 0 && lenCap == lenUrb;
        ev = new UsbMonEvent(BinaryPrimitives.ReadUInt64LittleEndian(header), type, transfer, header[10], header[11],
            BinaryPrimitives.ReadInt32LittleEndian(header[28..]), setup, whole ? data[..(int)lenCap].ToArray() : null);
        return true;
    }
}

/// <summary>
/// The control requests on endpoint 0 of the devices behind a host controller (its root hub, device 1, left out), as
/// usbmon's events tell them: which one the host waits on, and each OUT request with a data stage once the host has
/// finished it, which is when a real device would have taken its data.
/// </summary>
public sealed class UsbMonRequests
{
    private const int MaxPending = 32;
    private const byte RootHub = 1;

    private readonly Dictionary<ulong, (SetupPacket Setup, byte[]? Data)> _pending = [];
    private readonly List<ulong> _order = [];

    /// <summary>The oldest request the host still waits on.</summary>
    public SetupPacket? Waiting => _order.Count > 0 ? _pending[_order[0]].Setup : null;

    /// <summary>Takes one event. Returns the OUT request (with its whole data stage) that the host has just finished
    /// successfully, or null.</summary>
    public (SetupPacket Setup, byte[] Data)? Add(UsbMonEvent ev)
    {
        if (!ev.IsControlOnEndpointZero || ev.Device == RootHub)
        {
            return null;
        }

        if (ev.Type == 'S')
        {
            if (ev.Setup is not { } setup)
            {
                return null;
            }

            _pending[ev.Id] = (setup, !setup.IsIn && ev.Data?.Length == setup.Length ? ev.Data : null);
            _order.Remove(ev.Id);
            _order.Add(ev.Id);
            if (_order.Count > MaxPending)
            {
                _pending.Remove(_order[0]); // its completion was never seen (usbmon dropped it): forget the oldest
                _order.RemoveAt(0);
            }

            return null;
        }

        if (!_pending.Remove(ev.Id, out var done))
        {
            return null;
        }

        _order.Remove(ev.Id);
        return ev.Type == 'C' && ev.Status == 0 && done.Setup.Length > 0 && done.Data is { } data ? (done.Setup, data) : null;
    }
}
