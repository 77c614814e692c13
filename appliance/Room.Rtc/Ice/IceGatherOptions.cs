using System.Net;

namespace Room.Rtc.Ice;

/// <summary>What <see cref="IceAgent.Gather"/> collects beyond the host candidates.</summary>
public sealed record IceGatherOptions
{
    /// <summary>A STUN server for server-reflexive candidates (RFC 8489 Binding).</summary>
    public IPEndPoint? StunServer { get; init; }
    /// <summary>A TURN server (RFC 8656, UDP, long-term credentials) for a relayed candidate.</summary>
    public IPEndPoint? TurnServer { get; init; }
    public string? TurnUsername { get; init; }
    public string? TurnPassword { get; init; }
    /// <summary>The local address to reach the TURN server from (default: the first host address of its family).</summary>
    public IPAddress? TurnLocalAddress { get; init; }
    /// <summary>More TURN servers (UDP, TCP or TLS), one relayed candidate from each, gathered concurrently.</summary>
    public IReadOnlyList<TurnRelayServer> TurnServers { get; init; } = [];
}
