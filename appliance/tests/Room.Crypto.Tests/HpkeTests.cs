using Room.Crypto.Hpke;

namespace Room.Crypto.Tests;

public sealed class HpkeTests
{
    public static TheoryData<HpkeKemId, HpkeAeadId> Suites()
    {
        var d = new TheoryData<HpkeKemId, HpkeAeadId>();
        foreach (var k in new[] { HpkeKemId.DhkemX25519Sha256, HpkeKemId.DhkemP256Sha256 })
        {
            foreach (var a in new[] { HpkeAeadId.Aes128Gcm, HpkeAeadId.Aes256Gcm, HpkeAeadId.ChaCha20Poly1305 })
            {
                d.Add(k, a);
            }
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Base_mode_seals_and_opens_and_exports_the_same_secret(HpkeKemId kem, HpkeAeadId aead)
    {
        var suite = new HpkeSuite(kem, HpkeKdfId.HkdfSha256, aead);
        var (sk, pk) = suite.Kem.GenerateKeyPair();
        var (enc, sender) = suite.SetupBaseS(pk, "info"u8);
        using var receiver = suite.SetupBaseR(enc, sk, "info"u8);
        for (int i = 0; i < 3; i++)
        {
            byte[] ct = sender.Seal("aad"u8, "hello"u8);
            Assert.Equal("hello"u8.ToArray(), receiver.Open("aad"u8, ct));
        }

        Assert.Equal(sender.Export("ctx"u8, 42), receiver.Export("ctx"u8, 42));
        sender.Dispose();
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Tampered_ciphertext_wrong_info_or_wrong_key_fails_with_HpkeException(HpkeKemId kem, HpkeAeadId aead)
    {
        var suite = new HpkeSuite(kem, HpkeKdfId.HkdfSha256, aead);
        var (sk, pk) = suite.Kem.GenerateKeyPair();
        var (sk2, _) = suite.Kem.GenerateKeyPair();
        var (enc, ct) = suite.SealBase(pk, "i"u8, "a"u8, "secret"u8);
        Assert.Equal("secret"u8.ToArray(), suite.OpenBase(enc, sk, "i"u8, "a"u8, ct));
        ct[0] ^= 1;
        Assert.Throws<HpkeException>(() => suite.OpenBase(enc, sk, "i"u8, "a"u8, ct));
        ct[0] ^= 1;
        Assert.Throws<HpkeException>(() => suite.OpenBase(enc, sk, "j"u8, "a"u8, ct));
        Assert.Throws<HpkeException>(() => suite.OpenBase(enc, sk2, "i"u8, "a"u8, ct));
        Assert.Throws<HpkeException>(() => suite.OpenBase(enc.AsSpan(0, enc.Length - 1), sk, "i"u8, "a"u8, ct));
    }

    [Fact]
    public void Invalid_public_keys_are_refused()
    {
        Assert.Throws<HpkeException>(() => X25519Kem.Instance.Dh(new byte[32].Select((_, i) => (byte)(i + 1)).ToArray(), new byte[32]));
        byte[] notOnCurve = new byte[65];
        notOnCurve[0] = 4;
        notOnCurve[64] = 7;
        var (sk, _) = P256Kem.Instance.GenerateKeyPair();
        Assert.Throws<HpkeException>(() => P256Kem.Instance.Dh(sk, notOnCurve));
        Assert.Throws<HpkeException>(() => P256Kem.Instance.Dh(sk, new byte[33]));
    }

    [Fact]
    public void DeriveKeyPair_is_deterministic()
    {
        byte[] ikm = new byte[32];
        Assert.Equal(X25519Kem.Instance.DeriveKeyPair(ikm).PublicKey, X25519Kem.Instance.DeriveKeyPair(ikm).PublicKey);
        Assert.Equal(P256Kem.Instance.DeriveKeyPair(ikm).PublicKey, P256Kem.Instance.DeriveKeyPair(ikm).PublicKey);
    }
}
