using System.Globalization;
using System.Text.RegularExpressions;
using Room.Testing.Network;

namespace Room.CallQuality.Bench;

/// <summary>What the bottleneck's queue had done by one moment: bytes it sent on, packets it dropped, bytes waiting.</summary>
internal readonly record struct LinkCounters(long SentBytes, long Dropped, long BacklogBytes);

/// <summary>
/// A token bucket (tc tbf) on one interface's egress: the bottleneck of a shaped link. Its queue holds at most
/// <see cref="QueueMs"/> of traffic at the rate (then drops), as an access link's buffer would. tc's counters say what
/// crossed the link and what it dropped, whoever sent it. (This kernel has tbf but no netem.)
/// </summary>
internal sealed partial class ShapedLink : IDisposable
{
    public const int QueueMs = 100;
    private readonly string _device;

    public ShapedLink(string device, double mbps)
    {
        _device = device;
        Apply("add", mbps);
    }

    public double Mbps { get; private set; }

    /// <summary>Changes the rate in place (the queue and its counters stay).</summary>
    public void SetRate(double mbps) => Apply("change", mbps);

    private void Apply(string verb, double mbps)
    {
        // burst: ten full packets, so the bucket never throttles below the rate at any kernel tick.
        NetNs.Run("tc", string.Create(CultureInfo.InvariantCulture, $"qdisc {verb} dev {_device} root tbf rate {mbps * 1000:F0}kbit burst 15k latency {QueueMs}ms"));
        Mbps = mbps;
    }

    public LinkCounters Read()
    {
        string s = NetNs.Run("tc", $"-s qdisc show dev {_device}");
        var sent = SentPattern().Match(s);
        var backlog = BacklogPattern().Match(s);
        if (!sent.Success || !backlog.Success) throw new InvalidOperationException("tc printed no tbf counters: " + s);
        // tc prints the backlog in b, Kb or Mb (binary multiples).
        long scale = backlog.Groups[2].Value switch { "K" => 1024, "M" => 1024 * 1024, _ => 1 };
        return new LinkCounters(long.Parse(sent.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(sent.Groups[2].Value, CultureInfo.InvariantCulture),
            long.Parse(backlog.Groups[1].Value, CultureInfo.InvariantCulture) * scale);
    }

    public void Dispose() => NetNs.Run("tc", $"qdisc del dev {_device} root", check: false);

    [GeneratedRegex(@"Sent (\d+) bytes \d+ pkt \(dropped (\d+)")]
    private static partial Regex SentPattern();

    [GeneratedRegex(@"backlog (\d+)([KM]?)b")]
    private static partial Regex BacklogPattern();
}
