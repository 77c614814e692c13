using System.Diagnostics;
using Room.Media.Rtp;

namespace Room.Media.Tests;

/// <summary>How the jitter buffer gets a stream going again after a packet that never comes back.</summary>
public class JitterBufferRecoveryTests
{
    private static readonly long Ms = Stopwatch.Frequency / 1000;

    private static (List<RtpTests.Packet> Packets, IDepacketizer Depacketizer) Stream(VideoCodec codec, int frames, int keyEvery)
    {
        var clip = RtpTests.EncodeClip(codec, frames, keyEvery);
        var (pack, depack) = RtpTests.Pair(codec, 500);
        var list = new RtpTests.PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            list.Frame = i;
            pack.Packetize(clip[i].Data, (uint)(i * 3000), list);
        }

        return (list.Packets, depack);
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void A_complete_keyframe_is_played_at_once_ahead_of_an_older_frame_still_missing_a_packet(VideoCodec codec)
    {
        var (packets, depack) = Stream(codec, 30, 10);
        var lost = packets.First(p => p.Frame == 4).Seq;
        // A long wait: without the jump, frames 4..9 would hold everything up for 10 s.
        var jb = new JitterBuffer(depack, new JitterBufferOptions { MaxWait = TimeSpan.FromSeconds(10) });
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        long now = 0;
        var decoded = new List<int>();
        foreach (var p in packets.Where(p => p.Seq != lost))
        {
            now += 3 * Ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            while (jb.TryReadFrame(now, out var f))
            {
                Assert.True(dec.Decode(f.Data));
                decoded.Add((int)(f.Timestamp / 3000));
            }

            if (p.Frame == 12) break; // well before the wait for frame 4 could expire
        }

        Assert.Equal([0, 1, 2, 3, 10, 11], decoded.Where(f => f < 12));
        Assert.Equal(1, jb.JumpsToKeyframe);
        Assert.Equal(0, dec.Errors);
    }

    [Fact]
    public void A_frame_waiting_past_the_early_request_time_asks_for_a_keyframe_once_and_still_plays_when_repaired()
    {
        var (packets, depack) = Stream(VideoCodec.Vp8, 12, 100);
        var late = packets.First(p => p.Frame == 3);
        var jb = new JitterBuffer(depack, new JitterBufferOptions
        {
            MaxWait = TimeSpan.FromSeconds(1), KeyframeRequestAfter = TimeSpan.FromMilliseconds(300),
        });
        long now = 0;
        var decoded = new List<int>();
        void Read()
        {
            while (jb.TryReadFrame(now, out var f)) decoded.Add((int)(f.Timestamp / 3000));
        }

        foreach (var p in packets.Where(p => p != late && p.Frame <= 6))
        {
            now += 3 * Ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            Read();
        }

        _ = jb.ConsumeKeyframeRequest();
        now += 200 * Ms;
        Read();
        Assert.False(jb.ConsumeKeyframeRequest()); // not yet: the repair may still come

        now += 200 * Ms;
        Read();
        Assert.True(jb.ConsumeKeyframeRequest());
        now += 100 * Ms;
        Read();
        Assert.False(jb.ConsumeKeyframeRequest()); // once per wait

        // The retransmission arrives after all: frame 3 and everything held behind it play, no keyframe needed.
        jb.Insert(late.Seq, late.Ts, late.Marker, late.Payload, now);
        Read();
        Assert.Equal(Enumerable.Range(0, 7), decoded);
        Assert.Equal(1, jb.EarlyKeyframeRequests);
        Assert.False(jb.WaitingForKeyframe);
    }

