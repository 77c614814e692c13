using Xunit.Abstractions;

namespace Room.Crypto.Tests.Vectors;

public sealed class VectorReportTests(ITestOutputHelper output)
{
    /// <summary>Vector files with no runner, and why.</summary>
    private static readonly Dictionary<string, string> NotRun = new(StringComparer.Ordinal)
    {
        ["pq/xwing-test-vectors.json"] = "X-Wing KEM (draft-connolly-cfrg-xwing-kem) is not implemented; not part of RFC 9180/9420/9605",
    };

    public static TheoryData<string> Files()
    {
        var d = new TheoryData<string>();
        foreach (var f in VectorSuite.Runners.Keys.Order(StringComparer.Ordinal))
        {
            d.Add(f);
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_supported_entry_of_the_vector_file_passes(string file)
    {
        var t = VectorSuite.Run(file);
        output.WriteLine(t.ToString());
        foreach (var f in t.Failures.Take(20))
        {
            output.WriteLine(f);
        }

        Assert.Empty(t.Failures);
        Assert.True(t.Total > 0, "the file has no entries");
        Assert.Equal(t.Total, t.Passed + t.Skipped);
    }

    [Fact]
    public void Vector_report_lists_every_file_and_all_pass()
    {
        var lines = new List<string> { $"Room.Crypto vector report (vectors: {VectorFiles.Root})" };
        var failures = new List<string>();
        foreach (var file in Directory.EnumerateFiles(VectorFiles.Root, "*.json", SearchOption.AllDirectories)
                     .Select(p => Path.GetRelativePath(VectorFiles.Root, p).Replace('\\', '/'))
                     .Order(StringComparer.Ordinal))
        {
            if (!VectorSuite.Runners.ContainsKey(file))
            {
                lines.Add($"{file,-52} NOT RUN: {NotRun.GetValueOrDefault(file, "no runner yet")}");
                continue;
            }

            var t = VectorSuite.Run(file);
            lines.Add(t.ToString());
            failures.AddRange(t.Failures.Select(f => $"{file}: {f}"));
        }

        string text = string.Join('\n', lines) + "\n";
        string dir = Path.Combine(VectorFiles.RepoRoot, "artifacts");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "crypto-vectors.txt"), text);
        output.WriteLine(text);
        Assert.Empty(failures);
    }
}
