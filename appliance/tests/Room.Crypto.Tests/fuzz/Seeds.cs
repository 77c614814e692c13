using Room.Crypto.Mls;
using Room.Crypto.SFrame;

namespace Room.Crypto.Fuzz;

/// <summary>Real inputs for each target, made by Room.Crypto's own writers (suites 1, 2 and 3).</summary>
internal static class Seeds
{
    public static IEnumerable<(string Name, byte[] Data)> All()
    {
        foreach (ushort id in new ushort[] { 1, 2, 3 })
        {
            var cs = MlsCipherSuite.Get(id);
            foreach (bool asPublic in new[] { true, false })
            {
                string p = $"mls-s{id}-{(asPublic ? "pub" : "priv")}";
                var options = new MlsGroupOptions { HandshakeAsPublic = asPublic };
                using var alice = MlsGroup.Create(MlsIdentity.CreateBasic(cs, "alice"), "fuzz-seed"u8.ToArray(), options);
                var bobId = MlsIdentity.CreateBasic(cs, "bob");
                var bob = bobId.CreateKeyPackage();
                var add = alice.Commit(add: [bob.KeyPackage]);
                using var bobGroup = MlsGroup.Join(bobId, bob, add.Welcome!.Welcome!);
                var carol = MlsIdentity.CreateBasic(cs, "carol").CreateKeyPackage();
                var proposal = bobGroup.Propose(new Proposal { Type = ProposalType.Add, Add = carol.KeyPackage });
                var update = alice.Commit();
                var gi = alice.CreateGroupInfo();

                yield return Tag(Target.Kind.MlsMessage, $"{p}-commit-add", add.Commit.ToBytes());
                yield return Tag(Target.Kind.MlsMessage, $"{p}-commit-update", update.Commit.ToBytes());
                yield return Tag(Target.Kind.MlsMessage, $"{p}-proposal", proposal.ToBytes());
                yield return Tag(Target.Kind.MlsMessage, $"{p}-application", alice.EncryptApplication("hello"u8).ToBytes());
                if (asPublic)
                {
                    yield return Tag(Target.Kind.MlsMessage, $"{p}-welcome", add.Welcome!.ToBytes());
                    yield return Tag(Target.Kind.MlsMessage, $"{p}-keypackage", new MlsMessage { WireFormat = WireFormat.KeyPackage, KeyPackage = carol.KeyPackage }.ToBytes());
                    yield return Tag(Target.Kind.MlsMessage, $"{p}-groupinfo", new MlsMessage { WireFormat = WireFormat.GroupInfo, GroupInfo = gi }.ToBytes());
                    yield return Tag(Target.Kind.RatchetTree, $"{p}-tree", alice.Tree.Encode());
                    yield return Tag(Target.Kind.GroupInfo, $"{p}-groupinfo-raw", gi.ToBytes());
                    var gs = new GroupSecrets
                    {
                        JoinerSecret = new byte[cs.Nh],
                        PathSecret = new byte[cs.Nh],
                        Psks = [new PreSharedKeyId { Type = PskType.External, PskId = "psk"u8.ToArray(), PskNonce = new byte[cs.Nh] }],
                    };
                    yield return Tag(Target.Kind.GroupSecrets, $"{p}-groupsecrets", MlsWriter.Encode(gs.Write));
                }
            }
        }

        foreach (var (kid, ctr) in new (ulong, ulong)[] { (0, 0), (7, 7), (8, 8), (300, 70000), (ulong.MaxValue, ulong.MaxValue) })
        {
            byte[] h = new byte[SFrameHeader.MaxSize];
            int n = new SFrameHeader(kid, ctr).Encode(h);
            yield return Tag(Target.Kind.SFrameHeader, $"sframe-header-{kid:x}-{ctr:x}", h[..n]);
        }

        for (int s = 0; s < Target.Suites.Length; s++)
        {
            using var tx = new SFrameContext(Target.Suites[s]);
            foreach (ulong kid in new ulong[] { 2, 300 })
            {
                tx.AddKey(kid, Target.BaseKey(kid));
                byte[] frame = new byte[kid == 2 ? 20 : 200];
                byte[] output = new byte[frame.Length + SFrameHeader.MaxSize + 16];
                int n = tx.Encrypt(kid, [], frame, output);
                yield return Tag(Target.Kind.SFrameDecrypt, $"sframe-suite{(ushort)Target.Suites[s]}-kid{kid}", [(byte)s, .. output[..n]]);
            }
        }
    }

    private static (string, byte[]) Tag(Target.Kind kind, string name, byte[] data) => ($"seed-{name}", [(byte)kind, .. data]);
}
