using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Room.Appliance.Camera;
using Room.Appliance.Framing;
using Room.Appliance.Media;
using Room.Appliance.Meeting;
using Room.Bus;
using Room.Devices.Simulated;
using Room.Media;

namespace Room.Appliance.Tests;

/// <summary>A loopback call's media when cameras are unplugged and plugged back mid-call.</summary>
public sealed class LoopbackMediaTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("room-media-").FullName;
    private readonly SimulatedDeviceProvider _devices = new();
    private readonly FramingSupport _framing = new(NullLogger<FramingSupport>.Instance);
    private readonly MeetingService _meeting;
    private readonly CameraService _cameras;
    private readonly LoopbackMedia _media;

    public LoopbackMediaTests()
    {
        var options = Options.Create(new RoomOptions { StateDirectory = _dir });
        _meeting = new MeetingService(new LoopbackTransport(TimeProvider.System) { JoinDelay = TimeSpan.Zero }, _devices, options, TimeProvider.System, NullLogger<MeetingService>.Instance);
        _cameras = new CameraService(_devices, new PresetStore(options, NullLogger<PresetStore>.Instance), _framing, options, NullLogger<CameraService>.Instance);
        _media = new LoopbackMedia(_meeting, _cameras, _devices, NullLogger<LoopbackMedia>.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _media.StopAsync(CancellationToken.None);
        _media.Dispose();
        await _meeting.DisposeAsync();
        _cameras.Dispose();
        _framing.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<MediaStatus> WaitForAsync(Func<MediaStatus, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition(_media.Status))
        {
            Assert.True(DateTime.UtcNow < deadline, "media never reached the expected state; last: " + _media.Status);
            await Task.Delay(50);
        }

        return _media.Status;
    }

    [Fact]
    public async Task The_room_display_gets_the_far_end_and_our_camera_during_a_call_and_nothing_after_it()
    {
        var feeds = new FarEndFeed[4];
        Assert.Equal(0, _media.FarEnd(feeds));
        await _media.StartAsync(CancellationToken.None);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForAsync(s => s.Active && s.Camera.Length > 0);

        // The loopback call's far end: one feed, the looped picture once decoded.
        await WaitForAsync(_ => _media.FarEnd(feeds) == 1 && feeds[0].Video is { Pictures: > 0 } && _media.SelfView.Pictures > 0);
        var picture = new byte[LatestPicture.I420Size(1920, 1080)];
        Assert.True(feeds[0].Video!.TryCopyLatestI420(picture, out var w, out var h));
        Assert.True(w > 0 && h > 0);
        Assert.True(_media.SelfView.TryCopyLatestI420(picture, out w, out h));
        Assert.True(w > 0 && h > 0);

        await _meeting.LeaveAsync();
        await WaitForAsync(s => !s.Active);
        Assert.Equal(0, _media.FarEnd(feeds));
        Assert.False(_media.SelfView.TryCopyLatestI420(picture, out _, out _));
    }

    [Fact]
    public async Task Unplugging_the_camera_mid_call_switches_to_another_and_the_call_goes_on()
    {
        await _media.StartAsync(CancellationToken.None);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForAsync(s => s.Active && s.Camera == "sim:camera-front");
        await WaitForAsync(_ => _media.Snapshot() is not null);

        _devices.SetCameraPresent("sim:camera-front", false);
        var switched = await WaitForAsync(s => s.Active && s.Camera == "sim:camera-wide");
        Assert.Equal("", switched.Error);
        Assert.Equal(MeetingStates.InCall, _meeting.Snapshot.State);
    }

    [Fact]
    public async Task With_no_camera_left_the_call_goes_on_audio_only_and_video_returns_when_one_is_plugged_back()
    {
        await _media.StartAsync(CancellationToken.None);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
        await WaitForAsync(s => s.Active);

        _devices.SetCameraPresent("sim:camera-front", false);
        _devices.SetCameraPresent("sim:camera-wide", false);
        var audioOnly = await WaitForAsync(s => s.Active && s.Camera == "" && s.Error.Length > 0);
        Assert.Contains("camera", audioOnly.Error, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("none (audio only)", audioOnly.VideoEncoder, StringComparison.Ordinal);
        Assert.StartsWith("Opus", audioOnly.Audio, StringComparison.Ordinal);
        Assert.Equal(MeetingStates.InCall, _meeting.Snapshot.State);

        _devices.SetCameraPresent("sim:camera-front", true);
        var back = await WaitForAsync(s => s.Active && s.Camera.Length > 0);
        Assert.Equal("sim:camera-front", back.Camera);
        Assert.Equal("", back.Error);
        Assert.StartsWith("Opus", back.Audio, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_libspeexdsp_the_call_keeps_unprocessed_sound_and_says_so()
    {
        var speaker = Assert.IsType<SimulatedSpeaker>(_devices.Speakers[0]);
        using var media = new LoopbackMedia(_meeting, _cameras, _devices, NullLogger<LoopbackMedia>.Instance,
            () => throw new Room.Media.MediaUnavailableException("libspeexdsp not found (install libspeexdsp1): test"));
        await media.StartAsync(CancellationToken.None);
        try
        {
            await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!media.Status.Active)
            {
                Assert.True(DateTime.UtcNow < deadline, "media never became active; last: " + media.Status);
                await Task.Delay(50);
            }

            Assert.StartsWith("Opus", media.Status.Audio, StringComparison.Ordinal);
            Assert.Contains("degraded: no echo cancellation", media.Status.Audio, StringComparison.Ordinal);
            Assert.Contains("libspeexdsp", media.Status.Audio, StringComparison.Ordinal);
            var before = speaker.SoundFramesPlayed;
            while (speaker.SoundFramesPlayed - before < 48_000)
            {
                Assert.True(DateTime.UtcNow < deadline, "no sound reached the speaker; last: " + media.Status);
                await Task.Delay(50);
            }
        }
        finally
        {
            await media.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task With_every_camera_gone_sound_still_flows_from_the_microphone_to_the_speaker()
    {
        var speaker = Assert.IsType<SimulatedSpeaker>(_devices.Speakers[0]);
        _devices.SetCameraPresent("sim:camera-front", false);
        _devices.SetCameraPresent("sim:camera-wide", false);
        await _media.StartAsync(CancellationToken.None);
        await _meeting.JoinAsync("test-loopback://meet.example.org/m/1");

        var audioOnly = await WaitForAsync(s => s.Active && s.Camera == "");
        Assert.StartsWith("Opus", audioOnly.Audio, StringComparison.Ordinal);
        Assert.Contains("camera", audioOnly.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Null(_media.Snapshot());
        // The simulated microphone's speech goes through the beamformer, echo canceller, Opus and SFrame and
        // back out of the speaker: a second of sound arrives there while no camera exists.
        var before = speaker.SoundFramesPlayed;
        var playedBefore = speaker.FramesPlayed;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (speaker.SoundFramesPlayed - before < 48_000)
        {
            Assert.True(DateTime.UtcNow < deadline, $"a second of sound never reached the speaker: {speaker.SoundFramesPlayed - before} frames with sound " +
                $"of {speaker.FramesPlayed - playedBefore} played in 30 s; media: {_media.Status}; {_media.CallStatistics}");
            await Task.Delay(50);
        }

        Assert.True(_media.Status.Active);
        Assert.Equal("", _media.Status.Camera);
    }
}
