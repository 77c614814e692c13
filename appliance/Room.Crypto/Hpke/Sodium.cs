using System.Runtime.InteropServices;

namespace Room.Crypto.Hpke;

/// <summary>
/// X25519 and Ed25519 from libsodium (the libsodium package's native build, also under NSec): about four times faster
/// than BouncyCastle's managed code, and an MLS commit is mostly X25519 (two per path-secret encryption) and three
/// signatures, processing one mostly two signature checks. Ed25519 signatures are deterministic (RFC 8032), so the
/// bytes are those BouncyCastle made. libsodium's verification is the strict kind: besides RFC 8032's checks it
/// refuses non-canonical and small-order public keys and R values.
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

    [LibraryImport(Lib)]
    private static partial int crypto_sign_ed25519_seed_keypair(ref byte pk, ref byte sk, in byte seed);

    [LibraryImport(Lib)]
    private static partial int crypto_sign_ed25519_detached(ref byte sig, out ulong sigLength, in byte m, ulong mLength, in byte sk);

    /// <summary>Ed25519 signature of <paramref name="message"/> with the 32-byte private key (seed) <paramref name="seed"/>.</summary>
    public static byte[] SignEd25519(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> message)
    {
        if (seed.Length != 32)
        {
            throw new HpkeException("bad Ed25519 private key length");
        }

        Span<byte> pk = stackalloc byte[32];
        Span<byte> sk = stackalloc byte[64]; // seed || public key, libsodium's form
        byte[] sig = new byte[64];
        byte none = 0;
        try
        {
            if (crypto_sign_ed25519_seed_keypair(ref MemoryMarshal.GetReference(pk), ref MemoryMarshal.GetReference(sk), in MemoryMarshal.GetReference(seed)) != 0
                || crypto_sign_ed25519_detached(ref sig[0], out _, in message.IsEmpty ? ref none : ref MemoryMarshal.GetReference(message), (ulong)message.Length, in MemoryMarshal.GetReference(sk)) != 0)
            {
                throw new HpkeException("Ed25519 signing failed");
            }
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(sk);
        }

        return sig;
    }

    [LibraryImport(Lib)]
    private static partial int crypto_sign_ed25519_verify_detached(in byte sig, in byte m, ulong mLength, in byte pk);

    /// <summary>True if <paramref name="signature"/> is a valid Ed25519 signature of <paramref name="message"/> by <paramref name="publicKey"/>.</summary>
    public static bool VerifyEd25519(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64)
        {
            return false;
        }

        byte none = 0;
        return crypto_sign_ed25519_verify_detached(in MemoryMarshal.GetReference(signature), in message.IsEmpty ? ref none : ref MemoryMarshal.GetReference(message),
            (ulong)message.Length, in MemoryMarshal.GetReference(publicKey)) == 0;
    }

    private static void Check(ReadOnlySpan<byte> n, ReadOnlySpan<byte> p, Span<byte> q)
    {
        if (n.Length != 32 || p.Length != 32 || q.Length != 32)
        {
            throw new HpkeException("bad X25519 key length");
        }
    }
}
