using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Room.Crypto.Hpke;

public enum HpkeKemId : ushort
{
    DhkemP256Sha256 = 0x0010,
    DhkemP384Sha384 = 0x0011,
    DhkemP521Sha512 = 0x0012,
    DhkemX25519Sha256 = 0x0020,
    DhkemX448Sha512 = 0x0021,
}

public enum HpkeKdfId : ushort
{
    HkdfSha256 = 0x0001,
    HkdfSha384 = 0x0002,
    HkdfSha512 = 0x0003,
}

public enum HpkeAeadId : ushort
{
    Aes128Gcm = 0x0001,
    Aes256Gcm = 0x0002,
    ChaCha20Poly1305 = 0x0003,
    ExportOnly = 0xFFFF,
}

/// <summary>HKDF with RFC 9180 labels.</summary>
internal static class Kdf
{
    public static HashAlgorithmName Hash(HpkeKdfId id) => id switch
    {
        HpkeKdfId.HkdfSha256 => HashAlgorithmName.SHA256,
        HpkeKdfId.HkdfSha384 => HashAlgorithmName.SHA384,
        HpkeKdfId.HkdfSha512 => HashAlgorithmName.SHA512,
        _ => throw new HpkeException("unsupported KDF"),
    };

    public static int Nh(HpkeKdfId id) => id switch
    {
        HpkeKdfId.HkdfSha256 => 32,
        HpkeKdfId.HkdfSha384 => 48,
        HpkeKdfId.HkdfSha512 => 64,
        _ => throw new HpkeException("unsupported KDF"),
    };

    private static ReadOnlySpan<byte> Version => "HPKE-v1"u8;

    public static byte[] LabeledExtract(HpkeKdfId kdf, ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, string label, ReadOnlySpan<byte> ikm)
    {
        byte[] prk = new byte[Nh(kdf)];
        LabeledExtract(kdf, suiteId, salt, label, ikm, prk);
        return prk;
    }

    /// <summary>LabeledExtract into <paramref name="prk"/> (Nh bytes); the labeled input is built on the stack when small and wiped.</summary>
    public static void LabeledExtract(HpkeKdfId kdf, ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, string label, ReadOnlySpan<byte> ikm, Span<byte> prk)
    {
        int n = LabeledLength(suiteId, label, ikm);
        Span<byte> labeled = n > 512 ? new byte[n] : stackalloc byte[512];
        labeled = labeled[..WriteLabeled(labeled, suiteId, label, ikm)];
        HKDF.Extract(Hash(kdf), labeled, salt, prk);
        CryptographicOperations.ZeroMemory(labeled);
    }

    public static byte[] LabeledExpand(HpkeKdfId kdf, ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, string label, ReadOnlySpan<byte> info, int length)
    {
        if (length > 255 * Nh(kdf))
        {
            throw new HpkeException("expand length too large");
        }

        int n = 2 + LabeledLength(suiteId, label, info);
        Span<byte> labeledInfo = n > 512 ? new byte[n] : stackalloc byte[512];
        labeledInfo[0] = (byte)(length >> 8);
        labeledInfo[1] = (byte)length;
        labeledInfo = labeledInfo[..(2 + WriteLabeled(labeledInfo[2..], suiteId, label, info))];
        byte[] okm = new byte[length];
        HKDF.Expand(Hash(kdf), prk, okm, labeledInfo);
        return okm;
    }

    private static int LabeledLength(ReadOnlySpan<byte> suiteId, string label, ReadOnlySpan<byte> tail) =>
        Version.Length + suiteId.Length + label.Length + tail.Length;

    /// <summary>Writes RFC 9180's labeled input, "HPKE-v1" || suite_id || label || tail, at the start of <paramref name="into"/>; returns its length.</summary>
    private static int WriteLabeled(Span<byte> into, ReadOnlySpan<byte> suiteId, string label, ReadOnlySpan<byte> tail)
    {
        Version.CopyTo(into);
        suiteId.CopyTo(into[Version.Length..]);
        int at = Version.Length + suiteId.Length;
        at += Encoding.ASCII.GetBytes(label, into[at..]);
        tail.CopyTo(into[at..]);
        return at + tail.Length;
    }
}

