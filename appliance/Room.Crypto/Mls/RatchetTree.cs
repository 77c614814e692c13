using System.Security.Cryptography;

namespace Room.Crypto.Mls;

/// <summary>
/// The public ratchet tree (RFC 9420 section 7): nodes in array order, leaf count always a power of two.
/// </summary>
public sealed class RatchetTree
{
    private readonly List<Node?> _nodes;
    private Dictionary<uint, byte[]>? _hashCache;
    private MlsCipherSuite? _hashSuite;

    private RatchetTree(List<Node?> nodes) => _nodes = nodes;

    /// <summary>A change of the tree's size drops every cached tree hash.</summary>
    private void Invalidate() => _hashCache = null;

    /// <summary>
    /// A change of <paramref name="node"/> (its content, or a parent's unmerged leaves) drops the cached tree hashes of
    /// it and its ancestors: a tree hash covers exactly the node's subtree, so every other cached hash stays true.
    /// </summary>
    private void Invalidate(uint node)
    {
        if (_hashCache == null)
        {
            return;
        }

        uint root = Root;
        while (true)
        {
            _hashCache.Remove(node);
            if (node == root)
            {
                return;
            }

            node = TreeMath.Parent(node, LeafCount);
        }
    }

    public uint LeafCount => ((uint)_nodes.Count + 1) / 2;

    public uint NodeCount => (uint)_nodes.Count;

    public Node? this[uint node] => _nodes[(int)node];

    public static RatchetTree Create(LeafNode first) => new([new Node { Leaf = first }]);

    /// <summary>An independent copy (through the wire form): nothing is shared, no tree hash is carried over.</summary>
    public RatchetTree Clone() => FromWire(MlsReader.DecodeAll(MlsWriter.Encode(WriteWire), Node.ReadTree));

    /// <summary>
    /// The copy a group changes into its next epoch, cheaper than <see cref="Clone"/>: parent nodes are copied (they
    /// change in place: parent hash, unmerged leaves); leaf nodes are shared, as a tree never changes a leaf node in
    /// place, only replaces it; the cached tree hashes come along, as they describe the same nodes.
    /// </summary>
    internal RatchetTree CopyForChange() => new([.. _nodes.Select(n => n?.Parent is { } p ? new Node { Parent = p.Clone() } : n)])
    {
        _hashCache = _hashCache == null ? null : new Dictionary<uint, byte[]>(_hashCache),
        _hashSuite = _hashSuite,
    };

    /// <summary>Builds a tree from the ratchet_tree extension form, padding trailing blanks and checking node kinds.</summary>
    public static RatchetTree FromWire(List<Node?> nodes)
    {
        if (nodes.Count == 0 || nodes[^1] is null)
        {
            throw new MlsDecodeException("ratchet tree is empty or has a trailing blank node");
        }

        if (nodes.Count % 2 == 0)
        {
            throw new MlsDecodeException("ratchet tree has an even number of nodes");
        }

        uint leaves = ((uint)nodes.Count + 1) / 2;
        uint full = 1;
        while (full < leaves)
        {
            full <<= 1;
        }

        var list = new List<Node?>(nodes);
        while (list.Count < (int)TreeMath.NodeWidth(full))
        {
            list.Add(null);
        }

        for (int i = 0; i < list.Count; i++)
        {
            var n = list[i];
            if (n != null && (i % 2 == 0) != (n.Leaf != null))
            {
                throw new MlsDecodeException($"node {i} has the wrong type for its position");
            }
        }

        return new RatchetTree(list);
    }

    public static RatchetTree Decode(ReadOnlyMemory<byte> data) => FromWire(MlsReader.DecodeAll(data, Node.ReadTree));

    public List<Node?> ToWire()
    {
        int last = _nodes.FindLastIndex(n => n != null);
        return _nodes.Take(last + 1).ToList();
    }

    public void WriteWire(MlsWriter w) => Node.WriteTree(w, ToWire());

    public byte[] Encode() => MlsWriter.Encode(WriteWire);

