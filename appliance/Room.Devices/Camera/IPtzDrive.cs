namespace Room.Devices;

/// <summary>
/// Continuous (relative) pan/tilt/zoom, for cameras whose motors can be driven at a speed: UVC relative controls
/// and VISCA drive commands. Speeds are -1..1 per axis (positive = right, up, tele); 0 stops that axis.
/// </summary>
public interface IPtzDrive
{
    ValueTask DriveAsync(double pan, double tilt, double zoom, CancellationToken cancellationToken = default);

    ValueTask StopAsync(CancellationToken cancellationToken = default);
}
