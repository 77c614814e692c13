using System.Net;
using Room.Rtc.Congestion;
using Room.Rtc.Dtls;
using Room.Rtc.Ice;
using Room.Rtc.Rtcp;
using Room.Rtc.Rtp;
using Room.Rtc.Sdp;
using Room.Rtc.Srtp;

namespace Room.Rtc;

/// <summary>Receives one unprotected RTP or RTCP packet; called on the network thread, the span is only valid during the call.</summary>
public delegate void PacketHandler(ReadOnlySpan<byte> packet);

/// <summary>
/// One bundled WebRTC transport (what a browser's RTCPeerConnection has one of with BUNDLE + rtcp-mux): ICE, then
/// DTLS-SRTP, then SRTP/SRTCP for every stream on it. Demultiplexes per RFC 7983. Sending and receiving media allocate
/// nothing per packet.
/// </summary>
public sealed class RtcTransport : IDisposable
{
    private readonly object _sendLock = new();
    private readonly byte[] _sendBuffer = new byte[2048];
    private readonly byte[] _receiveBuffer = new byte[2048];
    private DtlsSrtpTransport? _dtls;
    private SrtpSession? _sender, _receiver;
    private readonly TaskCompletionSource _iceConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RtcTransport(IEnumerable<IPAddress> localAddresses, bool controlling, DtlsCertificate? certificate = null,
        Microsoft.Extensions.Logging.ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        TimeProvider = timeProvider ?? TimeProvider.System;
        _epoch = TimeProvider.GetTimestamp();
        Certificate = certificate ?? DtlsCertificate.CreateSelfSigned(TimeProvider);
        Ice = new IceAgent(localAddresses, controlling, logger, TimeProvider);
        Ice.StateChanged += s =>
        {
            if (s == IceState.Connected) _iceConnected.TrySetResult();
            if (s == IceState.Failed) _iceConnected.TrySetException(new RtcFormatException(RtcError.Unsupported, "ICE failed: " + (Ice.FailureReason ?? "unknown")));
        };
        Ice.DataReceived = OnDatagram;
    }

    public IceAgent Ice { get; }

    /// <summary>The clock of everything on this transport: ICE, the RTP senders and receivers on it, congestion control.</summary>
    public TimeProvider TimeProvider { get; }

    private readonly long _epoch;

    /// <summary>Milliseconds since the transport was made, on <see cref="TimeProvider"/> (congestion control's clock).</summary>
    public long ElapsedMilliseconds => (long)TimeProvider.GetElapsedTime(_epoch).TotalMilliseconds;

    public DtlsCertificate Certificate { get; }
    public SrtpKeys? Keys { get; private set; }

    /// <summary>
    /// Send-side congestion control: when set together with <see cref="TransportCcExtensionId"/>, senders stamp
    /// transport-wide sequence numbers and TWCC feedback and REMB from the peer drive it.
    /// </summary>
    public CongestionController? Congestion { get; set; }

    /// <summary>The negotiated a=extmap id of the transport-wide-cc extension (0: none).</summary>
    public int TransportCcExtensionId { get; set; }

    private int _transportSequence;
    private readonly PacketResult[] _feedback = new PacketResult[TransportFeedback.MaxPacketsPerFeedback];

    /// <summary>Next transport-wide sequence number (shared by every stream on this transport).</summary>
    public ushort NextTransportSequence() => (ushort)Interlocked.Increment(ref _transportSequence);

    public PacketHandler? RtpReceived { get; set; }
    public PacketHandler? RtcpReceived { get; set; }

    public long RtpPacketsReceived { get; private set; }
    public long RtcpPacketsReceived { get; private set; }
    /// <summary>Packets that failed authentication, replay checks or parsing.</summary>
    public long PacketsRejected { get; private set; }
    public long RtpPacketsSent { get; private set; }

    /// <summary>Applies the remote description's ICE credentials and candidates.</summary>
    public void ApplyRemote(SessionDescription remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var ufrag = remote.SessionOrFirstMedia("ice-ufrag") ?? throw new RtcFormatException(RtcError.BadSyntax, "no ice-ufrag");
        var pwd = remote.SessionOrFirstMedia("ice-pwd") ?? throw new RtcFormatException(RtcError.BadSyntax, "no ice-pwd");
        Ice.SetRemoteCredentials(ufrag, pwd);
        foreach (var m in remote.Media)
            foreach (var c in m.All("candidate"))
                if (IceCandidate.TryParse(c, out var candidate) == RtcError.None) Ice.AddRemoteCandidate(candidate!);
    }

