using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Room.Crypto.Mls;

namespace Room.Crypto.Bench;

/// <summary>The ratchet tree a commit meets: this decides how many HPKE encryptions it needs.</summary>
public enum TreeShape
{
    /// <summary>
    /// mls-rs's benchmark group (mls-rs/src/test_utils/benchmarks.rs, benches/group_commit.rs): N members added by one
    /// commit without a path, then two more join by external commit; the first of those commits (suite 0x0001,
    /// PublicMessage, empty proposal list) and the second processes it. N + 2 members, N + 1 path-secret encryptions.
    /// </summary>
    MlsRs,

    /// <summary>
    /// Worst case: the creator adds everyone in one commit (with its path) and commits again; every copath node below
    /// the root's children is blank, so the commit encrypts to N - 1 leaves. Suite 0x0001, PrivateMessage.
    /// </summary>
    BlankTree,

    /// <summary>
    /// A meeting after members have committed: every other member committed once, so every parent node is set and a
    /// commit encrypts to one node per level (log2 N). Suite 0x0001, PrivateMessage.
    /// </summary>
    Filled,
}

/// <summary>
/// MLS commit (empty proposal list, full UpdatePath) creation and processing. Create times <see cref="MlsGroup.StageCommit"/>
/// only, as mls-rs's group_commit times <c>commit(vec![])</c> without applying it; the sender merges outside the timed
/// region. Process times the receiver's <see cref="MlsGroup.Process"/> of that commit.
/// </summary>
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

    private static readonly MlsCipherSuite Suite = MlsCipherSuite.Get(1);
    private MlsGroup _sender = null!;
    private MlsGroup _receiver = null!;
    private MlsMessage _pending = null!;

    [Params(16, 64, 128)]
    public int Members { get; set; }

    [Params(TreeShape.MlsRs, TreeShape.BlankTree, TreeShape.Filled)]
    public TreeShape Shape { get; set; }

    /// <summary>HPKE encryptions of path secrets in the sender's next commit.</summary>
    public int Recipients => TreeKem.PathRecipients(_sender.Tree, _sender.MyLeaf, new HashSet<uint>());

    [GlobalSetup]
    public void Setup() => (_sender, _receiver) = Shape switch
    {
        TreeShape.MlsRs => MlsRsShape(Members),
        TreeShape.BlankTree => BlankTreeShape(Members),
        _ => FilledShape(Members),
    };

    private static KeyPackage[] KeyPackages(int count, int from) =>
        [.. Enumerable.Range(from, count).Select(i => MlsIdentity.CreateBasic(Suite, "m" + i).CreateKeyPackage().KeyPackage)];

    private static (MlsGroup, MlsGroup) MlsRsShape(int n)
    {
        var opts = new MlsGroupOptions { HandshakeAsPublic = true, OmitOptionalPath = true };
        var creator = MlsGroup.Create(MlsIdentity.CreateBasic(Suite, "creator"), RandomNumberGenerator.GetBytes(16), opts);
        creator.Commit(add: KeyPackages(n - 1, 1));
        var (sender, _) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Suite, "sender"), creator.CreateGroupInfo(), new MlsGroupOptions { HandshakeAsPublic = true });
        var (receiver, commit) = MlsGroup.JoinExternal(MlsIdentity.CreateBasic(Suite, "receiver"), sender.CreateGroupInfo(), new MlsGroupOptions { HandshakeAsPublic = true });
        sender.Process(commit);
        return (sender, receiver);
    }

    private static (MlsGroup, MlsGroup) BlankTreeShape(int n)
    {
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Suite, "alice"), RandomNumberGenerator.GetBytes(16));
        var bob = MlsIdentity.CreateBasic(Suite, "bob");
        var bobKp = bob.CreateKeyPackage();
        var c = alice.Commit(add: [bobKp.KeyPackage, .. KeyPackages(n - 2, 2)]);
        return (alice, MlsGroup.Join(bob, bobKp, c.Welcome!.Welcome!));
    }

    private static (MlsGroup, MlsGroup) FilledShape(int n)
    {
        // Leaves 1, 3, 5, ... join with state and commit once each: together their paths set every parent node.
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Suite, "alice"), RandomNumberGenerator.GetBytes(16));
        var ids = Enumerable.Range(1, n - 1).Select(i => MlsIdentity.CreateBasic(Suite, "m" + i)).ToArray();
        var kps = ids.Select(i => i.CreateKeyPackage()).ToArray();
        var c = alice.Commit(add: [.. kps.Select(k => k.KeyPackage)]);
        var live = new List<MlsGroup> { alice };
        for (int i = 0; i < ids.Length; i += 2)
        {
            live.Add(MlsGroup.Join(ids[i], kps[i], c.Welcome!.Welcome!));
        }

        foreach (var committer in live.Skip(1).ToList())
        {
            var msg = committer.Commit().Commit;
            foreach (var other in live.Where(g => g != committer))
            {
                other.Process(msg);
            }
        }

        return (alice, live[1]);
    }

    /// <summary>The sender's commit, timed without entering the new epoch (see the class comment).</summary>
    public MlsMessage Stage() => _sender.StageCommit().Commit;

    public void Merge() => _sender.MergeStagedCommit();

    [IterationSetup(Target = nameof(ProcessCommit))]
    public void MakeCommit()
    {
        _pending = Stage();
        Merge();
    }

    [IterationCleanup(Target = nameof(CreateCommit))]
    public void MergeCreated() => Merge();

    [Benchmark]
    public MlsMessage CreateCommit() => Stage();

    public void Process(MlsMessage commit) => _receiver.Process(commit);

    [Benchmark]
    public ulong ProcessCommit()
    {
        Process(_pending);
        return _receiver.Epoch;
    }
}
