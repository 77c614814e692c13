using Room.Crypto;
using Room.Crypto.Media;
using Room.Media.Rtp;

namespace Room.Appliance.Media;

/// <summary>
/// End-to-end encryption of a media stream, one SFrame per RTP payload (an Opus frame, or a packetizer's slice of
/// a video frame): the SFU forwards the payloads without being able to read or parse them. Metadata is empty
/// because an SFU may rewrite sequence numbers and timestamps. One reused buffer, no allocation per packet.
/// </summary>
public sealed class SFrameEncryptingSink(MlsSFrameBinding keys, IRtpPacketSink next) : IRtpPacketSink
{
    /// <summary>SFrame adds a header (at most 17 bytes) and a tag (at most 16).</summary>
    private const int Overhead = 64;
    private byte[] _buffer = new byte[1500 + Overhead];

    public long Packets { get; private set; }

    public void OnPacket(in RtpPacketView packet)
    {
        if (packet.Payload.Length + Overhead > _buffer.Length)
        {
            _buffer = new byte[packet.Payload.Length + Overhead]; // only for an unusually large payload
        }

        var n = keys.Encrypt(default, packet.Payload, _buffer);
        Packets++;
        next.OnPacket(new RtpPacketView(packet.SequenceNumber, packet.Timestamp, packet.Marker, _buffer.AsSpan(0, n)));
    }
}

/// <summary>
/// The receiving side: a payload that does not authenticate (tampered, wrong key, replayed) is dropped like a lost
/// packet, and the jitter buffer's loss handling takes over.
/// </summary>
public sealed class SFrameDecryptingSink(MlsSFrameBinding keys, IRtpPacketSink next) : IRtpPacketSink
{
    private byte[] _buffer = new byte[1500];

    public long Packets { get; private set; }

    public long Rejected { get; private set; }

    public void OnPacket(in RtpPacketView packet)
    {
        if (packet.Payload.Length > _buffer.Length)
        {
            _buffer = new byte[packet.Payload.Length];
        }

        int n;
        try
        {
            n = keys.Decrypt(default, packet.Payload, _buffer);
        }
        catch (RoomCryptoException)
        {
            Rejected++;
            return;
        }

        Packets++;
        next.OnPacket(new RtpPacketView(packet.SequenceNumber, packet.Timestamp, packet.Marker, _buffer.AsSpan(0, n)));
    }
}
