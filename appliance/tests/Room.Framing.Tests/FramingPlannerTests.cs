using Room.Devices;
using Room.Framing;
using Room.Framing.Detection;

namespace Room.Framing.Tests;

public class FramingPlannerTests
{
    private static readonly PtzLimits s_limits = new(-170, 170, -30, 90, true, true, true);
    private readonly FramingPlanner _planner = new(new FramingOptions());

    [Theory]
    [InlineData(0)]
    [InlineData(0.3)]
    [InlineData(1)]
    public void Zoom_and_field_of_view_are_inverse(double zoom) =>
        Assert.Equal(zoom, _planner.ZoomFor(_planner.FieldOfView(zoom)), 9);

    [Fact]
    public void The_field_of_view_spans_wide_to_tele()
    {
        Assert.Equal(70, _planner.FieldOfView(0), 9);
        Assert.Equal(7, _planner.FieldOfView(1), 9);
    }

    [Fact]
    public void A_group_off_to_the_right_is_centred_by_panning_right()
    {
        HeadBox[] heads = [new(0.70, 0.40, 0.05, 0.09), new(0.85, 0.42, 0.05, 0.09)];
        var target = _planner.Plan(new PtzPosition(0, 0, 0), heads, s_limits);
        Assert.NotNull(target);
        Assert.Equal((0.80 - 0.5) * 70, target.Value.Pan, 6);
        Assert.True(target.Value.Zoom > 0, "a small group is zoomed in on");
    }

    [Fact]
    public void One_person_is_never_zoomed_in_beyond_the_maximum()
    {
        HeadBox[] heads = [new(0.49, 0.40, 0.02, 0.04)];
        var target = _planner.Plan(new PtzPosition(0, 0, 0), heads, s_limits);
        Assert.Equal(new FramingOptions().MaxZoom, target!.Value.Zoom, 9);
    }

    [Fact]
    public void A_group_that_is_already_well_framed_causes_no_move()
    {
        // Centred, on the head line, and spanning the planned share of the picture (with a head's margin each side).
        var share = new FramingOptions().GroupWidthShare;
        const double w = 0.05;
        var left = 0.5 - ((share - (2 * w)) / 2);
        var y = FramingPlanner.HeadLine - 0.045;
        HeadBox[] heads = [new(left, y, w, 0.09), new(1 - left - w, y, w, 0.09)];
        Assert.Null(_planner.Plan(new PtzPosition(5, 2, 0.2), heads, s_limits));
    }

    [Fact]
    public void With_nobody_in_view_the_camera_widens_step_by_step_then_stays()
    {
        var target = _planner.Plan(new PtzPosition(10, 5, 0.5), [], s_limits);
        Assert.Equal(new PtzPosition(10, 5, 0.3), target!.Value with { Zoom = Math.Round(target.Value.Zoom, 9) });
        Assert.Null(_planner.Plan(new PtzPosition(10, 5, 0), [], s_limits));
    }

    [Fact]
    public void Targets_are_kept_inside_the_camera_limits()
    {
        HeadBox[] heads = [new(0.95, 0.0, 0.04, 0.08)];
        var limits = new PtzLimits(-45, 45, -20, 20, true, true, true);
        var target = _planner.Plan(new PtzPosition(44, 19, 0), heads, limits);
        Assert.NotNull(target);
        Assert.True(limits.Contains(target.Value), target.ToString());
    }
}
