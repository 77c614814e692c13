namespace Room.HwTests.Checks;

/// <summary>A process's threads as /proc shows them: which ones use the CPU, and when the JIT has settled.</summary>
public static class ProcessThreads
{
    /// <summary>Waits until <paramref name="process"/>'s tiered-compilation thread used no CPU for two seconds (at most 60 s); returns the wait.</summary>
    public static async Task<TimeSpan> JitSettledAsync(System.Diagnostics.Process? process, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        long Jit() => Ticks(process).Where(t => t.Key.Name.StartsWith(".NET Tiered", StringComparison.Ordinal)).Sum(t => t.Value);
        var last = Jit();
        var idle = 0;
        while (idle < 2 && started.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            var now = Jit();
            idle = now == last ? idle + 1 : 0;
            last = now;
        }

        return started.Elapsed;
    }

    /// <summary>CPU time (clock ticks, 100 per second) of each of <paramref name="process"/>'s threads, by id and name (/proc/PID/task).</summary>
    public static Dictionary<(int Id, string Name), long> Ticks(System.Diagnostics.Process? process)
    {
        var ticks = new Dictionary<(int, string), long>();
        if (process is null || process.HasExited)
        {
            return ticks;
        }

        foreach (var task in Directory.EnumerateDirectories($"/proc/{process.Id}/task"))
        {
            try
            {
                // "tid (comm) state ... utime stime": the name may hold spaces, so fields count from its ')'.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                var id = int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture);
                ticks[(id, name)] = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread ended between the listing and the read.
            }
        }

        return ticks;
    }
}
