namespace Room.Devices.Gpio;

/// <summary>
/// Turns a bouncing input into clean transitions: a new level counts once it has held for the whole window.
/// Pure logic over timestamps, so tests drive it without real time.
/// </summary>
public sealed class Debouncer(TimeSpan window, bool initial = false)
{
    private bool _raw = initial;
    private TimeSpan _rawSince;

    public bool Stable { get; private set; } = initial;

    /// <summary>Feeds one sample; returns the new stable level when it just changed, else null.</summary>
    public bool? Sample(bool level, TimeSpan now)
    {
        if (level != _raw)
        {
            _raw = level;
            _rawSince = now;
            return null;
        }

        if (_raw != Stable && now - _rawSince >= window)
        {
            Stable = _raw;
            return Stable;
        }

        return null;
    }
}