    public LeafNode? Leaf(uint leaf) => leaf < LeafCount ? _nodes[(int)(2 * leaf)]?.Leaf : null;

    public ParentNode? Parent(uint node) => _nodes[(int)node]?.Parent;

    public IEnumerable<uint> NonBlankLeaves()
    {
        for (uint i = 0; i < LeafCount; i++)
        {
            if (Leaf(i) != null)
            {
                yield return i;
            }
        }
    }

    internal void SetNode(uint node, Node? value)
    {
        _nodes[(int)node] = value;
        Invalidate(node);
    }

    public List<uint> Resolution(uint node)
    {
        var res = new List<uint>();
        Resolve(node, res);
        return res;
    }

    private void Resolve(uint node, List<uint> res)
    {
        var n = _nodes[(int)node];
        if (n != null)
        {
            res.Add(node);
            if (n.Parent != null)
            {
                res.AddRange(n.Parent.UnmergedLeaves.Select(TreeMath.LeafToNode));
            }
        }
        else if (TreeMath.Level(node) > 0)
        {
            Resolve(TreeMath.Left(node), res);
            Resolve(TreeMath.Right(node), res);
        }
    }

    public uint Root => TreeMath.Root(LeafCount);

    public byte[] RootHash(MlsCipherSuite cs) => TreeHash(cs, Root);

    public byte[] TreeHash(MlsCipherSuite cs, uint node)
    {
        if (_hashCache == null || !ReferenceEquals(_hashSuite, cs))
        {
            _hashCache = [];
            _hashSuite = cs;
        }

        if (_hashCache.TryGetValue(node, out var cached))
        {
            return cached;
        }

        var w = new MlsWriter();
        var n = _nodes[(int)node];
        if (TreeMath.Level(node) == 0)
        {
            w.U8(1);
            w.U32(TreeMath.NodeToLeaf(node));
            w.Optional(n?.Leaf, (w2, l) => l.Write(w2));
        }
        else
        {
            byte[] left = TreeHash(cs, TreeMath.Left(node)), right = TreeHash(cs, TreeMath.Right(node));
            w.U8(2);
            w.Optional(n?.Parent, (w2, p) => p.Write(w2));
            w.Opaque(left);
            w.Opaque(right);
        }

        byte[] h = cs.HashData(w.Written);
        _hashCache[node] = h;
        return h;
    }

    /// <summary>All tree hashes at once (index = node).</summary>
    public byte[][] AllTreeHashes(MlsCipherSuite cs)
    {
        var h = new byte[_nodes.Count][];
        for (uint n = 0; n < h.Length; n++)
        {
            h[n] = TreeHash(cs, n);
        }

        return h;
    }

    /// <summary>ParentHash(P) as seen from the child whose sibling is <paramref name="sibling"/>.</summary>
    public byte[] ParentHash(MlsCipherSuite cs, uint parent, uint sibling)
    {
        var p = Parent(parent) ?? throw new MlsException("parent hash of a blank node");
        byte[] siblingHash;
        if (p.UnmergedLeaves.Count == 0)
        {
            siblingHash = TreeHash(cs, sibling);
        }
        else
        {
            var copy = CopyForChange();
            copy.Invalidate();
            foreach (uint l in p.UnmergedLeaves)
            {
                copy._nodes[(int)TreeMath.LeafToNode(l)] = null;
                foreach (var n in copy._nodes)
                {
                    n?.Parent?.UnmergedLeaves.Remove(l);
                }
            }

            siblingHash = copy.TreeHash(cs, sibling);
        }

        var w = new MlsWriter();
        w.Opaque(p.EncryptionKey);
        w.Opaque(p.ParentHash);
        w.Opaque(siblingHash);
        return cs.HashData(w.Written);
    }

    private static byte[] ParentHashField(Node n) => n.Leaf != null ? (n.Leaf.Source == LeafNodeSource.Commit ? n.Leaf.ParentHash : []) : n.Parent!.ParentHash;

