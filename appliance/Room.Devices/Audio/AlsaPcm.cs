using System.Text;
using Room.Devices.Interop;

namespace Room.Devices.Audio;

public enum AlsaSampleFormat
{
    S16,
    S32,
}

/// <summary>How to open an ALSA PCM.</summary>
public sealed record AlsaPcmSettings
{
    /// <summary>ALSA device name ("hw:CARD=Loopback,DEV=1", "plughw:1,0", "null", "file:FILE=/tmp/x.raw").</summary>
    public required string Device { get; init; }

    public int Channels { get; init; } = 2;

    public int SampleRate { get; init; } = 48000;

    /// <summary>The hardware format; null tries S16 and falls back to S32 (converted to/from S16 here).</summary>
    public AlsaSampleFormat? Format { get; init; }

    /// <summary>Period (the unit the card interrupts and we read/write in): 10 ms.</summary>
    public TimeSpan PeriodTime { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Periods in the ring buffer; null = 64 for capture (640 ms: costs no latency, reads take what is there, and
    /// rides out a reader starved that long without losing sound) and 32 for playback. A playback ring is a ceiling, not the delay: a player that waits for room
    /// (<see cref="AlsaPcm.WaitForRoom"/>) keeps only <see cref="PlaybackHeadroomPeriods"/> queued, more after underruns.
    /// </summary>
    public int? BufferPeriods { get; init; }

    /// <summary>
    /// Playback: periods kept queued ahead at first (4: 40 ms, the play-out delay on a box that keeps up). Each
    /// underrun raises it by two periods, up to the ring, so a box too busy for 40 ms trades delay for unbroken sound;
    /// after 30 s without one it comes down a period at a time.
    /// </summary>
    public int PlaybackHeadroomPeriods { get; init; } = 4;

    /// <summary>
    /// When the device refuses <see cref="SampleRate"/>, open it at the nearest rate it offers (the PCM's
    /// <see cref="AlsaPcm.SampleRate"/> says which; the media layer resamples). False insists on the exact rate.
    /// </summary>
    public bool NearestRate { get; init; } = true;

    /// <summary>ALSA configuration text that replaces the global one for this PCM (tests, special wiring).</summary>
    public string? ConfigText { get; init; }
}

/// <summary>
/// An open ALSA PCM in blocking interleaved mode. Reads and writes at most one period per call to libasound,
/// recover from xruns (counted in <see cref="Xruns"/>) and throw <see cref="DeviceUnavailableException"/> when the
/// card went away. No allocation per call: S32 conversion uses a buffer made at open.
/// </summary>
public sealed unsafe class AlsaPcm : IDisposable
{
    private readonly string _deviceId;
    private readonly int[] _scratch;
    private nint _pcm;
    private nint _config;

    private readonly bool _capture;

    private AlsaPcm(string deviceId, nint pcm, nint config, AlsaPcmSettings settings, AlsaSampleFormat format, int periodFrames, int bufferFrames, bool capture, int rate)
    {
        _deviceId = deviceId;
        _capture = capture;
        _pcm = pcm;
        _config = config;
        Channels = settings.Channels;
        SampleRate = rate;
        Format = format;
        PeriodFrames = Math.Max(1, periodFrames);
        BufferFrames = Math.Max(PeriodFrames, bufferFrames);
        _initialHeadroom = Math.Clamp(settings.PlaybackHeadroomPeriods * PeriodFrames, PeriodFrames, BufferFrames);
        _headroom = _initialHeadroom;
        _scratch = format == AlsaSampleFormat.S32 ? new int[PeriodFrames * Channels] : [];
    }

    public int Channels { get; }

    /// <summary>The rate the device runs at: the one asked for, or the nearest it offers (<see cref="AlsaPcmSettings.NearestRate"/>).</summary>
    public int SampleRate { get; }

    public AlsaSampleFormat Format { get; }

    public int PeriodFrames { get; }

    /// <summary>The ring buffer's size in frames (playback: the most that can be queued ahead).</summary>
    public int BufferFrames { get; }

    /// <summary>Times a prepared capture was started by this class rather than by libasound's threshold.</summary>
    internal int ExplicitStarts { get; private set; }

    /// <summary>libasound's stream state (2 prepared, 3 running, 4 xrun).</summary>
    internal int State => Alsa.PcmState(Handle);

    /// <summary>Reads or writes the kernel gave up waiting on (EIO) while the stream stayed up; each was waited again.</summary>
    public int Stalls { get; private set; }

    /// <summary>Timed-out waits in a row (each at least 100 ms) after which a stream counts as failed.</summary>
    internal const int MaxStallsInARow = 30;

    private int _stallsInARow;

    /// <summary>Overruns (capture) or underruns (playback) recovered so far.</summary>
    public int Xruns { get; private set; }

    private readonly int _initialHeadroom;
    private int _headroom;
    private long _lastRaise = Environment.TickCount64;

    /// <summary>Delay after which a raised playback headroom comes down by one period.</summary>
    internal static readonly TimeSpan HeadroomDecay = TimeSpan.FromSeconds(30);

    /// <summary>Playback: the frames <see cref="WaitForRoom"/> keeps queued ahead now (raised by underruns).</summary>
    public int HeadroomFrames => _headroom;

    public static AlsaPcm Open(string deviceId, AlsaPcmSettings settings, bool capture)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.SampleRate, 1);
        nint config = 0;
        nint pcm;
        int err;
        var stream = capture ? Alsa.StreamCapture : Alsa.StreamPlayback;
        try
        {
            if (settings.ConfigText is { } text)
            {
                config = LoadConfig(text, deviceId);
                err = Alsa.PcmOpenLconf(out pcm, settings.Device, stream, 0, config);
            }
            else
            {
                err = Alsa.PcmOpen(out pcm, settings.Device, stream, 0);
            }
        }
        catch (DllNotFoundException e)
        {
            throw new DeviceUnavailableException($"Device {deviceId} is unavailable: libasound is not installed.", e);
        }

        if (err < 0)
        {
            FreeConfig(config);
            throw new DeviceUnavailableException(deviceId, $"cannot open ALSA PCM {settings.Device}: {Alsa.Error(err)}");
        }

        AlsaSampleFormat[] tries = settings.Format is { } f ? [f] : [AlsaSampleFormat.S16, AlsaSampleFormat.S32];
        foreach (var format in tries)
        {
            err = Configure(pcm, settings, format, capture, out var period, out var buffer, out var rate);
            if (err >= 0)
            {
                return new AlsaPcm(deviceId, pcm, config, settings, format, (int)Math.Min(period, 1u << 16), (int)Math.Min(buffer, 1u << 20), capture, (int)rate);
            }
        }

        _ = Alsa.PcmClose(pcm);
        FreeConfig(config);
        throw new DeviceUnavailableException(deviceId,
            $"ALSA PCM {settings.Device} refuses {settings.Channels} channels at {settings.SampleRate} Hz: {Alsa.Error(err)}");
    }

