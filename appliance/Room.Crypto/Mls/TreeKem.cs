using System.Security.Cryptography;

namespace Room.Crypto.Mls;

/// <summary>A member's private view of the tree: HPKE private keys by node index (its leaf included).</summary>
public sealed class TreePrivateState : IDisposable
{
    public TreePrivateState(uint leaf, byte[] leafPrivateKey)
    {
        Leaf = leaf;
        Keys[TreeMath.LeafToNode(leaf)] = leafPrivateKey;
    }

    public uint Leaf { get; set; }

    public Dictionary<uint, byte[]> Keys { get; } = [];

    public void SetKey(uint node, byte[] privateKey, byte[] publicKey)
    {
        Keys[node] = privateKey;
        _publicCache[node] = (privateKey, publicKey);
    }

    public void SetPathSecret(MlsCipherSuite cs, uint node, byte[] pathSecret)
    {
        byte[] nodeSecret = cs.DeriveSecret(pathSecret, "node");
        var (sk, pk) = cs.DeriveHpkeKeyPair(nodeSecret);
        Keys[node] = sk;
        _publicCache[node] = (sk, pk);
        CryptographicOperations.ZeroMemory(nodeSecret);
    }

    // Public keys of held private keys, computed once (scalar multiplications are costly on P-384/P-521).
    private readonly Dictionary<uint, (byte[] Private, byte[] Public)> _publicCache = [];

    private byte[] PublicOf(MlsCipherSuite cs, uint node)
    {
        byte[] sk = Keys[node];
        if (_publicCache.TryGetValue(node, out var e) && ReferenceEquals(e.Private, sk))
        {
            return e.Public;
        }

        byte[] pk = cs.Hpke.Kem.PublicKeyOf(sk);
        _publicCache[node] = (sk, pk);
        return pk;
    }

    /// <summary>Every held key must match a non-blank node's public key.</summary>
    public bool ConsistentWith(MlsCipherSuite cs, RatchetTree tree) => Keys.Keys.All(k =>
        k < tree.NodeCount && tree[k] is { } n && PublicOf(cs, k).AsSpan().SequenceEqual(n.EncryptionKey));

    /// <summary>Drops keys for nodes that are now blank or replaced.</summary>
    public void Prune(MlsCipherSuite cs, RatchetTree tree)
    {
        foreach (var k in Keys.Keys.ToList())
        {
            if (k >= tree.NodeCount || tree[k] is not { } n || !PublicOf(cs, k).AsSpan().SequenceEqual(n.EncryptionKey))
            {
                CryptographicOperations.ZeroMemory(Keys[k]);
                Keys.Remove(k);
            }
        }
    }

    public TreePrivateState Clone()
    {
        var c = new TreePrivateState(Leaf, (byte[])Keys[TreeMath.LeafToNode(Leaf)].Clone());
        foreach (var kv in Keys)
        {
            if (c.Keys.TryGetValue(kv.Key, out var placeholder))
            {
                CryptographicOperations.ZeroMemory(placeholder);
            }

            c.Keys[kv.Key] = (byte[])kv.Value.Clone();
            if (_publicCache.TryGetValue(kv.Key, out var e) && ReferenceEquals(e.Private, kv.Value))
            {
                c._publicCache[kv.Key] = (c.Keys[kv.Key], e.Public);
            }
        }

        return c;
    }

    public void Dispose()
    {
        foreach (var k in Keys.Values)
        {
            CryptographicOperations.ZeroMemory(k);
        }

        Keys.Clear();
        _publicCache.Clear();
    }
}

/// <summary>TreeKEM: creating and processing UpdatePaths (RFC 9420 sections 7.4-7.6).</summary>
public static class TreeKem
{
    /// <summary>From this many path-secret encryptions on, a commit encrypts them in parallel.</summary>
    public const int ParallelSealThreshold = 8;

    /// <summary>How many path-secret encryptions a commit by <paramref name="leaf"/> needs in this tree.</summary>
    internal static int PathRecipients(RatchetTree tree, uint leaf, IReadOnlySet<uint> exclude) =>
        tree.FilteredDirectPath(leaf).Sum(n => Recipients(tree, RatchetTree.Children(n, TreeMath.LeafToNode(leaf)).Other, exclude).Count);

    private static List<uint> Recipients(RatchetTree tree, uint copathChild, IReadOnlySet<uint> exclude) =>
        tree.Resolution(copathChild).Where(n => !(TreeMath.Level(n) == 0 && exclude.Contains(TreeMath.NodeToLeaf(n)))).ToList();

