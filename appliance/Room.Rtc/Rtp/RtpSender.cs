using System.Buffers.Binary;
using Room.Rtc.Rtcp;

namespace Room.Rtc.Rtp;

/// <summary>
/// Sends one outgoing RTP stream over an <see cref="RtcTransport"/>: writes the header (SSRC, payload type, optional
/// transport-wide sequence number extension), keeps the last packets for retransmission on NACK (as RTX, RFC 4588,
/// when an RTX payload type is set), answers PLI/FIR by raising <see cref="KeyframeRequested"/>, and writes sender
/// reports. Nothing is allocated per packet.
/// </summary>
public sealed class RtpSender
{
    private const int HistorySize = 1024;
    private const int MaxPacket = 1300;
    private const int SlotSize = MaxPacket + 64;     // header extensions on top of a MaxPacket packet
    private const int SrtpOverheadEstimate = 16 + 28; // SRTP tag + IP/UDP
    private readonly RtcTransport _transport;
    private readonly byte[] _history = new byte[HistorySize * SlotSize];
    private readonly int[] _historyLength = new int[HistorySize];
    private readonly ushort[] _historySeq = new ushort[HistorySize];
    private readonly byte[] _packet = new byte[SlotSize + 2];
    private readonly byte[] _rtcp = new byte[256];
    private readonly ushort[] _nacked = new ushort[256];
    private readonly object _gate = new();
    private ushort _rtxSequence;
    private byte[]? _mid, _rid;
    private int _midId, _ridId, _repairedRidId;
    // Retransmission credit: each original packet earns its size, each retransmission spends its size, so a NACK
    // storm cannot make us send more than we sent (plus the cap); ordinary loss repair never comes near it.
    private const long MaxRetransmitCredit = 512 * 1024;
    private long _retransmitCredit;
    private uint _lastTimestamp;
    private long _lastTimestampMs;

    public RtpSender(RtcTransport transport, uint ssrc, byte payloadType, int clockRate, uint rtxSsrc = 0, byte rtxPayloadType = 0)
    {
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        Ssrc = ssrc;
        PayloadType = payloadType;
        ClockRate = clockRate;
        RtxSsrc = rtxSsrc;
        RtxPayloadType = rtxPayloadType;
    }

    public uint Ssrc { get; }
    public byte PayloadType { get; }
    public int ClockRate { get; }
    public uint RtxSsrc { get; }
    public byte RtxPayloadType { get; }
    public long PacketsSent { get; private set; }
    public long OctetsSent { get; private set; }
    public long Retransmissions { get; private set; }
    /// <summary>Sequence numbers NACKed for this stream (whether or not still in the history).</summary>
    public long NackedPacketsReceived { get; private set; }
    public long KeyframeRequests { get; private set; }
    /// <summary>NACKed packets not resent because the retransmission credit was spent (a NACK storm).</summary>
    public long RetransmissionsRefused { get; private set; }

    /// <summary>
    /// Stamps every packet with the MID header extension (RFC 8843: which m-line) and, for a simulcast layer, the RTP
    /// stream id (RFC 8852: which a=rid); retransmissions on the RTX SSRC carry the repaired stream id instead. That
    /// is how an SFU maps a simulcast layer's SSRCs, which the offer does not list, to its m-line and rid. Ids are
    /// the negotiated a=extmap ids (1..14, one-byte form); 0 leaves that extension out.
    /// </summary>
    public void SetStreamIdentifiers(int midExtensionId, string? mid, int ridExtensionId = 0, string? rid = null, int repairedRidExtensionId = 0)
    {
        static byte[]? Encode(int id, string? value, string name)
        {
            if (id == 0 || value is null) return null;
            if (id is < 1 or > 14) throw new ArgumentOutOfRangeException(name, "one-byte extension ids are 1..14");
            if (value.Length is < 1 or > 16 || !value.All(char.IsAscii)) throw new ArgumentException("1..16 ASCII characters", name);
            return System.Text.Encoding.ASCII.GetBytes(value);
        }

        if (repairedRidExtensionId is < 0 or > 14) throw new ArgumentOutOfRangeException(nameof(repairedRidExtensionId));
        var m = Encode(midExtensionId, mid, nameof(mid));
        var r = Encode(ridExtensionId, rid, nameof(rid));
        lock (_gate)
        {
            (_mid, _midId, _rid, _ridId, _repairedRidId) = (m, midExtensionId, r, ridExtensionId, repairedRidExtensionId);
        }
    }

    /// <summary>Raised (on the network thread) when the receiver asks for a keyframe with PLI or FIR.</summary>
    public event Action? KeyframeRequested;

