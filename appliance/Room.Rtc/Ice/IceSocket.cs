using System.Net;
using System.Net.Sockets;
using Room.Rtc.Sdp;
using Room.Rtc.Stun;

namespace Room.Rtc.Ice;

/// <summary>Where an <see cref="IceSocket"/> hands what it receives (called on its receive thread).</summary>
internal interface IIceSocketReceiver
{
    /// <summary>A datagram that looks like STUN, from <paramref name="from"/> (for a relay: the peer's address).</summary>
    void OnStun(IceSocket local, ReadOnlySpan<byte> datagram, SocketAddress from);

    /// <summary>Any other datagram (DTLS, SRTP, SRTCP); the receiver decides whether its source may send data.</summary>
    void OnData(IceSocket local, ReadOnlySpan<byte> datagram, SocketAddress from);
}

/// <summary>
/// One local candidate's socket and its receive thread: a host UDP socket, or the socket to a TURN server whose
/// relayed candidate it carries (sending through the relay, unwrapping what the relay delivers). Receiving allocates
/// nothing per datagram.
/// </summary>
internal sealed class IceSocket(IIceSocketReceiver receiver, Socket socket, IceCandidate candidate) : IDisposable
{
    public Socket Socket { get; } = socket;
    public IceCandidate Candidate { get; set; } = candidate;
    public TurnClient? Turn { get; init; }
    public TurnRelayServer? Relay { get; init; }
    private Thread? _thread;

    public void SendTo(ReadOnlySpan<byte> datagram, SocketAddress remote, IPEndPoint remoteEndPoint)
    {
        if (Turn is not null) Turn.SendIndication(datagram, remoteEndPoint);
        else Socket.SendTo(datagram, SocketFlags.None, remote);
    }

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "ice-" + Candidate.Port };
        _thread.Start();
    }

    private void Run()
    {
        var buffer = new byte[2048];
        var from = new SocketAddress(Socket.AddressFamily);
        while (true)
        {
            int n;
            if (Turn is { IsStream: true })
            {
                // TCP or TLS to the TURN server: one framed message at a time, from the server by construction.
                n = Turn.ReadFrame(buffer);
                if (n < 0) return;
                if (!Turn.TryUnwrap(buffer.AsSpan(0, n), out var inner, out var peer)) continue;
                Deliver(buffer.AsSpan(inner.Start.Value, inner.End.Value - inner.Start.Value), peer!);
                continue;
            }

            try
            {
                n = Socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue;
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            var datagram = buffer.AsSpan(0, n);
            var source = from;
            if (Turn is not null)
            {
                // From the TURN server: responses to our requests, or a Data indication carrying a peer's datagram.
                if (!from.Equals(Turn.ServerAddress) || !Turn.TryUnwrap(datagram, out var inner, out var peer)) continue;
                datagram = buffer.AsSpan(inner.Start.Value, inner.End.Value - inner.Start.Value);
                source = peer!;
            }
            Deliver(datagram, source);
        }
    }

    private void Deliver(Span<byte> datagram, SocketAddress source)
    {
        if (StunMessage.LooksLikeStun(datagram)) receiver.OnStun(this, datagram, source);
        else receiver.OnData(this, datagram, source);
    }

    public void Dispose()
    {
        Turn?.Dispose(); // deallocates while the receive thread can still hear the answer
        Socket.Dispose();
        _thread?.Join(1000);
    }
}
