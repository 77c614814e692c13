using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Room.Rtc.Sdp;
using Room.Rtc.Stun;

namespace Room.Rtc.Tests;

/// <summary>
/// The far end of an ICE agent under test, played by the test itself on a loopback UDP socket: it sends the checks it
/// is told to, and answers only the checks it is told to answer (so a test decides when consent is refreshed).
/// </summary>
internal sealed class ScriptedIcePeer : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _buffer = new byte[2048];

    public ScriptedIcePeer()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket.ReceiveTimeout = 10_000; // a bound on a datagram the agent already sent, not a pacing assumption
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }
    public string Ufrag { get; } = "peerUfrg";
    public string Password { get; } = "peerPassword0123456789ab";

    public IceCandidate Candidate => new("1", 1, "udp", IceCandidate.ComputePriority(CandidateType.Host, 65535, 1),
        EndPoint.Address, EndPoint.Port, CandidateType.Host);

    /// <summary>A Binding request to the agent as the controlling side, nominating the pair when asked.</summary>
    public void SendCheck(IPEndPoint agent, string agentUfrag, string agentPassword, bool useCandidate)
    {
        Span<byte> buffer = stackalloc byte[256];
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.Request, System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        b.Add(StunAttributeType.Username, Encoding.UTF8.GetBytes(agentUfrag + ":" + Ufrag));
        b.AddUInt32(StunAttributeType.Priority, IceCandidate.ComputePriority(CandidateType.PeerReflexive, 65535, 1));
        b.AddUInt64(StunAttributeType.IceControlling, 42);
        if (useCandidate) b.Add(StunAttributeType.UseCandidate, default);
        b.AddIntegrity(Encoding.UTF8.GetBytes(agentPassword));
        b.AddFingerprint();
        _socket.SendTo(b.Written, agent);
    }

    /// <summary>The next STUN message from the agent (throws if none comes within the socket's timeout).</summary>
    public Received Receive()
    {
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = _socket.ReceiveFrom(_buffer, ref from);
        Assert.Equal(RtcError.None, StunMessage.TryParse(_buffer.AsSpan(0, n), out var m));
        return new Received(m.Class, m.TransactionId.ToArray(), m.Has(StunAttributeType.UseCandidate), (IPEndPoint)from);
    }

    /// <summary>Answers a check from the agent (success, authenticated with our password as the agent expects).</summary>
    public void Answer(Received request)
    {
        Span<byte> buffer = stackalloc byte[256];
        var b = new StunBuilder(buffer, StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId);
        b.AddXorAddress(StunAttributeType.XorMappedAddress, request.From);
        b.AddIntegrity(Encoding.UTF8.GetBytes(Password));
        b.AddFingerprint();
        _socket.SendTo(b.Written, request.From);
    }

    public void Dispose() => _socket.Dispose();

    internal sealed record Received(StunClass Class, byte[] TransactionId, bool UseCandidate, IPEndPoint From);
}

/// <summary>Keeps what was logged, to assert that the agent says why it failed.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Entries.Enqueue((logLevel, formatter(state, exception)));
}
