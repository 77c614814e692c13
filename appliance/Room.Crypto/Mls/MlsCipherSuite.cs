using System.Security.Cryptography;
using System.Text;
using Room.Crypto.Hpke;

namespace Room.Crypto.Mls;

public enum SignatureScheme : ushort
{
    EcdsaSecp256r1Sha256 = 0x0403,
    EcdsaSecp384r1Sha384 = 0x0503,
    EcdsaSecp521r1Sha512 = 0x0603,
    Ed25519 = 0x0807,
    Ed448 = 0x0808,
}

/// <summary>An MLS cipher suite (RFC 9420 section 5.1): 0x0001, 0x0002 and 0x0003 are supported.</summary>
public sealed class MlsCipherSuite
{
    private static readonly Dictionary<ushort, MlsCipherSuite> Suites = new()
    {
        [1] = new(1, HpkeKemId.DhkemX25519Sha256, HpkeAeadId.Aes128Gcm, SignatureScheme.Ed25519),
        [2] = new(2, HpkeKemId.DhkemP256Sha256, HpkeAeadId.Aes128Gcm, SignatureScheme.EcdsaSecp256r1Sha256),
        [3] = new(3, HpkeKemId.DhkemX25519Sha256, HpkeAeadId.ChaCha20Poly1305, SignatureScheme.Ed25519),
        [4] = new(4, HpkeKemId.DhkemX448Sha512, HpkeAeadId.Aes256Gcm, SignatureScheme.Ed448, HpkeKdfId.HkdfSha512),
        [6] = new(6, HpkeKemId.DhkemX448Sha512, HpkeAeadId.ChaCha20Poly1305, SignatureScheme.Ed448, HpkeKdfId.HkdfSha512),
        [5] = new(5, HpkeKemId.DhkemP521Sha512, HpkeAeadId.Aes256Gcm, SignatureScheme.EcdsaSecp521r1Sha512, HpkeKdfId.HkdfSha512),
        [7] = new(7, HpkeKemId.DhkemP384Sha384, HpkeAeadId.Aes256Gcm, SignatureScheme.EcdsaSecp384r1Sha384, HpkeKdfId.HkdfSha384),
    };

    private MlsCipherSuite(ushort id, HpkeKemId kem, HpkeAeadId aead, SignatureScheme sig, HpkeKdfId kdf = HpkeKdfId.HkdfSha256)
    {
        Id = id;
        Hpke = new HpkeSuite(kem, kdf, aead);
        AeadId = aead;
        Signature = sig;
        (Hash, Nh) = kdf switch
        {
            HpkeKdfId.HkdfSha384 => (HashAlgorithmName.SHA384, 48),
            HpkeKdfId.HkdfSha512 => (HashAlgorithmName.SHA512, 64),
            _ => (HashAlgorithmName.SHA256, 32),
        };
    }

    /// <summary>The ECDSA curve KEM of this suite's signature scheme (null for Ed25519).</summary>
    private NistKem? SignatureCurve => Signature switch
    {
        SignatureScheme.EcdsaSecp384r1Sha384 => NistKem.P384,
        SignatureScheme.EcdsaSecp521r1Sha512 => NistKem.P521,
        _ => null,
    };

    public ushort Id { get; }
    public HpkeSuite Hpke { get; }
    public HpkeAeadId AeadId { get; }
    public SignatureScheme Signature { get; }
    public HashAlgorithmName Hash { get; }
    public int Nh { get; }
    public int AeadKeySize => Aead.KeySize(AeadId);
    public int AeadNonceSize { get; } = Aead.NonceSize;

    public static bool IsSupported(ushort id) => Suites.ContainsKey(id);

    public static MlsCipherSuite Get(ushort id) =>
        Suites.TryGetValue(id, out var s) ? s : throw new MlsException($"unsupported cipher suite {id}");

    public byte[] HashData(ReadOnlySpan<byte> data) => CryptographicOperations.HashData(Hash, data);

