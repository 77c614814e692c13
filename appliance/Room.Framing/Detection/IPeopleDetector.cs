namespace Room.Framing.Detection;

/// <summary>A person's head in the picture, in normalised frame coordinates (0..1 from the top left).</summary>
public readonly record struct HeadBox(double X, double Y, double Width, double Height)
{
    public double CenterX => X + (Width / 2);

    public double CenterY => Y + (Height / 2);
}

/// <summary>Finds people's heads in a greyscale (luma) picture.</summary>
public interface IPeopleDetector
{
    /// <summary>
    /// Detects heads in an 8-bit luma plane of <paramref name="width"/> x <paramref name="height"/> pixels with
    /// rows <paramref name="stride"/> bytes apart (the Y plane of an I420 or NV12 frame).
    /// </summary>
    IReadOnlyList<HeadBox> Detect(ReadOnlySpan<byte> luma, int width, int height, int stride);
}
