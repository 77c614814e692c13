namespace Room.Call;

/// <summary>One step of a <see cref="VideoLadder"/>: the sent picture and frame rate, and the least video bitrate that earns it.</summary>
public readonly record struct VideoRung(int Width, int Height, int FramesPerSecond, int MinBps)
{
    public override string ToString() => $"{Width}x{Height}@{FramesPerSecond}";
}

/// <summary>A move on the ladder: from, to, the video bitrate that caused it, and why, for the media report.</summary>
public readonly record struct RungChange(VideoRung From, VideoRung To, int Bps, bool Up, TimeSpan Held)
{
    public override string ToString() => Up
        ? $"{From} -> {To}: up, {Bps / 1000} kbit/s held {Held.TotalSeconds:F1} s (>= {To.MinBps / 1000})"
        : $"{From} -> {To}: down, {Bps / 1000} kbit/s (below {From.MinBps * VideoLadder.KeepFraction / 1000:F0})";
}

/// <summary>
/// Which picture size and frame rate to send for the bandwidth the congestion controller allows, as a room system
/// (and libwebrtc's "balanced" degradation) does it: a large picture at a starved bitrate is blocky and a small one at
/// a generous bitrate wastes the link. Goes down at once when the bitrate falls below <see cref="KeepFraction"/> of
/// what earned the rung (sending too much costs more than a reopened encoder), up only when the bitrate has earned a
/// higher rung for <see cref="UpHold"/> (each change reopens the encoder with a keyframe; a wandering estimate must not
/// make one every second). Pure and single-threaded: one caller (the frame thread) asks it per frame.
/// </summary>
public sealed class VideoLadder
{
    /// <summary>A rung is kept until the bitrate falls below this fraction of its <see cref="VideoRung.MinBps"/>.</summary>
    public const double KeepFraction = 0.8;

    /// <summary>The 16:9 sizes by height and the video bitrate that earns each (360p from nothing, 540p from 0.6 Mbit/s, ...).</summary>
    private static readonly (int Height, int MinBps)[] s_sizes = [(360, 0), (540, 600_000), (720, 1_500_000), (1080, 3_000_000)];

    /// <summary>Below this the smallest picture goes at half the frame rate (fewer, sharper frames).</summary>
    public const int FullRateMinBps = 250_000;

    private readonly VideoRung[] _rungs;
    private readonly TimeProvider _time;
    private int _index;
    private long _upSince;
    private int _upTo = -1;

    /// <param name="rungs">Lowest first, <see cref="VideoRung.MinBps"/> rising; the first rung's is ignored (always earned).</param>
    /// <param name="initialBps">The bitrate at the start: the ladder starts on the rung it earns, without waiting.</param>
    /// <param name="upHold">How long a higher rung must stay earned before it is taken; default 3 s.</param>
    public VideoLadder(IReadOnlyList<VideoRung> rungs, int initialBps, TimeProvider? time = null, TimeSpan? upHold = null)
    {
        ArgumentNullException.ThrowIfNull(rungs);
        if (rungs.Count == 0) throw new ArgumentException("a ladder needs at least one rung", nameof(rungs));
        for (int i = 1; i < rungs.Count; i++)
        {
            if (rungs[i].MinBps <= rungs[i - 1].MinBps) throw new ArgumentException("rungs must be lowest first with rising bitrates", nameof(rungs));
        }

        _rungs = [.. rungs];
        _time = time ?? TimeProvider.System;
        UpHold = upHold ?? TimeSpan.FromSeconds(3);
        ArgumentOutOfRangeException.ThrowIfLessThan(UpHold, TimeSpan.Zero);
        _index = Earned(initialBps);
    }

    public IReadOnlyList<VideoRung> Rungs => _rungs;

    public TimeSpan UpHold { get; }

    public VideoRung Current => _rungs[_index];

    /// <summary>The top rung: the largest picture this ladder ever sends (the capture is scaled from it down).</summary>
    public VideoRung Top => _rungs[^1];

    public long Ups { get; private set; }

    public long Downs { get; private set; }

    public RungChange? LastChange { get; private set; }

    /// <summary>
    /// The ladder for a capture of <paramref name="captureWidth"/> x <paramref name="captureHeight"/>: its picture fitted
    /// into the maximum (aspect kept), then the smaller 16:9 heights below it with the capture's aspect, and the smallest
    /// again at half the frame rate for the lowest bitrates.
    /// </summary>
    public static VideoRung[] For(int captureWidth, int captureHeight, int maxWidth, int maxHeight, int framesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(captureWidth, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(captureHeight, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWidth, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeight, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(framesPerSecond, 1);
        double fit = Math.Min(1, Math.Min(maxWidth / (double)captureWidth, maxHeight / (double)captureHeight));
        int topWidth = Even(captureWidth * fit), topHeight = Even(captureHeight * fit);
        var rungs = new List<VideoRung>();
        foreach (var (height, minBps) in s_sizes)
        {
            if (height < topHeight) rungs.Add(new VideoRung(Even(height * (double)topWidth / topHeight), height, framesPerSecond, minBps));
        }

        // The top earns what the first standard size at least as tall earns (a 4:3 960x720 top as 720p).
        int topMin = s_sizes.FirstOrDefault(s => s.Height >= topHeight) is { Height: > 0 } at ? at.MinBps : s_sizes[^1].MinBps;
        rungs.Add(new VideoRung(topWidth, topHeight, framesPerSecond, rungs.Count == 0 ? 0 : topMin));
        if (framesPerSecond >= 2)
        {
            // Every other size earns at least 600 kbit/s: the full-rate smallest always sits between.
            rungs.Insert(0, rungs[0] with { FramesPerSecond = framesPerSecond / 2 });
            rungs[1] = rungs[1] with { MinBps = FullRateMinBps };
        }

        return [.. rungs];
    }

    private static int Even(double v) => Math.Max(2, (int)Math.Round(v / 2) * 2);

    /// <summary>Takes the current video bitrate; true when the rung changed (<see cref="Current"/>, <see cref="LastChange"/>).</summary>
    public bool Update(int bps)
    {
        long now = _time.GetTimestamp();
        int kept = Kept(bps);
        if (kept < _index)
        {
            _upTo = -1;
            return Move(kept, bps, TimeSpan.Zero);
        }

        int earned = Earned(bps);
        if (earned <= _index)
        {
            _upTo = -1;
            return false;
        }

        if (_upTo < 0)
        {
            _upSince = now;
            _upTo = earned;
        }
        else
        {
            _upTo = Math.Min(_upTo, earned); // the rung the bitrate has earned all along
        }

        var held = _time.GetElapsedTime(_upSince, now);
        if (held < UpHold) return false;
        int to = _upTo;
        _upTo = -1;
        return Move(to, bps, held);
    }

    private bool Move(int to, int bps, TimeSpan held)
    {
        var change = new RungChange(_rungs[_index], _rungs[to], bps, to > _index, held);
        if (change.Up) Ups++;
        else Downs++;
        _index = to;
        LastChange = change;
        return true;
    }

    /// <summary>The highest rung this bitrate earns.</summary>
    private int Earned(int bps)
    {
        int i = _rungs.Length - 1;
        while (i > 0 && bps < _rungs[i].MinBps) i--;
        return i;
    }

    /// <summary>The highest rung this bitrate lets one keep.</summary>
    private int Kept(int bps)
    {
        int i = _rungs.Length - 1;
        while (i > 0 && bps < _rungs[i].MinBps * KeepFraction) i--;
        return i;
    }
}
