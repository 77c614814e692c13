using System.Net;
using System.Net.NetworkInformation;
using Room.Rtc.Interop;

namespace Room.Rtc.Ice;

/// <summary>
/// ICE restart on network change: follows the kernel's address changes (rtnetlink, <see cref="AddressMonitor"/>) and,
/// when a host address of <paramref name="agent"/> goes away or a new address appears on an interface the agent
/// uses, rebinds the agent's host candidates (<see cref="IceAgent.RemoveHostAddress"/>,
/// <see cref="IceAgent.AddHostAddress"/>) and restarts ICE (<see cref="IceAgent.Restart"/>: new ufrag/pwd). Changes
/// that come together (an address added and the old one deleted) give one restart once they have settled.
/// TURN relays are allocated again from the new address (<see cref="IceAgent.ReallocateRelaysAsync"/>) before
/// the owner renegotiates on <see cref="Restarted"/>: a new offer with the new credentials and candidates
/// (for Janus: <see cref="Janus.VideoRoomClient.RenegotiateAsync"/>), then applies the answer; DTLS-SRTP state stays.
/// </summary>
public sealed class IceNetworkWatcher : IDisposable
{
    private readonly IceAgent _agent;
    private readonly AddressMonitor _monitor;
    private readonly bool _ownsMonitor;
    private readonly HashSet<int> _interfaces = [];
    private readonly object _gate = new();
    private readonly ITimer _settle;
    private bool _disposed;
    private int _restarts;

    /// <param name="agent">The agent to keep on the current addresses.</param>
    /// <param name="monitor">An address monitor to share; null opens one (and disposes it with the watcher).</param>
    public IceNetworkWatcher(IceAgent agent, AddressMonitor? monitor = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        _agent = agent;
        foreach (var c in agent.LocalCandidates)
            if (c.Type == Sdp.CandidateType.Host && InterfaceOf(c.Address) is int index) _interfaces.Add(index);
        _settle = agent.TimeProvider.CreateTimer(_ => Settled(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ownsMonitor = monitor is null;
        _monitor = monitor ?? AddressMonitor.Start();
        _monitor.Changed += OnChanged;
    }

    /// <summary>How long address changes must be quiet before ICE restarts (default 300 ms).</summary>
    public TimeSpan SettleTime { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>ICE was restarted with new credentials after a change; renegotiate. Raised on a timer thread.</summary>
    public event Action? Restarted;

    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>
    /// Which new addresses to bind. Default: one on an interface the agent already uses, or on any interface once the
    /// agent has no host address left (moving from one network to another); never loopback or IPv6 link-local.
    /// </summary>
    public Func<AddressChange, bool>? AcceptNewAddress { get; set; }

    private static int? InterfaceOf(IPAddress address)
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            var properties = nic.GetIPProperties();
            if (!properties.UnicastAddresses.Any(u => u.Address.Equals(address))) continue;
            try
            {
                return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                    ? properties.GetIPv4Properties().Index : properties.GetIPv6Properties().Index;
            }
            catch (NetworkInformationException)
            {
                return null;
            }
        }
        return null;
    }

    internal void OnChanged(AddressChange change)
    {
        bool changed = false;
        lock (_gate)
        {
            if (_disposed) return;
            var address = change.Address;
            if (change.Kind == AddressChangeKind.Removed)
            {
                changed = _agent.RemoveHostAddress(address);
            }
            else if (!_agent.LocalCandidates.Any(c => c.Address.Equals(address))
                     && (AcceptNewAddress?.Invoke(change) ?? (!IPAddress.IsLoopback(address) && !address.IsIPv6LinkLocal
                         && (_interfaces.Contains(change.InterfaceIndex) || !_agent.LocalCandidates.Any(c => c.Type == Sdp.CandidateType.Host)))))
            {
                try
                {
                    _agent.AddHostAddress(address);
                    _interfaces.Add(change.InterfaceIndex);
                    changed = true;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // Not bindable yet (IPv6 duplicate address detection): a later message or restart picks it up.
                }
            }
            if (changed) _settle.Change(SettleTime, Timeout.InfiniteTimeSpan);
        }
    }

    private void Settled() => _ = SettledAsync();

    private async Task SettledAsync()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _agent.Restart();
            _restarts++;
        }

        // TURN allocations were made on the old path: new ones first, so that the renegotiated offer carries them.
        if (_agent.LocalCandidates.Any(c => c.Type == Sdp.CandidateType.Relay))
        {
            using var timeout = new CancellationTokenSource(RelayTimeout);
            try
            {
                await _agent.ReallocateRelaysAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The old relays stay; the restart goes on with what there is.
            }
        }

        Restarted?.Invoke();
    }

    /// <summary>How long relays may take to be allocated again before the restart goes on without them.</summary>
    public TimeSpan RelayTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _monitor.Changed -= OnChanged;
        _settle.Dispose();
        if (_ownsMonitor) _monitor.Dispose();
    }
}
