using Room.Devices;
using Room.Media.Rtp;

namespace Room.Media.Audio;

/// <summary>
/// Microphones to packets: reads 20 ms of interleaved capture, reduces a multichannel array to one beamformed
/// channel (delay-and-sum; broadside unless delays are given), cancels the echo of what the speaker played and
/// suppresses noise (<see cref="AudioProcessor"/>, shared with the <see cref="AudioReceivePipeline"/>), encodes
/// Opus and packetizes (RFC 7587). No allocation per frame.
/// </summary>
public sealed class AudioSendPipeline : IDisposable
{
    private readonly DelayAndSumBeamformer? _beamformer;
    private readonly AudioProcessor? _processor;
    private readonly OpusAudioEncoder _encoder;
    private readonly OpusPacketizer _packetizer = new((ushort)Random.Shared.Next(65536));
    private readonly IRtpPacketSink _sink;
    private readonly int _channels;
    private readonly short[] _capture;
    private readonly short[] _mono = new short[AudioFormat.FrameSamples];
    private readonly short[] _clean = new short[AudioFormat.FrameSamples];
    private readonly byte[] _packet = new byte[AudioFormat.MaxPacketSize];
    private uint _timestamp = (uint)Random.Shared.Next();

    public AudioSendPipeline(int channels, IRtpPacketSink sink, AudioProcessor? processor = null, ReadOnlySpan<int> beamDelays = default, OpusAudioEncoder? encoder = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _channels = channels;
        _processor = processor;
        _encoder = encoder ?? new OpusAudioEncoder();
        _capture = new short[AudioFormat.FrameSamples * channels];
        if (channels > 1)
        {
            _beamformer = new DelayAndSumBeamformer(beamDelays.IsEmpty ? new int[channels] : beamDelays);
            if (_beamformer.Channels != channels)
            {
                throw new ArgumentException("one delay per channel", nameof(beamDelays));
            }
        }
    }

    public OpusAudioEncoder Encoder => _encoder;

    /// <summary>Releases the Opus encoder (also one passed in).</summary>
    public void Dispose() => _encoder.Dispose();

    public long FramesSent { get; private set; }

    /// <summary>
    /// Reads and sends until cancelled. The capture must have the channel count given; a capture that does not run at
    /// 48 kHz (a microphone that only offers 44.1 or 16 kHz, say) is resampled to 48 kHz first.
    /// </summary>
    /// <exception cref="NotSupportedException">Wrong channel count, or a sample rate outside 8..192 kHz.</exception>
    public async Task RunAsync(IAudioCapture capture, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(capture);
        if (capture.Channels != _channels)
        {
            throw new NotSupportedException($"capture is {capture.Channels} ch at {capture.SampleRate} Hz; the pipeline wants {_channels} ch");
        }

        await AudioDevicePumps.CaptureBlocksAsync(capture, static (block, self) => self.ProcessFrame(block), this, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Processes and sends one 20 ms block of interleaved capture.</summary>
    public void ProcessFrame(ReadOnlySpan<short> interleaved)
    {
        if (interleaved.Length != AudioFormat.FrameSamples * _channels)
        {
            throw new ArgumentException("one 20 ms block of interleaved capture", nameof(interleaved));
        }

        ReadOnlySpan<short> mono = interleaved;
        if (_beamformer is not null)
        {
            _beamformer.Process(interleaved, _mono);
            mono = _mono;
        }

        if (_processor is not null)
        {
            _processor.ProcessCapture(mono, _clean);
            mono = _clean;
        }

        var n = _encoder.Encode(mono, _packet);
        _packetizer.Packetize(_packet.AsSpan(0, n), _timestamp, _sink);
        _timestamp += AudioFormat.FrameSamples;
        FramesSent++;
    }
}

/// <summary>
/// Packets to the speaker: an <see cref="AudioJitterBuffer"/> fed by <see cref="OnPacket"/> (network thread), played
/// out every 20 ms by <see cref="RunAsync"/>, with each played block handed to the <see cref="AudioProcessor"/> as
/// the echo reference. Mono is copied to every speaker channel. The jitter buffer's delay follows the measured
/// jitter (<see cref="AudioJitterBufferSettings"/>); the device's queue is kept to one block beyond the one playing.
/// </summary>
public sealed class AudioReceivePipeline(AudioProcessor? processor = null, AudioJitterBufferSettings? jitter = null, TimeProvider? timeProvider = null) : IRtpPacketSink, IDisposable
{
    private readonly short[] _mono = new short[AudioFormat.FrameSamples];
    private short[] _out = [];

    public AudioJitterBuffer JitterBuffer { get; } = new(jitter, timeProvider);

    public void OnPacket(in RtpPacketView packet) => JitterBuffer.Insert(packet);

    public void Dispose() => JitterBuffer.Dispose();

    /// <summary>
    /// Plays until cancelled; the device's blocking write paces the loop. A device that does not run at 48 kHz gets
    /// the audio resampled to its rate (the echo canceller still sees the 48 kHz signal).
    /// </summary>
    /// <exception cref="NotSupportedException">A playback sample rate outside 8..192 kHz.</exception>
    public async Task RunAsync(IAudioPlayback playback, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(playback);
        using var writer = AudioDevicePumps.CreateWriter(playback);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // Take the block from the jitter buffer only when the device has room for it, so it leaves the
                // buffer as late as possible and waits in the device's queue no longer than it must.
                await writer.WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
                NextMono();
                await writer.WriteAsync(_mono, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The next 20 ms of mono at 48 kHz, also handed to the echo canceller as what the speaker plays.</summary>
    private void NextMono()
    {
        JitterBuffer.ReadFrame(_mono);
        processor?.OnPlayback(_mono);
    }

    /// <summary>Produces the next 20 ms for <paramref name="channels"/> speaker channels (interleaved), feeding the echo canceller.</summary>
    public ReadOnlySpan<short> NextBlock(int channels)
    {
        if (_out.Length != AudioFormat.FrameSamples * channels)
        {
            _out = new short[AudioFormat.FrameSamples * channels];
        }

        NextMono();
        for (var i = 0; i < _mono.Length; i++)
        {
            _out.AsSpan(i * channels, channels).Fill(_mono[i]);
        }

        return _out;
    }
}
