using Microsoft.Extensions.Logging;
using Room.Framing.Detection;

namespace Room.Appliance.Framing;

/// <summary>Whether this box can frame automatically: a people detector, or the reason there is none.</summary>
public sealed class FramingSupport : IDisposable
{
    public FramingSupport(ILogger<FramingSupport> logger)
    {
        try
        {
            Detector = new HaarFaceDetector();
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or DllNotFoundException or TypeInitializationException)
        {
            UnavailableReason = ex is TypeInitializationException or DllNotFoundException
                ? "the OpenCV runtime is not available on this platform"
                : ex.Message;
            logger.LogWarning("Auto-framing unavailable: {Reason}", UnavailableReason);
        }
    }

    public IPeopleDetector? Detector { get; }

    public string UnavailableReason { get; } = "";

    public void Dispose() => (Detector as IDisposable)?.Dispose();
}
