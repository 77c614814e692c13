using System.Net;

namespace Room.Testing.Network;

/// <summary>
/// A second network namespace hanging off a <see cref="NetNs"/> (the servers' namespace) by its own veth pair: a
/// client's network with a route to the servers and nothing else (not joined to the test's namespace, so its private
/// addresses never meet other tests'). Processes started in it with <see cref="Prefix"/> see the names given to
/// <see cref="AddHost"/> in /etc/hosts (ip netns exec binds /etc/netns/NAME/hosts over it). <see cref="BlockUdp"/> makes it a TCP-only network.
/// </summary>
public sealed class ClientNetNs : IDisposable
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ClientNetNs, bool> Live = new();
    private readonly NetNs _servers;
    private bool _disposed;

    static ClientNetNs()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { foreach (var ns in Live.Keys) ns.Dispose(); };
    }

    private ClientNetNs(NetNs servers, string name, string serverIf, IPAddress serverSide, IPAddress clientSide)
    {
        _servers = servers;
        Name = name;
        ServerInterface = serverIf;
        ServerSideAddress = serverSide;
        ClientAddress = clientSide;
    }

    public string Name { get; }

    /// <summary>The veth end in the servers' namespace.</summary>
    public string ServerInterface { get; }

    /// <summary>The servers' namespace address on this link (servers listening on it are reachable from the client).</summary>
    public IPAddress ServerSideAddress { get; }

    /// <summary>The client's only address (besides loopback).</summary>
    public IPAddress ClientAddress { get; }

    /// <summary>Command prefix that runs a program inside this namespace.</summary>
    public IReadOnlyList<string> Prefix => ["ip", "netns", "exec", Name];

    private string EtcDirectory => Path.Combine("/etc/netns", Name);

    /// <summary>
    /// Creates the namespace behind <paramref name="servers"/>: 10.215.N.2 here, 10.215.N.1 there, and a route to the
    /// servers' address, so the servers' namespace is reachable at both its addresses.
    /// </summary>
    public static ClientNetNs Create(NetNs servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        // The subnet only has to differ from the servers' namespace's own: nothing else can see this link.
        int n = Random.Shared.Next(1, 250);
        string tag = $"{Environment.ProcessId % 10000}x{n}";
        string name = $"rtcp{Environment.ProcessId}c{n}", serverIf = "cs" + tag, clientIf = "cc" + tag;
        var serverSide = IPAddress.Parse($"10.215.{n}.1");
        var clientSide = IPAddress.Parse($"10.215.{n}.2");
        var created = new ClientNetNs(servers, name, serverIf, serverSide, clientSide);
        NetNs.Run("ip", $"netns add {name}");
        Live[created] = true;
        try
        {
            NetNs.Run("ip", $"netns exec {servers.Name} ip link add {serverIf} type veth peer name {clientIf} netns {name}");
            NetNs.Run("ip", $"netns exec {servers.Name} ip addr add {serverSide}/24 dev {serverIf}");
            NetNs.Run("ip", $"netns exec {servers.Name} ip link set {serverIf} up");
            NetNs.Run("ip", $"netns exec {name} ip addr add {clientSide}/24 dev {clientIf}");
            NetNs.Run("ip", $"netns exec {name} ip link set {clientIf} up");
            NetNs.Run("ip", $"netns exec {name} ip link set lo up");
            NetNs.Run("ip", $"netns exec {name} ip route add {servers.NsAddress}/32 via {serverSide}");
            Directory.CreateDirectory(created.EtcDirectory);
            File.WriteAllText(Path.Combine(created.EtcDirectory, "hosts"), "127.0.0.1 localhost\n");
        }
        catch
        {
            created.Dispose();
            throw;
        }

        return created;
    }

    /// <summary>Makes <paramref name="name"/> resolve to <paramref name="address"/> for programs started in this namespace from now on.</summary>
    public void AddHost(string name, IPAddress address) => File.AppendAllText(Path.Combine(EtcDirectory, "hosts"), $"{address} {name}\n");

    private const string UdpTable = "roomnoudp";

    /// <summary>
    /// Drops all UDP in and out of this namespace except on loopback (a network that lets only TCP out, as some
    /// corporate and hotel networks do), counting what it drops.
    /// </summary>
    public void BlockUdp()
    {
        NetNs.Run("ip", $"netns exec {Name} nft add table inet {UdpTable}");
        NetNs.Run("ip", $"netns exec {Name} nft add chain inet {UdpTable} in {{ type filter hook input priority -10 ; policy accept ; }}");
        NetNs.Run("ip", $"netns exec {Name} nft add chain inet {UdpTable} out {{ type filter hook output priority -10 ; policy accept ; }}");
        NetNs.Run("ip", $"netns exec {Name} nft add rule inet {UdpTable} in iifname != lo meta l4proto udp counter drop");
        NetNs.Run("ip", $"netns exec {Name} nft add rule inet {UdpTable} out oifname != lo meta l4proto udp counter drop");
    }

    /// <summary>UDP packets <see cref="BlockUdp"/> dropped so far (both directions).</summary>
    public long UdpPacketsDropped()
    {
        string rules = NetNs.Run("ip", $"netns exec {Name} nft list table inet {UdpTable}");
        long total = 0;
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(rules, @"counter packets (\d+)"))
            total += long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return total;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Live.TryRemove(this, out _);
        foreach (var pid in NetNs.Run("ip", $"netns pids {Name}", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            NetNs.Run("kill", "-9 " + pid.Trim(), check: false);
        NetNs.Run("ip", $"netns exec {_servers.Name} ip link del {ServerInterface}", check: false);
        NetNs.Run("ip", $"netns del {Name}", check: false);
        try
        {
            if (Directory.Exists(EtcDirectory)) Directory.Delete(EtcDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
