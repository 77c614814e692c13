using System.Text.Json;
using Room.Crypto.Hpke;

namespace Room.Crypto.Tests.Vectors;

/// <summary>
/// pq/hpke-pq-test-vectors.json (hpkewg/hpke-pq). There are no RFC 9180 vectors in ../shared/vectors, but these entries
/// use RFC 9180 parts we implement, each checked on its own per entry:
/// <list type="bullet">
/// <item>"kem": DHKEM(P-256), DHKEM(P-384), DHKEM(X25519), DHKEM(X448) with their HKDFs: DeriveKeyPair(ikmR) = skRm/pkRm,
/// Encap(pkRm, ikmE) = enc/shared_secret, Decap(enc, skRm) = shared_secret. ML-KEM and the hybrids are skipped.</item>
/// <item>"schedule": the base-mode KeySchedule with HKDF-SHA256/384/512 from shared_secret and info: key, base_nonce,
/// exporter_secret, the whole Seal sequence (nonce = base_nonce XOR seq) and every export. The one-stage SHAKE and
/// TurboSHAKE KDFs of the draft are skipped.</item>
/// <item>"aead": AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 seal and open of every encryption with its key and nonce.</item>
/// </list>
/// </summary>
public static class HpkeVectors
{
    private static readonly HashSet<int> ClassicKems = [0x0010, 0x0011, 0x0012, 0x0020, 0x0021];
    private static readonly HashSet<int> HkdfKdfs = [0x0001, 0x0002, 0x0003];

    public static Tally Run(string file)
    {
        var t = new Tally(file);
        using var doc = VectorFiles.Load(file);
        int i = 0;
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            int kem = v.GetProperty("kem_id").GetInt32(), kdf = v.GetProperty("kdf_id").GetInt32(), aead = v.GetProperty("aead_id").GetInt32();
            string name = $"[{i++}] kem 0x{kem:x4} kdf 0x{kdf:x4} aead 0x{aead:x4}";
            Check.True(v.GetProperty("mode").GetInt32() == 0, "base mode only in this file");
            if (ClassicKems.Contains(kem))
            {
                t.Case(name + " kem", () => Kem(v, (HpkeKemId)kem));
            }
            else
            {
                t.Skip("kem: post-quantum KEM (ML-KEM, hybrids): not in RFC 9180");
            }

            if (HkdfKdfs.Contains(kdf))
            {
                t.Case(name + " schedule", () => Schedule(v, (ushort)kem, (HpkeKdfId)kdf, (HpkeAeadId)aead));
            }
            else
            {
                t.Skip("schedule: one-stage SHAKE/TurboSHAKE KDF of the draft: not in RFC 9180");
            }

            t.Case(name + " aead", () => AeadOnly(v, (HpkeAeadId)aead));
        }

        return t;
    }

    private static void Kem(JsonElement v, HpkeKemId id)
    {
        var kem = Dhkem.For(id);
        var (sk, pk) = kem.DeriveKeyPair(v.Hex("ikmR"));
        Check.Equal(Clamped(id, v.Hex("skRm")), Clamped(id, sk), "skRm");
        Check.Equal(v.Hex("pkRm"), pk, "pkRm");
        Check.Equal(v.Hex("pkRm"), kem.PublicKeyOf(v.Hex("skRm")), "pkRm from skRm");
        var (ss, enc) = kem.Encap(v.Hex("pkRm"), v.Hex("ikmE"));
        Check.Equal(v.Hex("enc"), enc, "enc");
        Check.Equal(v.Hex("shared_secret"), ss, "shared_secret (encap)");
        Check.Equal(v.Hex("shared_secret"), kem.Decap(v.Hex("enc"), v.Hex("skRm")), "shared_secret (decap)");
    }

    /// <summary>
    /// RFC 9180 section 7.1.2 says serialized X25519/X448 private keys are clamped (RFC 7748 decodeScalar); this file
    /// clamps its X448 keys but not its X25519 keys (nor do RFC 9180's own X25519 vectors). Both forms are the same
    /// scalar for DH, so compare them clamped.
    /// </summary>
    private static byte[] Clamped(HpkeKemId id, byte[] sk)
    {
        byte[] k = (byte[])sk.Clone();
        if (id == HpkeKemId.DhkemX25519Sha256)
        {
            k[0] &= 248;
            k[31] = (byte)((k[31] & 127) | 64);
        }
        else if (id == HpkeKemId.DhkemX448Sha512)
        {
            k[0] &= 252;
            k[55] |= 128;
        }

        return k;
    }

    private static void Schedule(JsonElement v, ushort kem, HpkeKdfId kdf, HpkeAeadId aead)
    {
        using var ctx = HpkeSuite.KeySchedule(kem, kdf, aead, v.Hex("shared_secret"), v.Hex("info"));
        Check.Equal(v.Hex("key"), ctx.Key, "key");
        Check.Equal(v.Hex("base_nonce"), ctx.BaseNonce, "base_nonce");
        Check.Equal(v.Hex("exporter_secret"), ctx.ExporterSecret, "exporter_secret");
        foreach (var e in v.GetProperty("encryptions").EnumerateArray())
        {
            Check.Equal(e.Hex("ct"), ctx.Seal(e.Hex("aad"), e.Hex("pt")), "ct of the sequence");
        }

        foreach (var x in v.GetProperty("exports").EnumerateArray())
        {
            Check.Equal(x.Hex("exported_value"), ctx.Export(x.Hex("exporter_context"), x.GetProperty("L").GetInt32()), "exported_value");
        }
    }

    private static void AeadOnly(JsonElement v, HpkeAeadId aead)
    {
        byte[] key = v.Hex("key");
        foreach (var e in v.GetProperty("encryptions").EnumerateArray())
        {
            byte[] nonce = e.Hex("nonce"), aad = e.Hex("aad"), pt = e.Hex("pt"), ct = e.Hex("ct");
            Check.Equal(ct, Aead.Seal(aead, key, nonce, aad, pt), "seal");
            Check.Equal(pt, Aead.Open(aead, key, nonce, aad, ct), "open");
            ct[^1] ^= 1;
            Check.True(Throws(() => Aead.Open(aead, key, nonce, aad, ct)), "tampered tag accepted");
        }
    }

    private static bool Throws(Action a)
    {
        try
        {
            a();
            return false;
        }
        catch (HpkeException)
        {
            return true;
        }
    }
}