/// <summary>One-shot AEADs used by HPKE and MLS.</summary>
public static class Aead
{
    public static int KeySize(HpkeAeadId id) => id switch
    {
        HpkeAeadId.Aes128Gcm => 16,
        HpkeAeadId.Aes256Gcm => 32,
        HpkeAeadId.ChaCha20Poly1305 => 32,
        _ => throw new HpkeException("unsupported AEAD"),
    };

    public const int NonceSize = 12;
    public const int TagSize = 16;

    public static byte[] Seal(HpkeAeadId id, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> pt)
    {
        byte[] output = new byte[pt.Length + TagSize];
        Span<byte> ct = output.AsSpan(0, pt.Length);
        Span<byte> tag = output.AsSpan(pt.Length);
        switch (id)
        {
            case HpkeAeadId.Aes128Gcm:
            case HpkeAeadId.Aes256Gcm:
                using (var g = new AesGcm(key, TagSize))
                {
                    g.Encrypt(nonce, pt, ct, tag, aad);
                }

                break;
            case HpkeAeadId.ChaCha20Poly1305:
                using (var c = new ChaCha20Poly1305(key))
                {
                    c.Encrypt(nonce, pt, ct, tag, aad);
                }

                break;
            default:
                throw new HpkeException("unsupported AEAD");
        }

        return output;
    }

    /// <exception cref="HpkeException">authentication failed or ciphertext too short.</exception>
    public static byte[] Open(HpkeAeadId id, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ctAndTag)
    {
        if (ctAndTag.Length < TagSize)
        {
            throw new HpkeException("ciphertext shorter than tag");
        }

        int n = ctAndTag.Length - TagSize;
        byte[] pt = new byte[n];
        try
        {
            switch (id)
            {
                case HpkeAeadId.Aes128Gcm:
                case HpkeAeadId.Aes256Gcm:
                    using (var g = new AesGcm(key, TagSize))
                    {
                        g.Decrypt(nonce, ctAndTag[..n], ctAndTag[n..], pt, aad);
                    }

                    break;
                case HpkeAeadId.ChaCha20Poly1305:
                    using (var c = new ChaCha20Poly1305(key))
                    {
                        c.Decrypt(nonce, ctAndTag[..n], ctAndTag[n..], pt, aad);
                    }

                    break;
                default:
                    throw new HpkeException("unsupported AEAD");
            }
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new HpkeException("AEAD authentication failed", e);
        }

        return pt;
    }
}

/// <summary>A DH-based KEM (RFC 9180 section 4.1).</summary>
public abstract class Dhkem
{
    public abstract HpkeKemId Id { get; }
    public abstract int SecretSize { get; }
    public abstract int EncSize { get; }
    public abstract int PublicKeySize { get; }
    public abstract int PrivateKeySize { get; }

    /// <summary>The KEM's own KDF (HKDF-SHA256 for X25519 and P-256).</summary>
    public virtual HpkeKdfId KdfId => HpkeKdfId.HkdfSha256;

    protected byte[] SuiteId => [.. "KEM"u8, (byte)((ushort)Id >> 8), (byte)Id];

    public static Dhkem For(HpkeKemId id) => id switch
    {
        HpkeKemId.DhkemX25519Sha256 => X25519Kem.Instance,
        HpkeKemId.DhkemP256Sha256 => P256Kem.Instance,
        HpkeKemId.DhkemP384Sha384 => NistKem.P384,
        HpkeKemId.DhkemP521Sha512 => NistKem.P521,
        HpkeKemId.DhkemX448Sha512 => X448Kem.Instance,
        _ => throw new HpkeException("unsupported KEM"),
    };