    [Fact]
    public void Without_the_early_request_option_a_waiting_frame_asks_for_nothing_until_it_is_given_up()
    {
        var (packets, depack) = Stream(VideoCodec.Vp8, 8, 100);
        var lost = packets.First(p => p.Frame == 3).Seq;
        var jb = new JitterBuffer(depack, new JitterBufferOptions { MaxWait = TimeSpan.FromMilliseconds(500) });
        long now = 0;
        foreach (var p in packets.Where(p => p.Seq != lost))
        {
            now += 3 * Ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            while (jb.TryReadFrame(now, out _)) { }
        }

        _ = jb.ConsumeKeyframeRequest();
        now += 400 * Ms;
        while (jb.TryReadFrame(now, out _)) { }
        Assert.False(jb.ConsumeKeyframeRequest());
        now += 200 * Ms;
        while (jb.TryReadFrame(now, out _)) { }
        Assert.True(jb.ConsumeKeyframeRequest());
        Assert.True(jb.WaitingForKeyframe);
        Assert.Equal(0, jb.EarlyKeyframeRequests);
    }

    /// <summary>The stream without the <paramref name="dropped"/> packets, numbered on without a gap from the first (wrapping as RTP does).</summary>
    private static List<RtpTests.Packet> RunOn(List<RtpTests.Packet> packets, Func<RtpTests.Packet, bool> dropped)
    {
        ushort seq = packets[0].Seq;
        return [.. packets.Where(p => !dropped(p)).Select(p => p with { Seq = seq++ })];
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void A_frame_cut_off_before_its_marker_packet_is_not_delivered_even_when_the_sequence_numbers_run_on(VideoCodec codec)
    {
        // What Janus forwards when it switches a subscription to another source or resumes a stream: the new packets
        // continue the old sequence numbers, so the cut-off frame has no gap, only no marker packet.
        var (packets, depack) = Stream(codec, 12, 6);
        var cut = packets.Where(p => p.Frame == 2).ToList();
        Assert.True(cut.Count >= 2, "frame 2 needs two packets or more at this MTU");
        var lastOfCut = cut[^1];
        var renumbered = RunOn(packets, p => p == lastOfCut);

        var jb = new JitterBuffer(depack, new JitterBufferOptions { MaxWait = TimeSpan.FromSeconds(10) });
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        long now = 0;
        var decoded = new List<int>();
        foreach (var p in renumbered)
        {
            now += 3 * Ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            while (jb.TryReadFrame(now, out var f))
            {
                Assert.True(dec.Decode(f.Data));
                decoded.Add((int)(f.Timestamp / 3000));
            }
        }

        // Frames 0 and 1 play; 2 (cut off) and the frames after it that need it do not; the next keyframe (6) does.
        Assert.Equal([0, 1, 6, 7, 8, 9, 10, 11], decoded);
        Assert.Equal(1, jb.FramesCutOff);
        Assert.True(jb.ConsumeKeyframeRequest());
        Assert.Equal(0, dec.Errors);
    }

    [Fact]
    public void A_keyframe_cut_off_before_its_marker_packet_is_not_jumped_to()
    {
        var (packets, depack) = Stream(VideoCodec.Vp8, 14, 6);
        var lost = packets.First(p => p.Frame == 4).Seq; // holds the head at frame 4
        var key = packets.Where(p => p.Frame == 6).ToList();
        Assert.True(key.Count >= 2);
        var lastOfKey = key[^1];
        var jb = new JitterBuffer(depack, new JitterBufferOptions { MaxWait = TimeSpan.FromSeconds(10) });
        long now = 0;
        var delivered = new List<(int Frame, bool Key)>();
        foreach (var p in RunOn(packets, p => p == lastOfKey).Where(p => p.Seq != lost))
        {
            now += 3 * Ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            while (jb.TryReadFrame(now, out var f))
            {
                delivered.Add(((int)(f.Timestamp / 3000), f.Keyframe));
            }
        }

        // Frames 0-3 play; the cut-off keyframe 6 is never taken for a whole one; the keyframe 12 is jumped to.
        Assert.Equal([0, 1, 2, 3, 12, 13], delivered.Select(d => d.Frame));
        Assert.Equal(1, jb.JumpsToKeyframe);
    }
}
