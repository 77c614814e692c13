namespace Room.Media.Audio.Doa;

/// <summary>A microphone's place in the array's plane, metres. +y is the front (the camera's axis), +x its right.</summary>
public readonly record struct MicrophonePosition(double X, double Y);

/// <summary>
/// A planar microphone array's geometry (from configuration), in the camera's frame: azimuth 0 is straight ahead
/// (+y), positive azimuths are towards +x, so a source at azimuth θ lies along (sin θ, cos θ). A collinear array
/// cannot tell front from back, so its azimuths are folded into -90..90 (broadside 0).
/// </summary>
public sealed class MicrophoneArray
{
    /// <summary>At 20 °C, m/s.</summary>
    public const double SpeedOfSound = 343.0;

    /// <summary>Microphones closer than this are taken as coincident (a configuration mistake).</summary>
    public const double MinSpacing = 0.005;

    private readonly MicrophonePosition[] _mics;

    /// <exception cref="ArgumentException">Fewer than two microphones, a non-finite coordinate, or two closer than 5 mm.</exception>
    public MicrophoneArray(IReadOnlyList<MicrophonePosition> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        if (positions.Count < 2)
        {
            throw new ArgumentException($"a direction needs at least two microphones; got {positions.Count}", nameof(positions));
        }

        _mics = [.. positions];
        for (var i = 0; i < _mics.Length; i++)
        {
            if (!double.IsFinite(_mics[i].X) || !double.IsFinite(_mics[i].Y))
            {
                throw new ArgumentException($"microphone {i} has a non-finite position ({_mics[i].X}, {_mics[i].Y})", nameof(positions));
            }

            for (var j = 0; j < i; j++)
            {
                var d = Distance(_mics[i], _mics[j]);
                if (d < MinSpacing)
                {
                    throw new ArgumentException($"microphones {j} and {i} are {d * 1000:F1} mm apart (coincident): a pair needs at least {MinSpacing * 1000} mm", nameof(positions));
                }
            }
        }

        // Collinear when every microphone lies on the line through the first two (within 1 mm).
        var (ux, uy) = Unit(_mics[0], _mics[1]);
        IsCollinear = _mics.All(m => Math.Abs(((m.X - _mics[0].X) * uy) - ((m.Y - _mics[0].Y) * ux)) < 0.001);
        Aperture = _mics.SelectMany(a => _mics.Select(b => Distance(a, b))).Max();
    }

    /// <summary>A uniform linear array along x, centred, <paramref name="spacingMetres"/> apart (mic 0 leftmost).</summary>
    public static MicrophoneArray Linear(int count, double spacingMetres)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        return new([.. Enumerable.Range(0, count).Select(m => new MicrophonePosition((m - ((count - 1) / 2.0)) * spacingMetres, 0))]);
    }

    /// <summary>A uniform circular array of <paramref name="count"/> microphones, mic 0 straight ahead, clockwise seen from above.</summary>
    public static MicrophoneArray Circular(int count, double radiusMetres)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        return new([.. Enumerable.Range(0, count).Select(m =>
        {
            var a = 2 * Math.PI * m / count;
            return new MicrophonePosition(radiusMetres * Math.Sin(a), radiusMetres * Math.Cos(a));
        })]);
    }

    public int Count => _mics.Length;

    public IReadOnlyList<MicrophonePosition> Positions => _mics;

    /// <summary>All microphones on one line: azimuths are folded to -90..90.</summary>
    public bool IsCollinear { get; }

    /// <summary>The largest distance between two microphones, metres.</summary>
    public double Aperture { get; }

    /// <summary>The azimuth range searched: -90..90 for a collinear array, -180..180 otherwise.</summary>
    public double MaxAzimuth => IsCollinear ? 90 : 180;

    /// <summary>
    /// When a far-field wavefront from <paramref name="azimuthDegrees"/> reaches microphone <paramref name="mic"/>,
    /// in seconds relative to the array's origin (negative: earlier).
    /// </summary>
    public double ArrivalTime(int mic, double azimuthDegrees)
    {
        var a = azimuthDegrees * Math.PI / 180;
        return -((_mics[mic].X * Math.Sin(a)) + (_mics[mic].Y * Math.Cos(a))) / SpeedOfSound;
    }

    /// <summary>
    /// Whole-sample delays (non-negative, the earliest microphone delayed most) that line up a wavefront from
    /// <paramref name="azimuthDegrees"/> across the array, for <see cref="DelayAndSumBeamformer"/>. No allocation.
    /// </summary>
    public void SteeringDelays(double azimuthDegrees, Span<int> delays, int sampleRate = AudioFormat.SampleRate)
    {
        if (delays.Length != Count)
        {
            throw new ArgumentException($"one delay per microphone ({Count}); got {delays.Length}", nameof(delays));
        }

        var latest = double.MinValue;
        for (var m = 0; m < Count; m++)
        {
            latest = Math.Max(latest, ArrivalTime(m, azimuthDegrees));
        }

        for (var m = 0; m < Count; m++)
        {
            delays[m] = (int)Math.Round((latest - ArrivalTime(m, azimuthDegrees)) * sampleRate);
        }
    }

    private static double Distance(MicrophonePosition a, MicrophonePosition b) => Math.Sqrt(((a.X - b.X) * (a.X - b.X)) + ((a.Y - b.Y) * (a.Y - b.Y)));

    private static (double X, double Y) Unit(MicrophonePosition a, MicrophonePosition b)
    {
        var d = Distance(a, b);
        return ((b.X - a.X) / d, (b.Y - a.Y) / d);
    }
}
