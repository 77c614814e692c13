// SFrame (RFC 9605, AES_128_GCM_SHA256_128) for meeting-server meetings, as meeting-server/docs/frame-format.md
// specifies and roomd does (appliance/Room.Call/E2ee): per encoded frame, KID = ((leaf << 4 | stream) << 4) | epoch mod
// 16, base keys per member from the MLS exporter, the VP8 payload header in clear, a 64-frame replay window per KID.
// AES keys are WebCrypto keys that cannot be extracted; base keys live only in this worker.

const te = new TextEncoder();
export const SUITE = 0x0004;
const TAG = 16;
const EPOCH_BITS = 4n;
const STREAM_BITS = 4n;
export const STREAMS = { video: 0, audio: 1 };
const VP8_KEY_PREFIX = 10, VP8_DELTA_PREFIX = 3;
const REPLAY_WINDOW = 64n;
const MAX_KEYS = 64;

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
function u64(v) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v)); return b; }
function u32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v); return b; }

async function hmac(key, data) {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, data));
}
/** RFC 5869 HKDF-Expand with SHA-256. */
export async function hkdfExpand(prk, info, length) {
  let t = new Uint8Array(0), out = new Uint8Array(0);
  for (let i = 1; out.length < length; i++) {
    t = await hmac(prk, concat(t, info, Uint8Array.of(i)));
    out = concat(out, t);
  }
  return out.slice(0, length);
}
/** RFC 5869 HKDF-Extract with SHA-256 (empty salt = 32 zero bytes). */
export async function hkdfExtract(salt, ikm) {
  return hmac(salt.length ? salt : new Uint8Array(32), ikm);
}

export function keyId(epoch, leaf, stream) {
  return (((BigInt(leaf) << STREAM_BITS) + BigInt(stream)) << EPOCH_BITS) + (BigInt(epoch) & ((1n << EPOCH_BITS) - 1n));
}
const memberKid = (kid) => kid & ~(((1n << STREAM_BITS) - 1n) << EPOCH_BITS);
const streamOf = (kid) => Number((kid >> EPOCH_BITS) & ((1n << STREAM_BITS) - 1n));

/** base_key = HKDF-Expand(sframe_epoch_secret, uint32(leaf), 32). */
export function baseKey(epochSecret, leaf) { return hkdfExpand(epochSecret, u32(leaf), 32); }

/** RFC 9605 4.4.2: the AES-GCM key (not extractable) and salt of a KID. */
export async function deriveKey(base, kid) {
  const secret = await hkdfExtract(new Uint8Array(0), base);
  const suite = Uint8Array.of(SUITE >> 8, SUITE & 0xff);
  const keyBytes = await hkdfExpand(secret, concat(te.encode('SFrame 1.0 Secret key '), u64(kid), suite), 16);
  const salt = await hkdfExpand(secret, concat(te.encode('SFrame 1.0 Secret salt '), u64(kid), suite), 12);
  const key = await crypto.subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['encrypt', 'decrypt']);
  keyBytes.fill(0);
  secret.fill(0);
  return { key, salt };
}

function minimal(v) { let n = 0; let x = BigInt(v); do { n++; x >>= 8n; } while (x > 0n); return n; }
export function encodeHeader(kid, ctr) {
  const parts = [];
  let config = 0;
  for (const [v, shift] of [[BigInt(kid), 4], [BigInt(ctr), 0]]) {
    if (v < 8n) { config |= Number(v) << shift; continue; }
    const n = minimal(v);
    config |= (0x8 | (n - 1)) << shift;
    parts.push(u64(v).slice(8 - n));
  }
  return concat(Uint8Array.of(config), ...parts);
}
export function decodeHeader(b) {
  if (b.length < 1) throw new Error('empty SFrame header');
  const config = b[0];
  let pos = 1;
  const field = (x) => {
    if ((x & 0x8) === 0) return BigInt(x & 0x7);
    const n = (x & 0x7) + 1;
    if (b.length < pos + n) throw new Error('truncated SFrame header');
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[pos + i]);
    if (v < 8n || minimal(v) !== n) throw new Error('non-canonical SFrame header');
    pos += n;
    return v;
  };
  const kid = field(config >> 4);
  const ctr = field(config & 0xf);
  return { kid, ctr, length: pos };
}
export function clearPrefix(kind, data) {
  if (kind !== 'video' || data.length === 0) return 0;
  return Math.min((data[0] & 1) === 0 ? VP8_KEY_PREFIX : VP8_DELTA_PREFIX, data.length);
}
function nonce(salt, ctr) {
  const n = salt.slice();
  const c = u64(ctr);
  for (let i = 0; i < 8; i++) n[4 + i] ^= c[i];
  return n;
}

/**
 * The call's keys as roomd's MlsCallKeys holds them: one base key per member and epoch (by KID without stream bits);
 * the previous epoch's kept until the next epoch only when nobody left; a removal withdraws every older key.
 */
export class KeyRing {
  constructor() {
    this.members = new Map(); // memberKid -> { base, epoch, generation }
    this.generation = 0;
    this.epoch = -1n;
    this.myLeaf = -1;
    this.leaves = [];
    this.removed = false;
  }

