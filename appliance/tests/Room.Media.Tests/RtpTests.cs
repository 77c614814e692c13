using System.Diagnostics;
using Room.Media.Rtp;

namespace Room.Media.Tests;

public class RtpTests
{
    internal sealed record Packet(ushort Seq, uint Ts, bool Marker, byte[] Payload, int Frame);

    internal sealed class PacketList : IRtpPacketSink
    {
        public List<Packet> Packets { get; } = [];

        public int Frame { get; set; }

        public void OnPacket(in RtpPacketView p) => Packets.Add(new Packet(p.SequenceNumber, p.Timestamp, p.Marker, p.Payload.ToArray(), Frame));
    }

    private sealed class Collect : IEncodedFrameSink
    {
        public List<(byte[] Data, bool Key)> Frames { get; } = [];

        public void OnEncodedFrame(in EncodedFrame frame) => Frames.Add((frame.Data.ToArray(), frame.Keyframe));
    }

    internal static List<(byte[] Data, bool Key)> EncodeClip(VideoCodec codec, int frames, int keyEvery)
    {
        var layer = new VideoLayer(320, 180, 30, 1_500_000);
        using var enc = VideoEncoder.Create(codec, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var buf = new byte[layer.I420Size];
        for (var i = 0; i < frames; i++)
        {
            TestSignals.Pattern(buf, layer.Width, layer.Height, i);
            if (i > 0 && i % keyEvery == 0)
            {
                enc.RequestKeyframe();
            }

            enc.Encode(buf, i, sink);
        }

        return sink.Frames;
    }

    /// <summary>Annex B with every start code written as 00 00 00 01 (the depacketizer's form).</summary>
    internal static byte[] NormalizeAnnexB(byte[] au)
    {
        var o = new List<byte>();
        var i = 0;
        while (i < au.Length)
        {
            if (i + 2 < au.Length && au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1)
            {
                while (o.Count > 0 && o[^1] == 0)
                {
                    o.RemoveAt(o.Count - 1);
                }

                o.AddRange(new byte[] { 0, 0, 0, 1 });
                i += 3;
                continue;
            }

            o.Add(au[i++]);
        }

        return [.. o];
    }

    internal static (IPacketizer, IDepacketizer) Pair(VideoCodec codec, int mtu) => codec == VideoCodec.H264
        ? (new H264Packetizer(mtu, 65500), new H264Depacketizer())
        : (new Vp8Packetizer(mtu, 65500), new Vp8Depacketizer());

    private static byte[] Expected(VideoCodec codec, byte[] frame) => codec == VideoCodec.H264 ? NormalizeAnnexB(frame) : frame;

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Packetizer_round_trips_every_frame_in_order(VideoCodec codec)
    {
        var clip = EncodeClip(codec, 12, 6);
        var (pack, depack) = Pair(codec, 300);
        var list = new PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            list.Frame = i;
            pack.Packetize(clip[i].Data, (uint)(i * 3000), list);
        }

        Assert.All(list.Packets, p => Assert.True(p.Payload.Length <= 300));
        Assert.Contains(list.Packets, p => p.Payload.Length == 300 || p.Payload.Length > 250); // fragments used
        for (var i = 0; i < clip.Count; i++)
        {
            var ps = list.Packets.Where(p => p.Frame == i).ToList();
            Assert.True(ps[^1].Marker);
            Assert.True(depack.IsFrameStart(ps[0].Payload));
            Assert.Equal(clip[i].Key, depack.IsKeyframe(ps[0].Payload));
            depack.Begin();
            Assert.All(ps, p => Assert.True(depack.Append(p.Payload)));
            Assert.Equal(Expected(codec, clip[i].Data), depack.Frame.ToArray());
        }
    }

    [Fact]
    public void H264_small_nal_units_are_aggregated_in_a_stap_a()
    {
        byte[] au = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84, 0x21];
        var list = new PacketList();
        new H264Packetizer(1200).Packetize(au, 90, list);
        var p = Assert.Single(list.Packets);
        Assert.Equal(24, p.Payload[0] & 0x1F);
        Assert.Equal(0x60, p.Payload[0] & 0x60);
        Assert.True(p.Marker);
        var d = new H264Depacketizer();
        d.Begin();
        Assert.True(d.Append(p.Payload));
        Assert.Equal(NormalizeAnnexB(au), d.Frame.ToArray());
        Assert.True(d.IsKeyframe(p.Payload));
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void Jitter_buffer_recovers_exactly_every_frame_whose_packets_arrived_under_10_percent_loss_and_reordering(VideoCodec codec)
    {
        var clip = EncodeClip(codec, 60, 15);
        var (pack, depack) = Pair(codec, 400);
        var list = new PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            list.Frame = i;
            pack.Packetize(clip[i].Data, (uint)(i * 3000), list);
        }

