using System.Text.Json.Nodes;
using Room.Crypto.Hpke;

namespace Room.Crypto.Tests;

/// <summary>
/// RFC 9180 base mode checked against a second, independent implementation: @hpke/core (with @hpke/chacha20poly1305)
/// in node, through interop/hpke-peer.mjs. Every suite the issue names: DHKEM(X25519) and DHKEM(P-256) with HKDF-SHA256
/// and AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305.
/// </summary>
public sealed class HpkeInteropTests
{
    private static readonly byte[] Info = "Room HPKE interop info"u8.ToArray();
    private static readonly byte[] Aad = "Count-0"u8.ToArray();
    private static readonly byte[] ExportContext = "room exporter"u8.ToArray();
    private static readonly byte[][] Plaintexts = ["Beauty is truth, truth beauty"u8.ToArray(), [], new byte[1500]];

    public static TheoryData<HpkeKemId, HpkeAeadId> Suites() => HpkeTests.Suites();

    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b);

    private static byte[] Bytes(JsonNode? n) => Convert.FromHexString(n!.GetValue<string>());

    private static (byte[] Sk, byte[] Pk) PeerKeyPair(TsMlsPeer peer, HpkeKemId kem, HpkeAeadId aead, byte[] ikm)
    {
        var r = peer.Call(new { cmd = "keyPair", kem = (int)kem, aead = (int)aead, ikm = Hex(ikm) });
        return (Bytes(r["sk"]), Bytes(r["pk"]));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void DeriveKeyPair_and_a_fixed_ephemeral_key_give_the_same_bytes_as_hpke_js(HpkeKemId kem, HpkeAeadId aead)
    {
        using var peer = new TsMlsPeer("hpke-peer.mjs", "@hpke/core");
        var suite = new HpkeSuite(kem, HpkeKdfId.HkdfSha256, aead);
        byte[] ikmR = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        byte[] ikmE = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var (skR, pkR) = suite.Kem.DeriveKeyPair(ikmR);
        var (theirSk, theirPk) = PeerKeyPair(peer, kem, aead, ikmR);
        Assert.Equal(Hex(theirPk), Hex(pkR));
        Assert.Equal(Hex(theirSk), Hex(skR));

        // Same recipient, same ephemeral key material: enc, every ciphertext of the sequence and the export agree byte for byte.
        var r = peer.Call(new { cmd = "seal", kem = (int)kem, aead = (int)aead, pkR = Hex(pkR), info = Hex(Info), aad = Hex(Aad), pts = Plaintexts.Select(p => Hex(p)).ToArray(), ikmE = Hex(ikmE), exportContext = Hex(ExportContext), exportLength = 48 });
        var (enc, ctx) = suite.SetupBaseS(pkR, Info, ikmE);
        using (ctx)
        {
            Assert.Equal(r["enc"]!.GetValue<string>(), Hex(enc), ignoreCase: true);
            var cts = r["cts"]!.AsArray();
            for (int i = 0; i < Plaintexts.Length; i++)
            {
                Assert.Equal(cts[i]!.GetValue<string>(), Hex(ctx.Seal(Aad, Plaintexts[i])), ignoreCase: true);
            }

            Assert.Equal(r["exported"]!.GetValue<string>(), Hex(ctx.Export(ExportContext, 48)), ignoreCase: true);
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Messages_sealed_by_hpke_js_open_here_and_ours_open_there(HpkeKemId kem, HpkeAeadId aead)
    {
        using var peer = new TsMlsPeer("hpke-peer.mjs", "@hpke/core");
        var suite = new HpkeSuite(kem, HpkeKdfId.HkdfSha256, aead);

        // hpke-js seals to our key (its own random ephemeral key); we open the whole sequence and export the same secret.
        var (sk, pk) = suite.Kem.GenerateKeyPair();
        var r = peer.Call(new { cmd = "seal", kem = (int)kem, aead = (int)aead, pkR = Hex(pk), info = Hex(Info), aad = Hex(Aad), pts = Plaintexts.Select(p => Hex(p)).ToArray(), exportContext = Hex(ExportContext), exportLength = 32 });
        using (var rx = suite.SetupBaseR(Bytes(r["enc"]), sk, Info))
        {
            var cts = r["cts"]!.AsArray();
            for (int i = 0; i < Plaintexts.Length; i++)
            {
                Assert.Equal(Plaintexts[i], rx.Open(Aad, Bytes(cts[i])));
            }

            Assert.Equal(Bytes(r["exported"]), rx.Export(ExportContext, 32));
        }

        // We seal to hpke-js's key; it opens the sequence and exports the same secret.
        var (theirSk, theirPk) = PeerKeyPair(peer, kem, aead, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var (enc, tx) = suite.SetupBaseS(theirPk, Info);
        using (tx)
        {
            string[] ours = Plaintexts.Select(p => Hex(tx.Seal(Aad, p))).ToArray();
            var o = peer.Call(new { cmd = "open", kem = (int)kem, aead = (int)aead, skR = Hex(theirSk), enc = Hex(enc), info = Hex(Info), aad = Hex(Aad), cts = ours, exportContext = Hex(ExportContext), exportLength = 32 });
            var pts = o["pts"]!.AsArray();
            for (int i = 0; i < Plaintexts.Length; i++)
            {
                Assert.Equal(Plaintexts[i], Bytes(pts[i]));
            }

            Assert.Equal(Bytes(o["exported"]), tx.Export(ExportContext, 32));

            // A ciphertext we tampered with is refused by hpke-js too (the tag is checked, not ignored).
            byte[] bad = Convert.FromHexString(ours[0]);
            bad[^1] ^= 1;
            Assert.Throws<InvalidOperationException>(() => peer.Call(new { cmd = "open", kem = (int)kem, aead = (int)aead, skR = Hex(theirSk), enc = Hex(enc), info = Hex(Info), aad = Hex(Aad), cts = new[] { Hex(bad) }, exportContext = "", exportLength = 32 }));
        }
    }
}
