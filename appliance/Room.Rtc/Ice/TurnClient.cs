using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Room.Rtc.Stun;

namespace Room.Rtc.Ice;

/// <summary>
/// The client side of one TURN allocation (RFC 8656) over UDP, TCP or TLS with long-term credentials: Allocate (answering the
/// 401 challenge), CreatePermission per peer address, Send indications out and Data indications in. The receive
/// loop of the owning socket hands every datagram from the server to <see cref="TryUnwrap"/>. Once allocated, a
/// maintenance loop refreshes the allocation before its LIFETIME runs out (RFC 8656 8) and every permission before
/// its 5 minutes do (RFC 8656 9); a 438 Stale Nonce is answered with the new nonce on any request; closing
/// deallocates (Refresh with LIFETIME 0). Over TCP and TLS (RFC 8656 3.1, 12.5) the messages are framed on the stream
/// by their own length fields, ChannelData padded to a multiple of four bytes; <see cref="ReadFrame"/> hands them to
/// the owner's receive loop one at a time, as the UDP path hands datagrams. Requests are not retransmitted on a stream.
/// </summary>
internal sealed class TurnClient : IDisposable
{
    /// <summary>The allocation lifetime we ask for (the server may grant less).</summary>
    public const uint RequestedLifetimeSeconds = 600;
    /// <summary>Channels we bind at most (one per peer we send to; the agent pairs at most 64 remote candidates).</summary>
    public const int MaxChannels = 64;
    private const ushort FirstChannel = 0x4000;
    private readonly CancellationTokenSource _stop = new();
    private Task? _maintenance;
    // Channel bindings (RFC 8656 12): peer -> channel once the server confirmed it; channel -> peer for ChannelData in.
    private readonly Dictionary<IPEndPoint, ushort> _channelOf = [];
    private readonly HashSet<IPEndPoint> _channelRequested = [];
    private readonly SocketAddress?[] _channelPeer = new SocketAddress?[MaxChannels];
    private readonly IPEndPoint?[] _channelEndPoint = new IPEndPoint?[MaxChannels];
    private int _channelsUsed;
    private readonly Socket _socket;
    private readonly string _username, _password;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<byte[]>> _pending = new();
    private readonly ConcurrentDictionary<IPAddress, bool> _permitted = new();
    private readonly object _sendLock = new();
    private readonly byte[] _sendBuffer = new byte[2048];
    private string? _realm, _nonce;
    private byte[]? _key;

    private readonly Stream? _stream;
    private readonly object _writeLock = new();

    /// <summary>The clock for retransmissions and refreshes (the agent's).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public TurnClient(Socket socket, IPEndPoint server, string username, string password)
    {
        _socket = socket;
        Server = server;
        ServerAddress = server.Serialize();
        _username = username;
        _password = password;
    }

    /// <summary>A client over a connected stream to the server (TCP, or TLS already authenticated on top of it).</summary>
    public TurnClient(Socket socket, Stream stream, TurnTransport transport, IPEndPoint server, string username, string password)
        : this(socket, server, username, password)
    {
        _stream = stream;
        Transport = transport;
    }

    public IPEndPoint Server { get; }
    public SocketAddress ServerAddress { get; }

    /// <summary>How the server is reached.</summary>
    public TurnTransport Transport { get; } = TurnTransport.Udp;

    /// <summary>True when the server is reached over a stream (TCP or TLS): read with <see cref="ReadFrame"/>.</summary>
    public bool IsStream => _stream is not null;

    /// <summary>The stream to the server closed or broke (its allocation is gone with it, RFC 8656 3.1).</summary>
    public bool StreamClosed { get; private set; }

    /// <summary>
    /// Reads the next STUN message or ChannelData message from the stream into <paramref name="buffer"/> (blocking);
    /// returns its length without the padding, or -1 when the stream ended, broke or framed something that is neither
    /// (then the connection is closed: there is no way to find the next message boundary). Allocates nothing.
    /// </summary>
    public int ReadFrame(byte[] buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (_stream is null) throw new InvalidOperationException("not a stream client");
        try
        {
            _stream.ReadExactly(buffer, 0, 4);
            int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2));
            int total, frame;
            if (buffer[0] is >= 0x40 and <= 0x4F)
            {
                frame = 4 + length;
                total = (frame + 3) & ~3; // ChannelData is padded to 4 bytes over streams (RFC 8656 12.5)
            }
            else if (buffer[0] < 4 && (length & 3) == 0)
            {
                frame = total = StunMessage.HeaderLength + length;
            }
            else
            {
                return Close();
            }