    /// <summary>Raw DH; throws HpkeException for invalid public keys or an all-zero result.</summary>
    public abstract byte[] Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey);

    public abstract byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey);

    public abstract (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm);

    public virtual (byte[] PrivateKey, byte[] PublicKey) GenerateKeyPair() => DeriveKeyPair(RandomNumberGenerator.GetBytes(PrivateKeySize));

    private byte[] ExtractAndExpand(byte[] dh, byte[] kemContext)
    {
        byte[] prk = Kdf.LabeledExtract(KdfId, SuiteId, [], "eae_prk", dh);
        byte[] ss = Kdf.LabeledExpand(KdfId, SuiteId, prk, "shared_secret", kemContext, SecretSize);
        CryptographicOperations.ZeroMemory(prk);
        CryptographicOperations.ZeroMemory(dh);
        return ss;
    }

    public (byte[] SharedSecret, byte[] Enc) Encap(ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> ikmE = default)
    {
        var (skE, pkE) = ikmE.IsEmpty ? GenerateKeyPair() : DeriveKeyPair(ikmE);
        byte[] dh = Dh(skE, pkR);
        CryptographicOperations.ZeroMemory(skE);
        return (ExtractAndExpand(dh, [.. pkE, .. pkR]), pkE);
    }

    public byte[] Decap(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR)
    {
        if (enc.Length != EncSize)
        {
            throw new HpkeException("bad enc length");
        }

        byte[] dh = Dh(skR, enc);
        byte[] pkR = PublicKeyOf(skR);
        return ExtractAndExpand(dh, [.. enc, .. pkR]);
    }

    protected byte[] LabeledExtract(ReadOnlySpan<byte> salt, string label, ReadOnlySpan<byte> ikm) =>
        Kdf.LabeledExtract(KdfId, SuiteId, salt, label, ikm);

    protected byte[] LabeledExpand(ReadOnlySpan<byte> prk, string label, ReadOnlySpan<byte> info, int len) =>
        Kdf.LabeledExpand(KdfId, SuiteId, prk, label, info, len);
}

public sealed class X25519Kem : Dhkem
{
    public static readonly X25519Kem Instance = new();

    public override HpkeKemId Id => HpkeKemId.DhkemX25519Sha256;
    public override int SecretSize => 32;
    public override int EncSize => 32;
    public override int PublicKeySize => 32;
    public override int PrivateKeySize => 32;

    public override byte[] Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        byte[] r = new byte[32];
        if (!Sodium.ScalarMult(privateKey, publicKey, r))
        {
            throw new HpkeException("X25519 produced the all-zero value");
        }

        return r;
    }

    public override byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        byte[] r = new byte[32];
        Sodium.ScalarMultBase(privateKey, r);
        return r;
    }

    /// <summary>32 random bytes, clamped as RFC 9180 7.1.2 serializes X25519 private keys: no DeriveKeyPair round.</summary>
    public override (byte[] PrivateKey, byte[] PublicKey) GenerateKeyPair()
    {
        byte[] sk = RandomNumberGenerator.GetBytes(32);
        sk[0] &= 248;
        sk[31] &= 127;
        sk[31] |= 64;
        return (sk, PublicKeyOf(sk));
    }

    public override (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        byte[] prk = LabeledExtract([], "dkp_prk", ikm);
        byte[] sk = LabeledExpand(prk, "sk", [], 32);
        CryptographicOperations.ZeroMemory(prk);
        return (sk, PublicKeyOf(sk));
    }
}

public sealed class P256Kem : Dhkem
{
    public static readonly P256Kem Instance = new();

    private static readonly byte[] Order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    public override HpkeKemId Id => HpkeKemId.DhkemP256Sha256;
    public override int SecretSize => 32;
    public override int EncSize => 65;
    public override int PublicKeySize => 65;
    public override int PrivateKeySize => 32;

    internal static ECParameters PublicParameters(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != 65 || publicKey[0] != 0x04)
        {
            throw new HpkeException("P-256 public key must be 65-byte uncompressed");
        }

        return new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = publicKey[1..33].ToArray(), Y = publicKey[33..].ToArray() },
        };
    }

    internal static ECDiffieHellman ImportPrivate(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != 32)
        {
            throw new HpkeException("bad P-256 private key length");
        }

        try
        {
            return ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateKey.ToArray() });
        }
        catch (CryptographicException e)
        {
            throw new HpkeException("invalid P-256 private key", e);
        }
    }

    public override byte[] Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        using var me = ImportPrivate(privateKey);
        try
        {
            using var other = ECDiffieHellman.Create(PublicParameters(publicKey));
            return me.DeriveRawSecretAgreement(other.PublicKey);
        }
        catch (CryptographicException e)
        {
            throw new HpkeException("invalid P-256 public key", e);
        }
    }

    public override byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        using var me = ImportPrivate(privateKey);
        var q = me.ExportParameters(false).Q;
        return [0x04, .. q.X!, .. q.Y!];
    }

    public override (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        byte[] prk = LabeledExtract([], "dkp_prk", ikm);
        for (int counter = 0; counter < 256; counter++)
        {
            byte[] sk = LabeledExpand(prk, "candidate", [(byte)counter], 32);
            if (!IsZero(sk) && LessThanOrder(sk))
            {
                CryptographicOperations.ZeroMemory(prk);
                return (sk, PublicKeyOf(sk));
            }

            CryptographicOperations.ZeroMemory(sk);
        }

        throw new HpkeException("DeriveKeyPair failed");
    }

    private static bool IsZero(byte[] b) => b.All(x => x == 0);

    private static bool LessThanOrder(byte[] b)
    {
        for (int i = 0; i < 32; i++)
        {
            if (b[i] != Order[i])
            {
                return b[i] < Order[i];
            }
        }

        return false;
    }
}

