using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Room.Crypto.Mls;

namespace Room.Crypto.Bench;

/// <summary>MLS commit (empty proposal list, full UpdatePath) creation and processing for groups of N members.</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 8, invocationCount: 1)]
[InProcess] // no per-job project rebuild on the shared build machine
public class MlsCommitBench
{
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
