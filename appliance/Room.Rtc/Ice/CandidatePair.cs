using System.Net;

namespace Room.Rtc.Ice;

/// <summary>A local socket and a remote candidate, with the state of the checks on it (RFC 8445 6.1.2).</summary>
internal sealed class CandidatePair(IceSocket local, IPEndPoint remote, uint remotePriority)
{
    public IceSocket Local { get; } = local;
    public IPEndPoint Remote { get; } = remote;
    public SocketAddress RemoteAddress { get; } = remote.Serialize();
    public uint RemotePriority { get; } = remotePriority;
    public byte[] TransactionId { get; } = new byte[12];
    /// <summary>When the last check went out (<see cref="IceClock"/> ms); <see cref="IceClock.Never"/>: the next is due now.</summary>
    public long LastSentMs = IceClock.Never;
    public int RetransmitMs = 100;
    public int Attempts;
    public bool Succeeded, Nominating, NominatedByPeer, PeerChecked;
    public int NominationAttempts;
    /// <summary>The role the last check on this pair was sent in (a 487 answer means: switch away from it).</summary>
    public bool SentControlling;

    /// <summary>The pair's checks ran out, were refused, or could not be sent (<see cref="FailureReason"/> says which).</summary>
    public bool Failed { get; private set; }

    public string? FailureReason { get; private set; }

    public void Fail(string why)
    {
        if (Failed) return;
        Failed = true;
        FailureReason = why;
    }

    public override string ToString() => $"{Local.Candidate.EndPoint} -> {Remote}";
}