/// <summary>HPKE base mode (RFC 9180 section 5.1), single-shot and context APIs.</summary>
public sealed class HpkeSuite(HpkeKemId kem, HpkeKdfId kdf, HpkeAeadId aead)
{
    public Dhkem Kem { get; } = Dhkem.For(kem);
    public HpkeKdfId KdfId { get; } = kdf;
    public HpkeAeadId AeadId { get; } = aead;

    public HpkeContext KeySchedule(byte[] sharedSecret, ReadOnlySpan<byte> info) => KeySchedule((ushort)Kem.Id, KdfId, AeadId, sharedSecret, info);

    /// <summary>
    /// KeySchedule(mode_base, shared_secret, info, "", "") of RFC 9180 section 5.1 for any KEM id: the schedule only
    /// uses the id in suite_id (so the vectors of KEMs we do not implement can check it too). Zeroes
    /// <paramref name="sharedSecret"/>.
    /// </summary>
    internal static HpkeContext KeySchedule(ushort kemId, HpkeKdfId kdf, HpkeAeadId aead, byte[] sharedSecret, ReadOnlySpan<byte> info) =>
        new ScheduleContext(kemId, kdf, aead, info).Derive(sharedSecret, withExporter: true);

    public (byte[] Enc, HpkeContext Context) SetupBaseS(ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info, ReadOnlySpan<byte> ikmE = default)
    {
        var (ss, enc) = Kem.Encap(pkR, ikmE);
        return (enc, KeySchedule(ss, info));
    }

    public HpkeContext SetupBaseR(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR, ReadOnlySpan<byte> info) =>
        KeySchedule(Kem.Decap(enc, skR), info);

    public (byte[] Enc, byte[] Ciphertext) SealBase(ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> pt) =>
        BaseSealer(info).Seal(pkR, aad, pt);

    public byte[] OpenBase(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ct)
    {
        using var ctx = new ScheduleContext((ushort)Kem.Id, KdfId, AeadId, info).Derive(Kem.Decap(enc, skR), withExporter: false);
        return ctx.Open(aad, ct);
    }

    /// <summary>
    /// Single-shot base-mode encryption of many messages under one <paramref name="info"/> (an MLS commit's path
    /// secrets): the info-dependent part of the key schedule is computed once, not per recipient. Thread-safe.
    /// </summary>
    public HpkeSealer BaseSealer(ReadOnlySpan<byte> info) => new(Kem, new ScheduleContext((ushort)Kem.Id, KdfId, AeadId, info));
}

/// <summary>
/// suite_id and key_schedule_context (mode_base || psk_id_hash || info_hash) of RFC 9180 section 5.1: everything the
/// key schedule needs except the shared secret.
/// </summary>
internal sealed class ScheduleContext
{
    private readonly HpkeKdfId _kdf;
    private readonly HpkeAeadId _aead;
    private readonly byte[] _suiteId;
    private readonly byte[] _context;

    public ScheduleContext(ushort kemId, HpkeKdfId kdf, HpkeAeadId aead, ReadOnlySpan<byte> info)
    {
        _kdf = kdf;
        _aead = aead;
        _suiteId = [.. "HPKE"u8, (byte)(kemId >> 8), (byte)kemId, (byte)((ushort)kdf >> 8), (byte)kdf, (byte)((ushort)aead >> 8), (byte)aead];
        int nh = Kdf.Nh(kdf);
        _context = new byte[1 + 2 * nh];
        Kdf.LabeledExtract(kdf, _suiteId, [], "psk_id_hash", [], _context.AsSpan(1, nh));
        Kdf.LabeledExtract(kdf, _suiteId, [], "info_hash", info, _context.AsSpan(1 + nh, nh));
    }

