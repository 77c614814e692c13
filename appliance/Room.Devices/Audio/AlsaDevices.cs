namespace Room.Devices.Audio;

/// <summary>Shared health bookkeeping of the ALSA devices.</summary>
public abstract class AlsaDevice : IDevice
{
    private readonly Lock _gate = new();
    private DeviceHealth _health = DeviceHealth.Ok;
    private string _detail = "";

    protected AlsaDevice(string id, string name, AlsaPcmSettings settings, string cardControl)
    {
        Id = id;
        Name = name;
        Settings = settings;
        CardControl = cardControl;
    }

    public string Id { get; }

    public string Name { get; }

    public AlsaPcmSettings Settings { get; }

    /// <summary>The card name for the mixer ("hw:CARD=id").</summary>
    public string CardControl { get; }

    public int Channels => Settings.Channels;

    public int SampleRate => Settings.SampleRate;

    /// <summary>Xruns recovered on streams opened from this device.</summary>
    public int Xruns { get; internal set; }

    /// <summary>Timed-out waits (EIO from a stream that stayed up) on streams opened from this device.</summary>
    public int Stalls { get; internal set; }

    /// <summary>Playback: what the last stream kept queued ahead, in ms (raised by underruns); 0 before one ran.</summary>
    public int HeadroomMs { get; internal set; }

    protected abstract DeviceKind Kind { get; }

    public DeviceInfo Describe()
    {
        lock (_gate)
        {
            return new DeviceInfo(Id, Kind, Name, "alsa", _health, _detail, new Dictionary<string, string>
            {
                ["channels"] = Channels.ToString(),
                ["rate"] = SampleRate.ToString(),
                ["alsa-device"] = Settings.Device,
                ["xruns"] = Xruns.ToString(),
                ["stalls"] = Stalls.ToString(),
                ["headroom-ms"] = HeadroomMs.ToString(),
            });
        }
    }

    /// <summary>Sets health (the provider calls this on hot-plug; streams on failure).</summary>
    public void SetHealth(DeviceHealth health, string detail)
    {
        lock (_gate)
        {
            _health = health;
            _detail = detail;
        }
    }

    internal DeviceHealth Health
    {
        get
        {
            lock (_gate)
            {
                return _health;
            }
        }
    }

    internal AlsaPcm OpenPcm(bool capture)
    {
        if (Health == DeviceHealth.Missing)
        {
            throw new DeviceUnavailableException(Id, "the sound card is unplugged");
        }

        try
        {
            var pcm = AlsaPcm.Open(Id, Settings, capture);
            SetHealth(DeviceHealth.Ok, "");
            return pcm;
        }
        catch (DeviceUnavailableException e)
        {
            SetHealth(DeviceHealth.Failed, e.Message);
            throw;
        }
    }

    internal void Gone(DeviceUnavailableException e) => SetHealth(DeviceHealth.Missing, e.Message);
}

/// <summary>An ALSA capture device (a mic or mic array).</summary>
public sealed class AlsaMicrophone(string id, string name, AlsaPcmSettings settings, string cardControl)
    : AlsaDevice(id, name, settings, cardControl), IMicrophone
{
    protected override DeviceKind Kind => DeviceKind.Microphone;

    public ValueTask<IAudioCapture> OpenCaptureAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IAudioCapture>(new Capture(this, OpenPcm(capture: true)));

    /// <summary>Mutes the card's capture switch, where it has one; false otherwise.</summary>
    public bool SetHardwareMute(bool muted)
    {
        using var mixer = AlsaMixer.TryOpen(CardControl, capture: true, "Capture", "Mic", "Digital", "Input");
        return mixer?.SetMute(muted) ?? false;
    }

    /// <summary>
    /// Blocking reads (one ALSA period at most per libasound call, ~10 ms): the ValueTask completes synchronously,
    /// so call it from the audio thread. No allocation per read.
    /// </summary>
    private sealed class Capture(AlsaMicrophone owner, AlsaPcm pcm) : IAudioCapture
    {
        public int Channels => pcm.Channels;

        public int SampleRate => pcm.SampleRate;

        public ValueTask<int> ReadAsync(Memory<short> interleaved, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var n = pcm.Read(interleaved.Span);
                owner.Xruns = pcm.Xruns;
                owner.Stalls = pcm.Stalls;
                return ValueTask.FromResult(n);
            }
            catch (DeviceUnavailableException e)
            {
                owner.Gone(e);
                throw;
            }
        }

        public ValueTask DisposeAsync()
        {
            pcm.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>An ALSA playback device with its mixer volume.</summary>
public sealed class AlsaSpeaker(string id, string name, AlsaPcmSettings settings, string cardControl)
    : AlsaDevice(id, name, settings, cardControl), ISpeaker
{
    protected override DeviceKind Kind => DeviceKind.Speaker;

    public ValueTask SetVolumeAsync(int percent, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        using var mixer = AlsaMixer.TryOpen(CardControl, capture: false, "Master", "PCM", "Speaker", "Headphone", "Digital");
        if (mixer is null)
        {
            throw new NotSupportedException($"Speaker {Id} has no hardware volume control.");
        }

        if (!mixer.SetVolume(percent))
        {
            throw new DeviceUnavailableException(Id, "the mixer refused the volume");
        }

        _ = mixer.SetMute(percent == 0);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IAudioPlayback> OpenPlaybackAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IAudioPlayback>(new Playback(this, OpenPcm(capture: false)));

    private sealed class Playback(AlsaSpeaker owner, AlsaPcm pcm) : IAudioPlayback
    {
        public int Channels => pcm.Channels;

        public int SampleRate => pcm.SampleRate;

        public ValueTask WriteAsync(ReadOnlyMemory<short> interleaved, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                pcm.Write(interleaved.Span);
                owner.Xruns = pcm.Xruns;
                owner.Stalls = pcm.Stalls;
                return ValueTask.CompletedTask;
            }
            catch (DeviceUnavailableException e)
            {
                owner.Gone(e);
                throw;
            }
        }

        public int? QueuedFrames => pcm.Delay;

        public ValueTask WaitForRoomAsync(int frames, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                pcm.WaitForRoom(frames);
                owner.Xruns = pcm.Xruns;
                owner.HeadroomMs = (int)((long)pcm.HeadroomFrames * 1000 / pcm.SampleRate);
                return ValueTask.CompletedTask;
            }
            catch (DeviceUnavailableException e)
            {
                owner.Gone(e);
                throw;
            }
        }

        public ValueTask DisposeAsync()
        {
            pcm.Drain();
            pcm.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
