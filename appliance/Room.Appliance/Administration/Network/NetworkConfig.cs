using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Room.Appliance.Administration.Network;

/// <summary>How the room's wired interface gets its IPv4 address.</summary>
public enum NetworkMode
{
    Dhcp,
    Static,
}

/// <summary>
/// The room's wired network as the administrator set it: DHCP, or a static IPv4 address/prefix with an optional
/// gateway; DNS servers in both modes (with DHCP they come before the ones DHCP offers). Holds only validated values
/// (<see cref="NetworkRules"/>).
/// </summary>
public sealed record NetworkConfig(NetworkMode Mode, IPAddress? Address, int Prefix, IPAddress? Gateway, IReadOnlyList<IPAddress> Dns)
{
    public static NetworkConfig Dhcp { get; } = new(NetworkMode.Dhcp, null, 0, null, []);

    public string ModeName => Mode == NetworkMode.Dhcp ? "dhcp" : "static";

    /// <summary>"192.0.2.10/24", or "" with DHCP.</summary>
    public string AddressText => Address is null ? "" : $"{Address}/{Prefix.ToString(CultureInfo.InvariantCulture)}";

    public bool Equals(NetworkConfig? other) =>
        other is not null && Mode == other.Mode && Equals(Address, other.Address) && Prefix == other.Prefix
        && Equals(Gateway, other.Gateway) && Dns.SequenceEqual(other.Dns);

    public override int GetHashCode() => HashCode.Combine(Mode, Address, Prefix, Gateway, Dns.Count);
}

/// <summary>The rules a network setting must meet; refusals name what is wrong and change nothing.</summary>
public static partial class NetworkRules
{
    public const int MaxDnsServers = 3;

    /// <summary>Checks the administrator's input (as it comes over D-Bus) and returns the configuration it means.</summary>
    public static NetworkConfig Validate(string mode, string address, uint prefix, string gateway, IReadOnlyList<string> dns)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(dns);
        if (dns.Count > MaxDnsServers)
        {
            throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"At most {MaxDnsServers} DNS servers, not {dns.Count}.");
        }

        var servers = dns.Select(d => DnsServer(d)).ToList();
        if (servers.Distinct().Count() != servers.Count)
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "A DNS server is listed twice.");
        }

        switch (mode)
        {
            case "dhcp":
                if (address.Length > 0 || prefix != 0 || gateway.Length > 0)
                {
                    throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, "With DHCP, address, prefix and gateway come from the DHCP server: leave them empty (and the prefix 0).");
                }

                return new NetworkConfig(NetworkMode.Dhcp, null, 0, null, servers);
            case "static":
                break;
            default:
                throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"The network mode is dhcp or static, not '{Clip(mode)}'.");
        }

        var host = Ipv4(address, "address");
        if (prefix is < 1 or > 32)
        {
            throw new AdminRefusedException(AdminRefusalKind.OutOfRange, $"An IPv4 prefix length is 1..32, not {prefix}.");
        }

        var p = (int)prefix;
        if (!IsUnicastHost(host))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"{host} cannot be a host's address (loopback, multicast, broadcast or unspecified).");
        }

        if (p <= 30 && (ToUInt(host) == Network(host, p) || ToUInt(host) == (Network(host, p) | ~Mask(p))))
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"{host} is the network or broadcast address of {Subnet(host, p)}, not a host's address.");
        }

        IPAddress? gw = null;
        if (gateway.Length > 0)
        {
            gw = Ipv4(gateway, "gateway");
            if (Network(gw, p) != Network(host, p) || (p <= 30 && ToUInt(gw) == (Network(host, p) | ~Mask(p))))
            {
                throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"The gateway {gw} is outside the subnet {Subnet(host, p)} of the address.");
            }

            if (gw.Equals(host))
            {
                throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"The gateway {gw} is the room's own address.");
            }
        }

        return new NetworkConfig(NetworkMode.Static, host, p, gw, servers);
    }

    /// <summary>A dotted-quad IPv4 address, strictly (no "10.1", no leading zeros, no spaces).</summary>
    public static IPAddress Ipv4(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!DottedQuad().IsMatch(text) || !IPAddress.TryParse(text, out var a) || a.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"The {what} '{Clip(text)}' is not an IPv4 address like 192.0.2.10.");
        }

        return a;
    }

    /// <summary>An IPv4 (dotted quad) or IPv6 address of a DNS server.</summary>
    public static IPAddress DnsServer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains(':', StringComparison.Ordinal))
        {
            if (Ipv6Text().IsMatch(text) && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                && !v6.Equals(IPAddress.IPv6Any) && !v6.IsIPv6Multicast)
            {
                return v6;
            }

            throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"The DNS server '{Clip(text)}' is not an IP address.");
        }

        var v4 = Ipv4(text, "DNS server");
        return IsUnicastHost(v4) || IPAddress.IsLoopback(v4)
            ? v4
            : throw new AdminRefusedException(AdminRefusalKind.InvalidArgument, $"{v4} cannot be a DNS server's address.");
    }

    internal static uint ToUInt(IPAddress a)
    {
        var b = a.GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }

    private static uint Mask(int prefix) => prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);

    private static uint Network(IPAddress a, int prefix) => ToUInt(a) & Mask(prefix);

    private static string Subnet(IPAddress a, int prefix)
    {
        var n = Network(a, prefix);
        return $"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/{prefix}";
    }

    private static bool IsUnicastHost(IPAddress a)
    {
        var first = a.GetAddressBytes()[0];
        return first != 0 && first != 127 && first < 224;
    }

    internal static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";

    [GeneratedRegex(@"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")]
    private static partial Regex DottedQuad();

    [GeneratedRegex(@"^[0-9A-Fa-f:.]{2,45}$")]
    private static partial Regex Ipv6Text();
}

