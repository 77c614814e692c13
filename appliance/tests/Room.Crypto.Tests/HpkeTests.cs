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

    [Theory]
    [MemberData(nameof(Suites))]
    public void A_sealer_for_many_recipients_gives_what_each_recipient_opens_with_the_one_shot_API(HpkeKemId kem, HpkeAeadId aead)
    {
        var suite = new HpkeSuite(kem, HpkeKdfId.HkdfSha256, aead);
        var sealer = suite.BaseSealer("shared info"u8);
        for (int i = 0; i < 3; i++)
        {
            var (sk, pk) = suite.Kem.GenerateKeyPair();
            var (enc, ct) = sealer.Seal(pk, "aad"u8, "path secret"u8);
            Assert.Equal("path secret"u8.ToArray(), suite.OpenBase(enc, sk, "shared info"u8, "aad"u8, ct));
            Assert.Throws<HpkeException>(() => suite.OpenBase(enc, sk, "other info"u8, "aad"u8, ct));
        }
    }

    /// <summary>RFC 7748 section 5.2's second X25519 vector, and libsodium against BouncyCastle on random keys.</summary>
    [Fact]
    public void X25519_from_libsodium_matches_RFC_7748_and_BouncyCastle()
    {
        byte[] k = Convert.FromHexString("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
        byte[] u = Convert.FromHexString("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
        Assert.Equal(Convert.FromHexString("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"), X25519Kem.Instance.Dh(k, u));
        for (int i = 0; i < 20; i++)
        {
            var (sk, pk) = X25519Kem.Instance.GenerateKeyPair();
            var (_, peer) = X25519Kem.Instance.GenerateKeyPair();
            byte[] bcPk = new byte[32], bcShared = new byte[32];
            Org.BouncyCastle.Math.EC.Rfc7748.X25519.ScalarMultBase(sk, 0, bcPk, 0);
            Org.BouncyCastle.Math.EC.Rfc7748.X25519.ScalarMult(sk, 0, peer, 0, bcShared, 0);
            Assert.Equal(bcPk, pk);
            Assert.Equal(bcShared, X25519Kem.Instance.Dh(sk, peer));
            Assert.Equal(0, sk[0] & 7); // generated keys are clamped (RFC 9180 7.1.2)
            Assert.Equal(0x40, sk[31] & 0xC0);
        }

        // A point of small order gives the all-zero shared secret: refused (RFC 9180 7.1.4).
        Assert.Throws<HpkeException>(() => X25519Kem.Instance.Dh(k, Convert.FromHexString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")));
        Assert.Throws<HpkeException>(() => X25519Kem.Instance.Dh(k, new byte[31]));
    }

    /// <summary>RFC 8032 section 7.1 TEST 1 (empty message), and libsodium's signatures equal BouncyCastle's (Ed25519 is deterministic).</summary>
    [Fact]
    public void Ed25519_signing_from_libsodium_matches_RFC_8032_and_BouncyCastle()
    {
        var cs = Room.Crypto.Mls.MlsCipherSuite.Get(1);
        byte[] seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        Assert.Equal(
            Convert.FromHexString("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            cs.Sign(seed, []));
        for (int i = 0; i < 10; i++)
        {
            var (sk, pk) = cs.GenerateSignatureKeyPair();
            byte[] message = System.Security.Cryptography.RandomNumberGenerator.GetBytes(i * 37);
            byte[] bc = new byte[64];
            Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.Sign(sk, 0, message, 0, message.Length, bc, 0);
            byte[] sig = cs.Sign(sk, message);
            Assert.Equal(bc, sig);
            Assert.True(cs.Verify(pk, message, sig));
            Assert.True(Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.Verify(sig, 0, pk, 0, message, 0, message.Length));
            sig[i % 64] ^= 4;
            Assert.False(cs.Verify(pk, message, sig));
            Assert.False(cs.Verify(pk, [.. message, 0], bc));
        }
    }

    /// <summary>
    /// The identity point as public key with R = identity and S = 0 satisfies the cofactorless equation for every
    /// message; the strict check refuses small-order keys, so such a "signature" never verifies.
    /// </summary>
    [Fact]
    public void Ed25519_verification_refuses_a_small_order_public_key()
    {
        var cs = Room.Crypto.Mls.MlsCipherSuite.Get(1);
        byte[] identity = new byte[32];
        identity[0] = 1;
        byte[] sig = [.. identity, .. new byte[32]];
        Assert.False(cs.Verify(identity, "anything"u8.ToArray(), sig));
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
