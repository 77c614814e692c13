using System.Globalization;
using System.Text;
using System.Xml;

namespace Room.HwTests.Lab;

/// <summary>What the host knows about a run besides its marker lines.</summary>
public sealed record VerdictOptions
{
    /// <summary>The QEMU lab (every device is provided, so a SKIP is a failure) rather than a board over ssh.</summary>
    public bool Lab { get; init; }

    /// <summary>The checks the run must report, each once.</summary>
    public IReadOnlyList<string> Expected { get; init; } = [];

    /// <summary>lab/known-failures: check name to the reason (a failure reported as KNOWN does not fail the run).</summary>
    public IReadOnlyDictionary<string, string> KnownFailures { get; init; } = new Dictionary<string, string>();

    /// <summary>The suite's exit status when the caller knows it (ssh); in the lab it is read from the @@HWTEST-EXIT line.</summary>
    public int? ExitStatus { get; init; }

    /// <summary>Faults injected into this run (make hw-test-fault); empty for an ordinary run.</summary>
    public IReadOnlyList<LabFault> Faults { get; init; } = [];
}

public sealed record CheckRow(string Name, string Status, string Ms, string Detail, string? Note);

/// <summary>The host's judgement of a run, with the report lines and the per-check outcomes for the test summary.</summary>
public sealed record VerdictResult(IReadOnlyList<CheckRow> Rows, IReadOnlyList<string> Missing, IReadOnlyList<string> Problems, IReadOnlyList<string> FaultLines)
{
    public bool Ok => Problems.Count == 0;

    public int Passed => Rows.Count(r => r.Status is "PASS" or "FIXED" or "CAUGHT");

    public int Skipped => Rows.Count(r => r.Status == "SKIP");

    public int Known => Rows.Count(r => r.Status == "KNOWN");

    /// <summary>Failed checks, skips in the lab and checks that never reported: everything that fails the run.</summary>
    public int Failed => Rows.Count(r => r.Status is "FAIL" or "SKIP-IN-LAB") + Missing.Count;
}

/// <summary>
/// Judges a run from the serial log (or the board's output): every expected check reported exactly once with
/// PASS/FAIL/SKIP and a reason; in the lab a SKIP fails the run; on a board a SKIP is reported but never counted as
/// passed; the suite finished (@@HWTEST-END) and its exit status agrees with what it reported; with faults injected,
/// each fault's checks failed and nothing else did.
/// </summary>
public static class LabVerdict
{
    public static VerdictResult Judge(IEnumerable<string> lines, VerdictOptions options)
    {
        var rows = new List<CheckRow>();
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        (int Passed, int Failed, int Skipped)? end = null;
        (int Pass, int Fail, int Skip) guest = (0, 0, 0);
        int? exit = options.ExitStatus;
        var faultNames = options.Faults.SelectMany(f => f.CaughtBy.Concat(f.AlsoFails)).ToHashSet(StringComparer.Ordinal);
        var caughtBy = options.Faults.SelectMany(f => f.CaughtBy).ToHashSet(StringComparer.Ordinal);

        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith(Suite.Marker + "-END|", StringComparison.Ordinal))
            {
                var f = line.Split('|');
                if (f.Length != 4 || !int.TryParse(f[1], CultureInfo.InvariantCulture, out var p) || !int.TryParse(f[2], CultureInfo.InvariantCulture, out var x) || !int.TryParse(f[3], CultureInfo.InvariantCulture, out var s))
                {
                    problems.Add($"malformed end line: {line}");
                    continue;
                }

                end = (p, x, s);
                continue;
            }

            if (line.StartsWith(Suite.Marker + "-EXIT|", StringComparison.Ordinal))
            {
                var f = line.Split('|');
                if (f.Length < 2 || !int.TryParse(f[1], CultureInfo.InvariantCulture, out var rc))
                {
                    problems.Add($"malformed exit line: {line}");
                    continue;
                }

                exit ??= rc;
                continue;
            }

