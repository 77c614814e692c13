using Room.Media.Rtp;

namespace Room.Media.Tests;

/// <summary>Randomized malformed input (fixed seeds) for every parser of packets from the network.</summary>
public class FuzzTests
{
    private static byte[] Mutate(Random rng, byte[] valid)
    {
        var b = valid.ToArray();
        switch (rng.Next(5))
        {
            case 0:
                return b.AsSpan(0, rng.Next(b.Length + 1)).ToArray(); // truncate
            case 1:
                for (var i = 0; i < 1 + rng.Next(4); i++)
                {
                    b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8)); // bit flips
                }

                return b;
            case 2:
                b[0] = (byte)rng.Next(256); // header byte
                return b;
            case 3:
                var junk = new byte[rng.Next(0, 2000)];
                rng.NextBytes(junk);
                return junk;
            default:
                if (b.Length > 3)
                {
                    b[1] = 0xFF; // absurd STAP-A sizes / descriptor bits
                    b[2] = 0xFF;
                }

                return b;
        }
    }

    [Theory]
    [InlineData(VideoCodec.H264, 1)]
    [InlineData(VideoCodec.Vp8, 2)]
    public void Depacketizers_and_jitter_buffer_survive_random_and_mutated_packets(VideoCodec codec, int seed)
    {
        var clip = RtpTests.EncodeClip(codec, 10, 5);
        var (pack, depack) = RtpTests.Pair(codec, 200);
        var list = new RtpTests.PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            pack.Packetize(clip[i].Data, (uint)(i * 3000), list);
        }

        var rng = new Random(seed);
        for (var round = 0; round < 20000; round++)
        {
            var p = Mutate(rng, list.Packets[rng.Next(list.Packets.Count)].Payload);
            _ = depack.IsFrameStart(p);
            _ = depack.IsKeyframe(p);
            if (rng.Next(4) == 0)
            {
                depack.Begin();
            }

            _ = depack.Append(p);
            Assert.True(depack.Frame.Length <= 8 << 20);
            _ = Vp8Depacketizer.PictureId(p);
            _ = OpusPacketizer.FrameCount(p);
        }

        // The jitter buffer fed random sequence numbers, timestamps, markers and mutated payloads, then good data.
        using var dec = VideoDecoder.Create(codec, preferHardware: false);
        var jb = new JitterBuffer(codec == VideoCodec.H264 ? new H264Depacketizer() : new Vp8Depacketizer(), new JitterBufferOptions { Capacity = 256 });
        long now = 0;
        var nacks = new ushort[32];
        for (var i = 0; i < 5000; i++)
        {
            now += 100_000;
            var src = list.Packets[rng.Next(list.Packets.Count)];
            var seq = rng.Next(3) == 0 ? (ushort)rng.Next(65536) : (ushort)(src.Seq + rng.Next(-5, 5));
            jb.Insert(seq, rng.Next(2) == 0 ? src.Ts : (uint)rng.Next(), rng.Next(3) == 0, Mutate(rng, src.Payload), now);
            jb.CollectNacks(nacks, now);
            while (jb.TryReadFrame(now, out var f))
            {
                dec.Decode(f.Data);
            }
        }

        // Clean recovery: a fresh stream starting at a keyframe decodes from the start.
        var pack2 = codec == VideoCodec.H264 ? (IPacketizer)new H264Packetizer(200, 40000) : new Vp8Packetizer(200, 40000);
        var good = new RtpTests.PacketList();
        for (var i = 0; i < clip.Count; i++)
        {
            pack2.Packetize(clip[i].Data, (uint)(900000 + (i * 3000)), good);
        }

        dec.Reset();
        var decoded = 0;
        foreach (var p in good.Packets)
        {
            now += 100_000_000;
            jb.Insert(p.Seq, p.Ts, p.Marker, p.Payload, now);
            while (jb.TryReadFrame(now, out var f))
            {
                Assert.True(dec.Decode(f.Data));
                decoded++;
            }
        }

        // The first keyframe may be spent re-synchronising; from the next keyframe (frame 5) on, all decode.
        Assert.True(decoded >= 5, $"decoded {decoded} of {clip.Count} after the garbage");
        Assert.False(jb.WaitingForKeyframe);
    }
}
