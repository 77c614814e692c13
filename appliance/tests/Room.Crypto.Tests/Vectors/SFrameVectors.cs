using System.Text.Json;
using Room.Crypto.SFrame;

namespace Room.Crypto.Tests.Vectors;

/// <summary>RFC 9605 sections (header, aes_ctr_hmac, sframe) and the post-RFC AES-256 CTR suites 6-8.</summary>
public static class SFrameVectors
{
    public static Tally Run(string file)
    {
        var t = new Tally(file);
        using var doc = VectorFiles.Load(file);
        foreach (var section in doc.RootElement.EnumerateObject())
        {
            int i = 0;
            foreach (var v in section.Value.EnumerateArray())
            {
                string name = $"{section.Name}[{i++}]";
                switch (section.Name)
                {
                    case "header":
                        t.Case(name, () => Header(v));
                        break;
                    case "aes_ctr_hmac":
                    case "aes_256_ctr_hmac":
                    case "sframe":
                    case "sframe_aes_256_ctr_hmac":
                        if (v.GetProperty("cipher_suite").GetInt32() is >= 1 and <= 8)
                        {
                            t.Case(name, () => (section.Name.StartsWith("sframe", StringComparison.Ordinal) ? (Action<JsonElement>)Full : CtrHmac)(v));
                        }
                        else
                        {
                            t.Skip();
                        }

                        break;
                    default:
                        t.Skip();
                        break;
                }
            }
        }

        return t;
    }

    private static void Header(JsonElement v)
    {
        ulong kid = v.GetProperty("kid").GetUInt64();
        ulong ctr = v.GetProperty("ctr").GetUInt64();
        byte[] encoded = v.Hex("encoded");
        var h = new SFrameHeader(kid, ctr);
        Span<byte> buf = stackalloc byte[SFrameHeader.MaxSize];
        int n = h.Encode(buf);
        Check.Equal(encoded, buf[..n], "header encode");
        var d = SFrameHeader.Decode(encoded, out int consumed);
        Check.Equal(encoded.Length, consumed, "consumed");
        Check.Equal(h, d, "header decode");
    }

    private static void CtrHmac(JsonElement v)
    {
        var suite = (SFrameCipherSuite)v.GetProperty("cipher_suite").GetInt32();
        var p = SFrameSuiteParameters.For(suite);
        byte[] key = v.Hex("key");
        byte[] nonce = v.Hex("nonce"), aad = v.Hex("aad"), pt = v.Hex("pt"), ct = v.Hex("ct");
        using var aead = new CtrHmacAead(p, key);
        byte[] outp = new byte[pt.Length + p.TagSize];
        aead.Seal(nonce, aad, pt, outp);
        Check.Equal(ct, outp, "ct");
        byte[] back = new byte[pt.Length];
        Check.True(aead.Open(nonce, aad, ct, back), "open");
        Check.Equal(pt, back, "pt");
        ct[^1] ^= 1;
        Check.True(!aead.Open(nonce, aad, ct, back), "tampered tag accepted");
    }

    private static void Full(JsonElement v)
    {
        var suite = (SFrameCipherSuite)v.GetProperty("cipher_suite").GetInt32();
        var p = SFrameSuiteParameters.For(suite);
        ulong kid = v.GetProperty("kid").GetUInt64();
        ulong ctr = v.GetProperty("ctr").GetUInt64();
        byte[] baseKey = v.Hex("base_key");
        byte[] key = new byte[p.KeySize], salt = new byte[p.NonceSize];
        SFrameKey.Derive(suite, kid, baseKey, key, salt);
        Check.Equal(v.Hex("sframe_key"), key, "sframe_key");
        Check.Equal(v.Hex("sframe_salt"), salt, "sframe_salt");
        byte[] metadata = v.Hex("metadata"), pt = v.Hex("pt"), ct = v.Hex("ct");
        using var k = new SFrameKey(suite, kid, baseKey);
        byte[] outp = new byte[pt.Length + k.MaxOverhead];
        int n = k.Encrypt(ctr, metadata, pt, outp);
        Check.Equal(ct, outp.AsSpan(0, n), "ct");
        byte[] back = new byte[ct.Length];
        int m = k.Decrypt(metadata, ct, back);
        Check.Equal(pt, back.AsSpan(0, m), "pt");
    }
}
