using Room.HwTests.Lab;

namespace Room.HwTests.Tests;

/// <summary>`Room.HwTests judge` as hw-test.sh runs it: its arguments, a real log file and the results file.</summary>
public class JudgeCommandTests
{
    [Theory]
    [InlineData("")]
    [InlineData("--log")]
    [InlineData("--log x --bogus")]
    [InlineData("--log x --exit one")]
    [InlineData("--log x --faults no-such-fault")]
    public void Bad_arguments_are_refused_with_status_2(string line)
    {
        var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var error = new StringWriter();
        Assert.Equal(2, JudgeCommand.Run(args, TextWriter.Null, error));
        Assert.StartsWith("judge: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_board_log_with_every_check_passes_and_the_results_file_counts_them()
    {
        var dir = Directory.CreateTempSubdirectory("judge-").FullName;
        try
        {
            var log = Path.Combine(dir, "board.log");
            var names = CheckCatalog.Expected(lab: false);
            File.WriteAllLines(log, names.Select(n => $"@@HWTEST|SKIP|{n}|1|no such device here").Append($"@@HWTEST-END|0|0|{names.Count}"));
            var output = new StringWriter();
            var trx = Path.Combine(dir, "hw-test.trx");
            Assert.Equal(0, JudgeCommand.Run(["--log", log, "--exit", "0", "--trx", trx, "--known", "/dev/null"], output, TextWriter.Null));
            Assert.Contains($"passed 0, failed 0 (missing 0), skipped {names.Count}", output.ToString(), StringComparison.Ordinal);
            Assert.Contains($"total=\"{names.Count}\"", File.ReadAllText(trx), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void The_same_log_in_the_lab_fails_every_skip_and_every_lab_check_it_lacks()
    {
        var dir = Directory.CreateTempSubdirectory("judge-").FullName;
        try
        {
            var log = Path.Combine(dir, "serial.log");
            var names = CheckCatalog.Expected(lab: false);
            File.WriteAllLines(log, names.Select(n => $"@@HWTEST|SKIP|{n}|1|no such device here").Append($"@@HWTEST-END|0|0|{names.Count}").Append("@@HWTEST-EXIT|1|9.0"));
            var output = new StringWriter();
            Assert.Equal(1, JudgeCommand.Run(["--log", log, "--lab"], output, TextWriter.Null));
            var missing = CheckCatalog.Expected(lab: true).Count - names.Count;
            Assert.Contains($"passed 0, failed {names.Count + missing} (missing {missing})", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
