using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Room.Crypto.Mls;

namespace Room.Crypto.Bench;

/// <summary>MLS commit (empty proposal list, full UpdatePath) creation and processing for groups of N members.</summary>
[Config(typeof(Cfg))]
public class MlsCommitBench
{
    /// <summary>One short in-process job: a commit is milliseconds, setup for 128 members is seconds.</summary>
    private sealed class Cfg : ManualConfig
    {
        public Cfg() => AddJob(Job.Dry
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(8).WithInvocationCount(1).WithUnrollFactor(1)
            .WithToolchain(InProcessEmitToolchain.Instance));
    }

    private MlsGroup _alice = null!;
    private MlsGroup _bob = null!;
    private MlsMessage _pending = null!;

    [Params(2, 16, 64, 128)]
    public int Members { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var cs = MlsCipherSuite.Get(1);
        _alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "bench"u8.ToArray());
        var bobId = MlsIdentity.CreateBasic(cs, "bob");
        var bobKp = bobId.CreateKeyPackage();
        var kps = new List<KeyPackage> { bobKp.KeyPackage };
        for (int i = 2; i < Members; i++)
        {
            kps.Add(MlsIdentity.CreateBasic(cs, "m" + i).CreateKeyPackage().KeyPackage);
        }

        var c = _alice.Commit(add: kps);
        _bob = MlsGroup.Join(bobId, bobKp, c.Welcome!.Welcome!);
    }

    [IterationSetup(Target = nameof(ProcessCommit))]
    public void MakeCommit() => _pending = _alice.Commit().Commit;

    [Benchmark]
    public ulong CreateCommit()
    {
        _alice.Commit();
        return _alice.Epoch;
    }

    [Benchmark]
    public ulong ProcessCommit()
    {
        _bob.Process(_pending);
        return _bob.Epoch;
    }
}
