using System.Security.Cryptography;
using Room.Rtc.Interop;

namespace Room.Rtc.Tests;

/// <summary>The direct OpenSSL AES-GCM used by SRTP agrees with .NET's AesGcm and refuses what it must.</summary>
public sealed class SrtpGcmTests
{
    [Fact]
    public void Direct_openssl_gcm_matches_dotnet_aesgcm_and_refuses_any_tampering()
    {
        var rng = new Random(7714);
        var key = new byte[16];
        rng.NextBytes(key);
        using var native = OpenSslAesGcm.TryCreate(key);
        Assert.NotNull(native); // Debian 12 has libcrypto.so.3 (the SRTP bench relies on it too)
        using var managed = new AesGcm(key, 16);
        foreach (int size in new[] { 0, 1, 15, 16, 17, 100, 1100, 1500 })
        {
            var nonce = new byte[12];
            var aad = new byte[rng.Next(0, 40)];
            var plain = new byte[size];
            rng.NextBytes(nonce);
            rng.NextBytes(aad);
            rng.NextBytes(plain);
            var expected = new byte[size];
            var expectedTag = new byte[16];
            managed.Encrypt(nonce, plain, expected, expectedTag, aad);

            var data = plain.ToArray();
            var tag = new byte[16];
            native!.Encrypt(nonce, data, tag, aad);
            Assert.Equal(expected, data);
            Assert.Equal(expectedTag, tag);

            var copy = data.ToArray();
            Assert.True(native.TryDecrypt(nonce, copy, tag, aad));
            Assert.Equal(plain, copy);

            var badTag = tag.ToArray();
            badTag[rng.Next(16)] ^= 0x40;
            Assert.False(native.TryDecrypt(nonce, data.ToArray(), badTag, aad));
            if (size > 0)
            {
                var badData = data.ToArray();
                badData[rng.Next(size)] ^= 1;
                Assert.False(native.TryDecrypt(nonce, badData, tag, aad));
            }
            var badNonce = nonce.ToArray();
            badNonce[0] ^= 1;
            Assert.False(native.TryDecrypt(badNonce, data.ToArray(), tag, aad));
            var badAad = aad.Append((byte)0).ToArray();
            Assert.False(native.TryDecrypt(nonce, data.ToArray(), tag, badAad));
        }
    }

    [Fact]
    public void Direct_openssl_gcm_refuses_wrong_key_nonce_and_tag_sizes()
    {
        Assert.Throws<ArgumentException>(() => OpenSslAesGcm.TryCreate(new byte[32]));
        using var native = OpenSslAesGcm.TryCreate(new byte[16])!;
        Assert.Throws<ArgumentException>(() => native.Encrypt(new byte[8], new byte[4], new byte[16], []));
        Assert.Throws<ArgumentException>(() => native.TryDecrypt(new byte[12], new byte[4], new byte[10], []));
    }
}