            if (total > buffer.Length) return Close();
            _stream.ReadExactly(buffer, 4, total - 4);
            return frame;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or EndOfStreamException or SocketException
                                      or System.Security.Authentication.AuthenticationException or InvalidOperationException)
        {
            StreamClosed = true;
            return -1;
        }

        int Close()
        {
            StreamClosed = true;
            try
            {
                _stream.Dispose();
            }
            catch (IOException)
            {
            }

            return -1;
        }
    }

    /// <summary>One message to the server: a datagram over UDP, or written whole to the stream.</summary>
    private void SendToServer(ReadOnlySpan<byte> message)
    {
        if (_stream is null)
        {
            _socket.SendTo(message, SocketFlags.None, ServerAddress);
            return;
        }

        lock (_writeLock)
        {
            try
            {
                _stream.Write(message);
            }
            catch (IOException)
            {
                StreamClosed = true;
            }
        }
    }

    /// <summary>Permissions last 300 s (RFC 8656 9); refreshed this often. Tests shorten it with the server's.</summary>
    public TimeSpan PermissionRefreshInterval { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>Channel bindings last 10 minutes (RFC 8656 12); refreshed this often.</summary>
    public TimeSpan ChannelRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Channels bound and confirmed; datagrams sent and received as ChannelData (diagnostics).</summary>
    public int ChannelsBound
    {
        get
        {
            lock (_sendLock) return _channelOf.Count;
        }
    }

    public long ChannelDataSent => Interlocked.Read(ref _channelDataSent);
    public long ChannelDataReceived => Interlocked.Read(ref _channelDataReceived);
    public int ChannelRefreshes => _channelRefreshes;
    private long _channelDataSent, _channelDataReceived;
    private int _channelRefreshes;

    /// <summary>Lifetime the server granted at the last Allocate or Refresh.</summary>
    public TimeSpan Lifetime { get; private set; }

    /// <summary>Successful allocation refreshes, permission refreshes, stale nonces answered (diagnostics).</summary>
    public int Refreshes => _refreshes;
    public int PermissionRefreshes => _permissionRefreshes;
    public int StaleNonces => _staleNonces;
    private int _refreshes, _permissionRefreshes, _staleNonces;

    /// <summary>The allocation could not be kept (a refresh failed, or the stream to the server closed); the relayed candidate is dead.</summary>
    public bool Failed
    {
        get => _failed || StreamClosed;
        private set => _failed = value;
    }

    private bool _failed;

    /// <summary>The server confirmed the deallocation on close.</summary>
    public bool Deallocated { get; private set; }

    private delegate void AttributeWriter(ref StunBuilder builder);

    private byte[] BuildRequest(int method, AttributeWriter attributes, bool authenticate, byte[] transaction)
    {
        var buffer = new byte[1024];
        var b = new StunBuilder(buffer, method, StunClass.Request, transaction);
        attributes(ref b);
        if (authenticate && _key is not null)
        {
            b.Add(StunAttributeType.Username, Encoding.UTF8.GetBytes(_username));
            b.Add(StunAttributeType.Realm, Encoding.UTF8.GetBytes(_realm!));
            b.Add(StunAttributeType.Nonce, Encoding.UTF8.GetBytes(_nonce!));
            b.AddIntegrity(_key);
        }
        b.AddFingerprint();
        return b.Written.ToArray();
    }

    private async Task<byte[]> RequestAsync(int method, AttributeWriter attributes, bool authenticate, CancellationToken ct)
    {
        var transaction = RandomNumberGenerator.GetBytes(12);
        var message = BuildRequest(method, attributes, authenticate, transaction);
        var id = Convert.ToHexString(transaction);
        var tcs = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        try
        {
            if (_stream is not null)
            {
                // A reliable transport: sent once (RFC 8489 6.2.2), answered or given up after the UDP schedule's total.
                if (StreamClosed) throw new TimeoutException("the connection to the TURN server is closed");
                SendToServer(message);
                var done = await Task.WhenAny(tcs.Task, Task.Delay(TimeSpan.FromMilliseconds(9750), Time, ct)).ConfigureAwait(false);
                if (done == tcs.Task) return await tcs.Task.ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                throw new TimeoutException("TURN server did not answer");
            }

            for (int attempt = 0; attempt < 7; attempt++)
            {
                SendToServer(message);
                var done = await Task.WhenAny(tcs.Task, Task.Delay(TimeSpan.FromMilliseconds(250 << Math.Min(attempt, 3)), Time, ct)).ConfigureAwait(false);
                if (done == tcs.Task) return await tcs.Task.ConfigureAwait(false);
            }
            throw new TimeoutException("TURN server did not answer");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Allocates a relayed UDP address; returns it and our server-reflexive address.</summary>
    public async Task<(IPEndPoint Relayed, IPEndPoint Mapped)> AllocateAsync(CancellationToken ct)
    {
        static void Udp(ref StunBuilder b) => b.AddUInt32(StunAttributeType.RequestedTransport, 17u << 24);
        for (int round = 0; round < 3; round++)
        {
            var reply = await RequestAsync(StunMethod.Allocate, Udp, authenticate: true, ct).ConfigureAwait(false);
            if (StunMessage.TryParse(reply, out var m) != RtcError.None) throw new RtcFormatException(RtcError.BadSyntax, "bad TURN reply");
            if (m.Class == StunClass.SuccessResponse)
            {
                if (_key is null || !m.VerifyIntegrity(_key)) throw new RtcFormatException(RtcError.BadIntegrity, "TURN reply not authenticated");
                m.TryGetXorAddress(StunAttributeType.XorRelayedAddress, out var relayed);
                m.TryGetXorAddress(StunAttributeType.XorMappedAddress, out var mapped);
                if (relayed is null) throw new RtcFormatException(RtcError.BadAttribute, "no XOR-RELAYED-ADDRESS");
                Lifetime = TimeSpan.FromSeconds(m.TryGetUInt32(StunAttributeType.Lifetime, out uint seconds) ? seconds : 600);
                _maintenance = Task.Run(() => MaintainAsync(_stop.Token), CancellationToken.None);
                return (relayed, mapped ?? relayed);
            }
            int code = m.ErrorCode;
            if (code == 438) Interlocked.Increment(ref _staleNonces);
            if (code is 401 or 438 && ReadChallenge(m)) continue;
            string reason = m.TryGetAttribute(StunAttributeType.ErrorCode, out var ec) && ec.Length > 4 ? Encoding.UTF8.GetString(ec[4..]) : "";
            throw new RtcFormatException(code == 401 ? RtcError.AuthenticationFailed : RtcError.Unsupported, $"TURN Allocate failed: {code} {reason} (round {round})");
        }
        throw new RtcFormatException(RtcError.AuthenticationFailed, "TURN Allocate: authentication did not converge");
    }

    private bool ReadChallenge(StunMessage m)
    {
        if (!m.TryGetAttribute(StunAttributeType.Nonce, out var nonce)) return false;
        _nonce = Encoding.UTF8.GetString(nonce);
        if (m.TryGetAttribute(StunAttributeType.Realm, out var realm)) _realm = Encoding.UTF8.GetString(realm);
        if (_realm is null) return false;
        _key = StunBuilder.LongTermKey(_username, _realm, _password);
        return true;
    }

    /// <summary>
    /// An authenticated request that answers 438 Stale Nonce (RFC 8656 / RFC 8489 9.2.5) with the new nonce and
    /// tries again once. Returns the parsed reply's bytes; null if the server did not answer.
    /// </summary>
    private async Task<byte[]?> AuthenticatedAsync(int method, AttributeWriter attributes, CancellationToken ct)
    {
        byte[]? reply = null;
        for (int round = 0; round < 2; round++)
        {
            try
            {
                reply = await RequestAsync(method, attributes, true, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }
            if (StunMessage.TryParse(reply, out var m) != RtcError.None) return null;
            if (m.Class == StunClass.ErrorResponse && m.ErrorCode == 438 && ReadChallenge(m))
            {
                Interlocked.Increment(ref _staleNonces);
                continue;
            }
            return reply;
        }
        return reply;
    }

    private bool Succeeded(byte[]? reply) =>
        reply is not null && StunMessage.TryParse(reply, out var m) == RtcError.None && m.Class == StunClass.SuccessResponse
        && _key is not null && m.VerifyIntegrity(_key);

    /// <summary>Installs a permission for <paramref name="peer"/> (once per address; runs in the background).</summary>
    public void Permit(IPAddress peer)
    {
        // Bounded by the agent's candidate limit: one permission per remote candidate address.
        if (_stop.IsCancellationRequested || !_permitted.TryAdd(peer, true)) return;
        _ = Task.Run(async () =>
        {
            if (!await CreatePermissionAsync(peer, _stop.Token).ConfigureAwait(false)) _permitted.TryRemove(peer, out _);
        });
    }

    private async Task<bool> CreatePermissionAsync(IPAddress peer, CancellationToken ct)
    {
        try
        {
            var reply = await AuthenticatedAsync(StunMethod.CreatePermission,
                (ref StunBuilder b) => b.AddXorAddress(StunAttributeType.XorPeerAddress, new IPEndPoint(peer, 0)), ct).ConfigureAwait(false);
            return Succeeded(reply);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Refreshes the allocation (LIFETIME <paramref name="lifetime"/>; 0 deletes it). True if the server agreed.</summary>
    private async Task<bool> RefreshAsync(uint lifetime, CancellationToken ct)
    {
        var reply = await AuthenticatedAsync(StunMethod.Refresh,
            (ref StunBuilder b) => b.AddUInt32(StunAttributeType.Lifetime, lifetime), ct).ConfigureAwait(false);
        if (!Succeeded(reply)) return false;
        _ = StunMessage.TryParse(reply, out var m);
        if (m.TryGetUInt32(StunAttributeType.Lifetime, out uint granted)) Lifetime = TimeSpan.FromSeconds(granted);
        return true;
    }

    /// <summary>
    /// Keeps the allocation and its permissions alive: refresh at half the granted lifetime (at most a minute
    /// before it ends), permissions every <see cref="PermissionRefreshInterval"/>.
    /// </summary>
    private async Task MaintainAsync(CancellationToken ct)
    {
        long start = Time.GetTimestamp();
        var nextRefresh = RefreshDelay();
        var nextPermissions = PermissionRefreshInterval;
        var nextChannels = ChannelRefreshInterval;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var due = nextRefresh < nextPermissions ? nextRefresh : nextPermissions;
                if (nextChannels < due) due = nextChannels;
                var wait = due - Time.GetElapsedTime(start);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, Time, ct).ConfigureAwait(false);
                if (Time.GetElapsedTime(start) >= nextRefresh)
                {
                    if (await RefreshAsync(RequestedLifetimeSeconds, ct).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref _refreshes);
                        nextRefresh = Time.GetElapsedTime(start) + RefreshDelay();
                    }
                    else if (Time.GetElapsedTime(start) >= nextRefresh + Lifetime / 2)
                    {
                        Failed = true; // the allocation has expired on the server by now
                        return;
                    }
                    else
                    {
                        nextRefresh = Time.GetElapsedTime(start) + TimeSpan.FromSeconds(1);
                    }
                }
                if (Time.GetElapsedTime(start) >= nextPermissions)
                {
                    foreach (var peer in _permitted.Keys)
                        if (await CreatePermissionAsync(peer, ct).ConfigureAwait(false)) Interlocked.Increment(ref _permissionRefreshes);
                    nextPermissions = Time.GetElapsedTime(start) + PermissionRefreshInterval;
                }
                if (Time.GetElapsedTime(start) >= nextChannels)
                {
                    // A ChannelBind for a bound channel refreshes it (and its permission).
                    List<(ushort Channel, IPEndPoint Peer)> bound;
                    lock (_sendLock) bound = _channelOf.Select(kv => (kv.Value, kv.Key)).ToList();
                    foreach (var (channel, peer) in bound)
                        if (await ChannelBindAsync(channel, peer, ct).ConfigureAwait(false)) Interlocked.Increment(ref _channelRefreshes);
                    nextChannels = Time.GetElapsedTime(start) + ChannelRefreshInterval;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private TimeSpan RefreshDelay()
    {
        var half = Lifetime / 2;
        var minuteBefore = Lifetime - TimeSpan.FromMinutes(1);
        var delay = minuteBefore > half ? minuteBefore : half;
        return delay > TimeSpan.FromMilliseconds(500) ? delay : TimeSpan.FromMilliseconds(500);
    }

    /// <summary>Deletes the allocation (Refresh with LIFETIME 0, RFC 8656 7); waits briefly for the server's answer.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        try
        {
            _maintenance?.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
        }
        if (_key is not null && _maintenance is not null && !StreamClosed)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                Deallocated = RefreshAsync(0, cts.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or TimeoutException or IOException)
            {
            }
        }

        // Closing the stream closes the connection (and over TLS sends close_notify); the owner's reader then ends.
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>
    /// Sends a datagram to <paramref name="peer"/> through the relay: as ChannelData (4-byte header) once a channel is
    /// bound to the peer, else as a Send indication while a ChannelBind is requested. Allocates nothing per datagram
    /// once the channel is bound.
    /// </summary>
    public void SendIndication(ReadOnlySpan<byte> datagram, IPEndPoint peer)
    {
        bool bind = false;
        lock (_sendLock)
        {
            try
            {
                if (_channelOf.TryGetValue(peer, out ushort channel))
                {
                    if (datagram.Length + 7 > _sendBuffer.Length) return;
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_sendBuffer, channel);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(_sendBuffer.AsSpan(2), (ushort)datagram.Length);
                    datagram.CopyTo(_sendBuffer.AsSpan(4));
                    int length = 4 + datagram.Length;
                    if (_stream is not null)
                    {
                        // Padded to a multiple of four over TCP and TLS (RFC 8656 12.5).
                        int padded = (length + 3) & ~3;
                        _sendBuffer.AsSpan(length, padded - length).Clear();
                        length = padded;
                    }

                    SendToServer(_sendBuffer.AsSpan(0, length));
                    _channelDataSent++;
                    return;
                }
                bind = _channelsUsed < MaxChannels && _channelRequested.Add(peer);
                Span<byte> transaction = stackalloc byte[12];
                RandomNumberGenerator.Fill(transaction);
                var b = new StunBuilder(_sendBuffer, StunMethod.Send, StunClass.Indication, transaction);
                b.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
                b.Add(StunAttributeType.Data, datagram);
                SendToServer(b.Written);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
        if (bind && _maintenance is not null && !_stop.IsCancellationRequested) _ = Task.Run(() => BindChannelAsync(peer, _stop.Token));
    }

    /// <summary>ChannelBind (RFC 8656 11): picks the next channel for <paramref name="peer"/> and asks the server.</summary>
    private async Task BindChannelAsync(IPEndPoint peer, CancellationToken ct)
    {
        int index;
        lock (_sendLock)
        {
            if (_channelsUsed >= MaxChannels) return;
            index = _channelsUsed++;
            _channelEndPoint[index] = peer;
        }
        if (await ChannelBindAsync((ushort)(FirstChannel + index), peer, ct).ConfigureAwait(false))
        {
            lock (_sendLock)
            {
                _channelPeer[index] = peer.Serialize();
                _channelOf[peer] = (ushort)(FirstChannel + index);
            }
        }
    }

    private async Task<bool> ChannelBindAsync(ushort channel, IPEndPoint peer, CancellationToken ct)
    {
        try
        {
            var reply = await AuthenticatedAsync(StunMethod.ChannelBind, (ref StunBuilder b) =>
            {
                b.AddUInt32(StunAttributeType.ChannelNumber, (uint)channel << 16);
                b.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
            }, ct).ConfigureAwait(false);
            return Succeeded(reply);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Handles a datagram from the server: completes a pending request, or unwraps a Data indication into the peer's
    /// datagram (as a range of <paramref name="datagram"/>) and its address. False if there is nothing to deliver.
    /// </summary>
    public bool TryUnwrap(ReadOnlySpan<byte> datagram, out Range inner, out SocketAddress? peer)
    {
        inner = default;
        peer = null;
        if (datagram.Length >= 4 && datagram[0] is >= 0x40 and <= 0x4F)
        {
            // ChannelData (RFC 8656 12.4): channel number, length, data (padding over UDP optional).
            int index = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(datagram) - FirstChannel;
            int length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
            if (index >= MaxChannels || length > datagram.Length - 4) return false;
            peer = Volatile.Read(ref _channelPeer[index]);
            if (peer is null) return false;
            inner = 4..(4 + length);
            Interlocked.Increment(ref _channelDataReceived);
            return true;
        }
        if (StunMessage.TryParse(datagram, out var m) != RtcError.None) return false;
        if (m.Class is StunClass.SuccessResponse or StunClass.ErrorResponse)
        {
            if (_pending.TryGetValue(Convert.ToHexString(m.TransactionId), out var tcs)) tcs.TrySetResult(datagram.ToArray());
            return false;
        }
        if (m.Class != StunClass.Indication || m.Method != StunMethod.Data) return false;
        if (m.TryGetXorAddress(StunAttributeType.XorPeerAddress, out var ep) != RtcError.None || ep is null) return false;
        if (!m.TryGetAttribute(StunAttributeType.Data, out var data)) return false;
        if (!datagram.Overlaps(data, out int start)) return false;
        inner = start..(start + data.Length);
        peer = ep.Serialize();
        return true;
    }
}