    /// <summary>Sends one packet with the given payload. Thread-safe.</summary>
    public RtcError Send(ushort sequenceNumber, uint timestamp, bool marker, ReadOnlySpan<byte> payload)
    {
        if (payload.Length + RtpHeader.FixedLength > MaxPacket) return RtcError.TooLarge;
        lock (_gate)
        {
            int n = RtpHeader.WriteFixed(_packet, PayloadType, marker, sequenceNumber, timestamp, Ssrc);
            int extensionId = _transport.TransportCcExtensionId;
            ushort transportSeq = 0;
            bool twcc = extensionId is > 0 and < 15 && _transport.Congestion is not null;
            if (twcc || _mid is not null || _rid is not null)
            {
                // RFC 8285 one-byte header extensions: transport-wide sequence number, MID, RTP stream id.
                var writer = new OneByteExtensionWriter(_packet, n);
                if (twcc)
                {
                    transportSeq = _transport.NextTransportSequence();
                    writer.AddUInt16(extensionId, transportSeq);
                }
                if (_mid is not null) writer.Add(_midId, _mid);
                if (_rid is not null) writer.Add(_ridId, _rid);
                n = writer.Finish();
            }
            if (n + payload.Length > SlotSize) return RtcError.TooLarge;
            payload.CopyTo(_packet.AsSpan(n));
            n += payload.Length;
            int slot = sequenceNumber % HistorySize;
            _packet.AsSpan(0, n).CopyTo(_history.AsSpan(slot * SlotSize));
            _historyLength[slot] = n;
            _historySeq[slot] = sequenceNumber;
            _retransmitCredit = Math.Min(MaxRetransmitCredit, _retransmitCredit + n);
            PacketsSent++;
            OctetsSent += payload.Length;
            _lastTimestamp = timestamp;
            _lastTimestampMs = _transport.ElapsedMilliseconds;
            var cc = _transport.Congestion;
            if (cc is not null && extensionId is > 0 and < 15)
                lock (cc) cc.OnPacketSent(transportSeq, n + SrtpOverheadEstimate, _lastTimestampMs);
            return _transport.SendRtp(_packet.AsSpan(0, n));
        }
    }

    /// <summary>Feeds an incoming RTCP compound; handles NACK, PLI and FIR addressed to this stream.</summary>
    public void OnRtcp(ReadOnlySpan<byte> compound)
    {
        var reader = new RtcpCompoundReader(compound);
        while (reader.TryRead(out var packet))
        {
            if (FeedbackMessage.TryParse(packet, out var fb) != RtcError.None) continue;
            if (fb.IsNack && fb.MediaSsrc == Ssrc)
            {
                int count = fb.ReadNack(_nacked);
                NackedPacketsReceived += count;
                for (int i = 0; i < count; i++) Retransmit(_nacked[i]);
            }
            else if ((fb.IsPli && fb.MediaSsrc == Ssrc) || (fb.IsFir && HasFirFor(fb)))
            {
                KeyframeRequests++;
                KeyframeRequested?.Invoke();
            }
        }
    }

    private bool HasFirFor(in FeedbackMessage fb)
    {
        for (int i = 0; i < fb.FirEntryCount; i++)
            if (fb.FirEntry(i).Ssrc == Ssrc) return true;
        return false;
    }

    private void Retransmit(ushort sequenceNumber)
    {
        lock (_gate)
        {
            int slot = sequenceNumber % HistorySize;
            int length = _historyLength[slot];
            if (length == 0 || _historySeq[slot] != sequenceNumber) return;
            if (_retransmitCredit < length)
            {
                RetransmissionsRefused++;
                return;
            }
            _retransmitCredit -= length;
            var original = _history.AsSpan(slot * SlotSize, length);
            Retransmissions++;
            // A simulcast layer's RTX must carry the repaired stream id, not the stream id (an SFU would take the RTX
            // SSRC for the layer itself); without a negotiated repaired-rid, resend the original instead.
            if (RtxPayloadType == 0 || (_rid is not null && _repairedRidId == 0))
            {
                _transport.SendRtp(original);
                return;
            }
            // RFC 4588: RTX header (with the original's extensions), then the original sequence number and payload.
            if (RtpHeader.TryParse(original, false, out var h) != RtcError.None) return;
            int hl = h.HeaderLength;
            original[..hl].CopyTo(_packet);
            _packet[1] = (byte)((original[1] & 0x80) | RtxPayloadType);
            BinaryPrimitives.WriteUInt16BigEndian(_packet.AsSpan(2), _rtxSequence++);
            BinaryPrimitives.WriteUInt32BigEndian(_packet.AsSpan(8), RtxSsrc);
            if (_rid is not null) RtpHeader.TryRenameOneByteExtension(_packet.AsSpan(0, hl), _ridId, _repairedRidId);
            BinaryPrimitives.WriteUInt16BigEndian(_packet.AsSpan(hl), sequenceNumber);
            original[hl..].CopyTo(_packet.AsSpan(hl + 2));
            _transport.SendRtp(_packet.AsSpan(0, length + 2));
        }
    }

    /// <summary>Sends a sender report for this stream (call about once a second).</summary>
    public RtcError SendSenderReport()
    {
        lock (_gate)
        {
            ulong ntp = NtpTimestamp(_transport.TimeProvider.GetUtcNow().UtcDateTime);
            uint rtp = _lastTimestamp + (uint)((_transport.ElapsedMilliseconds - _lastTimestampMs) * ClockRate / 1000);
            var sr = new SenderReport(Ssrc, ntp, rtp, (uint)PacketsSent, (uint)OctetsSent, 0);
            int n = sr.Write(_rtcp, []);
            return _transport.SendRtcp(_rtcp.AsSpan(0, n));
        }
    }

    public static ulong NtpTimestamp(DateTime utc)
    {
        var since1900 = utc - new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        ulong seconds = (ulong)since1900.Ticks / TimeSpan.TicksPerSecond;
        ulong fraction = ((ulong)since1900.Ticks % TimeSpan.TicksPerSecond << 32) / TimeSpan.TicksPerSecond;
        return (seconds << 32) | fraction;
    }
}