    /// <summary>The context for <paramref name="sharedSecret"/> (zeroed here); single-shot use needs no exporter secret.</summary>
    public HpkeContext Derive(byte[] sharedSecret, bool withExporter)
    {
        byte[] secret = Kdf.LabeledExtract(_kdf, _suiteId, sharedSecret, "secret", []);
        bool exportOnly = _aead == HpkeAeadId.ExportOnly;
        byte[] key = exportOnly ? [] : Kdf.LabeledExpand(_kdf, _suiteId, secret, "key", _context, Aead.KeySize(_aead));
        byte[] nonce = exportOnly ? [] : Kdf.LabeledExpand(_kdf, _suiteId, secret, "base_nonce", _context, Aead.NonceSize);
        byte[] exporter = withExporter ? Kdf.LabeledExpand(_kdf, _suiteId, secret, "exp", _context, Kdf.Nh(_kdf)) : [];
        CryptographicOperations.ZeroMemory(secret);
        CryptographicOperations.ZeroMemory(sharedSecret);
        return new HpkeContext(_kdf, _aead, _suiteId, key, nonce, exporter);
    }
}

/// <summary>Base-mode single-shot encryption to many recipients under one info (see <see cref="HpkeSuite.BaseSealer"/>).</summary>
public sealed class HpkeSealer
{
    private readonly Dhkem _kem;
    private readonly ScheduleContext _schedule;

    internal HpkeSealer(Dhkem kem, ScheduleContext schedule)
    {
        _kem = kem;
        _schedule = schedule;
    }

    public (byte[] Enc, byte[] Ciphertext) Seal(ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> pt)
    {
        var (ss, enc) = _kem.Encap(pkR);
        using var ctx = _schedule.Derive(ss, withExporter: false);
        return (enc, ctx.Seal(aad, pt));
    }
}

public sealed class HpkeContext : IDisposable
{
    private readonly HpkeKdfId _kdf;
    private readonly HpkeAeadId _aead;
    private readonly byte[] _suiteId;
    private readonly byte[] _key;
    private readonly byte[] _baseNonce;
    private readonly byte[] _exporterSecret;
    private ulong _seq;

    internal HpkeContext(HpkeKdfId kdf, HpkeAeadId aead, byte[] suiteId, byte[] key, byte[] baseNonce, byte[] exporterSecret)
    {
        _kdf = kdf;
        _aead = aead;
        _suiteId = suiteId;
        _key = key;
        _baseNonce = baseNonce;
        _exporterSecret = exporterSecret;
    }

    internal byte[] Key => _key;
    internal byte[] BaseNonce => _baseNonce;
    internal byte[] ExporterSecret => _exporterSecret;

    private byte[] NextNonce()
    {
        if (_seq == ulong.MaxValue)
        {
            throw new HpkeException("message limit reached");
        }

        byte[] n = (byte[])_baseNonce.Clone();
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(s, _seq);
        for (int i = 0; i < 8; i++)
        {
            n[4 + i] ^= s[i];
        }

        return n;
    }

    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> pt)
    {
        byte[] ct = Aead.Seal(_aead, _key, NextNonce(), aad, pt);
        _seq++;
        return ct;
    }

    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ct)
    {
        byte[] pt = Aead.Open(_aead, _key, NextNonce(), aad, ct);
        _seq++;
        return pt;
    }

    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length) =>
        Kdf.LabeledExpand(_kdf, _suiteId, _exporterSecret, "sec", exporterContext, length);

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_exporterSecret);
    }
}

/// <summary>DHKEM(P-384, HKDF-SHA384) and DHKEM(P-521, HKDF-SHA512).</summary>
public sealed class NistKem : Dhkem
{
    public static readonly NistKem P384 = new(HpkeKemId.DhkemP384Sha384, ECCurve.NamedCurves.nistP384, "P-384", HpkeKdfId.HkdfSha384, 48, 48, 0xFF);
    public static readonly NistKem P521 = new(HpkeKemId.DhkemP521Sha512, ECCurve.NamedCurves.nistP521, "P-521", HpkeKdfId.HkdfSha512, 64, 66, 0x01);

    private readonly ECCurve _curve;
    private readonly byte[] _order;
    private readonly byte _bitmask;

    private NistKem(HpkeKemId id, ECCurve curve, string bcName, HpkeKdfId kdf, int secret, int coord, byte bitmask)
    {
        Id = id;
        _curve = curve;
        KdfId = kdf;
        SecretSize = secret;
        Coordinate = coord;
        _bitmask = bitmask;
        var n = Org.BouncyCastle.Asn1.Nist.NistNamedCurves.GetByName(bcName).N.ToByteArrayUnsigned();
        _order = new byte[coord];
        n.CopyTo(_order, coord - n.Length);
    }

