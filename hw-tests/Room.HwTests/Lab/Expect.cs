namespace Room.HwTests.Lab;

/// <summary>Assertions for the device suite (xunit is not in the guest).</summary>
public static class Expect
{
    public static void True(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException(what);
        }
    }

    public static void Near(double expected, double actual, double tolerance, string what)
    {
        if (Math.Abs(expected - actual) > tolerance)
        {
            throw new InvalidOperationException($"{what}: expected {expected} ± {tolerance}, got {actual}");
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds (devices move through transition states).</summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan within, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        T last;
        while (true)
        {
            last = await probe().ConfigureAwait(false);
            if (condition(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: still {last} after {within.TotalSeconds:0} s");
            }

            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }
}
