using Microsoft.Extensions.Logging;
using Room.Framing.Detection;

namespace Room.Appliance.Framing;

/// <summary>
/// Whether this box can frame automatically: a people detector, or the reason there is none. The detector (and
/// the OpenCV runtime behind it) is loaded on first use, so a room that never frames does not carry it in memory.
/// </summary>
public sealed class FramingSupport(ILogger<FramingSupport> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private bool _tried;
    private IPeopleDetector? _detector;
    private string _unavailableReason = "";

    public IPeopleDetector? Detector
    {
        get
        {
            lock (_gate)
            {
                if (!_tried)
                {
                    _tried = true;
                    try
                    {
                        _detector = new HaarFaceDetector();
                    }
                    catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or DllNotFoundException or TypeInitializationException)
                    {
                        _unavailableReason = ex is TypeInitializationException or DllNotFoundException
                            ? "the OpenCV runtime is not available on this platform"
                            : ex.Message;
                        logger.LogWarning("Auto-framing unavailable: {Reason}", _unavailableReason);
                    }
                }

                return _detector;
            }
        }
    }

    public string UnavailableReason
    {
        get
        {
            lock (_gate)
            {
                return _unavailableReason;
            }
        }
    }

    public void Dispose() => (_detector as IDisposable)?.Dispose();
}
