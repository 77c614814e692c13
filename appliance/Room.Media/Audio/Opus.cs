using Concentus;
using Concentus.Enums;

namespace Room.Media.Audio;

/// <summary>Audio constants of the room: 48 kHz mono, 20 ms frames.</summary>
public static class AudioFormat
{
    public const int SampleRate = 48000;
    public const int FrameMilliseconds = 20;
    public const int FrameSamples = SampleRate * FrameMilliseconds / 1000;

    /// <summary>Largest Opus packet we produce or accept.</summary>
    public const int MaxPacketSize = 1275;
}

/// <summary>Opus encoder (Concentus, managed): 48 kHz mono, 20 ms, VoIP mode, in-band FEC and DTX on by default.</summary>
public sealed class OpusAudioEncoder
{
    private readonly IOpusEncoder _encoder;

    public OpusAudioEncoder(int bitrate = 32000, bool inbandFec = true, bool dtx = true, int expectedLossPercent = 10)
    {
        _encoder = OpusCodecFactory.CreateEncoder(AudioFormat.SampleRate, 1, OpusApplication.OPUS_APPLICATION_VOIP);
        _encoder.Bitrate = bitrate;
        _encoder.UseInbandFEC = inbandFec;
        _encoder.UseDTX = dtx;
        _encoder.PacketLossPercent = expectedLossPercent;
        _encoder.Complexity = 5;
        _encoder.SignalType = OpusSignal.OPUS_SIGNAL_VOICE;
    }

    public int Bitrate
    {
        get => _encoder.Bitrate;
        set => _encoder.Bitrate = Math.Clamp(value, 6000, 128000);
    }

    /// <summary>Expected loss, which sets how much FEC the encoder adds (feed it from RTCP receiver reports).</summary>
    public int PacketLossPercent
    {
        get => _encoder.PacketLossPercent;
        set => _encoder.PacketLossPercent = Math.Clamp(value, 0, 100);
    }

    /// <summary>Encodes one 20 ms frame (<see cref="AudioFormat.FrameSamples"/> samples); returns the packet length.</summary>
    public int Encode(ReadOnlySpan<short> frame, Span<byte> packet)
    {
        if (frame.Length != AudioFormat.FrameSamples)
        {
            throw new ArgumentException($"an Opus frame is {AudioFormat.FrameSamples} samples", nameof(frame));
        }

        return _encoder.Encode(frame, AudioFormat.FrameSamples, packet, Math.Min(packet.Length, AudioFormat.MaxPacketSize));
    }
}

/// <summary>Opus decoder with loss concealment and in-band FEC recovery.</summary>
public sealed class OpusAudioDecoder
{
    private readonly IOpusDecoder _decoder = OpusCodecFactory.CreateDecoder(AudioFormat.SampleRate, 1);

    /// <summary>Packets that failed to decode (corrupt); concealment was played instead.</summary>
    public long Errors { get; private set; }

    /// <summary>Decodes one packet into <paramref name="pcm"/> (at least 20 ms); returns samples written.</summary>
    public int Decode(ReadOnlySpan<byte> packet, Span<short> pcm)
    {
        if (packet.IsEmpty || packet.Length > AudioFormat.MaxPacketSize * 3)
        {
            return Conceal(pcm);
        }

        try
        {
            return _decoder.Decode(packet, pcm, AudioFormat.FrameSamples, false);
        }
        catch (Exception e) when (e is OpusException or ArgumentException or IndexOutOfRangeException)
        {
            Errors++;
            return Conceal(pcm);
        }
    }

    /// <summary>
    /// For a lost packet: recovers it from the FEC data in the packet that followed it when that one is here,
    /// else conceals (PLC).
    /// </summary>
    public int DecodeLost(ReadOnlySpan<byte> nextPacket, Span<short> pcm)
    {
        if (nextPacket.IsEmpty)
        {
            return Conceal(pcm);
        }

        try
        {
            return _decoder.Decode(nextPacket, pcm, AudioFormat.FrameSamples, true);
        }
        catch (Exception e) when (e is OpusException or ArgumentException or IndexOutOfRangeException)
        {
            Errors++;
            return Conceal(pcm);
        }
    }

    private int Conceal(Span<short> pcm)
    {
        try
        {
            return _decoder.Decode(ReadOnlySpan<byte>.Empty, pcm, AudioFormat.FrameSamples, false);
        }
        catch (Exception e) when (e is OpusException or ArgumentException or IndexOutOfRangeException)
        {
            pcm[..AudioFormat.FrameSamples].Clear();
            return AudioFormat.FrameSamples;
        }
    }
}