    public byte[] Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ikm)
    {
        byte[] prk = new byte[Nh];
        HKDF.Extract(Hash, ikm, salt, prk);
        return prk;
    }

    public byte[] Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, int length)
    {
        byte[] okm = new byte[length];
        HKDF.Expand(Hash, prk, okm, info);
        return okm;
    }

    public byte[] Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => CryptographicOperations.HmacData(Hash, key, data);

    public bool VerifyMac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> mac) =>
        CryptographicOperations.FixedTimeEquals(Mac(key, data), mac);

    private static byte[] MlsLabel(string label) => Encoding.ASCII.GetBytes("MLS 1.0 " + label);

    /// <summary>ExpandWithLabel(Secret, Label, Context, Length) with KDFLabel { uint16 length; opaque label&lt;V&gt;; opaque context&lt;V&gt; }.</summary>
    public byte[] ExpandWithLabel(ReadOnlySpan<byte> secret, string label, ReadOnlySpan<byte> context, int length) =>
        ExpandWithLabel(secret, Encoding.ASCII.GetBytes(label), context, length);

    /// <summary>ExpandWithLabel with a binary label (exporter labels are arbitrary bytes).</summary>
    public byte[] ExpandWithLabel(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, int length)
    {
        var w = new MlsWriter();
        w.U16((ushort)length);
        w.Opaque([.. "MLS 1.0 "u8, .. label]);
        w.Opaque(context);
        return Expand(secret, w.Written, length);
    }

    public byte[] DeriveSecret(ReadOnlySpan<byte> secret, string label) => ExpandWithLabel(secret, label, [], Nh);

    public byte[] DeriveTreeSecret(ReadOnlySpan<byte> secret, string label, uint generation, int length)
    {
        Span<byte> g = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(g, generation);
        return ExpandWithLabel(secret, label, g, length);
    }

    /// <summary>RefHash(label, value) = Hash(RefHashInput { opaque label&lt;V&gt;; opaque value&lt;V&gt; }).</summary>
    public byte[] RefHash(string label, ReadOnlySpan<byte> value)
    {
        var w = new MlsWriter();
        w.Opaque(Encoding.ASCII.GetBytes(label));
        w.Opaque(value);
        return HashData(w.Written);
    }

    public byte[] KeyPackageRef(ReadOnlySpan<byte> keyPackage) => RefHash("MLS 1.0 KeyPackage Reference", keyPackage);

    public byte[] ProposalRef(ReadOnlySpan<byte> authenticatedContent) => RefHash("MLS 1.0 Proposal Reference", authenticatedContent);

    private static byte[] SignContent(string label, ReadOnlySpan<byte> content)
    {
        var w = new MlsWriter();
        w.Opaque(MlsLabel(label));
        w.Opaque(content);
        return w.ToArray();
    }

    public byte[] SignWithLabel(ReadOnlySpan<byte> privateKey, string label, ReadOnlySpan<byte> content) =>
        Sign(privateKey, SignContent(label, content));

    public bool VerifyWithLabel(ReadOnlySpan<byte> publicKey, string label, ReadOnlySpan<byte> content, ReadOnlySpan<byte> signature) =>
        Verify(publicKey, SignContent(label, content), signature);

    public byte[] Sign(ReadOnlySpan<byte> privateKey, byte[] message)
    {
        switch (Signature)
        {
            case SignatureScheme.Ed448:
                {
                    if (privateKey.Length != 57)
                    {
                        throw new MlsException("bad Ed448 private key");
                    }

                    byte[] sig = new byte[114];
                    Org.BouncyCastle.Math.EC.Rfc8032.Ed448.Sign(privateKey.ToArray(), 0, [], message, 0, message.Length, sig, 0);
                    return sig;
                }

            case SignatureScheme.Ed25519:
                {
                    if (privateKey.Length != 32)
                    {
                        throw new MlsException("bad Ed25519 private key");
                    }

                    return Sodium.SignEd25519(privateKey, message);
                }

            default:
                {
                    var curve = SignatureCurve;
                    using var ec = ECDsa.Create(curve?.PrivateParameters(privateKey) ?? new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateKey.ToArray() });
                    return ec.SignData(message, Hash, DSASignatureFormat.Rfc3279DerSequence);
                }
        }
    }

    public bool Verify(ReadOnlySpan<byte> publicKey, byte[] message, ReadOnlySpan<byte> signature)
    {
        try
        {
            switch (Signature)
            {
                case SignatureScheme.Ed448:
                    if (publicKey.Length != 57 || signature.Length != 114)
                    {
                        return false;
                    }

                    return Org.BouncyCastle.Math.EC.Rfc8032.Ed448.Verify(signature.ToArray(), 0, publicKey.ToArray(), 0, [], message, 0, message.Length);
                case SignatureScheme.Ed25519:
                    if (publicKey.Length != 32 || signature.Length != 64)
                    {
                        return false;
                    }

                    return Sodium.VerifyEd25519(publicKey, message, signature);
                default:
                    var curve = SignatureCurve;
                    bool compressed = publicKey.Length > 0 && publicKey[0] is 0x02 or 0x03;
                    byte[] point = compressed ? Decompress(publicKey, curve == null ? "P-256" : curve == NistKem.P384 ? "P-384" : "P-521") : publicKey.ToArray();
                    using (var ec = ECDsa.Create(curve?.PublicParameters(point) ?? P256Kem.PublicParameters(point)))
                    {
                        return ec.VerifyData(message, signature, Hash, DSASignatureFormat.Rfc3279DerSequence);
                    }
            }
        }
        catch (Exception e) when (e is CryptographicException or HpkeException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// RFC 9420 uses uncompressed ECDSA signature keys; ts-mls 1.6.4 emits compressed ones (noble's default).
    /// Verification accepts both by decompressing here.
    /// </summary>
    private static byte[] Decompress(ReadOnlySpan<byte> compressed, string curveName)
    {
        var curve = Org.BouncyCastle.Asn1.Nist.NistNamedCurves.GetByName(curveName).Curve;
        return curve.DecodePoint(compressed.ToArray()).GetEncoded(false);
    }

    public (byte[] PrivateKey, byte[] PublicKey) GenerateSignatureKeyPair()
    {
        if (Signature == SignatureScheme.Ed448)
        {
            byte[] sk = RandomNumberGenerator.GetBytes(57), pk = new byte[57];
            Org.BouncyCastle.Math.EC.Rfc8032.Ed448.GeneratePublicKey(sk, 0, pk, 0);
            return (sk, pk);
        }

        if (Signature == SignatureScheme.Ed25519)
        {
            byte[] sk = RandomNumberGenerator.GetBytes(32), pk = new byte[32];
            Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.GeneratePublicKey(sk, 0, pk, 0);
            return (sk, pk);
        }

        using var ec = ECDsa.Create(SignatureCurve?.Curve ?? ECCurve.NamedCurves.nistP256);
        var p = ec.ExportParameters(true);
        return (p.D!, [0x04, .. p.Q.X!, .. p.Q.Y!]);
    }

    public byte[] SignaturePublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        if (Signature == SignatureScheme.Ed448)
        {
            byte[] pk448 = new byte[57];
            Org.BouncyCastle.Math.EC.Rfc8032.Ed448.GeneratePublicKey(privateKey.ToArray(), 0, pk448, 0);
            return pk448;
        }

        if (Signature == SignatureScheme.Ed25519)
        {
            byte[] pk = new byte[32];
            Org.BouncyCastle.Math.EC.Rfc8032.Ed25519.GeneratePublicKey(privateKey.ToArray(), 0, pk, 0);
            return pk;
        }

        return SignatureCurve?.PublicKeyOf(privateKey) ?? P256Kem.Instance.PublicKeyOf(privateKey);
    }

    private static byte[] EncryptContext(string label, ReadOnlySpan<byte> context)
    {
        var w = new MlsWriter();
        w.Opaque(MlsLabel(label));
        w.Opaque(context);
        return w.ToArray();
    }

    public (byte[] KemOutput, byte[] Ciphertext) EncryptWithLabel(ReadOnlySpan<byte> publicKey, string label, ReadOnlySpan<byte> context, ReadOnlySpan<byte> plaintext) =>
        Hpke.SealBase(publicKey, EncryptContext(label, context), [], plaintext);

    /// <summary>EncryptWithLabel to many recipients under one label and context (a commit's path secrets).</summary>
    public HpkeSealer SealerWithLabel(string label, ReadOnlySpan<byte> context) => Hpke.BaseSealer(EncryptContext(label, context));

    public byte[] DecryptWithLabel(ReadOnlySpan<byte> privateKey, string label, ReadOnlySpan<byte> context, ReadOnlySpan<byte> kemOutput, ReadOnlySpan<byte> ciphertext)
    {
        try
        {
            return Hpke.OpenBase(kemOutput, privateKey, EncryptContext(label, context), [], ciphertext);
        }
        catch (HpkeException e)
        {
            throw new MlsException("HPKE decryption failed", e);
        }
    }

    public (byte[] PrivateKey, byte[] PublicKey) DeriveHpkeKeyPair(ReadOnlySpan<byte> ikm) => Hpke.Kem.DeriveKeyPair(ikm);

    public byte[] AeadSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> pt) =>
        Aead.Seal(AeadId, key, nonce, aad, pt);

    public byte[] AeadOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ct)
    {
        try
        {
            return Aead.Open(AeadId, key, nonce, aad, ct);
        }
        catch (HpkeException e)
        {
            throw new MlsException("AEAD decryption failed", e);
        }
    }
}
