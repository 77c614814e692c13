// DER for what the web client needs of X.509: a PKCS#10 request for its P-256 key (the server sets the subject), and
// reading certificates (the organisation CA's and members' MLS credentials) to check them. Strict: a length that runs
// past its parent, a tag that is not the expected one or trailing bytes throw.

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_CN = '2.5.4.3';
// A guest certificate (the organisation's guest CA) names the guest as pseudonym and its host as description.
const OID_PSEUDONYM = '2.5.4.65';
const OID_DESCRIPTION = '2.5.4.13';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';

export class DerError extends Error {}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

// ---- writing

function len(n) {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}
export function tlv(tag, ...content) {
  const body = concat(...content);
  return concat(Uint8Array.of(tag), len(body.length), body);
}
const seq = (...c) => tlv(0x30, ...c);
const set = (...c) => tlv(0x31, ...c);
function oid(text) {
  const parts = text.split('.').map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const b = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** A PKCS#10 request for the uncompressed P-256 point `publicKey` (65 bytes), signed with `sign(tbs) -> DER signature`. */
export async function certificationRequest(publicKey, sign) {
  if (publicKey.length !== 65 || publicKey[0] !== 4) throw new DerError('the key must be an uncompressed P-256 point');
  const spki = seq(seq(oid(OID_EC_PUBLIC_KEY), oid(OID_P256)), tlv(0x03, Uint8Array.of(0), publicKey));
  const subject = seq(set(seq(oid(OID_CN), tlv(0x0c, new TextEncoder().encode('room-web-client')))));
  const info = seq(tlv(0x02, Uint8Array.of(0)), subject, spki, tlv(0xa0));
  const signature = await sign(info);
  return seq(info, seq(oid(OID_ECDSA_SHA256)), tlv(0x03, Uint8Array.of(0), signature));
}

// ---- reading

/** One DER element: tag, where its content starts and ends in `bytes`, and where the element ends. */
export function read(bytes, at = 0, end = bytes.length) {
  if (at + 2 > end) throw new DerError('truncated DER');
  const tag = bytes[at];
  let n = bytes[at + 1];
  let p = at + 2;
  if (n & 0x80) {
    const k = n & 0x7f;
    if (k === 0 || k > 4 || p + k > end) throw new DerError('bad DER length');
    n = 0;
    for (let i = 0; i < k; i++) n = n * 256 + bytes[p + i];
    p += k;
  }
  if (p + n > end) throw new DerError('DER length runs past its parent');
  return { tag, at, start: p, end: p + n, next: p + n, bytes };
}
function children(el) {
  const out = [];
  for (let at = el.start; at < el.end;) {
    const c = read(el.bytes, at, el.end);
    out.push(c);
    at = c.next;
  }
  return out;
}
function expect(el, tag, what) {
  if (el.tag !== tag) throw new DerError(`${what}: unexpected DER tag ${el.tag}`);
  return el;
}
const content = (el) => el.bytes.subarray(el.start, el.end);
const whole = (el) => el.bytes.subarray(el.at, el.end);
function oidText(el) {
  const b = content(expect(el, 0x06, 'OID'));
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) { parts.push(v); v = 0; }
  }
  return parts.join('.');
}
function time(el) {
  const s = new TextDecoder().decode(content(el));
  let m;
  if (el.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const y = Number(m[1]);
    return Date.UTC(y < 50 ? 2000 + y : 1900 + y, m[2] - 1, m[3], m[4], m[5], m[6]);
  }
  if (el.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) return Date.UTC(m[1], m[2] - 1, m[3], m[4], m[5], m[6]);
  throw new DerError('bad certificate time');
}
function nameParts(nameEl) {
  const out = { cn: null, pseudonym: null, description: null };
  const key = { [OID_CN]: 'cn', [OID_PSEUDONYM]: 'pseudonym', [OID_DESCRIPTION]: 'description' };
  for (const rdn of children(expect(nameEl, 0x30, 'name'))) {
    for (const atv of children(expect(rdn, 0x31, 'RDN'))) {
      const [type, value] = children(atv);
      const k = key[oidText(type)];
      if (k) out[k] = new TextDecoder('utf-8', { fatal: true }).decode(content(value));
    }
  }
  return out;
}

/**
 * An X.509 certificate's parts: the signed bytes, signature, subject CN, issuer (DER), validity, P-256 key, and the
 * CA flag and key usage. Throws on anything but an ECDSA-with-SHA-256 certificate for a P-256 key.
 */
export function parseCertificate(der) {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  const cert = expect(read(bytes), 0x30, 'certificate');
  if (cert.next !== bytes.length) throw new DerError('trailing bytes after the certificate');
  const [tbs, alg, sig, ...rest] = children(cert);
  if (!sig || rest.length) throw new DerError('a certificate has three parts');
  if (oidText(children(expect(alg, 0x30, 'algorithm'))[0]) !== OID_ECDSA_SHA256) throw new DerError('not signed with ECDSA-SHA256');
  const sigBits = content(expect(sig, 0x03, 'signature'));
  if (sigBits[0] !== 0) throw new DerError('signature has unused bits');
  const f = children(expect(tbs, 0x30, 'tbsCertificate'));
  let i = f[0].tag === 0xa0 ? 1 : 0;
  i++; // serial
  i++; // signature algorithm
  const issuer = f[i++];
  const validity = children(expect(f[i++], 0x30, 'validity'));
  const subject = f[i++];
  const spki = children(expect(f[i++], 0x30, 'subjectPublicKeyInfo'));
  const keyAlg = children(expect(spki[0], 0x30, 'key algorithm'));
  if (oidText(keyAlg[0]) !== OID_EC_PUBLIC_KEY || oidText(keyAlg[1]) !== OID_P256) throw new DerError('not a P-256 key');
  const keyBits = content(expect(spki[1], 0x03, 'key'));
  if (keyBits[0] !== 0 || keyBits.length !== 66 || keyBits[1] !== 4) throw new DerError('not an uncompressed P-256 point');
  let isCa = false, keyUsage = null;
  for (; i < f.length; i++) {
    if (f[i].tag !== 0xa3) continue;
    for (const ext of children(expect(children(f[i])[0], 0x30, 'extensions'))) {
      const parts = children(ext);
      const id = oidText(parts[0]);
      const value = read(content(parts[parts.length - 1]));
      if (id === OID_BASIC_CONSTRAINTS) {
        const bc = children(value);
        isCa = bc.length > 0 && bc[0].tag === 0x01 && content(bc[0])[0] !== 0;
      } else if (id === OID_KEY_USAGE) {
        const b = content(value);
        keyUsage = b.length > 1 ? b[1] : 0;
      }
    }
  }
  const subjectParts = nameParts(subject);
  return {
    tbs: whole(tbs),
    signature: sigBits.subarray(1),
    issuer: whole(issuer),
    subjectDer: whole(subject),
    commonName: subjectParts.cn,
    pseudonym: subjectParts.pseudonym,
    description: subjectParts.description,
    notBefore: time(validity[0]),
    notAfter: time(validity[1]),
    publicKey: keyBits.subarray(1),
    isCa,
    // KeyUsage bit 0 (digitalSignature) is the top bit of the first byte; null when the extension is absent.
    digitalSignature: keyUsage === null ? null : (keyUsage & 0x80) !== 0,
  };
}

/** Reads a PEM certificate into DER bytes. */
export function pemToDer(pem) {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new DerError('not a PEM certificate');
  return Uint8Array.from(atob(m[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0));
}