/// <summary>
/// The systemd-networkd .network file roomd writes for the room's interface, and the reading of it back. roomd reads
/// only what it wrote: a file it cannot read as its own (a hand edit, another tool) is reported, not half-trusted.
/// </summary>
public static class NetworkdFile
{
    public const string Marker = "# Written by roomd (org.room.Appliance1.Admin.SetNetwork); changes here are overwritten.";

    public static string Render(string interfaceName, NetworkConfig config)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(config);
        var b = new StringBuilder();
        b.Append(Marker).Append('\n');
        b.Append("[Match]\n");
        b.Append("Name=").Append(interfaceName).Append('\n');
        b.Append('\n');
        b.Append("[Network]\n");
        if (config.Mode == NetworkMode.Dhcp)
        {
            b.Append("DHCP=ipv4\n");
        }
        else
        {
            b.Append("DHCP=no\n");
            b.Append("Address=").Append(config.AddressText).Append('\n');
            if (config.Gateway is not null)
            {
                b.Append("Gateway=").Append(config.Gateway).Append('\n');
            }
        }

        foreach (var d in config.Dns)
        {
            b.Append("DNS=").Append(d).Append('\n');
        }

        return b.ToString();
    }

    /// <summary>The configuration in a file roomd wrote for <paramref name="interfaceName"/>; refused (InvalidArgument) otherwise.</summary>
    public static NetworkConfig Parse(string text, string interfaceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0] != Marker)
        {
            throw Broken("it was not written by roomd");
        }

        string? section = null, name = null, dhcp = null, address = null, gateway = null;
        var dns = new List<string>();
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line;
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Broken($"a line is not KEY=VALUE: '{NetworkRules.Clip(line)}'");
            }

            var (key, value) = (line[..eq], line[(eq + 1)..]);
            switch (section, key)
            {
                case ("[Match]", "Name") when name is null:
                    name = value;
                    break;
                case ("[Network]", "DHCP") when dhcp is null:
                    dhcp = value;
                    break;
                case ("[Network]", "Address") when address is null:
                    address = value;
                    break;
                case ("[Network]", "Gateway") when gateway is null:
                    gateway = value;
                    break;
                case ("[Network]", "DNS"):
                    dns.Add(value);
                    break;
                default:
                    throw Broken($"unexpected '{NetworkRules.Clip(line)}'");
            }
        }

        if (name != interfaceName)
        {
            throw Broken($"it is for interface '{NetworkRules.Clip(name ?? "")}', not '{interfaceName}'");
        }

        try
        {
            switch (dhcp)
            {
                case "ipv4" when address is null && gateway is null:
                    return NetworkRules.Validate("dhcp", "", 0, "", dns);
                case "no" when address is not null:
                {
                    var slash = address.IndexOf('/', StringComparison.Ordinal);
                    if (slash < 0 || !uint.TryParse(address[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
                    {
                        throw Broken("the address has no /prefix");
                    }

                    return NetworkRules.Validate("static", address[..slash], prefix, gateway ?? "", dns);
                }

                default:
                    throw Broken("it is neither DHCP nor a static address");
            }
        }
        catch (AdminRefusedException ex) when (ex.Kind != AdminRefusalKind.Failed)
        {
            throw Broken(ex.Message);
        }
    }

    private static AdminRefusedException Broken(string why) => new(AdminRefusalKind.Failed, $"The network file is not roomd's: {why}.");
}
