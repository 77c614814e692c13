using Room.Crypto.Mls;

namespace Room.Crypto.Tests;

/// <summary>
/// The ratchet tree caches tree hashes and drops only those a change reaches (the node and its ancestors); clones
/// carry the cache. After every kind of change, each cached hash must equal the hash of a freshly decoded copy.
/// </summary>
public sealed class RatchetTreeHashCacheTests
{
    private static readonly MlsCipherSuite Cs = MlsCipherSuite.Get(1);

    private static LeafNode NewLeaf(string name) => MlsIdentity.CreateBasic(Cs, name).CreateKeyPackage().KeyPackage.LeafNode;

    private static void AssertCacheTrue(RatchetTree tree)
    {
        var fresh = RatchetTree.Decode(tree.Encode());
        Assert.Equal(fresh.AllTreeHashes(Cs), tree.AllTreeHashes(Cs));
    }

    /// <summary>A 5-member group after a few commits: parent nodes with keys, parent hashes and unmerged leaves.</summary>
    private static RatchetTree Grown()
    {
        var alice = MlsGroup.Create(MlsIdentity.CreateBasic(Cs, "alice"), "g"u8.ToArray());
        alice.Commit(add: [.. new[] { "b", "c", "d" }.Select(n => MlsIdentity.CreateBasic(Cs, n).CreateKeyPackage().KeyPackage)]);
        alice.Commit();
        alice.Commit(add: [MlsIdentity.CreateBasic(Cs, "e").CreateKeyPackage().KeyPackage]);
        return alice.Tree;
    }

    [Fact]
    public void Every_change_drops_exactly_the_stale_hashes()
    {
        var tree = Grown().CopyForChange();
        tree.AllTreeHashes(Cs); // warm the cache
        uint added = tree.AddLeaf(NewLeaf("f"));
        AssertCacheTrue(tree);
        tree.UpdateLeaf(1, NewLeaf("b2"));
        AssertCacheTrue(tree);
        tree.BlankPath(0);
        AssertCacheTrue(tree);
        tree.RemoveLeaf(added);
        AssertCacheTrue(tree);
        while (tree.AddLeaf(NewLeaf("g" + tree.LeafCount)) < tree.LeafCount - 1)
        {
        }

        tree.AddLeaf(NewLeaf("h")); // a full tree grows: a new root above the old one
        AssertCacheTrue(tree);
        for (uint l = tree.LeafCount - 1; l >= 4; l--)
        {
            if (tree.Leaf(l) != null)
            {
                tree.RemoveLeaf(l); // the tree shrinks again
            }
        }

        AssertCacheTrue(tree);
    }

    [Fact]
    public void A_commit_path_and_its_parent_hashes_update_the_cache()
    {
        var tree = Grown().CopyForChange();
        tree.AllTreeHashes(Cs);
        var fdp = tree.FilteredDirectPath(2);
        tree.BlankPath(2);
        foreach (uint n in fdp)
        {
            tree.SetNode(n, new Node { Parent = new ParentNode { EncryptionKey = Cs.Hpke.Kem.GenerateKeyPair().PublicKey } });
        }

        tree.SetPathParentHashes(Cs, 2, fdp);
        AssertCacheTrue(tree);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Changing_a_copy_leaves_the_original_and_its_hashes_alone(bool forChange)
    {
        var original = Grown();
        byte[] before = original.RootHash(Cs);
        byte[] encoded = original.Encode();
        var copy = forChange ? original.CopyForChange() : original.Clone();
        copy.AddLeaf(NewLeaf("f")); // adds unmerged leaves to parent nodes of the copy only
        copy.UpdateLeaf(0, NewLeaf("a2"));
        Assert.Equal(encoded, original.Encode());
        Assert.Equal(before, original.RootHash(Cs));
        AssertCacheTrue(original);
        AssertCacheTrue(copy);
        Assert.NotEqual(before, copy.RootHash(Cs));
    }
}
