using System.Runtime.InteropServices;

namespace Room.Crypto.Bench;

/// <summary>
/// OpenSSL's X25519 through its EVP interface, as mls-rs's default crypto provider (mls-rs-crypto-openssl) calls it:
/// a same-process reference for the asymmetric work of one HPKE encryption in mls-rs. Bench only.
/// </summary>
internal static partial class OpenSslX25519
{
    private const string Lib = "libcrypto.so.3";
    private const int EvpPkeyX25519 = 1034;

    [LibraryImport(Lib)] private static unsafe partial nint EVP_PKEY_new_raw_private_key(int type, nint engine, byte* key, nuint len);
    [LibraryImport(Lib)] private static unsafe partial nint EVP_PKEY_new_raw_public_key(int type, nint engine, byte* key, nuint len);
    [LibraryImport(Lib)] private static unsafe partial int EVP_PKEY_get_raw_public_key(nint key, byte* pub, nuint* len);
    [LibraryImport(Lib)] private static partial void EVP_PKEY_free(nint key);
    [LibraryImport(Lib)] private static partial nint EVP_PKEY_CTX_new(nint key, nint engine);
    [LibraryImport(Lib)] private static partial void EVP_PKEY_CTX_free(nint ctx);
    [LibraryImport(Lib)] private static partial int EVP_PKEY_derive_init(nint ctx);
    [LibraryImport(Lib)] private static partial int EVP_PKEY_derive_set_peer(nint ctx, nint peer);
    [LibraryImport(Lib)] private static unsafe partial int EVP_PKEY_derive(nint ctx, byte* key, nuint* len);

    /// <summary>An ephemeral key pair from <paramref name="sk"/> and its DH with <paramref name="peer"/>: one HPKE Encap's scalar multiplications.</summary>
    public static unsafe void Encap(byte[] sk, byte[] peer, byte[] pkOut, byte[] sharedOut)
    {
        fixed (byte* s = sk, p = peer, o = pkOut, z = sharedOut)
        {
            nint mine = EVP_PKEY_new_raw_private_key(EvpPkeyX25519, 0, s, 32), theirs = EVP_PKEY_new_raw_public_key(EvpPkeyX25519, 0, p, 32);
            nint ctx = EVP_PKEY_CTX_new(mine, 0);
            nuint pl = 32, zl = 32;
            bool ok = mine != 0 && theirs != 0 && ctx != 0 && EVP_PKEY_get_raw_public_key(mine, o, &pl) == 1
                && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, theirs) == 1 && EVP_PKEY_derive(ctx, z, &zl) == 1;
            EVP_PKEY_CTX_free(ctx);
            EVP_PKEY_free(mine);
            EVP_PKEY_free(theirs);
            if (!ok)
            {
                throw new InvalidOperationException("OpenSSL X25519 failed");
            }
        }
    }
}

/// <summary>
/// CPU time of the whole process (all threads), from clock_gettime(CLOCK_PROCESS_CPUTIME_ID): on a shared, loaded
/// machine the time this process actually ran is far steadier than wall time.
/// </summary>
internal static partial class CpuClock
{
    private const int ClockProcessCputimeId = 2;

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clock, out Timespec ts);

    /// <summary>Process CPU time in milliseconds.</summary>
    public static double NowMs() =>
        clock_gettime(ClockProcessCputimeId, out var ts) == 0 ? ts.Seconds * 1e3 + ts.Nanoseconds / 1e6 : throw new InvalidOperationException("clock_gettime failed");
}
