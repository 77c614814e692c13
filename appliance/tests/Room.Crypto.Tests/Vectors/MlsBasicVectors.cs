using System.Text.Json;
using Room.Crypto.Mls;

namespace Room.Crypto.Tests.Vectors;

/// <summary>tree-math, deserialization, crypto-basics.</summary>
public static class MlsBasicVectors
{
    /// <summary>Runs body for supported suites, counts the rest as skipped.</summary>
    public static Tally PerSuite(string file, Action<JsonElement, MlsCipherSuite> body)
    {
        var t = new Tally(file);
        using var doc = VectorFiles.Load(file);
        int i = 0;
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            ushort cs = (ushort)v.GetProperty("cipher_suite").GetInt32();
            if (!MlsCipherSuite.IsSupported(cs))
            {
                t.Skip();
            }
            else
            {
                t.Case($"[{i}] suite {cs}", () => body(v, MlsCipherSuite.Get(cs)));
            }

            i++;
        }

        return t;
    }

    public static Tally TreeMathRun(string file)
    {
        var t = new Tally(file);
        using var doc = VectorFiles.Load(file);
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            uint n = v.GetProperty("n_leaves").GetUInt32();
            t.Case($"n_leaves={n}", () =>
            {
                Check.Equal(v.GetProperty("n_nodes").GetUInt32(), TreeMath.NodeWidth(n), "n_nodes");
                Check.Equal(v.GetProperty("root").GetUInt32(), TreeMath.Root(n), "root");
                uint width = TreeMath.NodeWidth(n);
                for (uint x = 0; x < width; x++)
                {
                    Expect(v, "left", x, () => TreeMath.Left(x));
                    Expect(v, "right", x, () => TreeMath.Right(x));
                    Expect(v, "parent", x, () => TreeMath.Parent(x, n));
                    Expect(v, "sibling", x, () => TreeMath.Sibling(x, n));
                }
            });
        }

        return t;
    }

    private static void Expect(JsonElement v, string prop, uint x, Func<uint> f)
    {
        var e = v.GetProperty(prop)[(int)x];
        if (e.ValueKind == JsonValueKind.Null)
        {
            bool threw = false;
            try
            {
                f();
            }
            catch (MlsException)
            {
                threw = true;
            }

            Check.True(threw, $"{prop}({x}) should not exist");
        }
        else
        {
            Check.Equal(e.GetUInt32(), f(), $"{prop}({x})");
        }
    }

    public static Tally DeserializationRun(string file)
    {
        var t = new Tally(file);
        using var doc = VectorFiles.Load(file);
        foreach (var v in doc.RootElement.EnumerateArray())
        {
            t.Case(v.GetProperty("vlbytes_header").GetString()!, () =>
            {
                byte[] header = v.Hex("vlbytes_header");
                ulong len = v.GetProperty("length").GetUInt64();
                var r = new MlsReader(header);
                Check.Equal(len, r.VarInt(), "length");
                Check.True(r.AtEnd, "consumed");
                var w = new MlsWriter();
                w.VarInt(len);
                Check.Equal(header, w.ToArray(), "encode");
            });
        }

        return t;
    }

    public static Tally CryptoBasicsRun(string file) => PerSuite(file, (v, cs) =>
    {
        var rh = v.GetProperty("ref_hash");
        Check.Equal(rh.Hex("out"), cs.RefHash(rh.GetProperty("label").GetString()!, rh.Hex("value")), "ref_hash");

        var ewl = v.GetProperty("expand_with_label");
        Check.Equal(ewl.Hex("out"), cs.ExpandWithLabel(ewl.Hex("secret"), ewl.GetProperty("label").GetString()!, ewl.Hex("context"), ewl.GetProperty("length").GetInt32()), "expand_with_label");

        var ds = v.GetProperty("derive_secret");
        Check.Equal(ds.Hex("out"), cs.DeriveSecret(ds.Hex("secret"), ds.GetProperty("label").GetString()!), "derive_secret");

        var dts = v.GetProperty("derive_tree_secret");
        Check.Equal(dts.Hex("out"), cs.DeriveTreeSecret(dts.Hex("secret"), dts.GetProperty("label").GetString()!, dts.GetProperty("generation").GetUInt32(), dts.GetProperty("length").GetInt32()), "derive_tree_secret");

        var sw = v.GetProperty("sign_with_label");
        string sl = sw.GetProperty("label").GetString()!;
        Check.Equal(sw.Hex("pub"), cs.SignaturePublicKeyOf(sw.Hex("priv")), "signature public key");
        Check.True(cs.VerifyWithLabel(sw.Hex("pub"), sl, sw.Hex("content"), sw.Hex("signature")), "verify given signature");
        byte[] mine = cs.SignWithLabel(sw.Hex("priv"), sl, sw.Hex("content"));
        Check.True(cs.VerifyWithLabel(sw.Hex("pub"), sl, sw.Hex("content"), mine), "verify own signature");
        Check.True(!cs.VerifyWithLabel(sw.Hex("pub"), sl + "x", sw.Hex("content"), mine), "wrong label accepted");

        var e = v.GetProperty("encrypt_with_label");
        string el = e.GetProperty("label").GetString()!;
        Check.Equal(e.Hex("pub"), cs.Hpke.Kem.PublicKeyOf(e.Hex("priv")), "hpke public key");
        Check.Equal(e.Hex("plaintext"), cs.DecryptWithLabel(e.Hex("priv"), el, e.Hex("context"), e.Hex("kem_output"), e.Hex("ciphertext")), "decrypt_with_label");
        var (kem, ct) = cs.EncryptWithLabel(e.Hex("pub"), el, e.Hex("context"), e.Hex("plaintext"));
        Check.Equal(e.Hex("plaintext"), cs.DecryptWithLabel(e.Hex("priv"), el, e.Hex("context"), kem, ct), "round trip");
    });
}