    /// <summary>
    /// Starts DTLS in <paramref name="role"/> once ICE connects; completes with the SRTP keys when media can flow.
    /// </summary>
    public async Task<SrtpKeys> ConnectAsync(DtlsRole role, string remoteFingerprint, CancellationToken cancellationToken)
    {
        _dtls = new DtlsSrtpTransport(Certificate, role, remoteFingerprint, d => Ice.Send(d.Span));
        await _iceConnected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var keys = await _dtls.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        lock (_sendLock)
        {
            _sender = keys.CreateSender();
            _receiver = keys.CreateReceiver();
            Keys = keys;
        }
        return keys;
    }

    private void OnDatagram(ReadOnlySpan<byte> datagram)
    {
        if (DtlsSrtpTransport.LooksLikeDtls(datagram))
        {
            _dtls?.OnDatagram(datagram);
            return;
        }
        var receiver = _receiver;
        if (receiver is null || !RtpHeader.LooksLikeRtpOrRtcp(datagram) || datagram.Length > _receiveBuffer.Length) return;
        // Only the receive thread uses the receive buffer and the receiver session.
        datagram.CopyTo(_receiveBuffer);
        if (RtpHeader.IsRtcp(datagram))
        {
            if (receiver.UnprotectRtcp(_receiveBuffer, datagram.Length, out int n) != RtcError.None) { PacketsRejected++; return; }
            RtcpPacketsReceived++;
            if (Congestion is not null) FeedCongestion(_receiveBuffer.AsSpan(0, n));
            RtcpReceived?.Invoke(_receiveBuffer.AsSpan(0, n));
        }
        else
        {
            if (receiver.UnprotectRtp(_receiveBuffer, datagram.Length, out int n) != RtcError.None) { PacketsRejected++; return; }
            RtpPacketsReceived++;
            RtpReceived?.Invoke(_receiveBuffer.AsSpan(0, n));
        }
    }

    private void FeedCongestion(ReadOnlySpan<byte> compound)
    {
        var cc = Congestion!;
        var reader = new RtcpCompoundReader(compound);
        while (reader.TryRead(out var packet))
        {
            if (FeedbackMessage.TryParse(packet, out var fb) != RtcError.None) continue;
            if (fb.IsTransportCc && TransportFeedback.TryParse(fb.Fci, _feedback, out int count, out _) == RtcError.None)
                lock (cc) cc.OnFeedback(_feedback.AsSpan(0, count), ElapsedMilliseconds);
            else if (fb.IsRemb && fb.TryReadRemb(out ulong bps, out _) == RtcError.None)
                lock (cc) cc.OnRemb(bps, ElapsedMilliseconds);
        }
    }

    /// <summary>Protects and sends one RTP packet. Thread-safe.</summary>
    public RtcError SendRtp(ReadOnlySpan<byte> packet)
    {
        lock (_sendLock)
        {
            if (_sender is null) return RtcError.Unsupported;
            if (packet.Length + 32 > _sendBuffer.Length) return RtcError.TooLarge;
            packet.CopyTo(_sendBuffer);
            var error = _sender.ProtectRtp(_sendBuffer, packet.Length, out int n);
            if (error != RtcError.None) return error;
            RtpPacketsSent++;
            return Ice.Send(_sendBuffer.AsSpan(0, n)) ? RtcError.None : RtcError.Unsupported;
        }
    }

    /// <summary>Protects and sends one RTCP compound packet. Thread-safe.</summary>
    public RtcError SendRtcp(ReadOnlySpan<byte> compound)
    {
        lock (_sendLock)
        {
            if (_sender is null) return RtcError.Unsupported;
            if (compound.Length + 32 > _sendBuffer.Length) return RtcError.TooLarge;
            compound.CopyTo(_sendBuffer);
            var error = _sender.ProtectRtcp(_sendBuffer, compound.Length, out int n);
            if (error != RtcError.None) return error;
            return Ice.Send(_sendBuffer.AsSpan(0, n)) ? RtcError.None : RtcError.Unsupported;
        }
    }

    public void Dispose()
    {
        _dtls?.Dispose();
        Ice.Dispose();
        lock (_sendLock)
        {
            _sender?.Dispose();
            _receiver?.Dispose();
        }
    }
}