    /// <summary>
    /// The most channels the PCM accepts (hw_params), opened non-blocking so a busy device does not stall
    /// discovery; null when it cannot be opened.
    /// </summary>
    public static int? ProbeMaxChannels(string device, bool capture)
    {
        try
        {
            if (Alsa.PcmOpen(out var pcm, device, capture ? Alsa.StreamCapture : Alsa.StreamPlayback, Alsa.ModeNonBlock) < 0)
            {
                return null;
            }

            try
            {
                if (Alsa.HwParamsMalloc(out var hw) < 0)
                {
                    return null;
                }

                try
                {
                    return Alsa.HwParamsAny(pcm, hw) >= 0 && Alsa.HwParamsGetChannelsMax(hw, out var max) >= 0 && max is > 0 and < 1024
                        ? (int)max
                        : null;
                }
                finally
                {
                    Alsa.HwParamsFree(hw);
                }
            }
            finally
            {
                _ = Alsa.PcmClose(pcm);
            }
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Reads whole frames into <paramref name="interleaved"/> (blocking); returns frames read.</summary>
    public int Read(Span<short> interleaved)
    {
        var frames = interleaved.Length / Channels;
        var done = 0;
        while (done < frames)
        {
            // snd_pcm_set_params sets the start threshold to the whole buffer; reads of one period would never reach
            // it, so a prepared capture is started explicitly (at open and after every xrun recovery).
            StartCaptureIfPrepared();
            var chunk = Math.Min(frames - done, PeriodFrames);
            nint n;
            if (Format == AlsaSampleFormat.S16)
            {
                fixed (short* p = interleaved.Slice(done * Channels, chunk * Channels))
                {
                    n = Alsa.PcmReadi(Handle, p, (nuint)chunk);
                }
            }
            else
            {
                fixed (int* p = _scratch)
                {
                    n = Alsa.PcmReadi(Handle, p, (nuint)chunk);
                }

                if (n > 0)
                {
                    var dst = interleaved.Slice(done * Channels, (int)n * Channels);
                    for (var i = 0; i < dst.Length; i++)
                    {
                        dst[i] = (short)(_scratch[i] >> 16);
                    }
                }
            }

            if (n < 0)
            {
                Recover((int)n);
                continue;
            }

            _stallsInARow = 0;
            done += (int)n;
            if (n == 0)
            {
                break;
            }
        }

        return done;
    }

    /// <summary>Writes all frames (blocking while the device buffer is full).</summary>
    public void Write(ReadOnlySpan<short> interleaved)
    {
        var frames = interleaved.Length / Channels;
        var done = 0;
        while (done < frames)
        {
            var chunk = Math.Min(frames - done, PeriodFrames);
            var src = interleaved.Slice(done * Channels, chunk * Channels);
            nint n;
            if (Format == AlsaSampleFormat.S16)
            {
                fixed (short* p = src)
                {
                    n = Alsa.PcmWritei(Handle, p, (nuint)chunk);
                }
            }
            else
            {
                for (var i = 0; i < src.Length; i++)
                {
                    _scratch[i] = src[i] << 16;
                }

                fixed (int* p = _scratch)
                {
                    n = Alsa.PcmWritei(Handle, p, (nuint)chunk);
                }
            }

            if (n < 0)
            {
                Recover((int)n);
                continue;
            }

            _stallsInARow = 0;
            done += (int)n;
        }
    }

    /// <summary>
    /// Blocks until <paramref name="frames"/> frames can be written without waiting (or the whole ring, if it is
    /// smaller). A stream in xrun is recovered first, which empties it.
    /// </summary>
    public void WaitForRoom(int frames)
    {
        LowerHeadroomIfCalm();
        while (true)
        {
            var avail = Alsa.PcmAvailUpdate(Handle);
            if (avail < 0)
            {
                Recover((int)avail);
                continue;
            }

            // Room means: after this write no more than the headroom is queued (the ring itself may hold more).
            var wanted = Math.Clamp(BufferFrames - _headroom + frames, 1, BufferFrames);
            if (avail >= wanted || Alsa.PcmState(Handle) != Alsa.StateRunning)
            {
                return;
            }

            if (avail >= PeriodFrames)
            {
                // snd_pcm_wait would return at once (a period is free): sleep until enough has played instead.
                Thread.Sleep(Math.Max(1, (int)Math.Ceiling((wanted - avail) * 1000.0 / SampleRate)));
                continue;
            }

            var err = Alsa.PcmWait(Handle, 1000);
            if (err < 0)
            {
                Recover(err);
            }
        }
    }

    private void LowerHeadroomIfCalm()
    {
        if (_headroom > _initialHeadroom && Environment.TickCount64 - _lastRaise >= (long)HeadroomDecay.TotalMilliseconds)
        {
            _headroom = Math.Max(_initialHeadroom, _headroom - PeriodFrames);
            _lastRaise = Environment.TickCount64;
        }
    }

    /// <summary>Frames queued ahead of the next write (snd_pcm_delay), or null when the stream cannot say (not running).</summary>
    public int? Delay => Alsa.PcmDelay(Handle, out var delay) >= 0 ? (int)delay : null;

    /// <summary>Plays out what is queued (playback) before closing.</summary>
    public void Drain()
    {
        if (_pcm != 0)
        {
            _ = Alsa.PcmDrain(_pcm);
        }
    }

    public void Dispose()
    {
        var pcm = Interlocked.Exchange(ref _pcm, 0);
        if (pcm != 0)
        {
            _ = Alsa.PcmClose(pcm);
        }

        FreeConfig(Interlocked.Exchange(ref _config, 0));
    }

    /// <summary>
    /// hw params (interleaved, format, channels, rate — exact, else the nearest offered —, period, ring) and sw
    /// params (start, wake-up).
    /// </summary>
    private static int Configure(nint pcm, AlsaPcmSettings settings, AlsaSampleFormat format, bool capture, out nuint period, out nuint buffer, out uint rate)
    {
        period = 0;
        buffer = 0;
        rate = (uint)settings.SampleRate;
        if (Alsa.HwParamsMalloc(out var hw) < 0)
        {
            return -Libc.ENOMEM;
        }

        int err;
        try
        {
            var dir = 0;
            if ((err = Alsa.HwParamsAny(pcm, hw)) < 0
                || (err = Alsa.HwParamsSetAccess(pcm, hw, Alsa.AccessRwInterleaved)) < 0
                || (err = Alsa.HwParamsSetFormat(pcm, hw, format == AlsaSampleFormat.S16 ? Alsa.FormatS16Le : Alsa.FormatS32Le)) < 0
                || (err = Alsa.HwParamsSetChannels(pcm, hw, (uint)settings.Channels)) < 0)
            {
                return err;
            }

            // A failed set_rate leaves the parameters as they were (libasound tries it), so "near" can follow.
            if ((err = Alsa.HwParamsSetRate(pcm, hw, rate, 0)) < 0
                && (!settings.NearestRate || (err = Alsa.HwParamsSetRateNear(pcm, hw, ref rate, ref dir)) < 0))
            {
                return err;
            }

            period = (nuint)Math.Max(16, Math.Round(rate * settings.PeriodTime.TotalSeconds));
            dir = 0;
            buffer = period * (nuint)Math.Clamp(settings.BufferPeriods ?? (capture ? 64 : 32), 2, 64);
            if ((err = Alsa.HwParamsSetPeriodSizeNear(pcm, hw, ref period, ref dir)) < 0
                || (err = Alsa.HwParamsSetBufferSizeNear(pcm, hw, ref buffer)) < 0
                || (err = Alsa.HwParamsInstall(pcm, hw)) < 0)
            {
                return err;
            }

            if (Alsa.SwParamsMalloc(out var sw) < 0)
            {
                return -Libc.ENOMEM;
            }

            try
            {
                // Playback starts once two periods are queued (not a whole ring); capture is started explicitly.
                var start = capture ? buffer : Math.Min(buffer, period * 2);
                if ((err = Alsa.SwParamsCurrent(pcm, sw)) < 0
                    || (err = Alsa.SwParamsSetStartThreshold(pcm, sw, start)) < 0
                    || (err = Alsa.SwParamsSetAvailMin(pcm, sw, period)) < 0
                    || (err = Alsa.SwParamsInstall(pcm, sw)) < 0)
                {
                    return err;
                }
            }
            finally
            {
                Alsa.SwParamsFree(sw);
            }

            return 0;
        }
        finally
        {
            Alsa.HwParamsFree(hw);
        }
    }

    private void StartCaptureIfPrepared()
    {
        if (_capture && Alsa.PcmState(Handle) == Alsa.StatePrepared)
        {
            var err = Alsa.PcmStart(_pcm);
            ExplicitStarts++;
            if (err < 0 && IsDisappearance(err))
            {
                throw new DeviceUnavailableException(_deviceId, $"ALSA capture cannot start: {Alsa.Error(err)}");
            }
        }
    }

    /// <summary>Whether an ALSA error code means the card is gone rather than a recoverable glitch.</summary>
    public static bool IsDisappearance(int err) => err is -Libc.ENODEV or -Libc.EBADFD or -Libc.ENXIO or -Libc.EIO or -Libc.EBADF;

    private nint Handle => _pcm != 0 ? _pcm : throw new ObjectDisposedException(nameof(AlsaPcm));

    /// <summary>
    /// What a failed read or write does with libasound's error: a vanished card becomes <see cref="DeviceUnavailableException"/>, an
    /// xrun (EPIPE, ESTRPIPE after suspend) is counted and the stream re-prepared by snd_pcm_recover, anything it cannot
    /// recover from is a device error. Internal so tests can feed it the codes a real card returns.
    /// </summary>
    internal void Recover(int err)
    {
        // EIO from snd_pcm_readi/writei on a stream that is still there: the kernel gave up waiting for a period
        // (since 6.0 it waits only max(100 ms, 1.1 x the buffer), "DMA or IRQ trouble?"), as on a starved machine or a
        // slow emulated card. The stream stays running: wait again, counting it, and only a stream that makes no
        // progress for many waits in a row is a device error. A card that is really gone says so with its state.
        if (err == -Libc.EIO && Alsa.PcmState(Handle) != Alsa.StateDisconnected)
        {
            Stalls++;
            if (++_stallsInARow > MaxStallsInARow)
            {
                throw new DeviceUnavailableException(_deviceId, $"ALSA stream made no progress: {_stallsInARow} waits in a row timed out ({Alsa.Error(err)})");
            }

            return;
        }

        if (IsDisappearance(err))
        {
            throw new DeviceUnavailableException(_deviceId, $"ALSA device went away: {Alsa.Error(err)}");
        }

        if (err is -Libc.EPIPE or -Libc.ESTRPIPE)
        {
            Xruns++;
            if (!_capture)
            {
                // An underrun: this box cannot refill 40 ms in time just now; keep more queued from here on.
                _headroom = Math.Min(BufferFrames, _headroom + (2 * PeriodFrames));
                _lastRaise = Environment.TickCount64;
            }
        }

        var r = Alsa.PcmRecover(_pcm, err, 1);
        if (r < 0)
        {
            throw new DeviceUnavailableException(_deviceId, $"ALSA cannot recover from {Alsa.Error(err)}: {Alsa.Error(r)}");
        }
    }

    private static nint LoadConfig(string text, string deviceId)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (Alsa.ConfigTop(out var top) < 0)
        {
            throw new DeviceUnavailableException(deviceId, "snd_config_top failed");
        }

        nint input;
        int err;
        fixed (byte* p = bytes)
        {
            err = Alsa.InputBufferOpen(out input, p, bytes.Length);
        }

        if (err >= 0)
        {
            err = Alsa.ConfigLoad(top, input);
            _ = Alsa.InputClose(input);
        }

        if (err < 0)
        {
            _ = Alsa.ConfigDelete(top);
            throw new DeviceUnavailableException(deviceId, $"bad ALSA configuration text: {Alsa.Error(err)}");
        }

        return top;
    }

    private static void FreeConfig(nint config)
    {
        if (config != 0)
        {
            _ = Alsa.ConfigDelete(config);
        }
    }
}

/// <summary>Whether libasound is loadable here.</summary>
public static class AlsaPcmProbe
{
    public static bool LibraryPresent { get; } = Interop.Alsa.IsAvailable();
}
