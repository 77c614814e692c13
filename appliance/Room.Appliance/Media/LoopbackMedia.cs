using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Room.Appliance.Camera;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Call;
using Room.Devices;
using Room.Media;
using Room.Media.Audio;

namespace Room.Appliance.Media;

/// <summary>
/// The media of a loopback call: while the meeting is in a call, the selected camera is encoded (H.264, 360p)
/// and its packets come straight back through the jitter buffer and decoder, as a remote participant's would;
/// the microphones go through the beamformer, echo canceller and Opus and back out of the speaker. The touch
/// panel shows the decoded picture (<see cref="Snapshot"/>). The WebRTC transport replaces the loopback leg.
/// </summary>
public sealed class LoopbackMedia(
    MeetingService meeting,
    CameraService cameras,
    IDeviceProvider devices,
    ILogger<LoopbackMedia> logger,
    Func<AudioProcessor>? audioProcessor = null) : BackgroundService
{
    private readonly Func<AudioProcessor> _newAudioProcessor = audioProcessor ?? (() => new AudioProcessor());

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private VideoReceivePipeline? _view;
    private Func<string>? _loopbackStatistics;
    private Func<string> _audioStatistics = static () => "call audio: none";
    private CallSubscriber? _remote;
    private bool _loopback;
    private MediaStatus _status = MediaStatus.Idle;

    public event EventHandler? Changed;

    public MediaStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>Our own camera's pictures while a call sends them (the room display's self-view); none outside a call.</summary>
    public LatestPicture SelfView { get; } = new();

    /// <summary>
    /// The far end of the call now, in the subscription's order (<paramref name="into"/>'s length at most): each
    /// remote participant's feed, its decoded pictures (null when it sends no video) and how loud it is; a loopback
    /// call's far end is the simulated peer with the looped picture (feed 0, no level). Allocates nothing.
    /// </summary>
    public int FarEnd(Span<FarEndFeed> into)
    {
        lock (_gate)
        {
            if (_remote is { } remote)
            {
                var videos = remote.Videos;
                var audios = remote.Audios;
                var n = 0;
                for (var i = 0; i < videos.Count && n < into.Length; i++)
                {
                    into[n++] = new FarEndFeed(videos[i].Stream.Feed, videos[i].Pipeline, LevelOf(audios, videos[i].Stream.Feed));
                }

                // Participants who send sound only still get a tile.
                for (var i = 0; i < audios.Count && n < into.Length; i++)
                {
                    if (!HasVideo(videos, audios[i].Stream.Feed))
                    {
                        into[n++] = new FarEndFeed(audios[i].Stream.Feed, null, audios[i].Level);
                    }
                }

                return n;
            }

            if (_loopback && into.Length > 0)
            {
                into[0] = new FarEndFeed(0, _view, 0); // no picture while the call runs without video
                return 1;
            }

            return 0;
        }

        static float LevelOf(IReadOnlyList<RemoteAudio> audios, long feed)
        {
            for (var i = 0; i < audios.Count; i++)
            {
                if (audios[i].Stream.Feed == feed)
                {
                    return audios[i].Level;
                }
            }

            return 0;
        }

        static bool HasVideo(IReadOnlyList<RemoteVideo> videos, long feed)
        {
            for (var i = 0; i < videos.Count; i++)
            {
                if (videos[i].Stream.Feed == feed)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The latest decoded picture as JPEG, or null outside a call / before the first picture.</summary>
    public byte[]? Snapshot()
    {
        if (meeting.Snapshot.State != MeetingStates.InCall)
        {
            return null; // left, or not yet in: the last call's picture is not shown while its media winds down
        }

        lock (_gate)
        {
            if (_remote is not null)
            {
                // A network call: the first remote participant whose picture has decoded.
                return _remote.Videos.FirstOrDefault(v => v.FramesDecoded > 0)?.Pipeline.SnapshotJpeg();
            }

            return _view?.SnapshotJpeg();
        }
    }

    /// <summary>The call's counters (frames sent, decoded, rejected; rekeys in a loopback call), or null without a call.</summary>
    public string? CallStatistics
    {
        get
        {
            if (meeting.CallMedia is { } network)
            {
                return network.Statistics;
            }

            lock (_gate)
            {
                return _loopbackStatistics?.Invoke();
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        meeting.Changed += OnMeetingChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (meeting.Snapshot.State != MeetingStates.InCall)
                {
                    await _wake.WaitAsync(stoppingToken);
                    continue;
                }

                using var call = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var watcher = WatchForEndAsync(call);
                try
                {
                    await RunCallAsync(call.Token);
                }
                catch (OperationCanceledException) when (call.IsCancellationRequested)
                {
                }
                catch (Exception ex) when (call.IsCancellationRequested && ex is ObjectDisposedException or Room.Crypto.RoomCryptoException)
                {
                    // The call ended under a frame in flight; nothing to report.
                }
#pragma warning disable CA1031 // Whatever fails in the media path, roomd and the call stay up.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    // Media trouble degrades the call, it does not end it: the room stays in the meeting and media
                    // restarts, from another camera if this one is gone, or from this one once it is plugged back.
                    logger.LogError("Media stopped: {Message}", ex.Message);
                    Set(MediaStatus.Idle with { Error = ex.Message });
                    await WaitForRetryAsync(stoppingToken);
                }
                finally
                {
                    await call.CancelAsync();
                    await watcher;
                    lock (_gate)
                    {
                        _view?.Dispose();
                        _view = null;
                        _remote = null;
                        _loopback = false;
                        _loopbackStatistics = null;
                        _audioStatistics = static () => "call audio: none";
                    }

                    SelfView.Clear();
                }

                if (Status.Active)
                {
                    Set(MediaStatus.Idle);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            meeting.Changed -= OnMeetingChanged;
        }
    }

    private void OnMeetingChanged(object? sender, EventArgs e) => _wake.Release();

    private async Task WatchForEndAsync(CancellationTokenSource call)
    {
        // A call that dropped and was rejoined in between two looks is another call: its media starts afresh.
        var media = meeting.CallMedia;
        try
        {
            while (!call.IsCancellationRequested && meeting.Snapshot.State == MeetingStates.InCall && ReferenceEquals(media, meeting.CallMedia))
            {
                await _wake.WaitAsync(call.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await call.CancelAsync();
    }

    /// <summary>Waits a moment (or until a device appears or goes) before media is tried again.</summary>
    private async Task WaitForRetryAsync(CancellationToken stoppingToken)
    {
        using var plugged = new SemaphoreSlim(0);
        void OnDevices(object? sender, EventArgs e) => plugged.Release();
        devices.DevicesChanged += OnDevices;
        try
        {
            await plugged.WaitAsync(TimeSpan.FromSeconds(2), stoppingToken);
        }
        finally
        {
            devices.DevicesChanged -= OnDevices;
        }
    }

    private static bool Works(IDevice device)
    {
        try
        {
            return device.Describe().Health is DeviceHealth.Ok or DeviceHealth.Degraded;
        }
        catch (DeviceUnavailableException)
        {
            return false;
        }
    }

    /// <summary>
    /// Completes when a device change lets the call's media do better than it does now (<paramref name="better"/>);
    /// the call then restarts its streams with the devices it has again.
    /// </summary>
    private async Task WaitForBetterDevicesAsync(Func<bool> better, CancellationToken ct, bool checkNow = true)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnDevices(object? sender, EventArgs e)
        {
            if (better())
            {
                ready.TrySetResult();
            }
        }

        devices.DevicesChanged += OnDevices;
        try
        {
            if (!checkNow || !better())
            {
                await ready.Task.WaitAsync(ct);
            }
        }
        finally
        {
            devices.DevicesChanged -= OnDevices;
        }

        logger.LogInformation("A device came back: restarting the call's media with it");
    }

    /// <summary>Why a call has no sound, for Media.Audio: each microphone and speaker that does not work, and its health.</summary>
    private string MissingAudio()
    {
        static string Of(IDevice d)
        {
            try
            {
                var info = d.Describe();
                return $"{info.Id} {info.Health.ToString().ToLowerInvariant()}";
            }
            catch (DeviceUnavailableException ex)
            {
                return $"{d.Id}: {ex.Message}";
            }
        }

        var mics = devices.Microphones.Where(m => !Works(m)).Select(Of).ToList();
        var speakers = devices.Speakers.Where(m => !Works(m)).Select(Of).ToList();
        var parts = new List<string>();
        if (!devices.Microphones.Any(Works))
        {
            parts.Add(mics.Count == 0 ? "no microphone" : "microphone " + string.Join(", ", mics));
        }

        if (!devices.Speakers.Any(Works))
        {
            parts.Add(speakers.Count == 0 ? "no speaker" : "speaker " + string.Join(", ", speakers));
        }

        return parts.Count == 0 ? "no working microphone or speaker" : string.Join("; ", parts);
    }

    /// <summary>The selected camera when it works, else the first that does.</summary>
    private ICamera PickCamera()
    {
        var selected = cameras.Snapshot.Selected;
        return devices.Cameras.FirstOrDefault(c => c.Id == selected && Works(c))
            ?? devices.Cameras.FirstOrDefault(Works)
            ?? throw new DeviceUnavailableException(selected, "no working camera is connected");
    }

    private async Task RunCallAsync(CancellationToken callToken)
    {
        if (meeting.CallMedia is { } network)
        {
            await RunNetworkCallAsync(network, callToken);
            return;
        }

        lock (_gate)
        {
            _loopback = true; // the far end is the simulated peer, with or without a picture
        }

        // Sound failing (a microphone unplugged) stops the call's streams, so that all restart together; video
        // failing does not: without a camera or a video encoder the call keeps its sound (see RunVideoAsync).
        using var streams = CancellationTokenSource.CreateLinkedTokenSource(callToken);
        var ct = streams.Token;
        var keys = meeting.MediaKeys ?? throw new NotSupportedException("the call has no media keys: refusing to send unencrypted media");
        var tasks = new List<Task>();

        // Without libspeexdsp the loopback call keeps its sound, unprocessed, and says so in Media.Audio.
        AudioProcessor? processor = null;
        var unprocessed = "";
        try
        {
            processor = _newAudioProcessor();
        }
        catch (MediaUnavailableException ex)
        {
            unprocessed = ex.Message;
            logger.LogWarning("No echo cancellation in this call: {Message}", ex.Message);
        }

        using var processorScope = processor;
        using var audioIn = new AudioReceivePipeline(processor);
        AudioSendPipeline? audioOut = null;
        string audio = $"degraded: no sound ({MissingAudio()}); the picture goes on";
        // A missing microphone or speaker costs the call its sound, not its picture.
        var withAudio = false;
        if (devices.Microphones.FirstOrDefault(Works) is { } mic && devices.Speakers.FirstOrDefault(Works) is { } speaker)
        {
            var decrypt = new SFrameDecryptingSink(keys.Receive, audioIn);
            audioOut = new AudioSendPipeline(mic.Channels, new SFrameEncryptingSink(keys.Send, decrypt), processor);
            var sendAudio = audioOut;
            var jitter = audioIn.JitterBuffer;
            lock (_gate)
            {
                _audioStatistics = () =>
                    $"call audio: {sendAudio.FramesSent} frames sent, {decrypt.Packets} packets decrypted, {decrypt.Rejected} rejected by SFrame; " +
                    $"jitter buffer: {jitter.FramesDecoded} decoded, {jitter.FramesConcealed} concealed, {jitter.FramesStretched} stretched, " +
                    $"{jitter.FramesDropped} dropped, {jitter.ChangesInSpeech} of the drops and stretches in speech, {jitter.LatePackets} late, {jitter.Underruns} underruns, target {jitter.TargetDelay.TotalMilliseconds:F0} ms";
            }

            // Device reads and writes block and complete synchronously (ALSA): each stream gets a thread-pool thread
            // of its own, or the first would never hand control back.
            tasks.Add(Task.Run(() => RunAudioAsync(mic, speaker, sendAudio, audioIn, ct), ct));
            audio = $"Opus ({audioOut.Encoder.Backend}) from {mic.Name}, {mic.Channels} channels beamformed, "
                + (processor is null ? $"degraded: no echo cancellation or noise suppression ({unprocessed})" : "echo-cancelled");
            withAudio = true;
        }

        tasks.Add(Task.Run(() => RunVideoAsync(keys, audio, withAudio, ct), ct));

        // Re-plugging recovers: media restarts when sound becomes possible again (the picture restarts by itself).
        tasks.Add(WaitForBetterDevicesAsync(() => !withAudio && devices.Microphones.Any(Works) && devices.Speakers.Any(Works), ct));
        try
        {
            var first = await Task.WhenAny(tasks);
            await streams.CancelAsync();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch (OperationCanceledException)
            {
            }

            await first; // the failure that ended the streams, if one did
        }
        finally
        {
            audioOut?.Dispose();
        }
    }

    /// <summary>
    /// The loopback call's picture, for as long as the call's streams run. When there is no working camera or the
    /// video pipeline fails (a camera unplugged, no H.264 encoder), a call with sound goes on audio-only: Media stays
    /// active with Camera "" and VideoEncoder/Error saying why, and the picture restarts on its own when a camera
    /// works again (or when the selected camera is back while another stands in). Without sound, a video failure ends
    /// the streams as before (Media reports the error and the call's media is retried).
    /// </summary>
    private async Task RunVideoAsync(MediaKeys keys, string audio, bool withAudio, CancellationToken ct)
    {
        const string Transport = "loopback inside roomd (no network)";
        while (true)
        {
            ICamera? camera = null;
            try
            {
                camera = PickCamera();
                if (await RunVideoOnceAsync(camera, keys, audio, Transport, ct))
                {
                    continue; // the selected camera is back: restart the picture on it
                }

                ct.ThrowIfCancellationRequested();
                throw new DeviceUnavailableException(camera.Id, "the camera stopped delivering frames");
            }
#pragma warning disable CA1031 // Whatever fails in the picture, a call with sound goes on.
            catch (Exception ex) when (withAudio && !ct.IsCancellationRequested && ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                var why = ex.Message;
                logger.LogWarning("Video stopped, the call keeps its sound: {Message}", why);
                lock (_gate)
                {
                    _loopbackStatistics = () => $"call: loopback inside roomd, audio only ({why})\n{_audioStatistics()}";
                }

                Set(new MediaStatus(true, "", $"none (audio only): {why}", "", audio, keys.Description, $"no video: {why}", Transport));
                // A camera other than the one that failed works already: switch to it now. Otherwise wait for a device
                // change after which a camera works (not the state of now: the failed camera may still read ok for a
                // moment, and an encoder failure would only repeat).
                if (ex is DeviceUnavailableException && devices.Cameras.Any(c => c.Id != camera?.Id && Works(c)))
                {
                    continue;
                }

                await WaitForBetterDevicesAsync(() => devices.Cameras.Any(Works), ct, checkNow: camera is null);
            }
        }
    }

    /// <summary>Runs the picture from <paramref name="camera"/>; true when it should restart on the selected camera.</summary>
    private async Task<bool> RunVideoOnceAsync(ICamera camera, MediaKeys keys, string audio, string transport, CancellationToken callToken)
    {
        var format = camera.Formats.FirstOrDefault(f => f.Width == 640 && f.Height == 360) is { Width: > 0 } small ? small : camera.Formats[0];
        var view = new VideoReceivePipeline(VideoCodec.H264);
        try
        {
            var videoIn = new SFrameDecryptingSink(keys.Receive, view);
            var videoOut = new SFrameEncryptingSink(keys.Send, videoIn);
            using var send = new VideoSendPipeline(format, VideoCodec.H264, [new VideoSendLayer(VideoLayer.P360, videoOut)]) { SelfView = SelfView };
            view.KeyframeNeeded += () => send.RequestKeyframe();
            var rekeys = new RekeyKeyframes(send, keys.Send); // new epoch, new key: receivers need a fresh start
            keys.Send.KeyframeNeeded += rekeys.OnRekey;
            using var unsubscribe = new CallbackOnDispose(() => keys.Send.KeyframeNeeded -= rekeys.OnRekey); // before send is disposed
            lock (_gate)
            {
                _view = view;
                _loopbackStatistics = () =>
                    $"call: loopback inside roomd, {rekeys.Describe()}\n" +
                    $"call sent: video {send.FramesProcessed} frames, {send.KeyframesSent} keyframes, {videoOut.Packets} packets encrypted\n" +
                    $"call received: video {view.FramesDecoded} frames decoded, {videoIn.Rejected} packets rejected by SFrame\n{_audioStatistics()}";
            }

            using var video = CancellationTokenSource.CreateLinkedTokenSource(callToken);
            var ct = video.Token;
            await using var capture = await camera.OpenCaptureAsync(format, ct);
            var selectedBack = WaitForBetterDevicesAsync(() =>
                camera.Id != cameras.Snapshot.Selected && devices.Cameras.Any(c => c.Id == cameras.Snapshot.Selected && Works(c)), ct);
            Task[] parts = [Task.Run(() => send.RunAsync(capture, ct), ct), PollAsync(view, rekeys, ct), selectedBack];
            Set(new MediaStatus(true, camera.Id, send.Description, view.Description, audio, keys.Description, "", transport));
            logger.LogInformation("Loopback media: {Encoder}", send.Description);
            var first = await Task.WhenAny(parts);
            await video.CancelAsync();
            try
            {
                await Task.WhenAll(parts);
            }
            catch (OperationCanceledException)
            {
            }

            await first; // the failure that stopped the picture, if one did
            return first == selectedBack && !callToken.IsCancellationRequested;
        }
        finally
        {
            lock (_gate)
            {
                if (_view == view)
                {
                    _view = null;
                }

                view.Dispose();
            }
        }
    }

    /// <summary>
    /// A call over the network (Janus): the camera and microphones go to the call's publisher, the remote
    /// participants' pictures to the panel's remote view and their audio, mixed, to the speaker.
    /// </summary>
    private async Task RunNetworkCallAsync(ICallMedia call, CancellationToken callToken)
    {
        using var streams = CancellationTokenSource.CreateLinkedTokenSource(callToken);
        var ct = streams.Token;
        var camera = PickCamera();
        var format = call.ChooseCapture(camera.Formats);
        var mic = devices.Microphones.FirstOrDefault(Works);
        var speaker = devices.Speakers.FirstOrDefault(Works);
        using var processor = new AudioProcessor();
        var echo = mic is not null && speaker is not null ? processor : null;
        using var publisher = call.StartPublishing(format, mic?.Channels ?? 1, echo);
        publisher.SelfView = SelfView;
        lock (_gate)
        {
            _remote = call.Subscriber;
        }

        await using var capture = await camera.OpenCaptureAsync(format, ct);
        // On thread-pool threads: ALSA (and V4L2) calls complete synchronously, so a stream run inline would never hand
        // control back and the others would never start (as the loopback call showed on the Linux devices).
        var tasks = new List<Task> { Task.Run(() => publisher.RunVideoAsync(capture, ct), ct), Task.Run(() => RunPlayoutAsync(speaker, call.Subscriber, echo, ct), ct) };
        if (mic is not null)
        {
            tasks.Add(Task.Run(() => RunMicrophoneAsync(mic, publisher, ct), ct));
        }

        // Re-plugging recovers (see RunCallAsync).
        tasks.Add(WaitForBetterDevicesAsync(() =>
            (camera.Id != cameras.Snapshot.Selected && devices.Cameras.Any(c => c.Id == cameras.Snapshot.Selected && Works(c)))
            || (mic is null && devices.Microphones.Any(Works)) || (speaker is null && devices.Speakers.Any(Works)), ct));
        var audio = mic is null ? $"degraded: no microphone ({MissingAudio()}), sending no sound" : $"{publisher.AudioDescription} from {mic.Name}, {mic.Channels} channels beamformed";
        audio += speaker is null ? "; no speaker" : $"; remote participants mixed to {speaker.Name}" + (echo is null ? "" : ", echo-cancelled");
        var status = new MediaStatus(true, camera.Id, publisher.VideoDescription, "VP8 (FFmpeg), one decoder per remote participant", audio, call.Encryption, "", call.Transport);
        Set(status);
        // The path can change during the call (an ICE restart may settle on another pair): Transport follows it.
        void OnTransportChanged(object? sender, EventArgs e)
        {
            if (!ct.IsCancellationRequested) Set(status with { Transport = call.Transport });
        }

        call.TransportChanged += OnTransportChanged;
        logger.LogInformation("Call media over {Transport}: {Encoder}", call.Transport, publisher.VideoDescription);
        try
        {
            var first = await Task.WhenAny(tasks);
            await streams.CancelAsync();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch (OperationCanceledException)
            {
            }

            await first;
        }
        finally
        {
            call.TransportChanged -= OnTransportChanged;
        }
    }

    private static async Task RunMicrophoneAsync(IMicrophone mic, CallPublisher publisher, CancellationToken ct)
    {
        await using var capture = await mic.OpenCaptureAsync(ct);
        await publisher.RunAudioAsync(capture, ct);
    }

    private static async Task RunPlayoutAsync(ISpeaker? speaker, CallSubscriber subscriber, AudioProcessor? processor, CancellationToken ct)
    {
        if (speaker is null)
        {
            await subscriber.RunAsync(null, null, ct);
            return;
        }

        await using var playback = await speaker.OpenPlaybackAsync(ct);
        await subscriber.RunAsync(playback, processor, ct);
    }

    private static async Task RunAudioAsync(IMicrophone mic, ISpeaker speaker, AudioSendPipeline send, AudioReceivePipeline receive, CancellationToken ct)
    {
        await using var capture = await mic.OpenCaptureAsync(ct);
        await using var playback = await speaker.OpenPlaybackAsync(ct);

        // Either end failing (the microphone unplugged) ends both, so the failure reaches the call's streams instead
        // of the other end running on alone.
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task[] ends = [Task.Run(() => send.RunAsync(capture, both.Token), both.Token), Task.Run(() => receive.RunAsync(playback, both.Token), both.Token)];
        var first = await Task.WhenAny(ends);
        await both.CancelAsync();
        try
        {
            await Task.WhenAll(ends);
        }
        catch (OperationCanceledException)
        {
        }

        await first;
    }

    private static async Task PollAsync(VideoReceivePipeline view, RekeyKeyframes rekeys, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (await timer.WaitForNextTickAsync(ct))
        {
            view.Poll(Stopwatch.GetTimestamp());
            rekeys.Check();
        }
    }

    private sealed class CallbackOnDispose(Action callback) : IDisposable
    {
        public void Dispose() => callback();
    }

    private void Set(MediaStatus status)
    {
        lock (_gate)
        {
            if (_status == status)
            {
                return;
            }

            _status = status;
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }
}

/// <summary>What the Media interface publishes.</summary>
public sealed record MediaStatus(bool Active, string Camera, string VideoEncoder, string VideoDecoder, string Audio, string Encryption, string Error, string Transport = "")
{
    public static MediaStatus Idle { get; } = new(false, "", "", "", "", "", "");
}

/// <summary>One remote participant's media as the room display shows it: the SFU's feed id, its pictures (null: no video) and its loudness (0..1).</summary>
public readonly record struct FarEndFeed(long Feed, ILatestPicture? Video, float Level);
