using System.Xml.Linq;
using Room.HwTests.Lab;

namespace Room.HwTests.Tests;

/// <summary>The host's judgement of a lab or board run, from marker lines as the guest and host checks print them.</summary>
public class LabVerdictTests
{
    private static readonly string[] Three = ["a.one", "a.two", "host.three"];

    private static VerdictOptions LabOptions(int? exit = null) => new() { Lab = true, Expected = Three, ExitStatus = exit };

    private static List<string> Log(string s1, string s2, string s3, int exit, bool end = true)
    {
        var lines = new List<string> { "boot noise", $"@@HWTEST|{s1}|a.one|12|detail one", $"@@HWTEST|{s2}|a.two|34|detail two" };
        var (p, f, s) = (new[] { s1, s2 }.Count(x => x == "PASS"), new[] { s1, s2 }.Count(x => x == "FAIL"), new[] { s1, s2 }.Count(x => x == "SKIP"));
        if (end)
        {
            lines.Add($"@@HWTEST-END|{p}|{f}|{s}");
        }

        lines.Add($"@@HWTEST-EXIT|{exit}|99.5");
        lines.Add($"@@HWTEST|{s3}|host.three|5|host detail");
        return lines;
    }

    [Fact]
    public void A_run_where_every_expected_check_passed_passes()
    {
        var v = LabVerdict.Judge(Log("PASS", "PASS", "PASS", 0), LabOptions());
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        Assert.Equal((3, 0, 0), (v.Passed, v.Failed, v.Skipped));
    }

    [Fact]
    public void A_skip_in_the_lab_fails_the_run_and_is_not_counted_as_passed()
    {
        var v = LabVerdict.Judge(Log("PASS", "SKIP", "PASS", 1), LabOptions());
        Assert.False(v.Ok);
        Assert.Equal(2, v.Passed);
        Assert.Equal(1, v.Failed);
        Assert.Contains("a.two skipped in the lab", v.Problems);
    }

    [Fact]
    public void A_skip_on_a_board_is_reported_but_never_counted_as_passed()
    {
        var options = new VerdictOptions { Lab = false, Expected = ["a.one", "a.two"], ExitStatus = 0 };
        var v = LabVerdict.Judge(Log("PASS", "SKIP", "PASS", 0).Where(l => !l.Contains("host.", StringComparison.Ordinal) && !l.Contains("EXIT", StringComparison.Ordinal)), options);
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        Assert.Equal((1, 0, 1), (v.Passed, v.Failed, v.Skipped));
    }

    [Fact]
    public void A_skip_without_a_reason_is_a_problem_even_on_a_board()
    {
        var options = new VerdictOptions { Lab = false, Expected = ["a.one"], ExitStatus = 0 };
        var v = LabVerdict.Judge(["@@HWTEST|SKIP|a.one|3| ", "@@HWTEST-END|0|0|1"], options);
        Assert.False(v.Ok);
        Assert.Contains("a.one: SKIP without a reason", v.Problems);
    }

    [Fact]
    public void A_check_that_never_reported_fails_the_run()
    {
        var lines = Log("PASS", "PASS", "PASS", 0).Where(l => !l.Contains("|a.two|", StringComparison.Ordinal)).Select(l => l.StartsWith("@@HWTEST-END", StringComparison.Ordinal) ? "@@HWTEST-END|1|0|0" : l);
        var v = LabVerdict.Judge(lines, LabOptions());
        Assert.False(v.Ok);
        Assert.Equal(["a.two"], v.Missing);
        Assert.Equal(1, v.Failed);
        Assert.Contains("a.two never reported", v.Problems);
    }

    [Fact]
    public void A_check_reported_twice_or_not_in_the_catalog_fails_the_run()
    {
        var lines = Log("PASS", "PASS", "PASS", 0);
        lines.Insert(2, "@@HWTEST|PASS|a.one|1|again");
        lines.Insert(2, "@@HWTEST|PASS|a.surprise|1|new");
        var v = LabVerdict.Judge(lines, LabOptions());
        Assert.Contains("a.one reported more than once", v.Problems);
        Assert.Contains(v.Problems, p => p.StartsWith("a.surprise is not an expected check", StringComparison.Ordinal));
    }

