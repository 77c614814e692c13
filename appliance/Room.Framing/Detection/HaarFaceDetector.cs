using OpenCvSharp;

namespace Room.Framing.Detection;

/// <summary>
/// Frontal faces with OpenCV's Haar cascade (Debian's opencv-data ships the trained cascades). Cheap enough for
/// a few detections a second on a Raspberry Pi at 320x180, which is all framing needs.
/// </summary>
public sealed class HaarFaceDetector : IPeopleDetector, IDisposable
{
    public const string DefaultCascade = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml";

    private readonly CascadeClassifier _cascade;
    private readonly Lock _gate = new();

    public HaarFaceDetector(string cascadePath = DefaultCascade)
    {
        if (!File.Exists(cascadePath))
        {
            throw new FileNotFoundException($"Face cascade {cascadePath} is missing (Debian package opencv-data).", cascadePath);
        }

        _cascade = new CascadeClassifier(cascadePath);
        if (_cascade.Empty())
        {
            _cascade.Dispose();
            throw new InvalidDataException($"{cascadePath} is not a usable cascade.");
        }
    }

    public IReadOnlyList<HeadBox> Detect(ReadOnlySpan<byte> luma, int width, int height, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 24);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 24);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, width);
        if (luma.Length < ((long)stride * (height - 1)) + width)
        {
            throw new ArgumentException($"A {width}x{height} plane with stride {stride} needs more than {luma.Length} bytes.", nameof(luma));
        }

        using var image = new Mat(height, width, MatType.CV_8UC1);
        for (var row = 0; row < height; row++)
        {
            luma.Slice(row * stride, width).CopyTo(image.AsSpan<byte>().Slice(row * width, width));
        }

        Rect[] faces;
        lock (_gate)
        {
            // A face must be at least 1/16 of the frame height to be framed; smaller ones are noise or far away.
            var min = Math.Max(20, height / 16);
            faces = _cascade.DetectMultiScale(image, 1.1, 4, HaarDetectionTypes.ScaleImage, new Size(min, min));
        }

        return [.. faces.Select(f => new HeadBox((double)f.X / width, (double)f.Y / height, (double)f.Width / width, (double)f.Height / height))];
    }

    public void Dispose() => _cascade.Dispose();
}
