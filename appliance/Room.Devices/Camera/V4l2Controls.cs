namespace Room.Devices.Camera;

/// <summary>A V4L2 control's description (VIDIOC_QUERY_EXT_CTRL / VIDIOC_QUERYCTRL).</summary>
public readonly record struct V4l2ControlInfo(uint Id, string Name, uint Type, long Minimum, long Maximum, long Step, long Default, uint Flags)
{
    public bool Disabled => (Flags & Interop.V4l2.CtrlFlagDisabled) != 0;

    public bool Writable => (Flags & (Interop.V4l2.CtrlFlagDisabled | Interop.V4l2.CtrlFlagReadOnly)) == 0;

    public bool Readable => (Flags & (Interop.V4l2.CtrlFlagDisabled | Interop.V4l2.CtrlFlagWriteOnly)) == 0;

    /// <summary>Clamps to the range and snaps to the step grid from the minimum.</summary>
    public int Snap(double value)
    {
        var v = Math.Clamp(value, Minimum, Maximum);
        if (Step > 1)
        {
            v = Minimum + (Math.Round((v - Minimum) / Step) * Step);
            if (v > Maximum)
            {
                v -= Step;
            }
        }

        return (int)Math.Round(v);
    }
}

/// <summary>Control access to a V4L2 device (the Linux one is <see cref="V4l2Device"/>; tests use a fake).</summary>
public interface IV4l2Controls
{
    /// <summary>The control's description, or null when the device has no such control.</summary>
    V4l2ControlInfo? Query(uint id);

    /// <summary>0 on success, else the errno.</summary>
    int GetValue(uint id, out int value);

    /// <summary>0 on success, else the errno.</summary>
    int SetValue(uint id, int value);

    /// <summary>
    /// Sets several controls in one request (VIDIOC_S_EXT_CTRLS): uvcvideo then sends pan and tilt, which are one
    /// UVC control, as a single SET_CUR, so the camera moves diagonally rather than axis by axis.
    /// </summary>
    int SetValues(ReadOnlySpan<(uint Id, int Value)> values)
    {
        foreach (var (id, value) in values)
        {
            var err = SetValue(id, value);
            if (err != 0)
            {
                return err;
            }
        }

        return 0;
    }
}