    /// <summary>Every non-blank parent node must be parent-hash valid with respect to one of its children (RFC 9420 7.9.2).</summary>
    public bool VerifyParentHashes(MlsCipherSuite cs)
    {
        for (uint p = 1; p < _nodes.Count; p += 2)
        {
            var pn = Parent(p);
            if (pn == null)
            {
                continue;
            }

            bool ok = false;
            foreach (var (c, s) in new[] { (TreeMath.Left(p), TreeMath.Right(p)), (TreeMath.Right(p), TreeMath.Left(p)) })
            {
                byte[] ph = ParentHash(cs, p, s);
                var unmergedInC = pn.UnmergedLeaves.Select(TreeMath.LeafToNode).Where(x => InSubtree(c, x)).ToHashSet();
                foreach (uint d in Resolution(c))
                {
                    var dn = _nodes[(int)d];
                    if (dn == null || unmergedInC.Contains(d) || !ParentHashField(dn).AsSpan().SequenceEqual(ph))
                    {
                        continue;
                    }

                    var rest = Resolution(c).Where(x => x != d).ToHashSet();
                    if (rest.SetEquals(unmergedInC))
                    {
                        ok = true;
                        break;
                    }
                }

                if (ok)
                {
                    break;
                }
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True if node x lies in the subtree rooted at node root.</summary>
    public static bool InSubtree(uint root, uint x)
    {
        uint k = TreeMath.Level(root);
        uint lo = root - ((1u << (int)k) - 1), hi = root + ((1u << (int)k) - 1);
        return x >= lo && x <= hi;
    }

    /// <summary>Checks leaf signatures, unmerged-leaf sanity and distinct keys (part of RFC 9420 7.9 / 12.4.3.1).</summary>
    public void VerifyLeaves(MlsCipherSuite cs, byte[] groupId)
    {
        var encKeys = new HashSet<string>();
        var sigKeys = new HashSet<string>();
        for (uint i = 0; i < LeafCount; i++)
        {
            var l = Leaf(i);
            if (l == null)
            {
                continue;
            }

            if (!l.VerifySignature(cs, groupId, i))
            {
                throw new MlsException($"leaf {i} signature invalid");
            }

            if (!encKeys.Add(Convert.ToHexString(l.EncryptionKey)) || !sigKeys.Add(Convert.ToHexString(l.SignatureKey)))
            {
                throw new MlsException($"leaf {i} reuses a key");
            }
        }

        for (uint p = 1; p < _nodes.Count; p += 2)
        {
            var pn = Parent(p);
            if (pn == null)
            {
                continue;
            }

            if (!encKeys.Add(Convert.ToHexString(pn.EncryptionKey)))
            {
                throw new MlsException($"node {p} reuses an encryption key");
            }

            foreach (uint l in pn.UnmergedLeaves)
            {
                uint ln = TreeMath.LeafToNode(l);
                if (!InSubtree(p, ln) || Leaf(l) == null)
                {
                    throw new MlsException($"node {p} has an invalid unmerged leaf {l}");
                }

                // The leaf must also be unmerged at every non-blank ancestor between it and p.
                foreach (uint a in TreeMath.DirectPath(ln, LeafCount).TakeWhile(a => a != p))
                {
                    var an = Parent(a);
                    if (an != null && !an.UnmergedLeaves.Contains(l))
                    {
                        throw new MlsException($"unmerged leaf {l} missing below node {p}");
                    }
                }
            }
        }
    }

    /// <summary>Adds a leaf in the leftmost blank slot (extending the tree if full); returns its leaf index.</summary>
    public uint AddLeaf(LeafNode leaf)
    {
        uint index = 0;
        while (index < LeafCount && Leaf(index) != null)
        {
            index++;
        }

        if (index == LeafCount)
        {
            int width = _nodes.Count;
            for (int i = 0; i < width + 1; i++)
            {
                _nodes.Add(null);
            }
        }

        uint node = TreeMath.LeafToNode(index);
        Invalidate(node); // and every parent whose unmerged leaves change below
        _nodes[(int)node] = new Node { Leaf = leaf };
        foreach (uint p in TreeMath.DirectPath(node, LeafCount))
        {
            Parent(p)?.UnmergedLeaves.Add(index);
        }

        return index;
    }

    public void BlankPath(uint leaf)
    {
        Invalidate(TreeMath.LeafToNode(leaf));
        foreach (uint p in TreeMath.DirectPath(TreeMath.LeafToNode(leaf), LeafCount))
        {
            _nodes[(int)p] = null;
        }
    }

    public void UpdateLeaf(uint leaf, LeafNode node)
    {
        Invalidate(TreeMath.LeafToNode(leaf));
        _nodes[(int)TreeMath.LeafToNode(leaf)] = new Node { Leaf = node };
        BlankPath(leaf);
    }

    public void RemoveLeaf(uint leaf)
    {
        if (Leaf(leaf) == null)
        {
            throw new MlsException("remove of a blank leaf");
        }

        Invalidate(TreeMath.LeafToNode(leaf));
        _nodes[(int)TreeMath.LeafToNode(leaf)] = null;
        BlankPath(leaf);
        Truncate();
    }

    private void Truncate()
    {
        while (LeafCount > 1)
        {
            uint half = LeafCount / 2;
            bool rightBlank = true;
            for (uint i = half; i < LeafCount; i++)
            {
                if (Leaf(i) != null)
                {
                    rightBlank = false;
                    break;
                }
            }

            if (!rightBlank)
            {
                break;
            }

            _nodes.RemoveRange((int)TreeMath.NodeWidth(half), _nodes.Count - (int)TreeMath.NodeWidth(half));
            Invalidate();
        }
    }

    /// <summary>Direct path of a leaf with nodes whose copath child has an empty resolution removed.</summary>
    public List<uint> FilteredDirectPath(uint leaf)
    {
        uint node = TreeMath.LeafToNode(leaf);
        var dp = TreeMath.DirectPath(node, LeafCount);
        var cp = TreeMath.Copath(node, LeafCount);
        var f = new List<uint>();
        for (int i = 0; i < dp.Count; i++)
        {
            if (Resolution(cp[i]).Count > 0)
            {
                f.Add(dp[i]);
            }
        }

        return f;
    }

    /// <summary>The child of <paramref name="ancestor"/> that is on the path to <paramref name="node"/>, and the other one.</summary>
    public static (uint OnPath, uint Other) Children(uint ancestor, uint node)
    {
        uint l = TreeMath.Left(ancestor), r = TreeMath.Right(ancestor);
        return InSubtree(l, node) ? (l, r) : (r, l);
    }

    /// <summary>
    /// Sets the parent_hash fields along a sender's filtered direct path (top-down) and returns the value for the leaf.
    /// </summary>
    public byte[] SetPathParentHashes(MlsCipherSuite cs, uint leaf, List<uint> fdp)
    {
        uint leafNode = TreeMath.LeafToNode(leaf);
        byte[] below = [];
        for (int i = fdp.Count - 1; i >= 0; i--)
        {
            Parent(fdp[i])!.ParentHash = below;
            Invalidate(fdp[i]);
            var (_, sibling) = Children(fdp[i], leafNode);
            below = ParentHash(cs, fdp[i], sibling);
        }

        return below;
    }

    public int IndexOfSignatureKey(ReadOnlySpan<byte> key)
    {
        for (uint i = 0; i < LeafCount; i++)
        {
            if (Leaf(i) is { } l && l.SignatureKey.AsSpan().SequenceEqual(key))
            {
                return (int)i;
            }
        }

        return -1;
    }

    public int IndexOfEncryptionKey(ReadOnlySpan<byte> key)
    {
        for (uint i = 0; i < LeafCount; i++)
        {
            if (Leaf(i) is { } l && l.EncryptionKey.AsSpan().SequenceEqual(key))
            {
                return (int)i;
            }
        }

        return -1;
    }

    internal static void Zero(byte[]? b)
    {
        if (b != null)
        {
            CryptographicOperations.ZeroMemory(b);
        }
    }
}
