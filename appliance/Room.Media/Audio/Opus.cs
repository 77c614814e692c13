using Concentus;
using Concentus.Enums;
using Room.Media.Interop;

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

/// <summary>Which Opus implementation to use.</summary>
public enum OpusBackend
{
    /// <summary>libopus when it loads (no managed allocation per frame), else Concentus.</summary>
    Auto,

    /// <summary>Concentus, the managed port (allocates per frame: about 75 KB per encoded 20 ms frame).</summary>
    Concentus,
}

/// <summary>
/// Opus encoder: 48 kHz mono, 20 ms, VoIP mode, in-band FEC and DTX on by default. Concentus (managed), or the
/// system libopus through <see cref="OpusBackend.Auto"/> when present. Not thread-safe.
/// </summary>
public sealed unsafe class OpusAudioEncoder : IDisposable
{
    private readonly IOpusEncoder? _managed;
    private void* _native;
    private int _bitrate;
    private int _loss;

    public OpusAudioEncoder(int bitrate = 32000, bool inbandFec = true, bool dtx = true, int expectedLossPercent = 10, OpusBackend backend = OpusBackend.Auto)
    {
        if (backend == OpusBackend.Auto && LibOpus.Version is { } version)
        {
            int err;
            _native = LibOpus.opus_encoder_create(AudioFormat.SampleRate, 1, LibOpus.OPUS_APPLICATION_VOIP, &err);
            if (_native is null || err != 0)
            {
                throw new MediaException($"opus_encoder_create failed: {err}");
            }

            var bad = LibOpus.opus_encoder_ctl(_native, LibOpus.OPUS_SET_INBAND_FEC_REQUEST, inbandFec ? 1 : 0);
            bad |= LibOpus.opus_encoder_ctl(_native, LibOpus.OPUS_SET_DTX_REQUEST, dtx ? 1 : 0);
            bad |= LibOpus.opus_encoder_ctl(_native, LibOpus.OPUS_SET_COMPLEXITY_REQUEST, 5);
            bad |= LibOpus.opus_encoder_ctl(_native, LibOpus.OPUS_SET_SIGNAL_REQUEST, LibOpus.OPUS_SIGNAL_VOICE);
            if (bad != 0)
            {
                Dispose();
                throw new MediaException("libopus rejected a setting");
            }

            Backend = $"{version} (native)";
        }
        else
        {
            _managed = OpusCodecFactory.CreateEncoder(AudioFormat.SampleRate, 1, OpusApplication.OPUS_APPLICATION_VOIP);
            _managed.UseInbandFEC = inbandFec;
            _managed.UseDTX = dtx;
            _managed.Complexity = 5;
            _managed.SignalType = OpusSignal.OPUS_SIGNAL_VOICE;
            Backend = "Concentus (managed)";
        }

        Bitrate = bitrate;
        PacketLossPercent = expectedLossPercent;
    }

    /// <summary>"libopus 1.3.1 (native)" or "Concentus (managed)".</summary>
    public string Backend { get; }

    /// <summary>
    /// The encoder's look-ahead in samples at 48 kHz (OPUS_GET_LOOKAHEAD): how much later than its input the decoded
    /// audio comes out, on top of the frame itself (312 = 6.5 ms in VoIP mode).
    /// </summary>
    public int Lookahead
    {
        get
        {
            if (_managed is not null)
            {
                return _managed.Lookahead;
            }

            ObjectDisposedException.ThrowIf(_native is null, this);
            int value;
            return LibOpus.opus_encoder_ctl_get(_native, LibOpus.OPUS_GET_LOOKAHEAD_REQUEST, &value) == 0 ? value : throw new MediaException("OPUS_GET_LOOKAHEAD failed");
        }
    }

    public int Bitrate
    {
        get => _bitrate;
        set
        {
            _bitrate = Math.Clamp(value, 6000, 128000);
            if (_managed is not null)
            {
                _managed.Bitrate = _bitrate;
            }
            else if (_native is not null)
            {
                _ = LibOpus.opus_encoder_ctl(_native, LibOpus.OPUS_SET_BITRATE_REQUEST, _bitrate); // in range by the clamp
            }
        }
    }

    /// <summary>Expected loss, which sets how much FEC the encoder adds (feed it from RTCP receiver reports).</summary>
    public int PacketLossPercent
    {
        get => _loss;
        set
        {
            _loss = Math.Clamp(value, 0, 100);
            if (_managed is not null)
            {
                _managed.PacketLossPercent = _loss;
            }
            else if (_native is not null)
            {
                _ = LibOpus.opus_encoder_ctl(_native, LibOpus.OPUS_SET_PACKET_LOSS_PERC_REQUEST, _loss); // in range by the clamp
            }
        }
    }

