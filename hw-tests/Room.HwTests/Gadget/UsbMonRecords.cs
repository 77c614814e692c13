using System.Buffers.Binary;

namespace Room.HwTests.Gadget;

/// <summary>One event of usbmon's binary interface: a URB submitted (S), completed (C) or failed to submit (E).</summary>
/// <param name="Microseconds">When it happened (usbmon's wall-clock timestamp).</param>
/// <param name="Setup">A control submission's SETUP packet, when usbmon captured it.</param>
/// <param name="Data">The data usbmon captured, whole (an OUT transfer's at submission, an IN's at completion), or null
/// when it captured none or only part of it.</param>
public sealed record UsbMonEvent(ulong Id, char Type, byte TransferType, byte Endpoint, byte Device, int Status, long Microseconds, SetupPacket? Setup, byte[]? Data)
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
        var us = (BinaryPrimitives.ReadInt64LittleEndian(header[16..]) * 1_000_000) + BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        ev = new UsbMonEvent(BinaryPrimitives.ReadUInt64LittleEndian(header), type, transfer, header[10], header[11],
            BinaryPrimitives.ReadInt32LittleEndian(header[28..]), us, setup, whole ? data[..(int)lenCap].ToArray() : null);
        return true;
    }
}

/// <summary>A control request the host has finished (or failed to submit), as usbmon saw it.</summary>
/// <param name="Data">An OUT request's whole data stage, if captured.</param>
/// <param name="Status">0, or the negative errno the host got (-ENOENT: it gave up waiting).</param>
/// <param name="WaitedMs">From its submission to its completion.</param>
public sealed record UsbMonCompletion(SetupPacket Setup, byte[]? Data, int Status, long WaitedMs)
{
    /// <summary>An OUT request whose data stage the host finished: a real device has taken its data now.</summary>
    public bool DeliversData => Status == 0 && !Setup.IsIn && Setup.Length > 0 && Data is not null;
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

    private readonly Dictionary<ulong, (SetupPacket Setup, byte[]? Data, long Microseconds)> _pending = [];
    private readonly List<ulong> _order = [];

    /// <summary>The oldest request the host still waits on.</summary>
    public SetupPacket? Waiting => _order.Count > 0 ? _pending[_order[0]].Setup : null;

    /// <summary>Takes one event. Returns the request it finished, or null.</summary>
    public UsbMonCompletion? Add(UsbMonEvent ev)
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

            _pending[ev.Id] = (setup, !setup.IsIn && ev.Data?.Length == setup.Length ? ev.Data : null, ev.Microseconds);
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
        return new UsbMonCompletion(done.Setup, done.Data, ev.Status, (ev.Microseconds - done.Microseconds) / 1000);
    }
}
