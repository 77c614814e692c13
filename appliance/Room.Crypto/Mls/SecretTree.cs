using System.Security.Cryptography;

namespace Room.Crypto.Mls;

/// <summary>One sender's symmetric hash ratchet (RFC 9420 section 9.1).</summary>
public sealed class HashRatchet : IDisposable
{
    /// <summary>How far ahead a receiver ratchets for out-of-order messages.</summary>
    public const uint MaxForward = 1024;

    private readonly MlsCipherSuite _cs;
    private readonly Dictionary<uint, (byte[] Key, byte[] Nonce)> _skipped = [];
    private byte[] _secret;

    public HashRatchet(MlsCipherSuite cs, byte[] secret)
    {
        _cs = cs;
        _secret = secret;
    }

    public uint NextGeneration { get; private set; }

    private (byte[] Key, byte[] Nonce) Step()
    {
        var key = _cs.DeriveTreeSecret(_secret, "key", NextGeneration, _cs.AeadKeySize);
        var nonce = _cs.DeriveTreeSecret(_secret, "nonce", NextGeneration, _cs.AeadNonceSize);
        byte[] next = _cs.DeriveTreeSecret(_secret, "secret", NextGeneration, _cs.Nh);
        CryptographicOperations.ZeroMemory(_secret);
        _secret = next;
        NextGeneration++;
        return (key, nonce);
    }

    /// <summary>Sender side: key and nonce of the next generation.</summary>
    public (uint Generation, byte[] Key, byte[] Nonce) Next()
    {
        uint g = NextGeneration;
        var (k, n) = Step();
        return (g, k, n);
    }

    /// <summary>Receiver side: key and nonce of <paramref name="generation"/>; each is handed out once.</summary>
    public (byte[] Key, byte[] Nonce) Get(uint generation)
    {
        if (generation < NextGeneration)
        {
            if (_skipped.Remove(generation, out var kn))
            {
                return kn;
            }

            throw new MlsException("generation already used or expired");
        }

        if (generation - NextGeneration > MaxForward)
        {
            throw new MlsException("generation too far ahead");
        }

        while (NextGeneration < generation)
        {
            uint g = NextGeneration;
            _skipped[g] = Step();
        }

        return Step();
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_secret);
        foreach (var (k, _) in _skipped.Values)
        {
            CryptographicOperations.ZeroMemory(k);
        }

        _skipped.Clear();
    }
}

/// <summary>The secret tree of one epoch: per-leaf handshake and application ratchets derived on demand.</summary>
public sealed class SecretTree : IDisposable
{
    private readonly MlsCipherSuite _cs;
    private readonly uint _nLeaves;
    private readonly Dictionary<uint, byte[]> _nodeSecrets = [];
    private readonly Dictionary<uint, (HashRatchet Handshake, HashRatchet Application)> _leaves = [];

    public SecretTree(MlsCipherSuite cs, byte[] encryptionSecret, uint nLeaves)
    {
        _cs = cs;
        _nLeaves = nLeaves;
        _nodeSecrets[TreeMath.Root(nLeaves)] = (byte[])encryptionSecret.Clone();
    }

    public uint LeafCount => _nLeaves;

    private (HashRatchet Handshake, HashRatchet Application) Leaf(uint leaf)
    {
        if (leaf >= _nLeaves)
        {
            throw new MlsException("leaf index outside the tree");
        }

        if (_leaves.TryGetValue(leaf, out var r))
        {
            return r;
        }

        uint target = TreeMath.LeafToNode(leaf);
        var path = TreeMath.DirectPath(target, _nLeaves);
        path.Reverse();
        path.Add(target);

        // Walk down from the deepest ancestor whose secret we still hold, consuming secrets on the way.
        int start = path.FindLastIndex(_nodeSecrets.ContainsKey);
        if (start < 0)
        {
            throw new MlsException("leaf secret already consumed");
        }

        for (int i = start; i < path.Count - 1; i++)
        {
            uint n = path[i];
            byte[] s = _nodeSecrets[n];
            _nodeSecrets[TreeMath.Left(n)] = _cs.ExpandWithLabel(s, "tree", "left"u8, _cs.Nh);
            _nodeSecrets[TreeMath.Right(n)] = _cs.ExpandWithLabel(s, "tree", "right"u8, _cs.Nh);
            CryptographicOperations.ZeroMemory(s);
            _nodeSecrets.Remove(n);
        }

        byte[] leafSecret = _nodeSecrets[target];
        r = (new HashRatchet(_cs, _cs.ExpandWithLabel(leafSecret, "handshake", [], _cs.Nh)),
             new HashRatchet(_cs, _cs.ExpandWithLabel(leafSecret, "application", [], _cs.Nh)));
        CryptographicOperations.ZeroMemory(leafSecret);
        _nodeSecrets.Remove(target);
        _leaves[leaf] = r;
        return r;
    }

    public HashRatchet Handshake(uint leaf) => Leaf(leaf).Handshake;

    public HashRatchet Application(uint leaf) => Leaf(leaf).Application;

    public HashRatchet Ratchet(uint leaf, ContentType ct) => ct == ContentType.Application ? Application(leaf) : Handshake(leaf);

    public void Dispose()
    {
        foreach (var s in _nodeSecrets.Values)
        {
            CryptographicOperations.ZeroMemory(s);
        }

        foreach (var (h, a) in _leaves.Values)
        {
            h.Dispose();
            a.Dispose();
        }

        _nodeSecrets.Clear();
        _leaves.Clear();
    }
}