  /** A new epoch: `bases` maps each member leaf to its base key (from the exporter); `leaves` are the members. */
  install(epoch, myLeaf, bases, removed = false) {
    const leaves = [...bases.keys()].sort((a, b) => a - b);
    const someoneLeft = this.leaves.some((l) => !bases.has(l)) || removed;
    const previousEpoch = this.epoch;
    const generation = this.generation + 1;
    for (const [kid, e] of [...this.members]) {
      if (someoneLeft || e.epoch !== previousEpoch) { e.base.fill(0); this.members.delete(kid); }
    }
    if (!removed) {
      for (const [leaf, base] of bases) {
        const kid = memberKid(keyId(epoch, leaf, 0));
        const old = this.members.get(kid);
        if (old) old.base.fill(0);
        this.members.set(kid, { base, epoch: BigInt(epoch), generation });
      }
    }
    this.epoch = BigInt(epoch);
    this.myLeaf = myLeaf;
    this.leaves = removed ? [] : leaves;
    this.removed = removed;
    this.generation = generation;
  }

  /** The base key for a KID a receiver sees, or null when it is not a current member's (or its stream is unknown). */
  receiveBase(kid) {
    if (streamOf(kid) >= 2) return null;
    const e = this.members.get(memberKid(kid));
    return e ? e.base : null;
  }

  isCurrent(kid, generation) {
    const e = this.members.get(memberKid(kid));
    return !!e && e.generation <= generation;
  }

  /** This member's KID and base key for a stream, or null when it may not send. */
  sendKey(stream) {
    if (this.removed || this.myLeaf < 0) return null;
    const kid = keyId(this.epoch, this.myLeaf, stream);
    const e = this.members.get(memberKid(kid));
    return e ? { kid, base: e.base, generation: this.generation } : null;
  }
}

/** Encrypts one sender's frames of one kind ('video' or 'audio'): the current KID, a counter per KID. */
export class Encryptor {
  constructor(ring, kind) {
    this.ring = ring;
    this.kind = kind;
    this.stream = STREAMS[kind];
    this.generation = -1;
    this.current = null; // { kid, key, salt }
    this.counter = 0n;
    this.frames = 0;
    this.dropped = 0;
    this.onRekey = null;
  }

  async encrypt(data) {
    if (this.ring.generation !== this.generation) {
      const generation = this.ring.generation;
      const s = this.ring.sendKey(this.stream);
      this.current = s ? { kid: s.kid, ...(await deriveKey(s.base, s.kid)) } : null;
      this.counter = 0n;
      this.generation = generation;
      if (this.current && this.onRekey) this.onRekey();
    }
    if (!this.current) { this.dropped++; return null; }
    const ctr = this.counter++;
    const p = clearPrefix(this.kind, data);
    const prefix = data.subarray(0, p);
    const header = encodeHeader(this.current.kid, ctr);
    const ct = new Uint8Array(await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce(this.current.salt, ctr), additionalData: concat(header, prefix), tagLength: 128 }, this.current.key, data.subarray(p)));
    this.frames++;
    return concat(prefix, header, ct);
  }
}

/** Decrypts any current member's frames of one kind; frames of other keys, tampered or replayed ones are dropped. */
export class Decryptor {
  constructor(ring, kind) {
    this.ring = ring;
    this.kind = kind;
    this.keys = new Map(); // kid -> { key, salt, generation, highest, window, any }
    this.generation = ring.generation;
    this.frames = 0;
    this.rejected = 0;
    this.lastError = '';
  }

  refresh() {
    for (const [kid, k] of [...this.keys]) if (!this.ring.isCurrent(kid, k.generation)) this.keys.delete(kid);
    this.generation = this.ring.generation;
  }

  reject(why) { this.rejected++; this.lastError = why; return null; }

  async decrypt(data) {
    const p = clearPrefix(this.kind, data);
    const sframe = data.subarray(p);
    if (sframe.length < 1 + TAG) return this.reject('frame too short for SFrame');
    if (this.ring.generation !== this.generation) this.refresh();
    let h;
    try { h = decodeHeader(sframe); } catch (e) { return this.reject(e.message); }
    let k = this.keys.get(h.kid);
    if (!k) {
      const base = this.ring.receiveBase(h.kid);
      if (!base) return this.reject('unknown SFrame KID (not a member)');
      const generation = this.ring.generation;
      k = { ...(await deriveKey(base, h.kid)), generation, highest: 0n, window: 0n, any: false };
      if (this.keys.size >= MAX_KEYS) this.keys.delete(this.keys.keys().next().value);
      this.keys.set(h.kid, k);
    }
    if (k.any && h.ctr <= k.highest) {
      const diff = k.highest - h.ctr;
      if (diff >= REPLAY_WINDOW || (k.window & (1n << diff)) !== 0n) return this.reject('SFrame counter replayed or too old');
    }
    let pt;
    try {
      pt = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: nonce(k.salt, h.ctr), additionalData: concat(sframe.subarray(0, h.length), data.subarray(0, p)), tagLength: 128 },
        k.key, sframe.subarray(h.length)));
    } catch {
      return this.reject('SFrame authentication failed');
    }
    // Accept the counter only after it authenticated.
    if (!k.any) { k.any = true; k.highest = h.ctr; k.window = 1n; }
    else if (h.ctr > k.highest) {
      const shift = h.ctr - k.highest;
      k.window = shift >= REPLAY_WINDOW ? 1n : ((k.window << shift) | 1n) & ((1n << REPLAY_WINDOW) - 1n);
      k.highest = h.ctr;
    } else k.window |= 1n << (k.highest - h.ctr);
    this.frames++;
    return concat(data.subarray(0, p), pt);
  }
}
