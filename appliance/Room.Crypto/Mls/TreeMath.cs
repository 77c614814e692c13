namespace Room.Crypto.Mls;

/// <summary>Array-based left-balanced binary tree math (RFC 9420 appendix C). Node indices; leaves are even.</summary>
public static class TreeMath
{
    public static uint Log2(uint x) => x == 0 ? 0 : (uint)System.Numerics.BitOperations.Log2(x);

    public static uint Level(uint x)
    {
        if ((x & 1) == 0)
        {
            return 0;
        }

        uint k = 0;
        while (((x >> (int)k) & 1) == 1)
        {
            k++;
        }

        return k;
    }

    public static uint NodeWidth(uint nLeaves) => nLeaves == 0 ? 0 : 2 * (nLeaves - 1) + 1;

    public static uint Root(uint nLeaves) => (1u << (int)Log2(NodeWidth(nLeaves))) - 1;

    public static uint Left(uint x)
    {
        uint k = Level(x);
        if (k == 0)
        {
            throw new MlsException("leaf has no children");
        }

        return x ^ (1u << (int)(k - 1));
    }

    public static uint Right(uint x)
    {
        uint k = Level(x);
        if (k == 0)
        {
            throw new MlsException("leaf has no children");
        }

        return x ^ (3u << (int)(k - 1));
    }

    public static uint Parent(uint x, uint nLeaves)
    {
        if (x == Root(nLeaves))
        {
            throw new MlsException("root has no parent");
        }

        uint k = Level(x);
        uint b = (x >> (int)(k + 1)) & 1;
        return (x | (1u << (int)k)) ^ (b << (int)(k + 1));
    }

    public static uint Sibling(uint x, uint nLeaves)
    {
        uint p = Parent(x, nLeaves);
        return x < p ? Right(p) : Left(p);
    }

    public static uint LeafToNode(uint leaf) => 2 * leaf;

    public static uint NodeToLeaf(uint node) => node / 2;

    /// <summary>Direct path of node x: its ancestors up to and including the root (excluding x).</summary>
    public static List<uint> DirectPath(uint x, uint nLeaves)
    {
        var d = new List<uint>();
        uint r = Root(nLeaves);
        while (x != r)
        {
            x = Parent(x, nLeaves);
            d.Add(x);
        }

        return d;
    }

    /// <summary>Copath: siblings of x and of each node of its direct path except the root.</summary>
    public static List<uint> Copath(uint x, uint nLeaves)
    {
        var c = new List<uint>();
        uint r = Root(nLeaves);
        while (x != r)
        {
            c.Add(Sibling(x, nLeaves));
            x = Parent(x, nLeaves);
        }

        return c;
    }

    /// <summary>Lowest common ancestor of two nodes.</summary>
    public static uint CommonAncestor(uint x, uint y)
    {
        if (x == y)
        {
            return x;
        }

        uint xn = x, yn = y;
        int k = 0;
        while (xn != yn)
        {
            xn >>= 1;
            yn >>= 1;
            k++;
        }

        return (xn << k) + (1u << (k - 1)) - 1;
    }
}
