using System.Net;
using System.Net.Sockets;

namespace Room.Devices.Visca;

/// <summary>Why a VISCA exchange failed.</summary>
public enum ViscaFailure
{
    None,
    /// <summary>No reply after all retries.</summary>
    Timeout,
    /// <summary>Replies arrived but could not be parsed.</summary>
    Garbage,
    /// <summary>The camera answered with a VISCA error (e.g. not executable).</summary>
    Refused,
}

/// <summary>Outcome of one VISCA command or inquiry.</summary>
public readonly record struct ViscaResult(ViscaFailure Failure, string Detail, byte[] Data)
{
    public bool Ok => Failure == ViscaFailure.None;
}

/// <summary>
/// VISCA over IP on UDP: one exchange at a time, sequence numbers, per-attempt timeouts and retries (a retry
/// resends the same sequence number), a RESET of the camera's sequence counter after a lost exchange.
/// </summary>
public sealed class ViscaClient : IDisposable
{
    private readonly Socket _socket;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _tx = new byte[ViscaProtocol.HeaderSize + 16];
    private readonly byte[] _rx = new byte[256];
    private readonly TimeProvider _time;
    private uint _sequence;
    private bool _needReset = true;
    private long _garbageReceived;
    private long _waitsTimedOut;

    public ViscaClient(IPEndPoint camera, TimeSpan replyTimeout, TimeSpan completionTimeout, int retries, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        Camera = camera;
        ReplyTimeout = replyTimeout;
        CompletionTimeout = completionTimeout;
        Retries = retries;
        _socket = new Socket(camera.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Connect(camera);
    }

    public IPEndPoint Camera { get; }

    public TimeSpan ReplyTimeout { get; }

    public TimeSpan CompletionTimeout { get; }

    public int Retries { get; }

    /// <summary>Datagrams that were not a usable reply (for tests that drive the clock: the client is then waiting out its timeout).</summary>
    internal long GarbageReceived => Interlocked.Read(ref _garbageReceived);

    /// <summary>Waits for a reply that ended with the timeout.</summary>
    internal long WaitsTimedOut => Interlocked.Read(ref _waitsTimedOut);

    /// <summary>Sends a command (81 01 ...) and waits for ACK and completion.</summary>
    public Task<ViscaResult> CommandAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        ExchangeAsync(ViscaPayloadType.Command, payload, cancellationToken);

    /// <summary>Sends an inquiry (81 09 ...) and returns the completion's data bytes.</summary>
    public Task<ViscaResult> InquireAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        ExchangeAsync(ViscaPayloadType.Inquiry, payload, cancellationToken);

    public void Dispose()
    {
        _socket.Dispose();
        _gate.Dispose();
    }

    private async Task<ViscaResult> ExchangeAsync(ViscaPayloadType type, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_needReset)
            {
                // Resynchronise the camera's sequence counter (control command RESET, reply carries 01).
                var reset = await SendAndWaitAsync(ViscaPayloadType.Control, 0, new byte[] { 0x01 }, control: true, ct);
                if (reset.Ok)
                {
                    _sequence = 0;
                    _needReset = false;
                }
                else if (reset.Failure == ViscaFailure.Timeout)
                {
                    return reset;
                }
            }

            var seq = unchecked(++_sequence);
            var result = await SendAndWaitAsync(type, seq, payload, control: false, ct);
            if (result.Failure is ViscaFailure.Timeout or ViscaFailure.Garbage)
            {
                _needReset = true;
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<ViscaResult> SendAndWaitAsync(ViscaPayloadType type, uint seq, ReadOnlyMemory<byte> payload, bool control, CancellationToken ct)
    {
        var length = ViscaProtocol.Write(_tx, type, seq, payload.Span);
        string? garbage = null;
        for (var attempt = 0; attempt <= Retries; attempt++)
        {
            await _socket.SendAsync(_tx.AsMemory(0, length), SocketFlags.None, ct);
            var acked = false;
            var deadline = ReplyTimeout;
            while (true)
            {
                using var timer = new CancellationTokenSource(deadline, _time);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
                int n;
                try
                {
                    n = await _socket.ReceiveAsync(_rx, SocketFlags.None, timeout.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _waitsTimedOut);
                    break; // this attempt timed out
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
                {
                    // ICMP port unreachable: nothing listens there. Count as no answer for this attempt.
                    break;
                }

                if (!ViscaProtocol.TryParseDatagram(_rx.AsSpan(0, n), out var rtype, out var rseq, out var rpayload))
                {
                    Interlocked.Increment(ref _garbageReceived);
                    garbage = $"malformed datagram {Convert.ToHexString(_rx, 0, Math.Min(n, 24))}";
                    continue;
                }

                if (rseq != seq)
                {
                    continue; // a late reply to an earlier exchange
                }

                if (control)
                {
                    if (rtype == ViscaPayloadType.ControlReply)
                    {
                        return new ViscaResult(ViscaFailure.None, "", []);
                    }

                    continue;
                }

                if (rtype != ViscaPayloadType.Reply)
                {
                    if (rtype == ViscaPayloadType.ControlReply && rpayload.Length == 2 && rpayload[0] == 0x0F)
                    {
                        _needReset = true; // camera reports a sequence-number or message error
                        return new ViscaResult(ViscaFailure.Refused, $"camera reported control error 0x{rpayload[1]:x2}", []);
                    }

                    Interlocked.Increment(ref _garbageReceived);
                    garbage = $"unexpected payload type 0x{(ushort)rtype:x4}";
                    continue;
                }

                if (!ViscaProtocol.TryParseReply(_rx.AsMemory(ViscaProtocol.HeaderSize, n - ViscaProtocol.HeaderSize), out var reply))
                {
                    Interlocked.Increment(ref _garbageReceived);
                    garbage = $"malformed reply {Convert.ToHexString(rpayload)}";
                    continue;
                }

                switch (reply.Kind)
                {
                    case ViscaReplyKind.Ack:
                        acked = true;
                        deadline = CompletionTimeout;
                        continue;
                    case ViscaReplyKind.Error:
                        return new ViscaResult(ViscaFailure.Refused, reply.ErrorText, []);
                    default:
                        return new ViscaResult(ViscaFailure.None, "", reply.Data.ToArray());
                }
            }

            if (acked)
            {
                // Acknowledged but never completed: the motor may still be moving; do not resend the command.
                return new ViscaResult(ViscaFailure.Timeout, "command acknowledged but not completed", []);
            }
        }

        return garbage is not null
            ? new ViscaResult(ViscaFailure.Garbage, garbage, [])
            : new ViscaResult(ViscaFailure.Timeout, $"no reply from {Camera} after {Retries + 1} attempts", []);
    }
}
