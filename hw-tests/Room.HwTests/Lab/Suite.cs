using System.Diagnostics;

namespace Room.HwTests.Lab;

/// <summary>A check that cannot run here (no such device on this box, or the driver is not built yet).</summary>
public sealed class SkipException(string reason) : Exception(reason);

public enum Outcome
{
    Pass,
    Fail,
    Skip,
}

/// <summary>
/// Runs checks one after another and reports each on stdout as one marker line the host parses:
/// <c>@@HWTEST|PASS|name|ms|detail</c>, then <c>@@HWTEST-END|passed|failed|skipped</c>.
/// </summary>
public sealed class Suite(TextWriter output)
{
    public const string Marker = "@@HWTEST";

    private readonly List<(string Name, Outcome Outcome, string Detail)> _results = [];

    public int Failed => _results.Count(r => r.Outcome == Outcome.Fail);

    public int Skipped => _results.Count(r => r.Outcome == Outcome.Skip);

    /// <summary>The QEMU lab: every device is provided, so the report says a skip fails the run.</summary>
    public bool Lab { get; init; }

    public async Task RunAsync(string name, TimeSpan timeout, Func<CancellationToken, Task<string>> check)
    {
        var sw = Stopwatch.StartNew();
        Outcome outcome;
        string detail;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // The host judges a run against the catalog: a check it does not know would never be expected.
            Expect.True(CheckCatalog.Contains(name), $"check '{name}' is not in CheckCatalog");
            var task = check(cts.Token);
            var done = await Task.WhenAny(task, Task.Delay(timeout + TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
            if (done != task)
            {
                throw new TimeoutException($"no answer within {timeout.TotalSeconds:0} s");
            }

            detail = await task.ConfigureAwait(false);
            outcome = Outcome.Pass;
        }
        catch (SkipException e)
        {
            outcome = Outcome.Skip;
            detail = Lab ? e.Message + " (a skip fails the run in the lab)" : e.Message;
        }
        catch (Exception e)
        {
            outcome = Outcome.Fail;
            detail = e is OperationCanceledException ? $"timed out after {timeout.TotalSeconds:0} s" : $"{e.GetType().Name}: {e.Message}";
        }

        _results.Add((name, outcome, detail));
        var clean = detail.Replace('\n', ' ').Replace('|', '/');
        output.WriteLine($"{Marker}|{outcome.ToString().ToUpperInvariant()}|{name}|{sw.ElapsedMilliseconds}|{clean}");
        output.Flush();
    }

    public void End()
    {
        output.WriteLine($"{Marker}-END|{_results.Count(r => r.Outcome == Outcome.Pass)}|{Failed}|{_results.Count(r => r.Outcome == Outcome.Skip)}");
        output.Flush();
    }
}
