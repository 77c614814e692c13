using System.Collections.Concurrent;
using System.Text.Json;

namespace Room.Crypto.Tests.Vectors;

/// <summary>Finds ../shared/vectors beside the folder holding Room.sln (env ROOM_VECTORS overrides).</summary>
public static class VectorFiles
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    public static string Root => RootLazy.Value;

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Room.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Room.sln not found above the test assembly");
        }
    }

    private static string FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("ROOM_VECTORS");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        return Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "vectors"));
    }

    public static JsonDocument Load(string relative)
    {
        string path = Path.Combine(Root, relative);
        return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 256 });
    }

    public static byte[] Hex(this JsonElement e) => Convert.FromHexString(e.GetString() ?? "");

    public static byte[] Hex(this JsonElement e, string prop) => Convert.FromHexString(e.GetProperty(prop).GetString() ?? "");
}

/// <summary>Counts the entries of one vector file: passed, failed (with reasons), skipped (unsupported suites).</summary>
public sealed class Tally(string file)
{
    private readonly List<string> _failures = [];
    private readonly SortedDictionary<string, int> _skipReasons = new(StringComparer.Ordinal);

    public string File { get; } = file;

    public int Passed { get; private set; }

    public int Skipped { get; private set; }

    public IReadOnlyList<string> Failures => _failures;

    public int Total => Passed + Skipped + _failures.Count;

    public TimeSpan Elapsed { get; set; }

    public void Case(string name, Action body)
    {
        try
        {
            body();
            Passed++;
        }
#pragma warning disable CA1031 // a vector failure of any kind is recorded, not thrown
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _failures.Add($"{name}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Why entries were skipped, with counts (every skip names its reason).</summary>
    public IReadOnlyDictionary<string, int> SkipReasons => _skipReasons;

    public void Skip(string reason = "cipher suite not supported")
    {
        Skipped++;
        _skipReasons[reason] = _skipReasons.GetValueOrDefault(reason) + 1;
    }

    public override string ToString() =>
        $"{File,-52} passed {Passed,4} / {Total,4}  skipped {Skipped,3}  failed {_failures.Count,3}  ({Elapsed.TotalSeconds:F1} s)"
        + string.Concat(_skipReasons.Select(r => $"\n    skipped {r.Value}: {r.Key}"));
}

public static class Check
{
    public static void Equal(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        if (!expected.SequenceEqual(actual))
        {
            throw new InvalidOperationException($"{what}: expected {Convert.ToHexString(expected)} got {Convert.ToHexString(actual)}");
        }
    }

    public static void Equal(byte[] expected, byte[] actual, string what) =>
        Equal((ReadOnlySpan<byte>)expected, (ReadOnlySpan<byte>)actual, what);

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new InvalidOperationException($"{what}: expected {expected} got {actual}");
        }
    }

    public static void True(bool cond, string what)
    {
        if (!cond)
        {
            throw new InvalidOperationException(what);
        }
    }
}

/// <summary>All vector runners, one per file, each run at most once per test process.</summary>
public static class VectorSuite
{
    private static readonly ConcurrentDictionary<string, Lazy<Tally>> Cache = new();

    public static readonly IReadOnlyDictionary<string, Func<string, Tally>> Runners = new Dictionary<string, Func<string, Tally>>
    {
        ["sframe/sframe-wg-test-vectors.json"] = SFrameVectors.Run,
        ["sframe/cisco-sframe-test-vectors.json"] = SFrameVectors.Run,
        ["sframe/sframe-wg-test-vectors-aes256.json"] = SFrameVectors.Run,
        ["mls/tree-math.json"] = MlsBasicVectors.TreeMathRun,
        ["mls/deserialization.json"] = MlsBasicVectors.DeserializationRun,
        ["mls/crypto-basics.json"] = MlsBasicVectors.CryptoBasicsRun,
        ["mls/messages.json"] = MlsMessageVectors.Run,
        ["mls/key-schedule.json"] = MlsScheduleVectors.KeyScheduleRun,
        ["mls/secret-tree.json"] = MlsScheduleVectors.SecretTreeRun,
        ["mls/psk_secret.json"] = MlsScheduleVectors.PskSecretRun,
        ["mls/transcript-hashes.json"] = MlsScheduleVectors.TranscriptRun,
        ["mls/message-protection.json"] = MlsScheduleVectors.MessageProtectionRun,
        ["mls/tree-validation.json"] = MlsTreeVectors.ValidationRun,
        ["mls/tree-operations.json"] = MlsTreeVectors.OperationsRun,
        ["mls/treekem.json"] = MlsTreeKemVectors.Run,
        ["mls/welcome.json"] = MlsGroupVectors.WelcomeRun,
        ["mls/passive-client-welcome.json"] = MlsGroupVectors.PassiveRun,
        ["mls/passive-client-handling-commit.json"] = MlsGroupVectors.PassiveRun,
        ["mls/passive-client-random.json"] = MlsGroupVectors.PassiveRun,
        ["pq/hpke-pq-test-vectors.json"] = HpkeVectors.Run,
    };

    public static Tally Run(string file) =>
        Cache.GetOrAdd(file, f => new Lazy<Tally>(() =>
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var t = Runners[f](f);
            t.Elapsed = sw.Elapsed;
            return t;
        })).Value;
}