        var rng = new Random(20261126);
        var sent = new List<Packet>();
        foreach (var p in list.Packets)
        {
            if (rng.NextDouble() < 0.10)
            {
                continue;
            }

            sent.Add(p);
            if (rng.NextDouble() < 0.03)
            {
                sent.Add(p); // duplicate
            }
        }

        for (var i = 0; i + 1 < sent.Count; i++)
        {
            if (rng.NextDouble() < 0.2)
            {
                var j = Math.Min(sent.Count - 1, i + rng.Next(1, 4));
                (sent[i], sent[j]) = (sent[j], sent[i]);
            }
        }

        var arrived = sent.Select(p => p.Seq).ToHashSet();
        var wholeFrames = Enumerable.Range(0, clip.Count)
            .Where(f => list.Packets.Where(p => p.Frame == f).All(p => arrived.Contains(p.Seq))).ToHashSet();

        var jb = new JitterBuffer(depack, new JitterBufferOptions { RequireKeyframeAfterLoss = false, MaxWait = TimeSpan.FromMilliseconds(50) });
        var delivered = new Dictionary<int, byte[]>();
        var ms = Stopwatch.Frequency / 1000;
        long now = 1_000_000;
        var nacks = new ushort[64];
        var nackCount = 0;
        foreach (var p in sent)
        {
            now += ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            nackCount += jb.CollectNacks(nacks, now);
            while (jb.TryReadFrame(now, out var f))
            {
                delivered.Add((int)(f.Timestamp / 3000), f.Data.ToArray());
            }
        }

        now += 1000 * ms;
        while (jb.TryReadFrame(now, out var f))
        {
            delivered.Add((int)(f.Timestamp / 3000), f.Data.ToArray());
        }

        Assert.True(nackCount > 0);
        Assert.True(wholeFrames.Count < clip.Count, "the loss pattern should hit some frames");
        foreach (var (frame, data) in delivered)
        {
            Assert.Equal(Expected(codec, clip[frame].Data), data);
        }

        Assert.All(wholeFrames, f => Assert.True(delivered.ContainsKey(f), $"frame {f} arrived whole but was not delivered"));
    }

    [Theory]
    [InlineData(VideoCodec.H264)]
    [InlineData(VideoCodec.Vp8)]
    public void After_loss_the_jitter_buffer_asks_for_a_keyframe_and_decoding_resumes_cleanly(VideoCodec codec)
    {
        var clip = EncodeClip(codec, 40, 20);
        var (pack, depack) = Pair(codec, 500);
        var list = new PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            list.Frame = i;
            pack.Packetize(clip[i].Data, (uint)(i * 3000), list);
        }

        var lostFrame = 5;
        var lost = list.Packets.First(p => p.Frame == lostFrame).Seq;
        var jb = new JitterBuffer(depack, new JitterBufferOptions { MaxWait = TimeSpan.FromMilliseconds(20) });
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        var ms = Stopwatch.Frequency / 1000;
        long now = 0;
        var decoded = new List<int>();
        var requested = false;
        foreach (var p in list.Packets.Where(p => p.Seq != lost))
        {
            now += 3 * ms;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            while (jb.TryReadFrame(now, out var f))
            {
                Assert.True(dec.Decode(f.Data));
                decoded.Add((int)(f.Timestamp / 3000));
            }

            requested |= jb.ConsumeKeyframeRequest();
        }

        Assert.True(requested);
        Assert.Equal(Enumerable.Range(0, lostFrame), decoded.Where(f => f < lostFrame));
        Assert.DoesNotContain(decoded, f => f >= lostFrame && f < 20);
        Assert.Contains(20, decoded);
        Assert.Equal(0, dec.Errors);
    }

    [Fact]
    public void Jitter_buffer_handles_sequence_wrap_and_absurd_jumps()
    {
        var clip = EncodeClip(VideoCodec.Vp8, 6, 100);
        var pack = new Vp8Packetizer(300, 65530);
        var list = new PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            pack.Packetize(clip[i].Data, (uint)(i * 3000), list);
        }

        Assert.Contains(list.Packets, p => p.Seq < 100);
        var jb = new JitterBuffer(new Vp8Depacketizer());
        var n = 0;
        foreach (var p in list.Packets)
        {
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, 0);
            while (jb.TryReadFrame(0, out _))
            {
                n++;
            }
        }

        Assert.Equal(6, n);
        Assert.Equal(InsertResult.Late, jb.Insert(list.Packets[0].Seq, 0, true, list.Packets[0].Payload, 0));
        Assert.Equal(InsertResult.Restarted, jb.Insert((ushort)(list.Packets[^1].Seq + 30000), 1, true, [0x90, 0x80, 0x80, 0x01, 0x00], 0));
        Assert.Equal(InsertResult.Malformed, jb.Insert(1, 1, true, new byte[5000], 0));
        Assert.Equal(InsertResult.Malformed, jb.Insert(1, 1, true, [], 0));
    }
}
