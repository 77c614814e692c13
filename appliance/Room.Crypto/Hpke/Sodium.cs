using System.Runtime.InteropServices;

namespace Room.Crypto.Hpke;

/// <summary>
/// X25519 from libsodium (the libsodium package's native build, also under NSec): its scalar multiplication is about
/// four times faster than BouncyCastle's managed one, and an MLS commit is mostly X25519 (two per path-secret
/// encryption).
/// </summary>
internal static partial class Sodium
{
    private const string Lib = "libsodium";

    static Sodium()
    {
        if (sodium_init() < 0)
        {
            throw new HpkeException("libsodium failed to initialise");
        }
    }

    [LibraryImport(Lib)]
    private static partial int sodium_init();

    [LibraryImport(Lib)]
    private static partial int crypto_scalarmult_curve25519(ref byte q, in byte n, in byte p);

    [LibraryImport(Lib)]
    private static partial int crypto_scalarmult_curve25519_base(ref byte q, in byte n);

    /// <summary>X25519(n, p) into q; false when the result is all zero (p of small order), which libsodium refuses.</summary>
    public static bool ScalarMult(ReadOnlySpan<byte> n, ReadOnlySpan<byte> p, Span<byte> q)
    {
        Check(n, p, q);
        return crypto_scalarmult_curve25519(ref MemoryMarshal.GetReference(q), in MemoryMarshal.GetReference(n), in MemoryMarshal.GetReference(p)) == 0;
    }

    /// <summary>X25519(n, 9): the public key of private key n.</summary>
    public static void ScalarMultBase(ReadOnlySpan<byte> n, Span<byte> q)
    {
        Check(n, n, q);
        if (crypto_scalarmult_curve25519_base(ref MemoryMarshal.GetReference(q), in MemoryMarshal.GetReference(n)) != 0)
        {
            throw new HpkeException("X25519 base point multiplication failed");
        }
    }

    private static void Check(ReadOnlySpan<byte> n, ReadOnlySpan<byte> p, Span<byte> q)
    {
        if (n.Length != 32 || p.Length != 32 || q.Length != 32)
        {
            throw new HpkeException("bad X25519 key length");
        }
    }
}
