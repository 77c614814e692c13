namespace Room.Media;

/// <summary>Video codecs Room sends and receives.</summary>
public enum VideoCodec
{
    H264,
    Vp8,
}

/// <summary>The layers Room encodes: 1080p30, 720p30 and 360p (simulcast low layer / low bandwidth).</summary>
public readonly record struct VideoLayer(int Width, int Height, int FramesPerSecond, int BitrateBps)
{
    public static VideoLayer P1080 { get; } = new(1920, 1080, 30, 3_500_000);

    public static VideoLayer P720 { get; } = new(1280, 720, 30, 1_800_000);

    public static VideoLayer P360 { get; } = new(640, 360, 30, 500_000);

    public int I420Size => Width * Height * 3 / 2;

    public override string ToString() => $"{Width}x{Height}@{FramesPerSecond} {BitrateBps / 1000} kbit/s";
}

/// <summary>Which encoder implementations may be tried.</summary>
public enum EncoderPreference
{
    /// <summary>Hardware first (V4L2 M2M, then VAAPI), then software.</summary>
    Auto,
    SoftwareOnly,
    HardwareOnly,
}

/// <summary>What an encoder produced for one input frame; valid for the duration of the callback.</summary>
public readonly ref struct EncodedFrame
{
    public EncodedFrame(ReadOnlySpan<byte> data, long pts, bool keyframe)
    {
        Data = data;
        Pts = pts;
        Keyframe = keyframe;
    }

    /// <summary>H.264 Annex B byte stream of one access unit, or one VP8 frame.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>Presentation time in the caller's units (passed through from <see cref="VideoEncoder.Encode"/>).</summary>
    public long Pts { get; }

    public bool Keyframe { get; }
}

/// <summary>Receives encoded frames; must not keep the span.</summary>
public interface IEncodedFrameSink
{
    void OnEncodedFrame(in EncodedFrame frame);
}
