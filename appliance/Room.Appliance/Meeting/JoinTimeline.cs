namespace Room.Appliance.Meeting;

/// <summary>
/// When each step of joining a meeting was first reached, counted from the moment the join began (the MLS group, the
/// media server, the sending path, the first picture decrypted and decoded). Shown in the media report, so that the
/// time from Join to the first frame can be read from roomd itself, step by step, rather than by polling it.
/// </summary>
public sealed class JoinTimeline
{
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly Lock _gate = new();
    private readonly List<(string Step, TimeSpan At)> _steps = [];

    public JoinTimeline(TimeProvider time)
    {
        _time = time;
        _start = time.GetTimestamp();
    }

    /// <summary>The step is reached now (a step already reached keeps its first time).</summary>
    public void Mark(string step) => MarkAt(step, _time.GetElapsedTime(_start));

    /// <summary>The step was reached <paramref name="ago"/> before now (an event seen later, on another clock).</summary>
    public void MarkAgo(string step, TimeSpan ago) => MarkAt(step, _time.GetElapsedTime(_start) - ago);

    /// <summary>When <paramref name="step"/> was reached after the join began, or null when it has not been.</summary>
    public TimeSpan? At(string step)
    {
        lock (_gate)
        {
            foreach (var (s, at) in _steps)
            {
                if (s == step) return at;
            }

            return null;
        }
    }

    /// <summary>"MLS group 120 ms, ... " in the order the steps were reached.</summary>
    public override string ToString()
    {
        lock (_gate)
        {
            return string.Join(", ", _steps.OrderBy(s => s.At).Select(s => $"{s.Step} {s.At.TotalMilliseconds:F0} ms"));
        }
    }

    private void MarkAt(string step, TimeSpan at)
    {
        ArgumentException.ThrowIfNullOrEmpty(step);
        lock (_gate)
        {
            if (!_steps.Exists(s => s.Step == step)) _steps.Add((step, at < TimeSpan.Zero ? TimeSpan.Zero : at));
        }
    }
}

/// <summary>The steps of a meeting-server join, as the media report names them.</summary>
public static class JoinSteps
{
    public const string MlsGroup = "in the MLS group";
    public const string MediaServer = "in the Janus room";
    public const string Sending = "sending path up";
    public const string FirstPicture = "first picture decrypted and decoded";
}