    /// <summary>Encodes one 20 ms frame (<see cref="AudioFormat.FrameSamples"/> samples); returns the packet length.</summary>
    public int Encode(ReadOnlySpan<short> frame, Span<byte> packet)
    {
        if (frame.Length != AudioFormat.FrameSamples)
        {
            throw new ArgumentException($"an Opus frame is {AudioFormat.FrameSamples} samples", nameof(frame));
        }

        var max = Math.Min(packet.Length, AudioFormat.MaxPacketSize);
        if (_managed is not null)
        {
            return _managed.Encode(frame, AudioFormat.FrameSamples, packet, max);
        }

        ObjectDisposedException.ThrowIf(_native is null, this);
        fixed (short* pcm = frame)
        fixed (byte* data = packet)
        {
            var n = LibOpus.opus_encode(_native, pcm, AudioFormat.FrameSamples, data, max);
            return n >= 0 ? n : throw new MediaException($"opus_encode failed: {n}");
        }
    }

    public void Dispose()
    {
        if (_native is not null)
        {
            LibOpus.opus_encoder_destroy(_native);
            _native = null;
        }
    }
}

/// <summary>Opus decoder with loss concealment and in-band FEC recovery; never throws on bad packets.</summary>
public sealed unsafe class OpusAudioDecoder : IDisposable
{
    private readonly IOpusDecoder? _managed;
    private void* _native;

    public OpusAudioDecoder(OpusBackend backend = OpusBackend.Auto)
    {
        if (backend == OpusBackend.Auto && LibOpus.Version is { } version)
        {
            int err;
            _native = LibOpus.opus_decoder_create(AudioFormat.SampleRate, 1, &err);
            if (_native is null || err != 0)
            {
                throw new MediaException($"opus_decoder_create failed: {err}");
            }

            Backend = $"{version} (native)";
        }
        else
        {
            _managed = OpusCodecFactory.CreateDecoder(AudioFormat.SampleRate, 1);
            Backend = "Concentus (managed)";
        }
    }

    public string Backend { get; }

    /// <summary>Packets that failed to decode (corrupt); concealment was played instead.</summary>
    public long Errors { get; private set; }

    /// <summary>Decodes one packet into <paramref name="pcm"/> (at least 20 ms); returns samples written.</summary>
    public int Decode(ReadOnlySpan<byte> packet, Span<short> pcm)
    {
        if (packet.IsEmpty || packet.Length > AudioFormat.MaxPacketSize * 3)
        {
            return Conceal(pcm);
        }

        var n = Run(packet, pcm, fec: false);
        if (n > 0)
        {
            return n;
        }

        Errors++;
        return Conceal(pcm);
    }

    /// <summary>
    /// For a lost packet: recovers it from the FEC data in the packet that followed it when that one is here,
    /// else conceals (PLC).
    /// </summary>
    public int DecodeLost(ReadOnlySpan<byte> nextPacket, Span<short> pcm)
    {
        if (nextPacket.IsEmpty || nextPacket.Length > AudioFormat.MaxPacketSize * 3)
        {
            return Conceal(pcm);
        }

        var n = Run(nextPacket, pcm, fec: true);
        if (n > 0)
        {
            return n;
        }

        Errors++;
        return Conceal(pcm);
    }

    private int Conceal(Span<short> pcm)
    {
        var n = Run([], pcm, fec: false);
        if (n > 0)
        {
            return n;
        }

        pcm[..AudioFormat.FrameSamples].Clear();
        return AudioFormat.FrameSamples;
    }

    /// <summary>Decodes 20 ms (or conceals, for an empty packet); returns samples or -1.</summary>
    private int Run(ReadOnlySpan<byte> packet, Span<short> pcm, bool fec)
    {
        if (pcm.Length < AudioFormat.FrameSamples)
        {
            throw new ArgumentException("room for 20 ms needed", nameof(pcm));
        }

        if (_managed is not null)
        {
            try
            {
                return _managed.Decode(packet, pcm, AudioFormat.FrameSamples, fec);
            }
            catch (Exception e) when (e is OpusException or ArgumentException or IndexOutOfRangeException)
            {
                return -1;
            }
        }

        ObjectDisposedException.ThrowIf(_native is null, this);
        fixed (byte* data = packet)
        fixed (short* outp = pcm)
        {
            var n = LibOpus.opus_decode(_native, packet.IsEmpty ? null : data, packet.Length, outp, AudioFormat.FrameSamples, fec ? 1 : 0);
            return n > 0 ? n : -1;
        }
    }

    public void Dispose()
    {
        if (_native is not null)
        {
            LibOpus.opus_decoder_destroy(_native);
            _native = null;
        }
    }
}
