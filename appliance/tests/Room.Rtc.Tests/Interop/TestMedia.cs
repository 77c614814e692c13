using Room.Call;
using Room.Devices;
using Room.Media;
using Room.Media.Audio;
using Room.Rtc.Sdp;

namespace Room.Rtc.Tests.Interop;

/// <summary>
/// Publishes a synthetic picture (moving bars) and an Opus tone through Room.Call's <see cref="CallPublisher"/>
/// (the pipeline roomd sends with) until disposed.
/// </summary>
internal sealed class TestPublisher : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _video, _audio;
    private readonly bool _noise;

    public TestPublisher(RtcTransport transport, PublishedStreams streams, VideoLayer layer, bool noise = false)
    {
        _noise = noise;
        Call = new CallPublisher(transport, streams, new VideoFormat(PixelFormat.I420, layer.Width, layer.Height, layer.FramesPerSecond),
            new PublisherOptions { Video = layer, Encoder = EncoderPreference.SoftwareOnly, KeyframeIntervalSeconds = 3, EncoderThreads = 1 });
        _video = Task.Run(() => VideoLoop(layer));
        _audio = Task.Run(AudioLoop);
    }

    public CallPublisher Call { get; }
    public Rtp.RtpSender Video => Call.Video;
    public Rtp.RtpSender Audio => Call.Audio;
    public long FramesEncoded => Call.VideoFramesSent;

    /// <summary>Changes the encoder bitrate (what the congestion controller drives).</summary>
    public void SetBitrate(int bps) => Call.SetVideoBitrate(bps);

    private async Task VideoLoop(VideoLayer layer)
    {
        var i420 = new byte[layer.I420Size];
        int frame = 0;
        var start = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            int w = layer.Width, h = layer.Height;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    i420[y * w + x] = (byte)((x + frame * 4) & 0xFF);
            if (_noise)
            {
                // A noisy band (a third of the picture): detail the encoder can spend any budget on, like a real scene.
                for (int y = h / 3; y < h / 2; y++) Random.Shared.NextBytes(i420.AsSpan(y * w, w));
            }
            i420.AsSpan(w * h).Fill((byte)(128 + (frame % 64)));
            Call.ProcessVideoFrame(i420, TimeSpan.FromMilliseconds(frame * 1000.0 / layer.FramesPerSecond));
            frame++;
            long due = start + frame * 1000L / layer.FramesPerSecond;
            int wait = (int)(due - Environment.TickCount64);
            if (wait > 0) await Task.Delay(wait).ConfigureAwait(false);
        }
    }

    private async Task AudioLoop()
    {
        var pcm = new short[AudioFormat.FrameSamples];
        long n = 0;
        var start = Environment.TickCount64;
        while (!_stop.IsCancellationRequested)
        {
            for (int i = 0; i < pcm.Length; i++) pcm[i] = (short)(8000 * Math.Sin(2 * Math.PI * 440 * (n * pcm.Length + i) / AudioFormat.SampleRate));
            Call.ProcessAudioFrame(pcm);
            n++;
            long due = start + n * AudioFormat.FrameMilliseconds;
            int wait = (int)(due - Environment.TickCount64);
            if (wait > 0) await Task.Delay(wait).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { Task.WaitAll([_video, _audio], 5000); } catch (AggregateException) { }
        Call.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// Receives one subscription through Room.Call's <see cref="CallSubscriber"/>: RTX unwrapped, NACK and PLI from the
/// jitter buffer, VP8 decoded, Opus played out on a timer (no speaker).
/// </summary>
internal sealed class TestReceiver : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public TestReceiver(RtcTransport transport, SessionDescription offer)
    {
        Call = new CallSubscriber(transport);
        Call.SetStreams(RemoteTrack.FromOffer(offer));
        _run = Call.RunAsync(null, null, _stop.Token);
    }

    public CallSubscriber Call { get; }
    public long VideoFramesDecoded => Call.VideoFramesDecoded;
    public long AudioFramesDecoded => Call.AudioFramesDecoded;
    public long VideoPackets => Call.Videos.Sum(v => v.Packets);
    public long PlisSent => Call.PlisSent;
    public long NacksSent => Call.NacksSent;
    public int Width => Call.Videos.Count > 0 ? Call.Videos[0].Width : 0;
    public long LastDecodeTicks => Call.Videos.Count > 0 ? Call.Videos.Max(v => v.LastDecodeTicks) : 0;

    public void Dispose()
    {
        _stop.Cancel();
        try { _run.Wait(5000); } catch (AggregateException) { }
        Call.Dispose();
        _stop.Dispose();
    }
}
