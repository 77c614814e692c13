using System.Text.Json;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests.Vectors;

/// <summary>treekem.json.</summary>
public static class MlsTreeKemVectors
{
    private static Dictionary<uint, (TreePrivateState State, byte[] SigPriv)> Privates(JsonElement v, MlsCipherSuite cs, RatchetTree tree)
    {
        var d = new Dictionary<uint, (TreePrivateState, byte[])>();
        foreach (var lp in v.GetProperty("leaves_private").EnumerateArray())
        {
            uint idx = lp.GetProperty("index").GetUInt32();
            var st = new TreePrivateState(idx, lp.Hex("encryption_priv"));
            foreach (var ps in lp.GetProperty("path_secrets").EnumerateArray())
            {
                st.SetPathSecret(cs, ps.GetProperty("node").GetUInt32(), ps.Hex("path_secret"));
            }

            Check.True(st.ConsistentWith(cs, tree), $"private state of leaf {idx} consistent with tree");
            d[idx] = (st, lp.Hex("signature_priv"));
        }

        return d;
    }

    public static Tally Run(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        byte[] groupId = v.Hex("group_id");
        ulong epoch = v.GetProperty("epoch").GetUInt64();
        byte[] cth = v.Hex("confirmed_transcript_hash");
        var baseTree = RatchetTree.Decode(v.Hex("ratchet_tree"));
        Func<RatchetTree, byte[]> ctx = t => new GroupContext { CipherSuite = cs.Id, GroupId = groupId, Epoch = epoch, TreeHash = t.RootHash(cs), ConfirmedTranscriptHash = cth }.ToBytes();
        var none = new HashSet<uint>();
        var privatesOnce = Privates(v, cs, baseTree);
        Check.True(privatesOnce.Count > 0, "has private leaves");
        Dictionary<uint, (TreePrivateState State, byte[] SigPriv)> Fresh() =>
            privatesOnce.ToDictionary(kv => kv.Key, kv => (kv.Value.State.Clone(), kv.Value.SigPriv));

        foreach (var up in v.GetProperty("update_paths").EnumerateArray())
        {
            uint sender = up.GetProperty("sender").GetUInt32();
            var path = MlsReader.DecodeAll(up.Hex("update_path"), UpdatePath.Read);
            var secrets = up.GetProperty("path_secrets");
            byte[] commitSecret = up.Hex("commit_secret");
            var privates = Fresh();
            foreach (var (j, (st, _)) in privates)
            {
                if (j == sender)
                {
                    continue;
                }

                var t = baseTree.Clone();
                byte[]? cs2 = TreeKem.ApplyPath(cs, t, sender, path, st, groupId, none, ctx, out var ps);
                Check.Equal(secrets[(int)j].Hex(), ps!, $"path secret for leaf {j} from {sender}");
                Check.Equal(commitSecret, cs2!, $"commit secret for leaf {j}");
                Check.Equal(up.Hex("tree_hash_after"), t.RootHash(cs), "tree_hash_after");
            }

            var merged = baseTree.Clone();
            TreeKem.ApplyPath(cs, merged, sender, path, null, groupId, none, ctx, out _);
            Check.Equal(up.Hex("tree_hash_after"), merged.RootHash(cs), "tree_hash_after (public merge)");
            Check.True(merged.VerifyParentHashes(cs), "parent hashes after merge");

            // A new path from the same sender is processed by every other private leaf to the same commit secret.
            var fresh = Fresh();
            if (!fresh.TryGetValue(sender, out var senderState))
            {
                continue;
            }

            var senderTree = baseTree.Clone();
            var (newPath, newSecret, _) = TreeKem.CreatePath(cs, senderTree, senderState.State, baseTree.Leaf(sender)!, senderState.SigPriv, groupId, none, ctx);
            Check.True(senderTree.VerifyParentHashes(cs), "own new path parent hashes");
            var wirePath = MlsReader.DecodeAll(MlsWriter.Encode(newPath.Write), UpdatePath.Read);
            foreach (var (j, (st, _)) in fresh)
            {
                if (j == sender)
                {
                    continue;
                }

                var t = baseTree.Clone();
                byte[]? got = TreeKem.ApplyPath(cs, t, sender, wirePath, st, groupId, none, ctx, out _);
                Check.Equal(newSecret, got!, $"new commit secret at leaf {j}");
                Check.Equal(senderTree.RootHash(cs), t.RootHash(cs), "trees agree");
            }
        }
    });
}
