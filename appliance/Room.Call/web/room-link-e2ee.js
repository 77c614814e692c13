// Room link E2EE for browser participants of bare-Janus meetings: the same per-frame SFrame (RFC 9605,
// AES_128_GCM_SHA256_128) roomd does (appliance/Room.Call/E2ee), with WebCrypto, through WebRTC encoded transforms.
//
// INTERIM KEYING: the meeting secret is the 32 bytes in the link's fragment (#k=<base64url>); everyone holding the
// link can read the media, the SFU (which never sees the fragment) cannot. The intended keying is MLS through the
// meeting-server; this is not that.
//
//   root          = HKDF-Extract(salt = "Room link key v1", secret)
//   base_key(kid) = HKDF-Expand(root, "Room link SFrame base key" || uint64_be(kid), 32)
//   key, salt     = RFC 9605 4.4.2 from base_key (sframe_secret = HKDF-Extract("", base_key))
//   code          = HKDF-Expand(root, "Room link security code", 60) -> 12 x (5-byte big-endian mod 100000)
//
// Frame layout: clear prefix || SFrame header || ciphertext || tag, AAD = header || clear prefix. The clear prefix
// is the VP8 payload header (10 bytes on keyframes, 3 on delta frames) so packetizers and the SFU keep working;
// Opus frames are encrypted whole.
//
// Works as a page script (window.RoomLinkE2ee) and as an RTCRtpScriptTransform worker (the same file).
(function (scope) {
  'use strict';
  const te = new TextEncoder();
  const SUITE = 0x0004; // AES_128_GCM_SHA256_128
  const TAG = 16;
  const KEY_PREFIX = 10, DELTA_PREFIX = 3;

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function u64(v) { // v: non-negative Number below 2^53, or BigInt
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v));
    return b;
  }
  async function hkdf(ikm, salt, info, bytes) {
    const k = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
    return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, k, bytes * 8));
  }
  function fromBase64Url(text) {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text)) throw new Error('the meeting key is not base64url');
    const b64 = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '==='.slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, c => c.charCodeAt(0));
  }
  function keyFromFragment(fragment) {
    const params = new URLSearchParams(String(fragment || '').replace(/^#/, ''));
    const all = params.getAll('k');
    if (all.length !== 1) throw new Error(all.length ? 'more than one key in the link' : 'the link carries no key');
    const secret = fromBase64Url(all[0]);
    if (secret.length !== 32) throw new Error('the meeting key must be 32 bytes');
    return secret;
  }

  function minimal(v) { let n = 0; let x = BigInt(v); do { n++; x >>= 8n; } while (x > 0n); return n; }
  function encodeHeader(kid, ctr) {
    const parts = [];
    let config = 0;
    for (const [v, shift] of [[kid, 4], [ctr, 0]]) {
      if (v < 8) { config |= Number(v) << shift; continue; }
      const n = minimal(v);
      config |= (0x8 | (n - 1)) << shift;
      parts.push(u64(v).slice(8 - n));
    }
    return concat(Uint8Array.of(config), ...parts);
  }
  function decodeHeader(b) {
    if (b.length < 1) throw new Error('empty SFrame header');
    const config = b[0];
    let pos = 1;
    const read = (x) => {
      if ((x & 0x8) === 0) return BigInt(x & 0x7);
      const n = (x & 0x7) + 1;
      if (b.length < pos + n) throw new Error('truncated SFrame header');
      let v = 0n;
      for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[pos + i]);
      if (v < 8n || minimal(v) !== n) throw new Error('non-canonical SFrame header');
      pos += n;
      return v;
    };
    const kid = read(config >> 4);
    const ctr = read(config & 0xf);
    return { kid, ctr, length: pos };
  }
  function clearPrefix(kind, data) {
    if (kind !== 'video' || data.length === 0) return 0;
    return Math.min((data[0] & 1) === 0 ? KEY_PREFIX : DELTA_PREFIX, data.length);
  }

  // One link's keys: encrypt with our KID, decrypt any sender's (keys derived on first sight, at most 64 kept).
  class LinkContext {
    constructor(secret) {
      this.secret = secret;
      this.keys = new Map();
      this.counters = new Map();
      this.stats = { encrypted: 0, decrypted: 0, rejected: 0, lastError: '' };
    }
    async root() {
      // WebCrypto's HKDF is Extract-then-Expand; the root is the Extract step, kept as an HKDF key for the Expands.
      if (!this._root) {
        const prk = await crypto.subtle.importKey('raw', await this.extract(), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        this._root = prk;
      }
      return this._root;
    }
    async extract() {
      const k = await crypto.subtle.importKey('raw', te.encode('Room link key v1'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Uint8Array(await crypto.subtle.sign('HMAC', k, this.secret));
    }
    async expand(info, bytes) { // RFC 5869 Expand with the root as PRK
      const prk = await this.root();
      let t = new Uint8Array(0), out = new Uint8Array(0);
      for (let i = 1; out.length < bytes; i++) {
        t = new Uint8Array(await crypto.subtle.sign('HMAC', prk, concat(t, info, Uint8Array.of(i))));
        out = concat(out, t);
      }
      return out.slice(0, bytes);
    }
    async securityCode() {
      const b = await this.expand(te.encode('Room link security code'), 60);
      const groups = [];
      for (let g = 0; g < 12; g++) {
        let v = 0;
        for (let i = 0; i < 5; i++) v = v * 256 + b[g * 5 + i];
        groups.push(String(v % 100000).padStart(5, '0'));
      }
      return groups.join(' ');
    }
    key(kid) {
      const id = BigInt(kid);
      let k = this.keys.get(id);
      if (!k) {
        k = (async () => {
          const base = await this.expand(concat(te.encode('Room link SFrame base key'), u64(id)), 32);
          const suite = Uint8Array.of(SUITE >> 8, SUITE & 0xff);
          const keyBytes = await hkdf(base, new Uint8Array(0), concat(te.encode('SFrame 1.0 Secret key '), u64(id), suite), 16);
          const salt = await hkdf(base, new Uint8Array(0), concat(te.encode('SFrame 1.0 Secret salt '), u64(id), suite), 12);
          return { key: await crypto.subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['encrypt', 'decrypt']), salt };
        })();
        if (this.keys.size >= 64) this.keys.delete(this.keys.keys().next().value);
        this.keys.set(id, k);
      }
      return k;
    }
    static nonce(salt, ctr) {
      const n = salt.slice();
      const c = u64(ctr);
      for (let i = 0; i < 8; i++) n[4 + i] ^= c[i];
      return n;
    }
    async encrypt(kid, kind, data) {
      const ctr = this.counters.get(kid) || 0;
      this.counters.set(kid, ctr + 1);
      const { key, salt } = await this.key(kid);
      const prefix = data.subarray(0, clearPrefix(kind, data));
      const header = encodeHeader(BigInt(kid), BigInt(ctr));
      const ct = new Uint8Array(await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: LinkContext.nonce(salt, ctr), additionalData: concat(header, prefix), tagLength: 128 }, key, data.subarray(prefix.length)));
      this.stats.encrypted++;
      return concat(prefix, header, ct);
    }
    async decrypt(kind, data) {
      const p = clearPrefix(kind, data);
      const prefix = data.subarray(0, p);
      const sframe = data.subarray(p);
      if (sframe.length < 1 + TAG) throw new Error('frame too short for SFrame');
      const h = decodeHeader(sframe);
      const { key, salt } = await this.key(h.kid);
      const pt = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: LinkContext.nonce(salt, h.ctr), additionalData: concat(sframe.subarray(0, h.length), prefix), tagLength: 128 },
        key, sframe.subarray(h.length)));
      this.stats.decrypted++;
      return concat(prefix, pt);
    }
    // A TransformStream for one sender ({mode:'encrypt', kind, kid}) or receiver ({mode:'decrypt', kind}).
    transformStream(options) {
      const ctx = this;
      return new TransformStream({
        async transform(frame, controller) {
          try {
            const data = new Uint8Array(frame.data);
            const out = options.mode === 'encrypt' ? await ctx.encrypt(options.kid, options.kind, data) : await ctx.decrypt(options.kind, data);
            frame.data = out.buffer;
            controller.enqueue(frame);
          } catch (e) {
            // Never send clear media, never decode what does not authenticate: drop the frame.
            ctx.stats.rejected++;
            ctx.stats.lastError = String(e && e.message || e);
          }
        },
      });
    }
  }

  const api = { LinkContext, keyFromFragment, fromBase64Url, encodeHeader, decodeHeader, clearPrefix };
  scope.RoomLinkE2ee = api;

  // RTCRtpScriptTransform worker side: one context per secret; counters posted back to the page.
  if (typeof WorkerGlobalScope !== 'undefined' && scope instanceof WorkerGlobalScope) {
    const contexts = new Map();
    scope.onrtctransform = (event) => {
      const o = event.transformer.options;
      const id = Array.from(o.secret).join(',');
      if (!contexts.has(id)) contexts.set(id, new LinkContext(Uint8Array.from(o.secret)));
      const ctx = contexts.get(id);
      event.transformer.readable.pipeThrough(ctx.transformStream(o)).pipeTo(event.transformer.writable);
    };
    setInterval(() => {
      const total = { encrypted: 0, decrypted: 0, rejected: 0, lastError: '' };
      for (const c of contexts.values()) {
        total.encrypted += c.stats.encrypted; total.decrypted += c.stats.decrypted; total.rejected += c.stats.rejected;
        total.lastError = c.stats.lastError || total.lastError;
      }
      scope.postMessage(total);
    }, 200);
  }
})(typeof self !== 'undefined' ? self : globalThis);