            if (!line.StartsWith(Suite.Marker + "|", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line.Split('|');
            if (fields.Length != 5 || fields[1] is not ("PASS" or "FAIL" or "SKIP") || fields[2].Length == 0)
            {
                problems.Add($"malformed check line: {line}");
                continue;
            }

            var (status, name, ms, detail) = (fields[1], fields[2], fields[3], fields[4]);
            if (!seen.Add(name))
            {
                problems.Add($"{name} reported more than once");
                continue;
            }

            if (!name.StartsWith("host.", StringComparison.Ordinal) && end is null)
            {
                guest = status switch { "PASS" => (guest.Pass + 1, guest.Fail, guest.Skip), "FAIL" => (guest.Pass, guest.Fail + 1, guest.Skip), _ => (guest.Pass, guest.Fail, guest.Skip + 1) };
            }

            string? note = null;
            if (detail.Trim().Length == 0)
            {
                problems.Add($"{name}: {status} without a reason");
            }

            if (!options.Expected.Contains(name))
            {
                problems.Add($"{name} is not an expected check (not in the catalog for this target)");
            }

            if (options.Faults.Count > 0)
            {
                // A fault run: the faults' checks must fail, every other check must pass.
                if (caughtBy.Contains(name) && status == "FAIL")
                {
                    status = "CAUGHT";
                    note = "caught " + string.Join(", ", options.Faults.Where(f => f.CaughtBy.Contains(name)).Select(f => f.Name));
                }
                else if (faultNames.Contains(name) && !caughtBy.Contains(name))
                {
                    note = status == "FAIL" ? "fails with " + string.Join(", ", options.Faults.Where(f => f.AlsoFails.Contains(name)).Select(f => f.Name)) + " (expected)" : null;
                    status = status == "FAIL" ? "ALSO" : status;
                }
            }
            else if (options.KnownFailures.TryGetValue(name, out var why))
            {
                (status, note) = status switch
                {
                    "FAIL" => ("KNOWN", "known bug: " + why),
                    "PASS" => ("FIXED", "listed in lab/known-failures but passes now: remove the line"),
                    _ => (status, note),
                };
            }

            if (status == "SKIP" && options.Lab)
            {
                status = "SKIP-IN-LAB";
                note = "the lab provides every device: a skip is a failure here";
            }

            rows.Add(new CheckRow(name, status, ms, detail, note));
        }

        var missing = options.Expected.Where(e => !seen.Contains(e)).ToList();
        foreach (var m in missing)
        {
            problems.Add($"{m} never reported");
        }

        foreach (var r in rows.Where(r => r.Status is "FAIL" or "SKIP-IN-LAB"))
        {
            problems.Add(r.Status == "FAIL" ? $"{r.Name} failed" : $"{r.Name} skipped in the lab");
        }

        if (end is null)
        {
            problems.Add("the suite did not finish (no @@HWTEST-END line: a hang, crash or kernel panic)");
        }
        else if (end.Value != guest)
        {
            problems.Add($"the suite's end line counts {end.Value.Passed} passed, {end.Value.Failed} failed, {end.Value.Skipped} skipped, its check lines {guest.Pass}, {guest.Fail}, {guest.Skip}");
        }

        // The suite's exit status must agree with what it reported: 0 only with no failure (and, in the lab, no skip).
        var reportedBad = guest.Fail > 0 || (options.Lab && guest.Skip > 0);
        if (exit is null)
        {
            problems.Add("the suite's exit status is unknown (no @@HWTEST-EXIT line)");
        }
        else if (exit == 0 && reportedBad)
        {
            problems.Add("the suite exited 0 although it reported failures");
        }
        else if (exit != 0 && !reportedBad)
        {
            problems.Add($"the suite exited {exit} although every check it reported passed");
        }
        else if (exit is not (0 or 1))
        {
            problems.Add($"the suite exited {exit} (a crash, not a verdict)");
        }

        var faultLines = new List<string>();
        foreach (var fault in options.Faults)
        {
            foreach (var check in fault.CaughtBy)
            {
                var row = rows.FirstOrDefault(r => r.Name == check);
                if (row is { Status: "CAUGHT" })
                {
                    faultLines.Add($"fault {fault.Name} ({fault.Breaks}): caught by {check}: {row.Detail}");
                }
                else
                {
                    var what = row is null ? "never reported" : row.Status == "PASS" ? "passed" : row.Status.ToLowerInvariant();
                    faultLines.Add($"fault {fault.Name} ({fault.Breaks}): NOT CAUGHT, {check} {what}");
                    problems.Add($"fault {fault.Name} not caught: {check} {what}");
                }
            }
        }

        return new VerdictResult(rows, missing, problems, faultLines);
    }

