using Room.Devices;
using Room.Framing.Detection;

namespace Room.Framing;

/// <summary>How a camera's horizontal field of view narrows with zoom, and the framing style.</summary>
public sealed record FramingOptions
{
    /// <summary>Horizontal field of view at zoom 0, degrees.</summary>
    public double WideFieldOfView { get; init; } = 70;

    /// <summary>Horizontal field of view at zoom 1, degrees.</summary>
    public double TeleFieldOfView { get; init; } = 7;

    /// <summary>Picture aspect ratio (width / height).</summary>
    public double AspectRatio { get; init; } = 16.0 / 9;

    /// <summary>How much of the picture width the group of heads should span.</summary>
    public double GroupWidthShare { get; init; } = 0.6;

    /// <summary>Never zoom in further than this, so one person is a head-and-shoulders shot, not a face.</summary>
    public double MaxZoom { get; init; } = 0.6;

    /// <summary>Pan/tilt moves smaller than this many degrees are not made: no hunting.</summary>
    public double Deadband { get; init; } = 2;

    /// <summary>Zoom changes that alter the field of view by less than this share are not made.</summary>
    public double ZoomDeadband { get; init; } = 0.12;
}

/// <summary>
/// Pure geometry: from the heads seen at the current position, the position that frames them all. Uses the
/// zoom-to-FOV model of <see cref="FramingOptions"/> (linear in focal length, as optical zooms are).
/// </summary>
public sealed class FramingPlanner(FramingOptions options)
{
    /// <summary>Where the heads' centre line goes, as a share of the picture height from the top.</summary>
    public const double HeadLine = 0.38;

    public FramingOptions Options => options;

    /// <summary>Horizontal field of view in degrees at a normalised zoom.</summary>
    public double FieldOfView(double zoom)
    {
        // Focal length grows linearly with zoom; FOV is inversely proportional to it (small-angle).
        var ratio = options.WideFieldOfView / options.TeleFieldOfView;
        return options.WideFieldOfView / (1 + ((ratio - 1) * Math.Clamp(zoom, 0, 1)));
    }

    /// <summary>The zoom at which the horizontal field of view is <paramref name="fov"/> degrees.</summary>
    public double ZoomFor(double fov)
    {
        var ratio = options.WideFieldOfView / options.TeleFieldOfView;
        return Math.Clamp(((options.WideFieldOfView / fov) - 1) / (ratio - 1), 0, 1);
    }

    /// <summary>
    /// The target position, or null when the current framing is good enough. With no heads seen, widen step by
    /// step to look for people.
    /// </summary>
    public PtzPosition? Plan(PtzPosition current, IReadOnlyList<HeadBox> heads, PtzLimits limits)
    {
        var fov = FieldOfView(current.Zoom);
        var vfov = fov / options.AspectRatio;
        PtzPosition target;
        if (heads.Count == 0)
        {
            if (current.Zoom <= 0)
            {
                return null;
            }

            target = current with { Zoom = Math.Max(0, current.Zoom - 0.2) };
        }
        else
        {
            var left = heads.Min(h => h.X);
            var right = heads.Max(h => h.X + h.Width);
            var centreX = (left + right) / 2;
            var centreY = heads.Average(h => h.CenterY);

            // Width of the group (with a head's margin either side) in degrees, to GroupWidthShare of the picture.
            var groupDegrees = (right - left + (2 * heads.Average(h => h.Width))) * fov;
            var zoom = Math.Min(options.MaxZoom, ZoomFor(groupDegrees / options.GroupWidthShare));
            var newVfov = FieldOfView(zoom) / options.AspectRatio;

            // Centre the group horizontally; heads sit on the upper third line, bodies below them.
            var pan = current.Pan + ((centreX - 0.5) * fov);
            var tilt = current.Tilt + ((0.5 - centreY) * vfov) - ((0.5 - HeadLine) * newVfov);
            target = new PtzPosition(pan, tilt, zoom);
        }

        target = limits.Clamp(target);

        // Zoom is judged by how much the field of view would change, which is what viewers notice.
        var fovChange = Math.Abs(FieldOfView(target.Zoom) - fov) / fov;
        return Math.Abs(target.Pan - current.Pan) < options.Deadband
            && Math.Abs(target.Tilt - current.Tilt) < options.Deadband
            && fovChange < options.ZoomDeadband
            ? null
            : target;
    }
}
