namespace Room.Media.Audio.Doa;

/// <summary>
/// Something the camera can be pointed at: a detected person (an azimuth and how far either side still counts as
/// them) or a configured preset (an azimuth range). Azimuths in the microphone array's frame, degrees.
/// </summary>
public sealed record SpeakerTarget
{
    public SpeakerTarget(string name, double fromDegrees, double toDegrees)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!double.IsFinite(fromDegrees) || !double.IsFinite(toDegrees) || toDegrees < fromDegrees)
        {
            throw new ArgumentException($"target '{name}': need finite from <= to degrees; got {fromDegrees}..{toDegrees}", nameof(toDegrees));
        }

        Name = name;
        FromDegrees = fromDegrees;
        ToDegrees = toDegrees;
    }

    /// <summary>A detected person at <paramref name="azimuthDegrees"/>, claiming talk within ±<paramref name="toleranceDegrees"/>.</summary>
    public static SpeakerTarget Person(string name, double azimuthDegrees, double toleranceDegrees = 12) =>
        new(name, azimuthDegrees - toleranceDegrees, azimuthDegrees + toleranceDegrees);

    public string Name { get; }

    public double FromDegrees { get; }

    public double ToDegrees { get; }

    public double CentreDegrees => (FromDegrees + ToDegrees) / 2;
}

/// <summary>Speaker tracking timing.</summary>
public sealed record SpeakerTrackerOptions
{
    /// <summary>How long one target must be heard before the camera switches to them.</summary>
    public TimeSpan SwitchAfter { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>How long without speech before the camera goes back to the group.</summary>
    public TimeSpan GroupAfterSilence { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>A pause shorter than this does not restart a candidate's count (breaths between phrases).</summary>
    public TimeSpan PauseTolerance { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Directions less sure than this are ignored.</summary>
    public double MinConfidence { get; init; } = 0.2;
}

/// <summary>
/// From speech directions to the target the camera should show: null is the group. Switches to a target only once
/// it has been talking for <see cref="SpeakerTrackerOptions.SwitchAfter"/> (short pauses forgiven, another voice
/// restarts the count), and back to the group after <see cref="SpeakerTrackerOptions.GroupAfterSilence"/>. A
/// direction that no target claims counts as silence for switching. Time from the <see cref="TimeProvider"/>.
/// Not thread-safe.
/// </summary>
public sealed class SpeakerTracker(SpeakerTrackerOptions? options = null, TimeProvider? timeProvider = null)
{
    private readonly SpeakerTrackerOptions _options = options ?? new SpeakerTrackerOptions();
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private IReadOnlyList<SpeakerTarget> _targets = [];
    private SpeakerTarget? _candidate;
    private DateTimeOffset _candidateSince;
    private DateTimeOffset _lastSpeech = DateTimeOffset.MinValue;
    private DateTimeOffset _lastCandidateHeard;

    /// <summary>The target on camera; null: the group.</summary>
    public SpeakerTarget? Current { get; private set; }

    /// <summary>Raised when <see cref="Current"/> changes (to null: the group).</summary>
    public event Action<SpeakerTarget?>? Switched;

    /// <summary>The people detected now, or the presets. A current target no longer listed falls back to the group.</summary>
    public void SetTargets(IReadOnlyList<SpeakerTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in targets)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(targets));
            if (!names.Add(t.Name))
            {
                throw new ArgumentException($"two targets are named '{t.Name}'", nameof(targets));
            }
        }

        _targets = [.. targets];
        _candidate = _candidate is null ? null : _targets.FirstOrDefault(t => t.Name == _candidate.Name);
        if (Current is not null && _targets.FirstOrDefault(t => t.Name == Current.Name) is var kept)
        {
            SetCurrent(kept);
        }
    }

    /// <summary>The target whose range holds <paramref name="azimuthDegrees"/> (the nearest centre if several), or null.</summary>
    public SpeakerTarget? TargetAt(double azimuthDegrees)
    {
        SpeakerTarget? best = null;
        foreach (var t in _targets)
        {
            if (azimuthDegrees >= t.FromDegrees && azimuthDegrees <= t.ToDegrees
                && (best is null || Math.Abs(t.CentreDegrees - azimuthDegrees) < Math.Abs(best.CentreDegrees - azimuthDegrees)))
            {
                best = t;
            }
        }

        return best;
    }

    /// <summary>One block's outcome: the direction while speech is heard, null in silence. Returns <see cref="Current"/>.</summary>
    public SpeakerTarget? Update(DoaEstimate? speech)
    {
        var now = _time.GetUtcNow();
        var heard = speech is { } s && s.Confidence >= _options.MinConfidence ? TargetAt(s.AzimuthDegrees) : null;
        if (speech is not null)
        {
            _lastSpeech = now;
        }

        if (heard is not null)
        {
            if (_candidate is null || heard.Name != _candidate.Name || now - _lastCandidateHeard > _options.PauseTolerance)
            {
                _candidate = heard;
                _candidateSince = now;
            }

            _lastCandidateHeard = now;
            if (now - _candidateSince >= _options.SwitchAfter && Current?.Name != heard.Name)
            {
                SetCurrent(heard);
            }
        }

        if (Current is not null && now - _lastSpeech >= _options.GroupAfterSilence)
        {
            SetCurrent(null);
            _candidate = null;
        }

        return Current;
    }

    private void SetCurrent(SpeakerTarget? target)
    {
        if (!Equals(target, Current))
        {
            Current = target;
            Switched?.Invoke(target);
        }
    }
}
