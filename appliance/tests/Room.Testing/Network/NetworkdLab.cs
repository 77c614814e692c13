using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Room.Testing.Network;

/// <summary>
/// A real systemd-networkd in a network namespace of its own ("the room"), wired by a veth pair to a second namespace
/// ("the peer": the room's switch and router, with an optional dnsmasq as DHCP server). Neither end is in the test's
/// own namespace: the machine's interfaces and routes are never touched. networkd runs in a private mount namespace
/// where its configuration folders are empty except for <see cref="ConfigDirectory"/> (bound over
/// /run/systemd/network), its state folder is a scratch one, and /sys is read-only (so that it does not wait for a
/// udev that a test machine may not run, as in a container). It is on a private dbus-daemon (<see cref="BusAddress"/>)
/// that roomd uses too. Everything is taken down on dispose, and by the next lab when a test host died.
/// </summary>
public sealed class NetworkdLab : IDisposable
{
    public const string RoomInterface = "lan0";
    public const string PeerInterface = "uplink0";
    private const string Networkd = "/lib/systemd/systemd-networkd";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<NetworkdLab, bool> Live = new();
    private readonly LabProcesses _processes = new();
    private bool _disposed;

    static NetworkdLab()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var lab in Live.Keys)
            {
                lab.Dispose();
            }
        };
    }

    private static int s_count;

    private NetworkdLab(int n)
    {
        Subnet = n;
        // Unique per test host (PID) and per lab in it; the subnet lives only inside the two namespaces.
        var id = Interlocked.Increment(ref s_count);
        RoomNamespace = $"rnwd{Environment.ProcessId}r{id}";
        PeerNamespace = $"rnwd{Environment.ProcessId}p{id}";
        Directory = System.IO.Directory.CreateTempSubdirectory("room-networkd-").FullName;
        // networkd drops to its own user (systemd-network): it must reach the bus socket and its state folder.
        File.SetUnixFileMode(Directory, (UnixFileMode)0b111_101_101);
        ConfigDirectory = Path.Combine(Directory, "network");
        System.IO.Directory.CreateDirectory(ConfigDirectory);
    }

    /// <summary>n of the lab's subnet 10.215.n.0/24 (the peer is 10.215.n.1).</summary>
    public int Subnet { get; }

    public string RoomNamespace { get; }

    public string PeerNamespace { get; }

    public string Directory { get; }

    /// <summary>The folder networkd reads as /run/systemd/network (roomd's Admin:NetworkConfigDirectory).</summary>
    public string ConfigDirectory { get; }

    public string BusAddress { get; private set; } = "";

    public string PeerAddress => $"10.215.{Subnet}.1";

    /// <summary>What networkd, dnsmasq and the bus printed (for failure messages).</summary>
    public string Log => _processes.Log;

    /// <summary>Creates the namespaces and veth, starts the bus and networkd (and dnsmasq with <paramref name="dhcpServer"/>).</summary>
    public static async Task<NetworkdLab> StartAsync(bool dhcpServer)
    {
        RemoveStale();
        var lab = new NetworkdLab(Random.Shared.Next(1, 250));
        Live[lab] = true;
        try
        {
            await lab.SetUpAsync(dhcpServer);
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private async Task SetUpAsync(bool dhcpServer)
    {
        Run("ip", "netns", "add", RoomNamespace);
        Run("ip", "netns", "add", PeerNamespace);
        // Made inside the room's namespace with its peer end put straight into the peer's: no end ever in ours.
        Run("ip", "-n", RoomNamespace, "link", "add", RoomInterface, "type", "veth", "peer", "name", PeerInterface, "netns", PeerNamespace);
        Run("ip", "-n", PeerNamespace, "addr", "add", $"{PeerAddress}/24", "dev", PeerInterface);
        Run("ip", "-n", PeerNamespace, "link", "set", PeerInterface, "up");
        Run("ip", "-n", PeerNamespace, "link", "set", "lo", "up");
        Run("ip", "-n", RoomNamespace, "link", "set", "lo", "up");

        BusAddress = await _processes.StartBusAsync(Directory);

        var netif = Path.Combine(Directory, "netif");
        System.IO.Directory.CreateDirectory(netif);
        Run("chown", "systemd-network:systemd-network", netif);
        var script = Path.Combine(Directory, "networkd.sh");
        await File.WriteAllTextAsync(script, $"""
            #!/bin/sh
            set -e
            mount --make-rprivate /
            mkdir -p /run/systemd
            mount -t tmpfs tmpfs /run/systemd
            mkdir -p /run/systemd/netif /run/systemd/network
            mount --bind '{netif}' /run/systemd/netif
            mount --bind '{ConfigDirectory}' /run/systemd/network
            for d in /etc/systemd/network /usr/lib/systemd/network /usr/local/lib/systemd/network; do
              if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
            done
            umount /sys 2>/dev/null || true
            mount -t sysfs -o ro sysfs /sys
            export DBUS_SYSTEM_BUS_ADDRESS='{BusAddress}'
            exec {Networkd}
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        var networkd = _processes.Start("networkd", "ip", ["netns", "exec", RoomNamespace, "unshare", "-m", script]);

        if (dhcpServer)
        {
            _processes.Start(
                "dnsmasq", "ip", ["netns", "exec", PeerNamespace, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0",
                $"--interface={PeerInterface}", "--bind-interfaces", "--leasefile-ro", $"--pid-file={Path.Combine(Directory, "dnsmasq.pid")}",
                "--log-facility=-", "--log-dhcp", $"--dhcp-range=10.215.{Subnet}.100,10.215.{Subnet}.150,255.255.255.0,1h",
                $"--dhcp-option=option:router,{PeerAddress}", $"--dhcp-option=option:dns-server,{PeerAddress}"]);
        }

        // Ready when networkd owns its name on the bus.
        await _processes.WaitForNameAsync(BusAddress, "org.freedesktop.network1", networkd);
    }

    /// <summary>The IPv4 addresses the kernel has on the room's interface ("10.215.n.5/24").</summary>
    public IReadOnlyList<string> RoomAddresses()
    {
        using var json = JsonDocument.Parse(Run("ip", "-n", RoomNamespace, "-j", "-4", "addr", "show", "dev", RoomInterface));
        return json.RootElement.EnumerateArray()
            .SelectMany(i => i.GetProperty("addr_info").EnumerateArray())
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32().ToString(CultureInfo.InvariantCulture)}")
            .ToList();
    }

    /// <summary>The gateway of the room's default route, or "" when it has none.</summary>
    public string RoomDefaultGateway()
    {
        using var json = JsonDocument.Parse(Run("ip", "-n", RoomNamespace, "-j", "-4", "route", "show", "default"));
        return json.RootElement.EnumerateArray().Select(r => r.TryGetProperty("gateway", out var g) ? g.GetString() : null).FirstOrDefault(g => g is not null) ?? "";
    }

    /// <summary>Polls the kernel until <paramref name="done"/> holds for the room's addresses (a minute at most: networkd and DHCP are asynchronous).</summary>
    public async Task<IReadOnlyList<string>> WaitForAddressesAsync(Func<IReadOnlyList<string>, bool> done, string what)
    {
        ArgumentNullException.ThrowIfNull(done);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var now = RoomAddresses();
            if (done(now))
            {
                return now;
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"{what}: the kernel still has [{string.Join(", ", now)}] on {RoomInterface}\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Live.TryRemove(this, out _);
        // Everything in the two namespaces was started by this lab (roomd too, when a test ran it inside).
        foreach (var ns in new[] { RoomNamespace, PeerNamespace })
        {
            KillAll(ns);
        }

        _processes.Dispose();

        foreach (var ns in new[] { RoomNamespace, PeerNamespace })
        {
            TryRun("ip", "netns", "del", ns);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Namespaces of labs whose test host died (the name carries its PID, which is gone).</summary>
    private static void RemoveStale()
    {
        foreach (var line in TryRun("ip", "netns", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            var m = System.Text.RegularExpressions.Regex.Match(name, "^rnwd([0-9]+)[rp]([0-9]+)$");
            if (!m.Success || System.IO.Directory.Exists("/proc/" + m.Groups[1].Value))
            {
                continue;
            }

            KillAll(name);
            TryRun("ip", "netns", "del", name);
        }
    }

    private static void KillAll(string ns)
    {
        foreach (var pid in TryRun("ip", "netns", "pids", ns).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(pid.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                try
                {
                    using var p = Process.GetProcessById(id);
                    p.Kill();
                    p.WaitForExit(5000);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                }
            }
        }
    }

    private static string Run(string file, params string[] args)
    {
        var (ok, output, error) = RunAsync(file, args).GetAwaiter().GetResult();
        return ok ? output : throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
    }

    private static string TryRun(string file, params string[] args) => RunAsync(file, args).GetAwaiter().GetResult().Output;

    private static async Task<(bool Ok, string Output, string Error)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode == 0, await o, await e);
    }
}