    public override HpkeKemId Id { get; }
    public override HpkeKdfId KdfId { get; }
    public override int SecretSize { get; }
    public int Coordinate { get; }
    public override int EncSize => 1 + 2 * Coordinate;
    public override int PublicKeySize => 1 + 2 * Coordinate;
    public override int PrivateKeySize => Coordinate;
    public ECCurve Curve => _curve;

    public ECParameters PublicParameters(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeySize || publicKey[0] != 0x04)
        {
            throw new HpkeException("public key must be an uncompressed point");
        }

        return new ECParameters { Curve = _curve, Q = new ECPoint { X = publicKey[1..(1 + Coordinate)].ToArray(), Y = publicKey[(1 + Coordinate)..].ToArray() } };
    }

    public ECParameters PrivateParameters(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length == 0 || privateKey.Length > Coordinate)
        {
            throw new HpkeException("bad private key length");
        }

        byte[] d = new byte[Coordinate];
        privateKey.CopyTo(d.AsSpan(Coordinate - privateKey.Length));
        return new ECParameters { Curve = _curve, D = d };
    }

    public override byte[] Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        try
        {
            using var me = ECDiffieHellman.Create(PrivateParameters(privateKey));
            using var other = ECDiffieHellman.Create(PublicParameters(publicKey));
            return me.DeriveRawSecretAgreement(other.PublicKey);
        }
        catch (CryptographicException e)
        {
            throw new HpkeException("invalid key", e);
        }
    }

    public override byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        try
        {
            using var me = ECDiffieHellman.Create(PrivateParameters(privateKey));
            var q = me.ExportParameters(false).Q;
            return [0x04, .. q.X!, .. q.Y!];
        }
        catch (CryptographicException e)
        {
            throw new HpkeException("invalid private key", e);
        }
    }

    public override (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        byte[] prk = LabeledExtract([], "dkp_prk", ikm);
        for (int counter = 0; counter < 256; counter++)
        {
            byte[] sk = LabeledExpand(prk, "candidate", [(byte)counter], Coordinate);
            sk[0] &= _bitmask;
            if (sk.Any(b => b != 0) && LessThanOrder(sk))
            {
                CryptographicOperations.ZeroMemory(prk);
                return (sk, PublicKeyOf(sk));
            }
        }

        throw new HpkeException("DeriveKeyPair failed");
    }

    private bool LessThanOrder(byte[] b)
    {
        for (int i = 0; i < b.Length; i++)
        {
            if (b[i] != _order[i])
            {
                return b[i] < _order[i];
            }
        }

        return false;
    }
}

/// <summary>DHKEM(X448, HKDF-SHA512).</summary>
public sealed class X448Kem : Dhkem
{
    public static readonly X448Kem Instance = new();

    public override HpkeKemId Id => HpkeKemId.DhkemX448Sha512;
    public override HpkeKdfId KdfId => HpkeKdfId.HkdfSha512;
    public override int SecretSize => 64;
    public override int EncSize => 56;
    public override int PublicKeySize => 56;
    public override int PrivateKeySize => 56;

    public override byte[] Dh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        if (privateKey.Length != 56 || publicKey.Length != 56)
        {
            throw new HpkeException("bad X448 key length");
        }

        byte[] k = privateKey.ToArray(), u = publicKey.ToArray(), r = new byte[56];
        Org.BouncyCastle.Math.EC.Rfc7748.X448.ScalarMult(k, 0, u, 0, r, 0);
        CryptographicOperations.ZeroMemory(k);
        if (r.All(b => b == 0))
        {
            throw new HpkeException("X448 produced the all-zero value");
        }

        return r;
    }

    public override byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != 56)
        {
            throw new HpkeException("bad X448 private key length");
        }

        byte[] k = privateKey.ToArray(), r = new byte[56];
        Org.BouncyCastle.Math.EC.Rfc7748.X448.ScalarMultBase(k, 0, r, 0);
        CryptographicOperations.ZeroMemory(k);
        return r;
    }

    public override (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        byte[] prk = LabeledExtract([], "dkp_prk", ikm);
        byte[] sk = LabeledExpand(prk, "sk", [], 56);
        CryptographicOperations.ZeroMemory(prk);
        return (sk, PublicKeyOf(sk));
    }
}
