using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Room.Rtc.Sdp;

namespace Room.Rtc.Ice;

/// <summary>
/// The agent's bound sockets: one UDP host socket per local address (each a host candidate) and the sockets to TURN
/// servers that carry relayed candidates, each with its receive loop (<see cref="IceSocket"/>). Not thread-safe: the
/// agent calls it under its lock.
/// </summary>
internal sealed class IceSockets(IIceSocketReceiver receiver)
{
    private readonly List<IceSocket> _all = [];
    private readonly List<IPAddress> _unusable = [];
    private int _nextFoundation = 100;

    public IReadOnlyList<IceSocket> All => _all;

    public int Count => _all.Count;

    /// <summary>Local addresses that could not be bound when the agent was made (gone, or IPv6 still tentative).</summary>
    public IReadOnlyList<IPAddress> Unusable => _unusable;

    public IEnumerable<IceSocket> Hosts => _all.Where(s => s.Turn is null);

    public IEnumerable<IceSocket> Relays => _all.Where(s => s.Turn is not null);

    /// <summary>
    /// Binds a host candidate on each address (foundations 1, 2, ..., preferences from 65535 down). Addresses that
    /// cannot be bound are skipped and listed in <see cref="Unusable"/>; if none of several can be, throws why.
    /// </summary>
    public void BindHosts(IEnumerable<IPAddress> localAddresses)
    {
        int preference = 65535;
        SocketException? unusable = null;
        foreach (var address in localAddresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(address, 0));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                // An address that went away, or an IPv6 address still tentative (duplicate address detection, the
                // first second or two of an interface): no candidate from it, the others still work.
                socket.Dispose();
                _unusable.Add(address);
                unusable = e;
                continue;
            }

            var local = (IPEndPoint)socket.LocalEndPoint!;
            var candidate = new IceCandidate((_all.Count + 1).ToString(CultureInfo.InvariantCulture), 1, "udp",
                IceCandidate.ComputePriority(CandidateType.Host, preference--, 1), local.Address, local.Port, CandidateType.Host);
            Start(new IceSocket(receiver, socket, candidate));
        }
        if (_all.Count == 0 && unusable is not null)
        {
            throw unusable; // none of the given addresses can be used: joining fails with the reason
        }
        // No host address is allowed: a relay-only agent gathers only through TURN.
    }

    /// <summary>The host socket on <paramref name="address"/>, if any.</summary>
    public IceSocket? HostOn(IPAddress address) => _all.FirstOrDefault(s => s.Turn is null && s.Candidate.Address.Equals(address));

    /// <summary>Binds a host candidate on an address that appeared after the agent was made (network change).</summary>
    public IceSocket BindHost(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(address, 0));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var local = (IPEndPoint)socket.LocalEndPoint!;
        int preference = 65535 - _all.Count;
        var candidate = new IceCandidate((++_nextFoundation).ToString(CultureInfo.InvariantCulture), 1, "udp",
            IceCandidate.ComputePriority(CandidateType.Host, preference, 1), local.Address, local.Port, CandidateType.Host);
        var ls = new IceSocket(receiver, socket, candidate);
        Start(ls);
        return ls;
    }

    private void Start(IceSocket socket)
    {
        _all.Add(socket);
        socket.Start();
    }

    /// <summary>Adds a relay's socket, already receiving and allocated.</summary>
    public void AddRelay(IceSocket relay) => _all.Add(relay);

    /// <summary>Takes the host sockets on <paramref name="address"/> out of the set; the caller disposes them.</summary>
    public List<IceSocket> RemoveHosts(IPAddress address)
    {
        var gone = _all.Where(s => s.Turn is null && s.Candidate.Address.Equals(address)).ToList();
        foreach (var s in gone) _all.Remove(s);
        return gone;
    }

    /// <summary>Takes one relay's socket out of the set; the caller disposes it.</summary>
    public bool RemoveRelay(IceSocket relay) => relay.Turn is not null && _all.Remove(relay);

    public void DisposeAll()
    {
        foreach (var s in _all) s.Dispose();
    }
}
