using System.Security.Cryptography;

namespace Room.Crypto.SFrame;

/// <summary>SFrame cipher suites of RFC 9605 section 4.5 / 8.1.</summary>
public enum SFrameCipherSuite : ushort
{
    AesCtr128HmacSha256Tag80 = 0x0001,
    AesCtr128HmacSha256Tag64 = 0x0002,
    AesCtr128HmacSha256Tag32 = 0x0003,
    Aes128GcmSha256Tag128 = 0x0004,
    Aes256GcmSha512Tag128 = 0x0005,

    // Post-RFC 9605 additions of the SFrame working group (test-vectors-aes256.json, Sep 2025).
    AesCtr256HmacSha512Tag80 = 0x0006,
    AesCtr256HmacSha512Tag64 = 0x0007,
    AesCtr256HmacSha512Tag32 = 0x0008,
}

/// <summary>Sizes of one suite: Nh (hash), Nka (AES key for CTR suites), Nk, Nn, Nt.</summary>
public readonly record struct SFrameSuiteParameters(HashAlgorithmName Hash, int HashSize, int EncKeySize, int KeySize, int NonceSize, int TagSize, bool IsCtrHmac)
{
    public static SFrameSuiteParameters For(SFrameCipherSuite suite) => suite switch
    {
        SFrameCipherSuite.AesCtr128HmacSha256Tag80 => new(HashAlgorithmName.SHA256, 32, 16, 48, 12, 10, true),
        SFrameCipherSuite.AesCtr128HmacSha256Tag64 => new(HashAlgorithmName.SHA256, 32, 16, 48, 12, 8, true),
        SFrameCipherSuite.AesCtr128HmacSha256Tag32 => new(HashAlgorithmName.SHA256, 32, 16, 48, 12, 4, true),
        SFrameCipherSuite.Aes128GcmSha256Tag128 => new(HashAlgorithmName.SHA256, 32, 16, 16, 12, 16, false),
        SFrameCipherSuite.Aes256GcmSha512Tag128 => new(HashAlgorithmName.SHA512, 64, 32, 32, 12, 16, false),
        SFrameCipherSuite.AesCtr256HmacSha512Tag80 => new(HashAlgorithmName.SHA512, 64, 32, 96, 12, 10, true),
        SFrameCipherSuite.AesCtr256HmacSha512Tag64 => new(HashAlgorithmName.SHA512, 64, 32, 96, 12, 8, true),
        SFrameCipherSuite.AesCtr256HmacSha512Tag32 => new(HashAlgorithmName.SHA512, 64, 32, 96, 12, 4, true),
        _ => throw new SFrameException($"unsupported SFrame cipher suite 0x{(ushort)suite:x4}"),
    };
}
