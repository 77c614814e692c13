using System.Diagnostics;
using System.Net;

namespace Room.Testing.Network;

/// <summary>
/// A network namespace joined to the test's own namespace by a veth pair, with private addresses only on the two
/// ends and no default route. Janus and Chromium do not gather on loopback, so real peers meet us here.
/// </summary>
public sealed class NetNs : IDisposable
{
    private NetNs(string name, string hostIf, string nsIf, IPAddress host, IPAddress inside)
    {
        Name = name;
        HostInterface = hostIf;
        NsInterface = nsIf;
        HostAddress = host;
        NsAddress = inside;
    }

    public string Name { get; }
    public string HostInterface { get; }
    public string NsInterface { get; }
    public IPAddress HostAddress { get; }
    public IPAddress NsAddress { get; }

    /// <summary>The delayed tun link beside the veth (<see cref="Create(TimeSpan?)"/> with a delay), or null.</summary>
    public DelayRelay? Delay { get; private set; }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<NetNs, bool> Live = new();

    static NetNs()
    {
        // If the test host is stopped, still take down what it made.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { foreach (var ns in Live.Keys) ns.Dispose(); };
    }

    /// <summary>Removes namespaces left by earlier test hosts that died (name carries the host's PID, which is gone).</summary>
    private static void RemoveStale()
    {
        foreach (var line in Run("ip", "netns list", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            // n: a namespace of ours; c: a client namespace behind one (ClientNetNs).
            var m = System.Text.RegularExpressions.Regex.Match(name, "^rtcp([0-9]+)[nc]([0-9]+)$");
            if (!m.Success || Directory.Exists("/proc/" + m.Groups[1].Value)) continue;
            foreach (var pid in Run("ip", $"netns pids {name}", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                Run("kill", "-9 " + pid.Trim(), check: false);
            Run("ip", $"netns del {name}", check: false);
            if (Directory.Exists("/etc/netns/" + name)) Directory.Delete("/etc/netns/" + name, recursive: true);
        }
    }

    /// <summary>
    /// Creates the namespace and its veth; with <paramref name="oneWayDelay"/>, also a tun link through a
    /// <see cref="DelayRelay"/> (10.214.n.1 here, 10.214.n.2 inside) that holds packets that long each way.
    /// </summary>
    public static NetNs Create(TimeSpan? oneWayDelay = null)
    {
        // Other test processes (test assemblies run in parallel) make namespaces too: two with the same subnet would
        // route one test's traffic into the other's namespace (seen: a rejoin reaching another test's server, 404).
        // Under a machine-wide lock, take a subnet no interface uses yet.
        using var creating = new MachineLock(Path.Combine(Path.GetTempPath(), "room-netns.lock"));
        RemoveStale();
        // Test subnets never leave the machine: without this, a packet to a namespace that is gone (or to a subnet
        // whose route went with an address) would follow the default route out of the machine. The /24 of each live
        // namespace is more specific and wins.
        Run("ip", "route replace blackhole 10.213.0.0/16");
        Run("ip", "route replace blackhole 10.214.0.0/16");
        string inUse = Run("ip", "-4 -o addr show");
        int n;
        do
        {
            n = Random.Shared.Next(1, 250);
        }
        while (inUse.Contains($" 10.213.{n}.", StringComparison.Ordinal) || inUse.Contains($" 10.214.{n}.", StringComparison.Ordinal));
        string tag = $"{Environment.ProcessId % 10000}x{n}";
        string name = $"rtcp{Environment.ProcessId}n{n}", hostIf = "rh" + tag, nsIf = "rn" + tag;
        var host = IPAddress.Parse($"10.213.{n}.1");
        var inside = IPAddress.Parse($"10.213.{n}.2");
        Run("ip", $"netns add {name}");
        try
        {
            Run("ip", $"link add {hostIf} type veth peer name {nsIf}");
            Run("ip", $"link set {nsIf} netns {name}");
            Run("ip", $"addr add {host}/24 dev {hostIf}");
            Run("ip", $"link set {hostIf} up");
            Run("ip", $"netns exec {name} ip addr add {inside}/24 dev {nsIf}");
            Run("ip", $"netns exec {name} ip link set {nsIf} up");
            Run("ip", $"netns exec {name} ip link set lo up");
        }
        catch
        {
            Cleanup(name, hostIf);
            throw;
        }
        var created = new NetNs(name, hostIf, nsIf, host, inside);
        Live[created] = true;
        if (oneWayDelay is { } delay)
        {
            try
            {
                created.Delay = DelayRelay.Create(name, "th" + tag, "tn" + tag,
                    IPAddress.Parse($"10.214.{n}.1"), IPAddress.Parse($"10.214.{n}.2"), delay);
            }
            catch
            {
                created.Dispose();
                throw;
            }
        }
        return created;
    }

    /// <summary>
    /// A lock among the test processes of this machine: flock(LOCK_EX) on a file opened with libc's open(2). A
    /// FileStream takes a shared flock of its own when it opens (non-blocking), which fails at once with "being used by
    /// another process" while another test process holds the exclusive one (seen: six Janus tests failed so).
    /// </summary>
    private sealed class MachineLock : IDisposable
    {
        private const int ReadWrite = 2, Create = 0x40, CloseOnExec = 0x80000, Exclusive = 2, Interrupted = 4;
        private readonly int _fd;

        public MachineLock(string path)
        {
            _fd = Open(path, ReadWrite | Create | CloseOnExec, 0b110_110_110);
            if (_fd < 0)
            {
                throw new IOException($"open {path}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            }

            while (Flock(_fd, Exclusive) != 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Interrupted)
                {
                    _ = Close(_fd);
                    throw new IOException($"flock {path}: errno {errno}");
                }
            }
        }

        /// <summary>Closing the descriptor releases the lock (a failed close of a lock file leaves nothing to do).</summary>
        public void Dispose() => _ = Close(_fd);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close", SetLastError = true)]
        private static extern int Close(int fd);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "flock", SetLastError = true)]
        private static extern int Flock(int fd, int operation);
    }

    private const string LossTable = "roomloss";

    /// <summary>
    /// Drops <paramref name="percent"/> % of UDP both ways inside this namespace (nftables numgen: this kernel has no
    /// netem), until <see cref="RemoveUdpLoss"/>.
    /// </summary>
    public void AddUdpLoss(int percent)
    {
        Run("ip", $"netns exec {Name} nft add table inet {LossTable}");
        Run("ip", $"netns exec {Name} nft add chain inet {LossTable} in {{ type filter hook input priority 0 ; }}");
        Run("ip", $"netns exec {Name} nft add chain inet {LossTable} out {{ type filter hook output priority 0 ; }}");
        foreach (var chain in new[] { "in", "out" })
            Run("ip", $"netns exec {Name} nft add rule inet {LossTable} {chain} meta l4proto udp numgen random mod 100 \"<\" {percent} drop");
    }

    private const string CutTable = "roomcut";

    /// <summary>Drops every packet in and out of the namespace (a cable pulled) until <see cref="Reconnect"/>.</summary>
    public void Disconnect()
    {
        Run("ip", $"netns exec {Name} nft add table inet {CutTable}");
        Run("ip", $"netns exec {Name} nft add chain inet {CutTable} in {{ type filter hook input priority -10 ; policy accept ; }}");
        Run("ip", $"netns exec {Name} nft add chain inet {CutTable} out {{ type filter hook output priority -10 ; policy accept ; }}");
        // Loopback inside the namespace stays (Janus talks to itself); everything over its links is dropped.
        Run("ip", $"netns exec {Name} nft add rule inet {CutTable} in iifname != lo drop");
        Run("ip", $"netns exec {Name} nft add rule inet {CutTable} out oifname != lo drop");
    }

    /// <summary>Ends the cut <see cref="Disconnect"/> made.</summary>
    public void Reconnect() => Run("ip", $"netns exec {Name} nft delete table inet {CutTable}");

    /// <summary>Ends the loss <see cref="AddUdpLoss"/> imposed.</summary>
    public void RemoveUdpLoss() => Run("ip", $"netns exec {Name} nft delete table inet {LossTable}");

    public static string Run(string file, string arguments, bool check = true)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"{file} {arguments}: exit {p.ExitCode}: {error}");
        return output;
    }

    /// <summary>Runs a command in the namespace (the returned process is the command itself: ip netns exec execs it).</summary>
    public Process Start(string file, string arguments, string? logFile = null)
    {
        var psi = new ProcessStartInfo("ip", $"netns exec {Name} {file} {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var p = Process.Start(psi)!;
        var log = logFile is null ? null : new StreamWriter(logFile) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (p) log?.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (p) log?.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static void Cleanup(string name, string hostIf)
    {
        Run("ip", $"link del {hostIf}", check: false);
        Run("ip", $"netns del {name}", check: false);
    }

    public void Dispose()
    {
        if (!Live.TryRemove(this, out _)) return;
        Delay?.Dispose();
        // Anything still running in the namespace was started by this test.
        foreach (var pid in Run("ip", $"netns pids {Name}", check: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Run("kill", "-9 " + pid.Trim(), check: false);
        Cleanup(Name, HostInterface);
    }
}
