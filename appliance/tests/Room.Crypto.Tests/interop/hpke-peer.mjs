// @hpke/core peer for Room.Crypto's HPKE cross-check (HpkeInteropTests). One JSON request per stdin line, one JSON
// reply per stdout line; binary values are hex strings. Errors reply {"error": "..."}.
// Suites: DHKEM(P-256) 0x0010 and DHKEM(X25519) 0x0020 with HKDF-SHA256, AES-128-GCM 1, AES-256-GCM 2, ChaCha20-Poly1305 3.
import * as readline from "node:readline";
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";

const hex = (b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s ?? "", "hex"));
const kems = { 16: () => new DhkemP256HkdfSha256(), 32: () => new DhkemX25519HkdfSha256() };
const aeads = { 1: () => new Aes128Gcm(), 2: () => new Aes256Gcm(), 3: () => new Chacha20Poly1305() };

function suite(kem, aead) {
  if (!kems[kem] || !aeads[aead]) throw new Error(`unsupported suite ${kem}/${aead}`);
  return new CipherSuite({ kem: kems[kem](), kdf: new HkdfSha256(), aead: aeads[aead]() });
}

const handlers = {
  // DeriveKeyPair(ikm): the serialized key pair.
  async keyPair({ kem, aead, ikm }) {
    const s = suite(kem, aead);
    const kp = await s.kem.deriveKeyPair(unhex(ikm));
    return { pk: hex(await s.kem.serializePublicKey(kp.publicKey)), sk: hex(await s.kem.serializePrivateKey(kp.privateKey)) };
  },
  // SetupBaseS (with ikmE for a deterministic ephemeral key when given), then Seal each plaintext in turn and Export.
  async seal({ kem, aead, pkR, info, aad, pts, ikmE, exportContext, exportLength }) {
    const s = suite(kem, aead);
    const ctx = await s.createSenderContext({
      recipientPublicKey: await s.kem.deserializePublicKey(unhex(pkR)),
      info: unhex(info),
      ekm: ikmE ? unhex(ikmE) : undefined,
    });
    const cts = [];
    for (const pt of pts) cts.push(hex(await ctx.seal(unhex(pt), unhex(aad))));
    return { enc: hex(ctx.enc), cts, exported: hex(await ctx.export(unhex(exportContext), exportLength)) };
  },
  // SetupBaseR with the serialized private key, then Open each ciphertext in turn and Export.
  async open({ kem, aead, skR, enc, info, aad, cts, exportContext, exportLength }) {
    const s = suite(kem, aead);
    const ctx = await s.createRecipientContext({
      recipientKey: await s.kem.deserializePrivateKey(unhex(skR)),
      enc: unhex(enc),
      info: unhex(info),
    });
    const pts = [];
    for (const ct of cts) pts.push(hex(await ctx.open(unhex(ct), unhex(aad))));
    return { pts, exported: hex(await ctx.export(unhex(exportContext), exportLength)) };
  },
};

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    const req = JSON.parse(line);
    const h = handlers[req.cmd];
    if (!h) throw new Error("unknown command " + req.cmd);
    reply = await h(req);
  } catch (e) {
    reply = { error: String(e?.stack ?? e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
