using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Room.ControllerUi.Interop;

/// <summary>
/// Who is on the other end of a loopback TCP connection: both ends live on this machine, so the kernel's socket table
/// (/proc/net/tcp, /proc/net/tcp6) lists the client's socket with the Unix user that owns it. (SO_PEERCRED exists only
/// for Unix sockets, which the kiosk browser cannot speak HTTP over.)
/// </summary>
public static class LoopbackPeers
{
    /// <summary>The uid owning the socket at <paramref name="client"/> connected to <paramref name="server"/>, or null.</summary>
    public static uint? FindUid(IPEndPoint client, IPEndPoint server, string procNet = "/proc/net")
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(server);
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            var path = Path.Combine(procNet, table);
            if (!File.Exists(path))
            {
                continue;
            }

            foreach (var line in File.ReadLines(path).Skip(1))
            {
                if (ParseLine(line) is { } entry && Same(entry.Local, client) && Same(entry.Remote, server))
                {
                    return entry.Uid;
                }
            }
        }

        return null;
    }

    /// <summary>One row of /proc/net/tcp[6]: local and remote end and the owner's uid; null when malformed.</summary>
    public static (IPEndPoint Local, IPEndPoint Remote, uint Uid)? ParseLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 8 || ParseEndPoint(f[1]) is not { } local || ParseEndPoint(f[2]) is not { } remote
            || !uint.TryParse(f[7], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
        {
            return null;
        }

        return (local, remote, uid);
    }

    /// <summary>"0100007F:1F90" (IPv4, host byte order) or 32 hex digits (IPv6, four host-order words) and a hex port.</summary>
    public static IPEndPoint? ParseEndPoint(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }

        var hex = text.AsSpan(0, colon);
        if (hex.Length is not (8 or 32))
        {
            return null;
        }

        var bytes = new byte[hex.Length / 2];
        for (var word = 0; word < hex.Length / 8; word++)
        {
            if (!uint.TryParse(hex.Slice(word * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }

            // Each 32-bit word is printed as the number the little-endian host holds.
            BitConverter.TryWriteBytes(bytes.AsSpan(word * 4, 4), value);
            if (!BitConverter.IsLittleEndian)
            {
                bytes.AsSpan(word * 4, 4).Reverse();
            }
        }

        return new IPEndPoint(new IPAddress(bytes), port);
    }

    private static bool Same(IPEndPoint a, IPEndPoint b) =>
        a.Port == b.Port && Normal(a.Address).Equals(Normal(b.Address));

    private static IPAddress Normal(IPAddress a) => a.AddressFamily == AddressFamily.InterNetworkV6 && a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
