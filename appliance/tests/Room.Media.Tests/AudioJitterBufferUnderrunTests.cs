using Microsoft.Extensions.Time.Testing;
using Room.Media.Audio;

namespace Room.Media.Tests;

public sealed class AudioJitterBufferUnderrunTests
{
    [Fact]
    public void After_running_dry_the_buffer_plays_the_stream_again_instead_of_dropping_it_as_late()
    {
        using var encoder = new OpusAudioEncoder(32000, dtx: false);
        var time = new FakeTimeProvider();
        using var jb = new AudioJitterBuffer(timeProvider: time);
        var tick = TimeSpan.FromMilliseconds(AudioFormat.FrameMilliseconds);
        var pcm = new short[AudioFormat.FrameSamples];
        var packet = new byte[AudioFormat.MaxPacketSize];
        for (int i = 0; i < pcm.Length; i++) pcm[i] = (short)(5000 * Math.Sin(i * 0.05));
        uint ts = 1000;
        void Send(int frames)
        {
            for (int f = 0; f < frames; f++)
            {
                int n = encoder.Encode(pcm, packet);
                jb.Insert(ts, packet.AsSpan(0, n));
                ts += AudioFormat.FrameSamples;
            }
        }

        var out1 = new short[AudioFormat.FrameSamples];
        // Real-time arrival and play-out: one packet and one read every 20 ms.
        for (int i = 0; i < 10; i++)
        {
            Send(1);
            jb.ReadFrame(out1);
            time.Advance(tick);
        }

        Assert.True(jb.FramesDecoded >= 7, $"decoded {jb.FramesDecoded}");

        // The sender stalls while we keep playing (a slow network or a busy sender): the buffer runs dry.
        for (int i = 0; i < 10; i++)
        {
            jb.ReadFrame(out1);
            time.Advance(tick);
        }

        Assert.True(jb.Underruns >= 1);

        // The stream resumes where it left off: these frames are now "behind" the time we played, yet they play.
        long before = jb.FramesDecoded;
        for (int i = 0; i < 50; i++)
        {
            Send(1);
            jb.ReadFrame(out1);
            time.Advance(tick);
        }

        Assert.True(jb.FramesDecoded - before >= 45, $"decoded {jb.FramesDecoded - before} of 50, late {jb.LatePackets}");
        Assert.Equal(0, jb.LatePackets);
    }
}
