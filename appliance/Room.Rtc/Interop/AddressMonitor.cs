using System.Buffers.Binary;
using System.Net;

namespace Room.Rtc.Interop;

public enum AddressChangeKind { Added, Removed }

/// <summary>One local address appearing or going away (RTM_NEWADDR / RTM_DELADDR).</summary>
public readonly record struct AddressChange(AddressChangeKind Kind, int InterfaceIndex, IPAddress Address);

/// <summary>
/// Parses rtnetlink address messages (RFC 3549; linux/rtnetlink.h, linux/if_addr.h): a datagram of nlmsghdr-framed
/// messages, each RTM_NEWADDR or RTM_DELADDR carrying an ifaddrmsg and rtattrs (IFA_LOCAL, IFA_ADDRESS). Other
/// message types are skipped. Bounded and typed: malformed framing stops with an <see cref="RtcError"/>.
/// </summary>
public static class RtNetlink
{
    public const int RtmNewAddr = 20, RtmDelAddr = 21;
    private const int NlmsgDone = 3, NlmsgError = 2;
    private const int HeaderLength = 16, IfAddrMsgLength = 8;
    private const ushort IfaAddress = 1, IfaLocal = 2;
    /// <summary>More changes than this in one datagram are not reported (the kernel sends one per message).</summary>
    public const int MaxChangesPerDatagram = 64;

    /// <summary>Appends the address changes in <paramref name="datagram"/> to <paramref name="changes"/>.</summary>
    public static RtcError TryParse(ReadOnlySpan<byte> datagram, List<AddressChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        int start = changes.Count;
        var rest = datagram;
        while (rest.Length > 0)
        {
            if (rest.Length < HeaderLength) return RtcError.Truncated;
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(rest);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(rest[4..]);
            if (length < HeaderLength || length > (uint)rest.Length) return RtcError.BadLength;
            var message = rest[HeaderLength..(int)length];
            rest = rest[(int)Math.Min((uint)rest.Length, Align(length))..];
            if (type is NlmsgDone or NlmsgError) break;
            if (type is not (RtmNewAddr or RtmDelAddr)) continue;
            if (message.Length < IfAddrMsgLength) return RtcError.Truncated;
            byte family = message[0];
            int index = (int)BinaryPrimitives.ReadUInt32LittleEndian(message[4..]);
            int addressLength = family switch { 2 => 4, 10 => 16, _ => 0 };
            if (addressLength == 0) continue; // not IPv4/IPv6
            ReadOnlySpan<byte> local = default, address = default;
            var attributes = message[IfAddrMsgLength..];
            while (attributes.Length >= 4)
            {
                ushort attributeLength = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
                ushort attributeType = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]);
                if (attributeLength < 4 || attributeLength > attributes.Length) return RtcError.BadAttribute;
                var value = attributes[4..attributeLength];
                if (attributeType == IfaLocal) local = value;
                else if (attributeType == IfaAddress) address = value;
                attributes = attributes[Math.Min(attributes.Length, (int)Align(attributeLength))..];
            }
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point links.
            var own = local.IsEmpty ? address : local;
            if (own.Length != addressLength) return RtcError.BadAttribute;
            if (changes.Count - start >= MaxChangesPerDatagram) return RtcError.TooLarge;
            changes.Add(new AddressChange(type == RtmNewAddr ? AddressChangeKind.Added : AddressChangeKind.Removed, index, new IPAddress(own)));
        }
        return RtcError.None;
    }

    private static uint Align(uint length) => (length + 3) & ~3u;
}

/// <summary>
/// Follows the kernel's local address changes on an rtnetlink socket (RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR) on a
/// dedicated thread and raises <see cref="Changed"/> for each one. Linux only.
/// </summary>
public sealed class AddressMonitor : IDisposable
{
    private const uint RtmgrpIpv4Ifaddr = 0x10, RtmgrpIpv6Ifaddr = 0x100;
    private readonly int _fd;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _closed;

    private AddressMonitor(int fd)
    {
        _fd = fd;
        _thread = new Thread(Run) { IsBackground = true, Name = "rtnetlink addresses" };
    }

    /// <summary>Raised on the monitor thread for each address added or removed.</summary>
    public event Action<AddressChange>? Changed;

    /// <summary>Datagrams that did not parse.</summary>
    public int Rejected { get; private set; }

    /// <summary>Opens and binds the socket; throws <see cref="IOException"/> where rtnetlink is not available.</summary>
    public static AddressMonitor Start()
    {
        int fd = Libc.Socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
        if (fd < 0) throw new IOException($"rtnetlink socket: errno {Libc.LastError}");
        var address = new Libc.SockAddrNl { Family = Libc.AF_NETLINK, Groups = RtmgrpIpv4Ifaddr | RtmgrpIpv6Ifaddr };
        if (Libc.Bind(fd, address, 12) < 0)
        {
            int e = Libc.LastError;
            _ = Libc.Close(fd);
            throw new IOException($"rtnetlink bind: errno {e}");
        }
        var monitor = new AddressMonitor(fd);
        monitor._thread.Start();
        return monitor;
    }

    private void Run()
    {
        var buffer = new byte[16 * 1024];
        var changes = new List<AddressChange>();
        var poll = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
        while (!_stopping)
        {
            poll.REvents = 0;
            if (Libc.Poll(ref poll, 1, 200) <= 0 || (poll.REvents & Libc.POLLIN) == 0) continue;
            int n = (int)Libc.Recv(_fd, buffer, (nuint)buffer.Length, 0);
            if (n <= 0) continue; // ENOBUFS after an overflow: later messages still come
            changes.Clear();
            if (RtNetlink.TryParse(buffer.AsSpan(0, n), changes) != RtcError.None) Rejected++;
            foreach (var c in changes) Changed?.Invoke(c);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(2));
        if (Interlocked.Exchange(ref _closed, 1) == 0) _ = Libc.Close(_fd);
    }
}