    /// <summary>
    /// Replaces the sender's path in <paramref name="tree"/> with fresh keys, signs the new leaf and encrypts the path
    /// secrets. <paramref name="contextFor"/> maps the new tree to the serialized provisional GroupContext.
    /// </summary>
    public static (UpdatePath Path, byte[] CommitSecret, Dictionary<uint, byte[]> PathSecrets) CreatePath(
        MlsCipherSuite cs, RatchetTree tree, TreePrivateState me, LeafNode leafTemplate, byte[] signaturePrivateKey,
        byte[] groupId, IReadOnlySet<uint> exclude, Func<RatchetTree, byte[]> contextFor)
    {
        uint leaf = me.Leaf;
        uint leafNode = TreeMath.LeafToNode(leaf);
        var fdp = tree.FilteredDirectPath(leaf);
        tree.BlankPath(leaf);
        var secrets = new List<byte[]>();
        byte[] ps = RandomNumberGenerator.GetBytes(cs.Nh);
        me.Dispose();
        foreach (uint n in fdp)
        {
            secrets.Add(ps);
            byte[] nodeSecret = cs.DeriveSecret(ps, "node");
            var (sk, pk) = cs.DeriveHpkeKeyPair(nodeSecret);
            CryptographicOperations.ZeroMemory(nodeSecret);
            me.SetKey(n, sk, pk);
            tree.SetNode(n, new Node { Parent = new ParentNode { EncryptionKey = pk } });
            ps = cs.DeriveSecret(ps, "path");
        }

        byte[] commitSecret = ps;
        var (leafSk, leafPk) = cs.Hpke.Kem.GenerateKeyPair();
        me.SetKey(leafNode, leafSk, leafPk);
        var newLeaf = leafTemplate.Clone();
        newLeaf.EncryptionKey = leafPk;
        newLeaf.Source = LeafNodeSource.Commit;
        newLeaf.ParentHash = tree.SetPathParentHashes(cs, leaf, fdp);
        newLeaf.Sign(cs, signaturePrivateKey, groupId, leaf);
        tree.SetNode(leafNode, new Node { Leaf = newLeaf });

        byte[] gc = contextFor(tree);
        var path = new UpdatePath { LeafNode = newLeaf };
        var jobs = new List<(int Node, byte[] PublicKey)>();
        for (int i = 0; i < fdp.Count; i++)
        {
            var (_, other) = RatchetTree.Children(fdp[i], leafNode);
            path.Nodes.Add(new UpdatePathNode { EncryptionKey = tree[fdp[i]]!.EncryptionKey });
            foreach (uint r in Recipients(tree, other, exclude))
            {
                jobs.Add((i, tree[r]!.EncryptionKey));
            }
        }

        // One HPKE encryption per recipient (two scalar multiplications each): independent, so large groups use every
        // core. The ciphertexts keep the resolution order.
        var ciphertexts = new HpkeCiphertext[jobs.Count];
        var sealer = cs.SealerWithLabel("UpdatePathNode", gc);
        void Seal(int j)
        {
            var (kem, ct) = sealer.Seal(jobs[j].PublicKey, [], secrets[jobs[j].Node]);
            ciphertexts[j] = new HpkeCiphertext { KemOutput = kem, Ciphertext = ct };
        }

        if (jobs.Count >= ParallelSealThreshold && Environment.ProcessorCount > 1)
        {
            Parallel.For(0, jobs.Count, Seal);
        }
        else
        {
            for (int j = 0; j < jobs.Count; j++)
            {
                Seal(j);
            }
        }

        for (int j = 0; j < jobs.Count; j++)
        {
            path.Nodes[jobs[j].Node].EncryptedPathSecret.Add(ciphertexts[j]);
        }

        var byNode = new Dictionary<uint, byte[]>();
        for (int i = 0; i < fdp.Count; i++)
        {
            byNode[fdp[i]] = secrets[i];
        }

        return (path, commitSecret, byNode);
    }

