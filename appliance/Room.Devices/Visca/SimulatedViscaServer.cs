using System.Net;
using System.Net.Sockets;

namespace Room.Devices.Visca;

/// <summary>How the simulated VISCA camera misbehaves, for tests of retries, timeouts and garbage.</summary>
public enum ViscaServerFault
{
    None,
    /// <summary>Receives but never answers.</summary>
    Silent,
    /// <summary>Answers every datagram with bytes that are not VISCA.</summary>
    Garbage,
    /// <summary>Answers inquiries with out-of-range nibbles (a well-framed but wrong reply).</summary>
    BadInquiryData,
}

/// <summary>
/// A VISCA-over-IP PTZ camera on loopback: absolute and drive moves, zoom, presets, position and power
/// inquiries, sequence numbers with RESET, and injectable faults. For tests and the hardware-lab console suite.
/// </summary>
public sealed class SimulatedViscaServer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, (int Pan, int Tilt, int Zoom)> _presets = [];
    private int _pan;
    private int _tilt;
    private int _zoom;
    private int _dropNext;
    private uint? _lastSequence;
    private byte[] _lastReply = [];

    public SimulatedViscaServer(IPAddress? address = null)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(address ?? IPAddress.Loopback, 0));
        Endpoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public IPEndPoint Endpoint { get; }

    public ViscaServerFault Fault { get; set; }

    public int PanUnits { get { lock (_gate) { return _pan; } } }

    public int TiltUnits { get { lock (_gate) { return _tilt; } } }

    public int ZoomUnits { get { lock (_gate) { return _zoom; } } }

    /// <summary>Number of commands and inquiries executed (retransmissions of one sequence number count once).</summary>
    public int Executed { get; private set; }

    public int Received { get; private set; }

    public int Resets { get; private set; }

    /// <summary>Drops the next <paramref name="count"/> datagrams without answering (lost packets).</summary>
    public void DropNext(int count)
    {
        lock (_gate)
        {
            _dropNext = count;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var buffer = new byte[1024];
        var reply = new byte[64];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!ct.IsCancellationRequested)
        {
            var r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, ct);
            Received++;
            lock (_gate)
            {
                if (_dropNext > 0)
                {
                    _dropNext--;
                    continue;
                }
            }

            switch (Fault)
            {
                case ViscaServerFault.Silent:
                    continue;
                case ViscaServerFault.Garbage:
                    await _socket.SendToAsync(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF, 0x01 }, SocketFlags.None, r.RemoteEndPoint, ct);
                    continue;
                default:
                    break;
            }

            if (!ViscaProtocol.TryParseDatagram(buffer.AsSpan(0, r.ReceivedBytes), out var type, out var seq, out _))
            {
                continue;
            }

            var payload = buffer.AsMemory(ViscaProtocol.HeaderSize, r.ReceivedBytes - ViscaProtocol.HeaderSize);
            if (type == ViscaPayloadType.Control)
            {
                if (payload.Length == 1 && payload.Span[0] == 0x01)
                {
                    Resets++;
                    _lastSequence = null;
                    var n = ViscaProtocol.Write(reply, ViscaPayloadType.ControlReply, seq, [0x01]);
                    await _socket.SendToAsync(reply.AsMemory(0, n), SocketFlags.None, r.RemoteEndPoint, ct);
                }

                continue;
            }

            if (type is not (ViscaPayloadType.Command or ViscaPayloadType.Inquiry))
            {
                continue;
            }

            byte[][] answers;
            if (_lastSequence == seq)
            {
                answers = [_lastReply]; // a retransmission: answer again, do not execute twice
            }
            else
            {
                answers = Execute(type, payload.Span);
                _lastSequence = seq;
                _lastReply = answers[^1];
                Executed++;
            }

            foreach (var a in answers)
            {
                var n = ViscaProtocol.Write(reply, ViscaPayloadType.Reply, seq, a);
                await _socket.SendToAsync(reply.AsMemory(0, n), SocketFlags.None, r.RemoteEndPoint, ct);
            }
        }
    }

    private byte[][] Execute(ViscaPayloadType type, ReadOnlySpan<byte> p)
    {
        byte[] ack = [0x90, 0x41, 0xFF];
        byte[] done = [0x90, 0x51, 0xFF];
        byte[] syntax = [0x90, 0x60, 0x02, 0xFF];
        if (p.Length < 3 || p[0] != 0x81 || p[^1] != 0xFF)
        {
            return [syntax];
        }

        lock (_gate)
        {
            if (type == ViscaPayloadType.Inquiry)
            {
                var bad = Fault == ViscaServerFault.BadInquiryData;
                if (p.SequenceEqual((byte[])[0x81, 0x09, 0x06, 0x12, 0xFF]))
                {
                    var r = new byte[11];
                    r[0] = 0x90;
                    r[1] = 0x50;
                    ViscaProtocol.WriteNibbles(r.AsSpan(2), (ushort)(short)_pan, 4);
                    ViscaProtocol.WriteNibbles(r.AsSpan(6), (ushort)(short)_tilt, 4);
                    if (bad)
                    {
                        r[3] = 0x7A;
                    }

                    r[10] = 0xFF;
                    return [r];
                }

                if (p.SequenceEqual((byte[])[0x81, 0x09, 0x04, 0x47, 0xFF]))
                {
                    var r = new byte[7];
                    r[0] = 0x90;
                    r[1] = 0x50;
                    ViscaProtocol.WriteNibbles(r.AsSpan(2), _zoom, 4);
                    r[6] = 0xFF;
                    return [r];
                }

                if (p.SequenceEqual((byte[])[0x81, 0x09, 0x04, 0x00, 0xFF]))
                {
                    return [[0x90, 0x50, (byte)(bad ? 0x09 : 0x02), 0xFF]];
                }

                return [syntax];
            }

            if (p.Length == 15 && p[1] == 0x01 && p[2] == 0x06 && p[3] == 0x02
                && ViscaProtocol.TryReadNibbles(p[6..], 4, out var pan) && ViscaProtocol.TryReadNibbles(p[10..], 4, out var tilt))
            {
                _pan = ViscaProtocol.ToSigned16(pan);
                _tilt = ViscaProtocol.ToSigned16(tilt);
                return [ack, done];
            }

            if (p.Length == 9 && p[1] == 0x01 && p[2] == 0x06 && p[3] == 0x01)
            {
                // Drive: the simulation moves one step of (speed x 10) units per command.
                _pan += p[6] switch { 0x01 => -p[4] * 10, 0x02 => p[4] * 10, _ => 0 };
                _tilt += p[7] switch { 0x01 => p[5] * 10, 0x02 => -p[5] * 10, _ => 0 };
                return [ack, done];
            }

            if (p.Length == 5 && p[1] == 0x01 && p[2] == 0x06 && p[3] == 0x04)
            {
                _pan = _tilt = 0;
                return [ack, done];
            }

            if (p.Length == 9 && p[1] == 0x01 && p[2] == 0x04 && p[3] == 0x47 && ViscaProtocol.TryReadNibbles(p[4..], 4, out var zoom))
            {
                _zoom = Math.Min(zoom, 0x4000);
                return [ack, done];
            }

            if (p.Length == 6 && p[1] == 0x01 && p[2] == 0x04 && p[3] == 0x07)
            {
                _zoom = Math.Clamp(_zoom + ((p[4] & 0xF0) switch { 0x20 => 0x400, 0x30 => -0x400, _ => 0 }), 0, 0x4000);
                return [ack, done];
            }

            if (p.Length == 7 && p[1] == 0x01 && p[2] == 0x04 && p[3] == 0x3F && p[5] < 128)
            {
                switch (p[4])
                {
                    case 0x00:
                        _presets.Remove(p[5]);
                        return [ack, done];
                    case 0x01:
                        _presets[p[5]] = (_pan, _tilt, _zoom);
                        return [ack, done];
                    case 0x02 when _presets.TryGetValue(p[5], out var preset):
                        (_pan, _tilt, _zoom) = preset;
                        return [ack, done];
                    case 0x02:
                        return [ack, [0x90, 0x61, 0x41, 0xFF]];
                    default:
                        break;
                }
            }

            return [syntax];
        }
    }
}
