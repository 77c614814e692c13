using System.Buffers;
using System.Net;
using System.Runtime.InteropServices;

namespace Room.Testing.Network;

/// <summary>
/// Adds a fixed one-way delay between the test's namespace and another one (the kernel has no netem): two tun
/// devices (IFF_TUN | IFF_NO_PI), one left here and one moved into the other namespace as a point-to-point link,
/// and two forwarding threads that hold every IP packet until its release time before writing it to the other tun.
/// The devices are not persistent: they go away with the file descriptors, so also when the test host dies.
/// </summary>
public sealed partial class DelayRelay : IDisposable
{
    private const int Mtu = 1500;
    private const int MaxQueued = 8192; // per direction; more is dropped (a full bottleneck, not a leak)

    private readonly int _hostFd, _nsFd;
    private readonly long _delayTicks;
    private readonly Direction _out, _back;
    private readonly Thread[] _threads;
    private volatile bool _stopping;

    private DelayRelay(string hostIf, string nsIf, IPAddress host, IPAddress inside, int hostFd, int nsFd, TimeSpan oneWay)
    {
        HostInterface = hostIf;
        NsInterface = nsIf;
        HostAddress = host;
        NsAddress = inside;
        _hostFd = hostFd;
        _nsFd = nsFd;
        _delayTicks = (long)(oneWay.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        _out = new Direction(hostFd, nsFd);
        _back = new Direction(nsFd, hostFd);
        _threads =
        [
            new Thread(() => ReadLoop(_out)) { IsBackground = true, Name = "relay-read-out" },
            new Thread(() => WriteLoop(_out)) { IsBackground = true, Name = "relay-write-out" },
            new Thread(() => ReadLoop(_back)) { IsBackground = true, Name = "relay-read-back" },
            new Thread(() => WriteLoop(_back)) { IsBackground = true, Name = "relay-write-back" },
        ];
        foreach (var t in _threads) t.Start();
    }

    public string HostInterface { get; }
    public string NsInterface { get; }
    public IPAddress HostAddress { get; }
    public IPAddress NsAddress { get; }
    public long Forwarded => Interlocked.Read(ref _out.Forwarded) + Interlocked.Read(ref _back.Forwarded);
    public long Dropped => Interlocked.Read(ref _out.Dropped) + Interlocked.Read(ref _back.Dropped);

    /// <summary>
    /// Creates <paramref name="hostIf"/> here with <paramref name="host"/> and <paramref name="nsIf"/> in
    /// <paramref name="ns"/> with <paramref name="inside"/>, peers of each other, <paramref name="oneWay"/> apart.
    /// </summary>
    public static DelayRelay Create(string ns, string hostIf, string nsIf, IPAddress host, IPAddress inside, TimeSpan oneWay)
    {
        int a = OpenTun(hostIf), b = -1;
        try
        {
            b = OpenTun(nsIf);
            NetNs.Run("ip", $"link set {nsIf} netns {ns}");
            NetNs.Run("ip", $"addr add {host} peer {inside}/32 dev {hostIf}");
            NetNs.Run("ip", $"link set {hostIf} mtu {Mtu} up");
            NetNs.Run("ip", $"netns exec {ns} ip addr add {inside} peer {host}/32 dev {nsIf}");
            NetNs.Run("ip", $"netns exec {ns} ip link set {nsIf} mtu {Mtu} up");
        }
        catch
        {
            Close(a);
            if (b >= 0) Close(b);
            throw;
        }
        return new DelayRelay(hostIf, nsIf, host, inside, a, b, oneWay);
    }

    private sealed class Direction(int from, int to)
    {
        public readonly int From = from, To = to;
        // Constant delay: release times grow with arrival, so a FIFO is already ordered by release time.
        public readonly Queue<(byte[] Buffer, int Length, long Release)> Queue = new();
        public long Forwarded, Dropped;
    }

    private void ReadLoop(Direction d)
    {
        var pfd = new PollFd { Fd = d.From, Events = PollIn };
        while (!_stopping)
        {
            if (Poll(ref pfd, 1, 100) <= 0 || (pfd.REvents & PollIn) == 0) continue;
            var buffer = ArrayPool<byte>.Shared.Rent(Mtu + 64);
            int n = (int)Read(d.From, buffer, buffer.Length);
            if (n <= 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                continue;
            }
            long release = System.Diagnostics.Stopwatch.GetTimestamp() + _delayTicks;
            lock (d.Queue)
            {
                if (d.Queue.Count >= MaxQueued)
                {
                    d.Dropped++;
                    ArrayPool<byte>.Shared.Return(buffer);
                    continue;
                }
                d.Queue.Enqueue((buffer, n, release));
                if (d.Queue.Count == 1) Monitor.Pulse(d.Queue);
            }
        }
        lock (d.Queue) Monitor.PulseAll(d.Queue);
    }

    private void WriteLoop(Direction d)
    {
        while (true)
        {
            (byte[] Buffer, int Length, long Release) item;
            lock (d.Queue)
            {
                while (true)
                {
                    if (_stopping) return;
                    if (d.Queue.Count == 0)
                    {
                        Monitor.Wait(d.Queue, 100);
                        continue;
                    }
                    long wait = d.Queue.Peek().Release - System.Diagnostics.Stopwatch.GetTimestamp();
                    if (wait <= 0) break;
                    long ms = wait * 1000 / System.Diagnostics.Stopwatch.Frequency;
                    if (ms >= 1) Monitor.Wait(d.Queue, (int)ms);
                    else Thread.SpinWait(50);
                }
                item = d.Queue.Dequeue();
            }
            if (Write(d.To, item.Buffer, item.Length) == item.Length) Interlocked.Increment(ref d.Forwarded);
            else Interlocked.Increment(ref d.Dropped);
            ArrayPool<byte>.Shared.Return(item.Buffer);
        }
    }

    private static int OpenTun(string name)
    {
        int fd = Open("/dev/net/tun", ORdWr | OCloExec);
        if (fd < 0) throw new IOException($"open /dev/net/tun: errno {Marshal.GetLastPInvokeError()}");
        var ifr = new byte[40]; // struct ifreq: char ifr_name[16]; short ifr_flags; ...
        System.Text.Encoding.ASCII.GetBytes(name, ifr);
        BitConverter.TryWriteBytes(ifr.AsSpan(16), (short)(IffTun | IffNoPi));
        if (Ioctl(fd, TunSetIff, ifr) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Close(fd);
            throw new IOException($"TUNSETIFF {name}: errno {errno}");
        }
        return fd;
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        foreach (var t in _threads) t.Join(2000);
        foreach (var d in new[] { _out, _back })
            lock (d.Queue)
                while (d.Queue.TryDequeue(out var item)) ArrayPool<byte>.Shared.Return(item.Buffer);
        // Closing the descriptors removes the (non-persistent) devices in both namespaces.
        Close(_hostFd);
        Close(_nsFd);
    }

    private const int ORdWr = 0x2, OCloExec = 0x80000;
    private const short IffTun = 0x0001, IffNoPi = 0x1000;
    private const uint TunSetIff = 0x400454ca; // _IOW('T', 202, int)
    private const short PollIn = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, byte[] arg);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
