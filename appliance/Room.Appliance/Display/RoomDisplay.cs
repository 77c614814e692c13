using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Room.Appliance.Administration;
using Room.Appliance.Calendar;
using Room.Appliance.Media;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices;
using Room.Devices.Display;
using Room.Media.Display;

namespace Room.Appliance.Display;

/// <summary>
/// Drives the room's display through DRM/KMS with the CPU compositor: during a call the far end's latest decoded
/// pictures (one tile per remote participant, named from the roster), the active speaker by received loudness, our
/// own camera as the self-view and the encryption badge; outside a call the idle screen (clock, room name, next
/// meeting). A frame is composed when a new picture arrived (the far end's frame rate, capped at
/// <see cref="RoomDisplayOptions.MaxFramesPerSecond"/>) and at least once a second. A missing, vanished or failing
/// display never touches the call: <see cref="State"/> says why and the display is tried again.
/// </summary>
public sealed class RoomDisplay(
    IOptions<RoomDisplayOptions> options,
    MeetingService meeting,
    LoopbackMedia media,
    SystemInfo system,
    ScheduleService schedule,
    TimeProvider time,
    ILogger<RoomDisplay> logger) : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly CallScene _scene = new();
    private readonly RoomCompositor _compositor = new();
    private readonly FarEndFeed[] _feeds = new FarEndFeed[CallScene.MaxPeople];
    private string _state = "off: not started";
    private volatile bool _meetingChanged = true;
    private bool _inCall;
    private EncryptionState _encryption;
    private IReadOnlyDictionary<long, string> _names = new Dictionary<long, string>();
    private long _namesAt = long.MinValue;
    private string _roomName = "";
    private string _next = "";
    private long _lastFrame = long.MinValue;
    private long _idleMinute = -1;
    private long _frames;

    /// <summary>Raised when <see cref="State"/> changes.</summary>
    public event EventHandler? Changed;

    /// <summary>
    /// "on: card0 Virtual-1 1280x720@60 atomic", "off: ..." (none configured), "unavailable: why" (could not be
    /// opened), "disconnected: ..." (the screen was unplugged) or "failed: why" (stopped during use); the last three
    /// are retried.
    /// </summary>
    public string State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Frames put on the screen so far.</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>The encryption state the badge shows now.</summary>
    public EncryptionState Encryption => _encryption;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.Device.Length == 0)
        {
            Set("off: no room display configured (Display:Device)");
            return;
        }

        meeting.Changed += OnChanged;
        schedule.Changed += OnChanged;
        system.Changed += OnChanged;
        try
        {
            // Flips wait for the vertical blank: the loop runs on a thread of its own, away from the callers of roomd's API.
            await Task.Factory.StartNew(() => RunAsync(o, stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            meeting.Changed -= OnChanged;
            schedule.Changed -= OnChanged;
            system.Changed -= OnChanged;
        }
    }

    private void OnChanged(object? sender, EventArgs e) => _meetingChanged = true;

    private async Task RunAsync(RoomDisplayOptions o, CancellationToken ct)
    {
        var second = time.TimestampFrequency;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / o.MaxFramesPerSecond), time);
        KmsScanout? screen = null;
        long retryAt = long.MinValue, refreshAt = long.MinValue;
        try
        {
            do
            {
                var now = time.GetTimestamp();
                var force = false;
                if (screen is null)
                {
                    if (now < retryAt)
                    {
                        continue;
                    }

                    retryAt = now + (o.RetrySeconds * second);
                    screen = Open(o);
                    if (screen is null)
                    {
                        continue;
                    }

                    refreshAt = now + second;
                    force = true;
                }

                try
                {
                    if (now >= refreshAt)
                    {
                        // The connector is probed once a second: an unplugged or re-plugged screen, or a mode it no longer offers.
                        refreshAt = now + second;
                        force |= Follow(screen, screen.Refresh());
                    }

                    if (screen.Connected && Frame(screen, force, now))
                    {
                        if (screen.Present())
                        {
                            Interlocked.Increment(ref _frames);
                        }
                        else
                        {
                            Follow(screen, ScanoutChange.Disconnected);
                        }
                    }
                }
                catch (Exception ex) when (ex is DeviceUnavailableException or InvalidOperationException or TimeoutException or IOException or ArgumentException)
                {
                    logger.LogWarning("Room display {Device} stopped: {Message}", o.Device, ex.Message);
                    Set($"failed: {ex.Message}; trying again every {o.RetrySeconds} s");
                    screen.Dispose();
                    screen = null;
                    retryAt = now + (o.RetrySeconds * second);
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        finally
        {
            screen?.Dispose();
        }
    }

    private KmsScanout? Open(RoomDisplayOptions o)
    {
        try
        {
            var screen = KmsScanout.Open(o.Device, o.Connector.Length == 0 ? null : o.Connector);
            Set($"on: {screen.Description}");
            return screen;
        }
        catch (Exception ex) when (ex is DeviceUnavailableException or InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Set($"unavailable: {ex.Message}; trying again every {o.RetrySeconds} s");
            return null;
        }
    }

    /// <summary>Reports what the connector did; true when the screen needs a whole new frame.</summary>
    private bool Follow(KmsScanout screen, ScanoutChange change)
    {
        switch (change)
        {
            case ScanoutChange.Disconnected:
                Set($"disconnected: {screen.Description}; the call goes on, the picture comes back with the screen");
                return false;
            case ScanoutChange.Reconnected or ScanoutChange.ModeChanged:
                Set($"on: {screen.Description}");
                return true;
            default:
                return false;
        }
    }

    /// <summary>Composes the next frame into the back buffer; false when nothing changed (nothing to show).</summary>
    private bool Frame(KmsScanout screen, bool force, long now)
    {
        if (_meetingChanged)
        {
            _meetingChanged = false;
            TakeMeeting();
            force = true;
        }

        if (_inCall)
        {
            var n = media.FarEnd(_feeds);
            if (Unnamed(_feeds.AsSpan(0, n)) && now - _namesAt > time.TimestampFrequency)
            {
                TakeNames(meeting.Snapshot.Participants, meeting.CallMedia); // a feed that came without a roster change
                _namesAt = now;
            }

            var changed = _scene.Update(_feeds.AsSpan(0, n), _names, media.SelfView);
            if (!changed && !force && now - _lastFrame < time.TimestampFrequency)
            {
                return false;
            }

            _compositor.Compose(screen.BackBuffer, screen.Width, screen.Height, screen.Stride, _scene.Scene(options.Value.Layout, _encryption));
        }
        else
        {
            var local = time.GetLocalNow();
            var minute = local.Ticks / TimeSpan.TicksPerMinute;
            if (!force && minute == _idleMinute)
            {
                return false;
            }

            _idleMinute = minute;
            IdleScreen.Draw(screen.BackBuffer, screen.Width, screen.Height, screen.Stride, _roomName, local, _next);
        }

        _lastFrame = now;
        return true;
    }

    private bool Unnamed(ReadOnlySpan<FarEndFeed> feeds)
    {
        foreach (var f in feeds)
        {
            if (!_names.ContainsKey(f.Feed))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What changes with the meeting (not per frame): in a call or not, the badge, names, the idle screen's text.</summary>
    private void TakeMeeting()
    {
        var snapshot = meeting.Snapshot;
        _inCall = snapshot.State == MeetingStates.InCall;
        var network = _inCall ? meeting.CallMedia : null;
        // A loopback call's media is SFrame-protected with keys from its MLS group (it refuses to run without them).
        _encryption = CallScene.EncryptionOf(_inCall, network is not null, network?.EndToEnd ?? meeting.MediaKeys is not null);
        if (_inCall)
        {
            TakeNames(snapshot.Participants, network);
        }
        else
        {
            _scene.Clear();
        }

        _roomName = system.RoomName;
        _next = NextMeeting(schedule.Upcoming, time.GetUtcNow(), time.LocalTimeZone);
        _idleMinute = -1;
    }

    /// <summary>Names by feed: the SFU's publishers in a network call; in a loopback call the one other participant (feed 0).</summary>
    private void TakeNames(IReadOnlyList<MeetingParticipant> participants, ICallMedia? network) =>
        _names = network?.FeedNames ?? new Dictionary<long, string> { [0] = participants.Count > 1 ? participants[1].Name : "" };

    /// <summary>"Next: 14:00 Board meeting" for the first meeting that has not ended, in local time; empty when none.</summary>
    public static string NextMeeting(IReadOnlyList<ScheduledMeeting> upcoming, DateTimeOffset now, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(upcoming);
        foreach (var m in upcoming)
        {
            if (m.End > now)
            {
                var start = TimeZoneInfo.ConvertTime(m.Start, zone);
                return (m.Start <= now ? "Now: " : "Next: ") + start.ToString("HH:mm", CultureInfo.InvariantCulture) + " " + m.Title;
            }
        }

        return "";
    }

    private void Set(string state)
    {
        lock (_gate)
        {
            if (_state == state)
            {
                return;
            }

            _state = state;
        }

        logger.LogInformation("Room display: {State}", state);
        Changed?.Invoke(this, EventArgs.Empty);
    }
}