    /// <summary>
    /// Merges a received UpdatePath into <paramref name="tree"/> and, if <paramref name="me"/> is given, decrypts
    /// the path secret and returns the commit secret (null when me is null).
    /// </summary>
    public static byte[]? ApplyPath(
        MlsCipherSuite cs, RatchetTree tree, uint sender, UpdatePath path, TreePrivateState? me,
        byte[] groupId, IReadOnlySet<uint> exclude, Func<RatchetTree, byte[]> contextFor, out byte[]? decryptedPathSecret)
    {
        decryptedPathSecret = null;
        if (path.LeafNode.Source != LeafNodeSource.Commit)
        {
            throw new MlsException("UpdatePath leaf node must have source commit");
        }

        if (!path.LeafNode.VerifySignature(cs, groupId, sender))
        {
            throw new MlsException("UpdatePath leaf signature invalid");
        }

        uint leafNode = TreeMath.LeafToNode(sender);
        var fdp = tree.FilteredDirectPath(sender);
        if (path.Nodes.Count != fdp.Count)
        {
            throw new MlsException("UpdatePath length does not match the filtered direct path");
        }

        var recipients = new List<List<uint>>();
        for (int i = 0; i < fdp.Count; i++)
        {
            recipients.Add(Recipients(tree, RatchetTree.Children(fdp[i], leafNode).Other, exclude));
            if (path.Nodes[i].EncryptedPathSecret.Count != recipients[i].Count)
            {
                throw new MlsException("UpdatePath node has the wrong number of ciphertexts");
            }
        }

        tree.BlankPath(sender);
        for (int i = 0; i < fdp.Count; i++)
        {
            tree.SetNode(fdp[i], new Node { Parent = new ParentNode { EncryptionKey = path.Nodes[i].EncryptionKey } });
        }

        byte[] leafParentHash = tree.SetPathParentHashes(cs, sender, fdp);
        if (!CryptographicOperations.FixedTimeEquals(leafParentHash, path.LeafNode.ParentHash))
        {
            throw new MlsException("UpdatePath parent hash mismatch");
        }

        tree.SetNode(leafNode, new Node { Leaf = path.LeafNode });
        if (me == null)
        {
            return null;
        }

        if (me.Leaf == sender)
        {
            throw new MlsException("cannot process one's own UpdatePath");
        }

        byte[] gc = contextFor(tree);
        uint myNode = TreeMath.LeafToNode(me.Leaf);
        int k = fdp.FindIndex(n => RatchetTree.InSubtree(n, myNode));
        if (k < 0)
        {
            throw new MlsException("no common ancestor with the sender");
        }

        int pos = recipients[k].FindIndex(me.Keys.ContainsKey);
        if (pos < 0)
        {
            throw new MlsException("no private key to decrypt the UpdatePath");
        }

        var ct = path.Nodes[k].EncryptedPathSecret[pos];
        byte[] ps = cs.DecryptWithLabel(me.Keys[recipients[k][pos]], "UpdatePathNode", gc, ct.KemOutput, ct.Ciphertext);
        decryptedPathSecret = (byte[])ps.Clone();
        me.Prune(cs, tree);
        for (int i = k; i < fdp.Count; i++)
        {
            byte[] nodeSecret = cs.DeriveSecret(ps, "node");
            var (sk, pk) = cs.DeriveHpkeKeyPair(nodeSecret);
            CryptographicOperations.ZeroMemory(nodeSecret);
            if (!pk.AsSpan().SequenceEqual(path.Nodes[i].EncryptionKey))
            {
                throw new MlsException("derived path key does not match the UpdatePath");
            }

            me.SetKey(fdp[i], sk, pk);
            byte[] next = cs.DeriveSecret(ps, "path");
            CryptographicOperations.ZeroMemory(ps);
            ps = next;
        }

        return ps;
    }

    /// <summary>For a joiner: derive keys from the path secret at the common ancestor upward.</summary>
    public static void ImplantPathSecret(MlsCipherSuite cs, RatchetTree tree, TreePrivateState me, uint sender, byte[] pathSecret)
    {
        uint ancestor = TreeMath.CommonAncestor(TreeMath.LeafToNode(me.Leaf), TreeMath.LeafToNode(sender));
        var fdp = tree.FilteredDirectPath(sender);
        int k = fdp.IndexOf(ancestor);
        if (k < 0)
        {
            throw new MlsException("path secret for a node not on the committer's filtered path");
        }

        byte[] ps = (byte[])pathSecret.Clone();
        for (int i = k; i < fdp.Count; i++)
        {
            me.SetPathSecret(cs, fdp[i], ps);
            byte[] next = cs.DeriveSecret(ps, "path");
            CryptographicOperations.ZeroMemory(ps);
            ps = next;
        }

        CryptographicOperations.ZeroMemory(ps);
        if (!me.ConsistentWith(cs, tree))
        {
            throw new MlsException("path secret does not match the tree");
        }
    }
}
