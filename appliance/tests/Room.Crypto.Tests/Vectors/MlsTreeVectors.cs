using Room.Crypto.Mls;

namespace Room.Crypto.Tests.Vectors;

/// <summary>tree-validation, tree-operations.</summary>
public static class MlsTreeVectors
{
    public static Tally ValidationRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var tree = RatchetTree.Decode(v.Hex("tree"));
        var hashes = tree.AllTreeHashes(cs);
        int i = 0;
        foreach (var h in v.GetProperty("tree_hashes").EnumerateArray())
        {
            Check.Equal(h.Hex(), hashes[i], $"tree hash {i}");
            Check.Equal(h.Hex(), tree.TreeHash(cs, (uint)i), $"tree hash (recursive) {i}");
            i++;
        }

        i = 0;
        foreach (var r in v.GetProperty("resolutions").EnumerateArray())
        {
            var expected = r.EnumerateArray().Select(x => x.GetUInt32()).ToArray();
            Check.True(expected.SequenceEqual(tree.Resolution((uint)i)), $"resolution {i}");
            i++;
        }

        Check.True(tree.VerifyParentHashes(cs), "parent hashes");
        tree.VerifyLeaves(cs, v.Hex("group_id"));
    });

    public static Tally OperationsRun(string file) => MlsBasicVectors.PerSuite(file, (v, cs) =>
    {
        var tree = RatchetTree.Decode(v.Hex("tree_before"));
        Check.Equal(v.Hex("tree_hash_before"), tree.RootHash(cs), "tree_hash_before");
        var p = MlsReader.DecodeAll(v.Hex("proposal"), Proposal.Read);
        uint sender = v.GetProperty("proposal_sender").GetUInt32();
        switch (p.Type)
        {
            case ProposalType.Add: tree.AddLeaf(p.Add!.LeafNode); break;
            case ProposalType.Update: tree.UpdateLeaf(sender, p.Update!); break;
            case ProposalType.Remove: tree.RemoveLeaf(p.Removed); break;
            default: throw new InvalidOperationException("unexpected proposal " + p.Type);
        }

        Check.Equal(v.Hex("tree_after"), tree.Encode(), "tree_after");
        Check.Equal(v.Hex("tree_hash_after"), tree.RootHash(cs), "tree_hash_after");
    });
}
