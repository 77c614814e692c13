namespace Room.Testing;

/// <summary>
/// Timings and rates a test measured, for people to read (artifacts/measurements/NAME.txt and the test output). Tests
/// assert outcomes; how fast something happened on a loaded 2-core machine is reported here, never asserted.
/// </summary>
public static class MeasurementReport
{
    private static readonly Lock Gate = new();

    public static void Add(string name, string line)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var file = Path.Combine(RepoPaths.Artifacts("measurements"), name + ".txt");
        lock (Gate)
        {
            File.AppendAllText(file, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}{Environment.NewLine}");
        }
    }
}
