namespace Room.Media;

/// <summary>A small keyframe per codec, made once with the software encoder, for test-decoding hardware decoders while probing.</summary>
internal static class TestStreams
{
    private static readonly Lazy<byte[]> s_h264 = new(() => Make(VideoCodec.H264));
    private static readonly Lazy<byte[]> s_vp8 = new(() => Make(VideoCodec.Vp8));

    public static byte[] Keyframe(VideoCodec codec) => codec == VideoCodec.H264 ? s_h264.Value : s_vp8.Value;

    private static byte[] Make(VideoCodec codec)
    {
        var layer = new VideoLayer(320, 240, 30, 300_000);
        using var encoder = VideoEncoder.Create(codec, layer, EncoderPreference.SoftwareOnly);
        var picture = new byte[layer.I420Size];
        for (var y = 0; y < layer.Height; y++)
        {
            for (var x = 0; x < layer.Width; x++)
            {
                picture[(y * layer.Width) + x] = (byte)(16 + ((x + y) % 200));
            }
        }

        picture.AsSpan(layer.Width * layer.Height).Fill(128);
        var sink = new First();
        encoder.RequestKeyframe();
        encoder.Encode(picture, 0, sink);
        return sink.Data ?? throw new MediaException($"the software {codec} encoder produced no test frame");
    }

    private sealed class First : IEncodedFrameSink
    {
        public byte[]? Data { get; private set; }

        public void OnEncodedFrame(in EncodedFrame frame) => Data ??= frame.Data.ToArray();
    }
}