    /// <summary>The report as people read it: one line per check, the counts, the faults, the problems.</summary>
    public static string Report(VerdictResult v, string title)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"================ hw-test report ({title}) ================");
        foreach (var r in v.Rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {r.Status,-6} {r.Name,-42} {r.Ms,6} ms  {r.Detail}");
            if (r.Note is not null)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"         {r.Note}");
            }
        }

        foreach (var m in v.Missing)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {"MISSING",-6} {m,-42}         never reported");
        }

        foreach (var f in v.FaultLines)
        {
            sb.AppendLine("  " + f);
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"  passed {v.Passed}, failed {v.Failed} (missing {v.Missing.Count}), skipped {v.Skipped}, known bugs {v.Known}");
        foreach (var p in v.Problems)
        {
            sb.AppendLine("  PROBLEM: " + p);
        }

        sb.AppendLine(v.Ok ? "  verdict: PASSED" : "  verdict: FAILED");
        sb.Append("======================================================");
        return sb.ToString();
    }

    /// <summary>
    /// A Visual Studio test results file (the format `dotnet test --logger trx` writes) so `make test`'s closing
    /// summary (scripts/test-summary.sh) counts the lab's checks: PASS (and a caught fault) passed, FAIL, a skip in
    /// the lab and a missing check failed, a skip on a board not executed.
    /// </summary>
    public static void WriteTrx(VerdictResult v, string suiteName, string path)
    {
        var results = v.Rows.Select(r => (Name: $"{suiteName}: {r.Name}", Outcome: r.Status switch
        {
            "PASS" or "FIXED" or "CAUGHT" or "ALSO" => "Passed",
            "SKIP" or "KNOWN" => "NotExecuted",
            _ => "Failed",
        }, Message: r.Note is null ? r.Detail : $"{r.Detail} ({r.Note})")).ToList();
        results.AddRange(v.Missing.Select(m => (Name: $"{suiteName}: {m}", Outcome: "Failed", Message: "never reported")));
        if (!v.Ok && results.All(r => r.Outcome != "Failed"))
        {
            // The run failed for a reason no single check carries (no end line, a wrong exit status, a fault not caught).
            results.Add(($"{suiteName}: run", "Failed", string.Join("; ", v.Problems)));
        }

        var passed = results.Count(r => r.Outcome == "Passed");
        var failed = results.Count(r => r.Outcome == "Failed");
        const string ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var w = XmlWriter.Create(path, settings);
        w.WriteStartElement("TestRun", ns);
        w.WriteAttributeString("id", Guid.NewGuid().ToString());
        w.WriteAttributeString("name", suiteName);
        w.WriteStartElement("Results", ns);
        foreach (var r in results)
        {
            w.WriteStartElement("UnitTestResult", ns);
            w.WriteAttributeString("testName", r.Name);
            w.WriteAttributeString("outcome", r.Outcome);
            w.WriteStartElement("Output", ns);
            w.WriteStartElement("ErrorInfo", ns);
            w.WriteElementString("Message", ns, r.Message);
            w.WriteEndElement();
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteStartElement("ResultSummary", ns);
        w.WriteAttributeString("outcome", failed == 0 ? "Completed" : "Failed");
        w.WriteStartElement("Counters", ns);
        foreach (var (k, n) in new[] { ("total", results.Count), ("executed", passed + failed), ("passed", passed), ("failed", failed), ("error", 0), ("timeout", 0), ("aborted", 0), ("inconclusive", 0), ("notExecuted", results.Count - passed - failed) })
        {
            w.WriteAttributeString(k, n.ToString(CultureInfo.InvariantCulture));
        }

        w.WriteEndElement();
        w.WriteEndElement();
        w.WriteEndElement();
    }

    /// <summary>Reads lab/known-failures: <c>name | why</c> lines, # comments.</summary>
    public static Dictionary<string, string> ReadKnownFailures(IEnumerable<string> lines)
    {
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var bar = line.IndexOf('|', StringComparison.Ordinal);
            if (bar <= 0 || line[(bar + 1)..].Trim().Length == 0)
            {
                throw new FormatException($"known-failures line without '<check> | <why>': {line}");
            }

            known[line[..bar].Trim()] = line[(bar + 1)..].Trim();
        }

        return known;
    }
}