    [Fact]
    public void A_suite_that_never_finished_fails_the_run_even_if_all_it_reported_passed()
    {
        var v = LabVerdict.Judge(Log("PASS", "PASS", "PASS", 0, end: false), LabOptions());
        Assert.False(v.Ok);
        Assert.Contains(v.Problems, p => p.StartsWith("the suite did not finish", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("PASS", 1, "the suite exited 1 although every check it reported passed")]
    [InlineData("FAIL", 0, "the suite exited 0 although it reported failures")]
    [InlineData("FAIL", 134, "the suite exited 134 (a crash, not a verdict)")]
    public void The_suites_exit_status_must_agree_with_its_report(string second, int exit, string problem)
    {
        var v = LabVerdict.Judge(Log("PASS", second, "PASS", exit), LabOptions());
        Assert.False(v.Ok);
        Assert.Contains(problem, v.Problems);
    }

    [Fact]
    public void An_unknown_exit_status_fails_the_run()
    {
        var v = LabVerdict.Judge(Log("PASS", "PASS", "PASS", 0).Where(l => !l.StartsWith("@@HWTEST-EXIT", StringComparison.Ordinal)), LabOptions());
        Assert.Contains("the suite's exit status is unknown (no @@HWTEST-EXIT line)", v.Problems);
    }

    [Fact]
    public void End_line_counts_that_disagree_with_the_check_lines_fail_the_run()
    {
        var lines = Log("PASS", "PASS", "PASS", 0).Select(l => l.StartsWith("@@HWTEST-END", StringComparison.Ordinal) ? "@@HWTEST-END|3|0|0" : l);
        var v = LabVerdict.Judge(lines, LabOptions());
        Assert.Contains(v.Problems, p => p.Contains("end line counts 3 passed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("@@HWTEST|PASS|a.one|12")]
    [InlineData("@@HWTEST|MAYBE|a.one|12|x")]
    [InlineData("@@HWTEST|PASS|a.one|12|x|y")]
    [InlineData("@@HWTEST-END|1|x|0")]
    public void Malformed_marker_lines_are_refused(string bad)
    {
        var lines = Log("PASS", "PASS", "PASS", 0);
        lines.Insert(1, bad);
        var v = LabVerdict.Judge(lines, LabOptions());
        Assert.False(v.Ok);
        Assert.Contains(v.Problems, p => p.StartsWith("malformed", StringComparison.Ordinal));
    }

    [Fact]
    public void A_known_failure_is_reported_as_known_and_a_passing_one_as_fixed()
    {
        var options = LabOptions() with { KnownFailures = new Dictionary<string, string> { ["a.one"] = "bug 7", ["a.two"] = "bug 8" } };
        var v = LabVerdict.Judge(Log("FAIL", "PASS", "PASS", 1), options);
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        Assert.Equal("KNOWN", v.Rows.Single(r => r.Name == "a.one").Status);
        Assert.Equal("FIXED", v.Rows.Single(r => r.Name == "a.two").Status);
    }

    [Fact]
    public void Known_failures_file_lines_need_a_reason()
    {
        Assert.Equal("why", LabVerdict.ReadKnownFailures(["# comment", "", "a.one | why"])["a.one"]);
        Assert.Throws<FormatException>(() => LabVerdict.ReadKnownFailures(["a.one"]));
        Assert.Throws<FormatException>(() => LabVerdict.ReadKnownFailures(["a.one |  "]));
    }

    private static readonly LabFault FaultA = new("fault-a", FaultSite.Kernel, "breaks one", ["a.one"], ["host.three"]);

    [Fact]
    public void A_fault_run_passes_when_the_covering_check_fails_and_says_which_check_caught_it()
    {
        var v = LabVerdict.Judge(Log("FAIL", "PASS", "FAIL", 1), LabOptions() with { Faults = [FaultA] });
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        Assert.Equal(["fault fault-a (breaks one): caught by a.one: detail one"], v.FaultLines);
        Assert.Equal("ALSO", v.Rows.Single(r => r.Name == "host.three").Status);
    }

    [Fact]
    public void A_fault_its_check_did_not_catch_fails_the_fault_run()
    {
        var v = LabVerdict.Judge(Log("PASS", "PASS", "PASS", 0), LabOptions() with { Faults = [FaultA] });
        Assert.False(v.Ok);
        Assert.Contains("fault fault-a not caught: a.one passed", v.Problems);
    }

    [Fact]
    public void A_fault_caught_only_because_its_check_skipped_is_not_caught()
    {
        var v = LabVerdict.Judge(Log("SKIP", "PASS", "PASS", 1), LabOptions() with { Faults = [FaultA] });
        Assert.False(v.Ok);
        Assert.Contains("fault fault-a not caught: a.one skip-in-lab", v.Problems);
    }

    [Fact]
    public void In_a_fault_run_a_failure_no_fault_explains_fails_the_run()
    {
        var v = LabVerdict.Judge(Log("FAIL", "FAIL", "PASS", 1), LabOptions() with { Faults = [FaultA] });
        Assert.False(v.Ok);
        Assert.Contains("a.two failed", v.Problems);
    }

    [Fact]
    public void The_results_file_counts_every_check_for_the_test_summary()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hwtest-{Guid.NewGuid():N}.trx");
        try
        {
            var lines = Log("PASS", "FAIL", "PASS", 1).Where(l => !l.Contains("host.three", StringComparison.Ordinal));
            var v = LabVerdict.Judge(lines, LabOptions());
            LabVerdict.WriteTrx(v, "hw-test", path);
            var doc = XDocument.Load(path);
            XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
            var counters = doc.Descendants(ns + "Counters").Single();
            Assert.Equal(("3", "1", "2"), ((string)counters.Attribute("total")!, (string)counters.Attribute("passed")!, (string)counters.Attribute("failed")!));
            var missing = doc.Descendants(ns + "UnitTestResult").Single(r => (string)r.Attribute("testName")! == "hw-test: host.three");
            Assert.Equal("Failed", (string)missing.Attribute("outcome")!);
            // scripts/test-summary.sh reads the first Counters line with grep and sed: every attribute it asks for is there.
            var text = File.ReadAllText(path);
            foreach (var a in new[] { "total", "passed", "failed", "error", "timeout", "aborted" })
            {
                Assert.Matches($"<Counters [^>]*\\b{a}=\"[0-9]+\"", text);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_failed_run_without_a_failed_check_still_counts_one_failure()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hwtest-{Guid.NewGuid():N}.trx");
        try
        {
            var v = LabVerdict.Judge(Log("PASS", "PASS", "PASS", 0, end: false), LabOptions());
            LabVerdict.WriteTrx(v, "hw-test", path);
            XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
            Assert.Equal("1", (string)XDocument.Load(path).Descendants(ns + "Counters").Single().Attribute("failed")!);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
