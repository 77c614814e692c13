using System.Diagnostics;

namespace Room.Devices.Simulated;

/// <summary>
/// A microphone array that hears someone talking (syllables of 120-280 ms at 110-260 Hz with harmonics, pauses of
/// 40-120 ms, the same every time), paced in real time. Not a steady tone: an echo canceller fed the loopback call's
/// own playback and a noise suppressor rightly take a stationary tone for echo and noise and take it out (a clean
/// clone measured 2 % of frames with sound over 30 s), while speech goes through as it would in a room.
/// </summary>
public sealed class SimulatedMicrophone(string id, string name, int channels = 2, int sampleRate = 48000) : IMicrophone
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public int Channels { get; } = channels;

    public int SampleRate { get; } = sampleRate;

    /// <summary>When false the microphone behaves as unplugged: opening and running captures fail, health is Missing.</summary>
    public bool Present { get; set; } = true;

    public DeviceInfo Describe() => new(Id, DeviceKind.Microphone, Name, "simulated",
        Present ? DeviceHealth.Ok : DeviceHealth.Missing, Present ? "" : "unplugged",
        new Dictionary<string, string> { ["channels"] = Channels.ToString(), ["rate"] = SampleRate.ToString() });

    public ValueTask<IAudioCapture> OpenCaptureAsync(CancellationToken cancellationToken = default)
    {
        EnsurePresent();
        return ValueTask.FromResult<IAudioCapture>(new ToneCapture(this, Channels, SampleRate));
    }

    private void EnsurePresent()
    {
        if (!Present)
        {
            throw new DeviceUnavailableException(Id, "the microphone is unplugged");
        }
    }

    private sealed class ToneCapture(SimulatedMicrophone microphone, int channels, int sampleRate) : IAudioCapture
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private long _frames;

        public int Channels => channels;

        public int SampleRate => sampleRate;

        public async ValueTask<int> ReadAsync(Memory<short> interleaved, CancellationToken cancellationToken = default)
        {
            var count = interleaved.Length / channels;
            var due = TimeSpan.FromSeconds((double)(_frames + count) / sampleRate);
            var now = Stopwatch.GetElapsedTime(_start);
            if (due > now)
            {
                await Task.Delay(due - now, cancellationToken);
            }

            microphone.EnsurePresent();
            var span = interleaved.Span;
            for (var i = 0; i < count; i++)
            {
                span.Slice(i * channels, channels).Fill(NextSample());
            }

            _frames += count;
            return count;
        }

        private readonly Random _voice = new(7);
        private int _left;
        private int _length = 1;
        private bool _voiced;
        private double _pitch = 150;
        private double _phase;

        private short NextSample()
        {
            if (_left == 0)
            {
                _voiced = !_voiced;
                _length = _left = (_voiced ? _voice.Next(120, 280) : _voice.Next(40, 120)) * sampleRate / 1000;
                _pitch = _voice.Next(110, 260);
            }

            _left--;
            if (!_voiced)
            {
                return 0;
            }

            _phase += 2 * Math.PI * _pitch / sampleRate;
            var envelope = Math.Sin(Math.PI * (_length - _left) / _length);
            var s = Math.Sin(_phase) + (Math.Sin(2 * _phase) / 2) + (Math.Sin(3 * _phase) / 3) + (Math.Sin(4 * _phase) / 4);
            return (short)(4000 * envelope * s);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>A speaker that accepts audio in real time and keeps its hardware volume.</summary>
public sealed class SimulatedSpeaker(string id, string name) : ISpeaker
{
    public string Id { get; } = id;

    public string Name { get; } = name;

    public int Channels => 2;

    public int SampleRate => 48000;

    /// <summary>Last volume set on the (simulated) mixer.</summary>
    public int Volume { get; private set; } = 50;

    private long _framesPlayed;
    private long _soundFramesPlayed;

    /// <summary>Frames written to the speaker so far.</summary>
    public long FramesPlayed => Interlocked.Read(ref _framesPlayed);

    /// <summary>Frames written with sound in them (some sample beyond ±<see cref="SoundThreshold"/>): shows a call's sound reached the room.</summary>
    public long SoundFramesPlayed => Interlocked.Read(ref _soundFramesPlayed);

    /// <summary>The sample magnitude above which a frame counts as sound rather than silence or dither.</summary>
    public const int SoundThreshold = 256;

    public DeviceInfo Describe() => new(Id, DeviceKind.Speaker, Name, "simulated", DeviceHealth.Ok, "",
        new Dictionary<string, string> { ["channels"] = "2", ["rate"] = "48000", ["volume"] = Volume.ToString() });

    public ValueTask SetVolumeAsync(int percent, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percent, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        Volume = percent;
        return ValueTask.CompletedTask;
    }

    public ValueTask<IAudioPlayback> OpenPlaybackAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IAudioPlayback>(new PacedPlayback(this, Channels, SampleRate));

    private void Played(ReadOnlySpan<short> interleaved, int channels)
    {
        var frames = interleaved.Length / channels;
        var sound = 0;
        for (var i = 0; i < frames; i++)
        {
            foreach (var sample in interleaved.Slice(i * channels, channels))
            {
                if (sample > SoundThreshold || sample < -SoundThreshold)
                {
                    sound++;
                    break;
                }
            }
        }

        Interlocked.Add(ref _framesPlayed, frames);
        Interlocked.Add(ref _soundFramesPlayed, sound);
    }

    private sealed class PacedPlayback(SimulatedSpeaker owner, int channels, int sampleRate) : IAudioPlayback
    {
        /// <summary>The simulated device's ring: at most this much is queued ahead of what plays (as an ALSA speaker's 4 x 10 ms).</summary>
        private static readonly TimeSpan Ring = TimeSpan.FromMilliseconds(40);

        private long _start = Stopwatch.GetTimestamp();
        private long _frames;

        public int Channels => channels;

        public int SampleRate => sampleRate;

        /// <summary>Longest the simulated card waits for a late writer to catch up before it restarts its clock (a long underrun).</summary>
        private static readonly TimeSpan CatchUp = TimeSpan.FromMilliseconds(200);

        /// <summary>
        /// Time queued ahead of what plays now; negative while the writer is behind (a busy machine's late wake-up), which
        /// it may make up by writing at once, so the speaker takes exactly real time's worth of audio. Further behind
        /// than <see cref="CatchUp"/> the clock restarts, as a card's would after an xrun.
        /// </summary>
        private TimeSpan Queued()
        {
            var queued = TimeSpan.FromSeconds((double)_frames / sampleRate) - Stopwatch.GetElapsedTime(_start);
            if (queued < -CatchUp)
            {
                _start = Stopwatch.GetTimestamp();
                _frames = 0;
                return TimeSpan.Zero;
            }

            return queued;
        }

        public int? QueuedFrames => (int)(Math.Max(0, Queued().TotalSeconds) * sampleRate);

        public async ValueTask WaitForRoomAsync(int frames, CancellationToken cancellationToken = default)
        {
            var wait = Queued() + TimeSpan.FromSeconds((double)frames / sampleRate) - Ring;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
        }

        public async ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default)
        {
            var frames = interleaved.Length / channels;
            await WaitForRoomAsync(Math.Min(frames, (int)(Ring.TotalSeconds * sampleRate)), cancellationToken);
            owner.Played(interleaved.Span, channels);
            _frames += frames;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
