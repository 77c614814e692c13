namespace Room.Media.Tests;

public class ParameterSetCacheTests
{
    private static readonly byte[] Sps = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xaa];
    private static readonly byte[] Pps = [0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
    private static readonly byte[] Idr = [0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x33];
    private static readonly byte[] Slice = [0, 0, 1, 0x41, 0x9a, 0x02];

    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    [Fact]
    public void Header_only_packets_are_held_and_put_in_front_of_a_later_idr()
    {
        var cache = new ParameterSetCache();
        var key = false;
        Assert.True(cache.Process(Cat(Sps, Pps), ref key).IsEmpty);
        Assert.True(cache.HasHeaders);
        Assert.False(key);

        var out1 = cache.Process(Idr, ref key).ToArray();
        Assert.True(key);
        Assert.Equal(Cat(Sps, Pps, Idr), out1);

        key = false;
        Assert.Equal(Slice, cache.Process(Slice, ref key).ToArray());
        Assert.False(key);
    }

    [Fact]
    public void An_idr_that_carries_its_own_parameter_sets_is_passed_through_and_replaces_the_stored_ones()
    {
        var cache = new ParameterSetCache();
        var key = false;
        cache.Process(Cat(Sps, Pps), ref key);
        byte[] sps2 = [0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xbb];
        var unit = Cat(sps2, Pps, Idr);
        Assert.Equal(unit, cache.Process(unit, ref key).ToArray());
        Assert.Equal(Cat(sps2, Pps, Idr), cache.Process(Idr, ref key).ToArray());
    }

    [Fact]
    public void An_idr_before_any_parameter_sets_is_passed_through_unchanged()
    {
        var key = false;
        Assert.Equal(Idr, new ParameterSetCache().Process(Idr, ref key).ToArray());
        Assert.True(key);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0, 0, 1 })]
    [InlineData(new byte[] { 0, 0, 0, 1 })]
    [InlineData(new byte[] { 0, 0, 1, 0, 0, 1, 0, 0, 1 })]
    [InlineData(new byte[] { 0x65, 0x88, 0x84 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 1, 0x67 })]
    [InlineData(new byte[] { 0, 0, 1, 0x65, 0, 0 })]
    public void Malformed_units_never_throw(byte[] data)
    {
        var cache = new ParameterSetCache();
        var key = false;
        _ = cache.Process(data, ref key).Length;
        _ = cache.Process(Idr, ref key).Length;
    }

    [Fact]
    public void Random_input_never_throws()
    {
        var rng = new Random(6);
        var cache = new ParameterSetCache();
        var buf = new byte[300];
        for (var i = 0; i < 5000; i++)
        {
            rng.NextBytes(buf);
            for (var j = 0; j < buf.Length; j += rng.Next(1, 40))
            {
                buf[j] = 0; // make start codes likely
            }

            var key = false;
            var n = rng.Next(buf.Length);
            _ = cache.Process(buf.AsSpan(0, n), ref key).Length;
        }
    }

    private sealed class Collect : IEncodedFrameSink
    {
        public List<byte[]> Frames { get; } = [];

        public void OnEncodedFrame(in EncodedFrame frame) => Frames.Add(frame.Data.ToArray());
    }

    /// <summary>
    /// What a hardware encoder that sends SPS/PPS once looks like, made from a real libx264 stream: the parameter sets
    /// in a packet of their own, later IDRs without them. Through the cache, a decoder that joins at the later IDR
    /// decodes it; without the cache it could not.
    /// </summary>
    [Fact]
    public void A_decoder_joining_at_a_later_idr_decodes_it_when_the_encoder_sent_headers_only_once()
    {
        var layer = new VideoLayer(320, 180, 30, 400_000);
        using var enc = VideoEncoder.Create(VideoCodec.H264, layer, EncoderPreference.SoftwareOnly);
        var sink = new Collect();
        var frame = new byte[layer.I420Size];
        for (var i = 0; i < 12; i++)
        {
            TestSignals.Pattern(frame, layer.Width, layer.Height, i);
            if (i == 8)
            {
                enc.RequestKeyframe();
            }

            enc.Encode(frame, i, sink);
        }

        var (headers, firstIdr) = Split(sink.Frames[0]);
        var (_, laterIdr) = Split(sink.Frames[8]);
        Assert.NotEmpty(headers);

        using (var bare = VideoDecoder.Create(VideoCodec.H264, preferHardware: false))
        {
            Assert.False(bare.Decode(laterIdr), "an IDR without SPS/PPS must not decode on its own");
        }

        var cache = new ParameterSetCache();
        var key = false;
        Assert.True(cache.Process(headers, ref key).IsEmpty);
        Assert.True(cache.Process(firstIdr, ref key).Length > firstIdr.Length);
        var fixedIdr = cache.Process(laterIdr, ref key).ToArray();
        Assert.True(key);
        using var joiner = VideoDecoder.Create(VideoCodec.H264, preferHardware: false);
        Assert.True(joiner.Decode(fixedIdr));
        Assert.Equal(320, joiner.Width);
    }

    /// <summary>Splits an Annex B unit into (SPS+PPS NALs, the rest), each with 4-byte start codes.</summary>
    private static (byte[] Headers, byte[] Others) Split(byte[] unit)
    {
        var headers = new List<byte>();
        var rest = new List<byte>();
        var starts = new List<int>();
        for (var i = 0; i + 2 < unit.Length; i++)
        {
            if (unit[i] == 0 && unit[i + 1] == 0 && unit[i + 2] == 1)
            {
                starts.Add(i + 3);
            }
        }

        for (var k = 0; k < starts.Count; k++)
        {
            var end = k + 1 < starts.Count ? starts[k + 1] - 3 : unit.Length;
            while (k + 1 < starts.Count && end > starts[k] && unit[end - 1] == 0)
            {
                end--;
            }

            var nal = unit[starts[k]..end];
            var type = nal[0] & 0x1f;
            var target = type is 7 or 8 ? headers : rest;
            if (type == 6 || type == 9)
            {
                continue; // SEI, AUD: not needed to decode
            }

            target.AddRange([0, 0, 0, 1]);
            target.AddRange(nal);
        }

        return (headers.ToArray(), rest.ToArray());
    }
}
