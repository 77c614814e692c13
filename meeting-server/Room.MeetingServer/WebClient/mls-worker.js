// The web client's MLS member and SFrame transforms, in one Web Worker: the signature key, the group's secrets and the
// media keys never reach the page. The page sends commands ({id, cmd, ...} -> {id, ok, result | error}) and gets events
// ({event: 'epoch' | 'removed' | 'error' | 'stats'}); RTCRtpScriptTransform runs its transforms here too
// (options {mode: 'encrypt' | 'decrypt', kind: 'video' | 'audio'}).
//
// It joins a meeting as Room.MeetingClient's MeetingMember does: a P-256 key made here, a person certificate for it from
// the server (PKCS#10, the server sets the subject), then an external commit from the GroupInfo the delivery service
// holds (replacing a leaf this person left behind), retried on top when another commit took the epoch. Every credential
// must be an X.509 certificate of the organisation CA naming device:NAME or person:NAME for the member's key, or a
// guest's: [certificate naming guest:ID, the guest CA's certificate], the guest CA signed by the organisation CA.
import * as M from './vendor/mls.js';
import { certificationRequest, parseCertificate, pemToDer } from './der.js';
import { KeyRing, Encryptor, Decryptor, baseKey } from './sframe.js';
import { request } from './net.js';

const SUITES = { 2: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256' };
const IDENTITY = /^(device|person):[a-z0-9][a-z0-9._-]{0,62}$/;
const GUEST = /^guest:[a-z0-9][a-z0-9._-]{0,62}$/;
// The meeting server signs the Remove/Add proposals it makes as the group's external sender; it is never a member.
const SERVER_IDENTITY = 'server:meetings';
const MAX_COMMIT_ATTEMPTS = 5;
const te = new TextEncoder();

const ring = new KeyRing();
const transforms = { encrypted: 0, decrypted: 0, rejected: 0, dropped: 0, lastError: '' };
const encryptors = new Set(), decryptors = new Set();
let session = null; // { server, token, meetingId, cs, state, ca, identity, polling, stopped }

const b64 = (bytes) => { let s = ''; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); };
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

class ApiError extends Error {
  constructor(status, error, message) { super(message || error); this.status = status; this.error = error; }
}

async function api(method, path, body) {
  const r = await request(new URL(path, session.server), {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + session.token }, body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, json?.error || 'http-' + r.status, json?.message);
  return json;
}

// ---- credentials

const verify = (cert, issuerKey) => M.p256.verify(cert.signature, cert.tbs, issuerKey, { prehash: true, format: 'der', lowS: false });

/**
 * Checks an MLS credential: an X.509 certificate of the organisation CA, in date, for signing, for this key; a guest's
 * only from the guest CA (a CA the organisation CA signed, not the organisation CA itself) with its name and host.
 */
async function validateCredential(credential, signaturePublicKey) {
  try {
    if (credential.credentialType !== 'x509' || credential.certificates.length < 1) return false;
    const c = parseCertificate(credential.certificates[0]);
    const now = Date.now();
    if (c.isCa || c.digitalSignature === false || now < c.notBefore || now > c.notAfter) return false;
    if (hex(c.publicKey) !== hex(signaturePublicKey)) return false;
    if (GUEST.test(c.commonName || '')) {
      if (credential.certificates.length !== 2 || !c.pseudonym || !/^invited by (person|device):/.test(c.description || '')) return false;
      const g = parseCertificate(credential.certificates[1]);
      if (!g.isCa || now < g.notBefore || now > g.notAfter || hex(g.subjectDer) === hex(session.ca.subjectDer)) return false;
      if (hex(g.issuer) !== hex(session.ca.subjectDer) || hex(c.issuer) !== hex(g.subjectDer)) return false;
      return verify(g, session.ca.publicKey) && verify(c, g.publicKey);
    }
    if (!IDENTITY.test(c.commonName || '') && c.commonName !== SERVER_IDENTITY) return false;
    if (hex(c.issuer) !== hex(session.ca.subjectDer)) return false;
    return verify(c, session.ca.publicKey);
  } catch {
    return false;
  }
}

function identityOf(leafNode) {
  try { return parseCertificate(leafNode.credential.certificates[0]).commonName; } catch { return null; }
}

/** A guest's name and host as its (validated) certificate states them; null for members who are no guest. */
function guestOf(leafNode) {
  try {
    const c = parseCertificate(leafNode.credential.certificates[0]);
    return GUEST.test(c.commonName || '') ? { name: c.pseudonym, invitedBy: (c.description || '').replace(/^invited by /, '') } : null;
  } catch { return null; }
}

// ---- the group

function members(state) {
  const out = [];
  state.ratchetTree.forEach((n, i) => {
    if (i % 2 === 0 && n && n.nodeType === 'leaf') {
      const identity = identityOf(n.leaf);
      if (identity === SERVER_IDENTITY) throw new Error('the meeting server holds a member leaf: refused');
      const guest = guestOf(n.leaf);
      out.push(guest ? { leaf: i / 2, identity, guestName: guest.name, invitedBy: guest.invitedBy } : { leaf: i / 2, identity });
    }
  });
  return out;
}

async function securityCode(state, cs) {
  const b = await M.expandWithLabel(state.keySchedule.epochAuthenticator, 'Room security code', new Uint8Array(0), 60, cs.kdf);
  const groups = [];
  for (let g = 0; g < 12; g++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + b[g * 5 + i];
    groups.push(String(v % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}

/** The new epoch's SFrame keys (frame-format.md section 4), roster and code: to the key ring and the page. */
async function installEpoch() {
  const { state, cs } = session;
  const removed = state.groupActiveState?.kind === 'removedFromGroup';
  const bases = new Map();
  if (!removed) {
    const secret = await M.mlsExporter(state.keySchedule.exporterSecret, 'SFrame 1.0 Base Key', new Uint8Array(0), 32, cs);
    for (const m of members(state)) bases.set(m.leaf, await baseKey(secret, m.leaf));
    secret.fill(0);
  }
  ring.install(state.groupContext.epoch, state.privatePath.leafIndex, bases, removed);
  if (removed) {
    session.stopped = true;
    postMessage({ event: 'removed' });
    return;
  }
  postMessage({
    event: 'epoch',
    epoch: Number(state.groupContext.epoch),
    myLeaf: state.privatePath.leafIndex,
    securityCode: await securityCode(state, cs),
    roster: members(state),
  });
}

const groupInfoMessage = async () =>
  M.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: await M.createGroupInfoWithExternalPubAndRatchetTree(session.state, [], session.cs) });

async function join({ server, token, meetingId, host, guest }) {
  if (session && !session.stopped) throw new Error('already in a meeting');
  session = { server, token, meetingId, stopped: false };
  const caPem = await (await request(new URL('api/ca', server))).text();
  const caDer = pemToDer(caPem);
  session.ca = parseCertificate(caDer);

  // The group's suite (from its GroupInfo) or, for a host making the group, the server's.
  let gi = null;
  try {
    gi = await api('GET', `api/meetings/${encodeURIComponent(meetingId)}/group-info`);
  } catch (e) {
    if (!(e instanceof ApiError && e.error === 'group-missing' && host)) throw e;
  }
  const giMessage = gi ? M.decodeMlsMessage(unb64(gi.groupInfo), 0)?.[0] : null;
  if (gi && !giMessage?.groupInfo) throw new Error('the server sent no GroupInfo');
  const suiteId = giMessage ? M.ciphersuites[giMessage.groupInfo.groupContext.cipherSuite] : 2;
  if (!SUITES[suiteId]) throw new Error(`this browser client supports MLS suite 2 (P-256) only, not ${suiteId}`);
  const cs = await M.getCiphersuiteImpl(M.getCiphersuiteFromName(SUITES[suiteId]));
  session.cs = cs;

  // The key is made here; only a certificate request leaves. The certificate must name this key and come from the CA.
  const signKey = M.p256.utils.randomSecretKey();
  const publicKey = M.p256.getPublicKey(signKey, false);
  const csr = await certificationRequest(publicKey, async (tbs) => M.p256.sign(tbs, signKey, { prehash: true, format: 'der', lowS: false }));
  // A guest's certificate is from the guest CA, and only once a host admitted it; the chain goes in its credential.
  const issued = await api('POST', guest ? 'api/guest/certificate' : 'api/person/certificate', { csr: b64(csr) });
  const certificate = unb64(issued.certificate);
  if (hex(unb64(issued.caCertificate)) !== hex(caDer)) throw new Error('the certificate came with another CA');
  const mine = parseCertificate(certificate);
  if (hex(mine.publicKey) !== hex(publicKey)) throw new Error('the certificate is not for this key');
  session.identity = mine.commonName;
  const credential = { credentialType: 'x509', certificates: guest ? [certificate, unb64(issued.guestCaCertificate)] : [certificate] };
  if (!(await validateCredential(credential, publicKey))) throw new Error('the server issued a certificate this client does not accept');

  const config = {
    keyRetentionConfig: M.defaultKeyRetentionConfig,
    lifetimeConfig: M.defaultLifetimeConfig,
    paddingConfig: M.defaultPaddingConfig,
    keyPackageEqualityConfig: M.defaultKeyPackageEqualityConfig,
    authService: { validateCredential },
  };
  // Only for the external commit: a leaf this identity left behind (an earlier tab) is the one it replaces ("resync").
  const resyncConfig = Object.assign({}, config, {
    keyPackageEqualityConfig: {
      compareKeyPackages: (a, b) => identityOf(a.leafNode) === identityOf(b.leafNode),
      compareKeyPackageToLeafNode: (k, leaf) => identityOf(k.leafNode) === identityOf(leaf),
    },
  });
  const kp = await M.generateKeyPackageWithKey(credential, M.defaultCapabilities(), M.defaultLifetime, [], { signKey, publicKey }, cs);

  let created = false;
  for (let attempt = 0; ; attempt++) {
    if (!gi) {
      // The host is first: it makes the group (epoch 0) and gives the server its GroupInfo.
      // The meeting server is the group's external sender (RFC 9420 12.1.8.1): it proposes the removals of people
      // who leave or are removed, which members then commit; it refuses a group that does not name it.
      const groupId = te.encode('room-meeting:' + meetingId);
      const server = unb64((await api('GET', 'api/mls/external-sender')).externalSender);
      const senders = { extensionType: 'external_senders', extensionData: concat(mlsVarint(server.length), server) };
      session.state = await M.createGroup(groupId, kp.publicPackage, kp.privatePackage, [senders], cs, config);
      try {
        await api('PUT', `api/meetings/${encodeURIComponent(meetingId)}/group`, { groupInfo: b64(await groupInfoMessage()) });
        created = true;
        break;
      } catch (e) {
        if (!(e instanceof ApiError && e.error === 'group-exists') || attempt + 1 >= MAX_COMMIT_ATTEMPTS) throw e;
        gi = await api('GET', `api/meetings/${encodeURIComponent(meetingId)}/group-info`);
        continue;
      }
    }
    const groupInfo = M.decodeMlsMessage(unb64(gi.groupInfo), 0)[0].groupInfo;
    const r0 = await M.joinGroupExternal(groupInfo, kp.publicPackage, kp.privatePackage, false, cs, undefined, config);
    // Replace a stale leaf of this identity in the same commit when there is one.
    const stale = members(r0.newState).some((m) => m.identity === session.identity && m.leaf !== r0.newState.privatePath.leafIndex);
    const r = stale ? await M.joinGroupExternal(groupInfo, kp.publicPackage, kp.privatePackage, true, cs, undefined, resyncConfig) : r0;
    session.state = Object.assign({}, r.newState, { clientConfig: config });
    const commit = M.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: r.publicMessage });
    try {
      await api('POST', `api/meetings/${encodeURIComponent(meetingId)}/commits`, { commit: b64(commit), groupInfo: b64(await groupInfoMessage()), welcome: null });
      break;
    } catch (e) {
      if (!(e instanceof ApiError && e.error === 'epoch-conflict') || attempt + 1 >= MAX_COMMIT_ATTEMPTS) throw e;
      gi = await api('GET', `api/meetings/${encodeURIComponent(meetingId)}/group-info`);
    }
  }
  await installEpoch();
  poll();
  return { identity: session.identity, created, epoch: Number(session.state.groupContext.epoch) };
}

/** Follows the delivery service: processes the commits after this epoch in the server's order. */
async function sync() {
  const { state } = session;
  const list = await api('GET', `api/meetings/${encodeURIComponent(session.meetingId)}/handshakes?from=${state.groupContext.epoch}`);
  let changed = false;
  for (const h of list) {
    if (session.stopped || BigInt(h.epoch) !== session.state.groupContext.epoch) continue;
    const msg = M.decodeMlsMessage(unb64(h.message), 0)?.[0];
    if (!msg) throw new Error('the server sent a handshake that does not decode');
    const r = await M.processMessage(msg, session.state, M.emptyPskIndex, M.acceptAll, session.cs);
    session.state = r.newState;
    changed = true;
    if (session.state.groupActiveState?.kind === 'removedFromGroup') break;
  }
  if (changed) await installEpoch();
  if (!session.stopped && session.state.groupActiveState?.kind !== 'removedFromGroup') await commitPending();
}

/**
 * Commits the proposals the server made as the group's external sender (the Remove of someone a host removed or whose
 * invitation was revoked, or who left; the Add of someone admitted), by reference, as MeetingMember.CommitPendingAsync
 * does: with only browsers in a meeting, the removed member is out at this commit. Not when one of them removes this
 * member (the server refuses that). Another member's commit first: 409, and the next round follows that one.
 */
async function commitPending() {
  const pending = Object.values(session.state.unappliedProposals || {});
  if (!pending.length) return;
  const me = session.state.privatePath.leafIndex;
  if (pending.some((p) => p.proposal.proposalType === 'remove' && p.proposal.remove.removed === me)) return;
  const r = await M.createCommit({ state: session.state, cipherSuite: session.cs }, { wireAsPublicMessage: true });
  const next = Object.assign({}, r.newState, { clientConfig: session.state.clientConfig });
  const groupInfo = M.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: await M.createGroupInfoWithExternalPubAndRatchetTree(next, [], session.cs) });
  const welcome = r.welcome ? b64(M.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome })) : null;
  try {
    await api('POST', `api/meetings/${encodeURIComponent(session.meetingId)}/commits`, { commit: b64(M.encodeMlsMessage(r.commit)), groupInfo: b64(groupInfo), welcome });
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return;
    throw e;
  }
  session.state = next;
  await installEpoch();
}

async function poll() {
  while (session && !session.stopped) {
    try {
      await sync();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 410 || e.status === 401)) {
        session.stopped = true;
        ring.install(ring.epoch + 1n, -1, new Map(), true);
        postMessage({ event: e.status === 410 ? 'ended' : e.status === 401 ? 'signed-out' : 'removed', message: e.message });
        return;
      }
      postMessage({ event: 'error', message: String(e?.message || e) });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function leave() {
  if (session) session.stopped = true;
  ring.install(ring.epoch + 1n, -1, new Map(), true);
  return {};
}

// ---- RTCRtpScriptTransform

self.onrtctransform = (event) => {
  const t = event.transformer;
  const { mode, kind } = t.options;
  const side = mode === 'encrypt' ? new Encryptor(ring, kind) : new Decryptor(ring, kind);
  (mode === 'encrypt' ? encryptors : decryptors).add(side);
  if (mode === 'encrypt' && kind === 'video') {
    // A new key: the next frame should be a keyframe, so receivers that just got the key can start.
    side.onRekey = () => { if (typeof t.generateKeyFrame === 'function') t.generateKeyFrame().catch(() => {}); };
  }
  t.readable.pipeThrough(new TransformStream({
    async transform(frame, controller) {
      try {
        const data = new Uint8Array(frame.data);
        const out = mode === 'encrypt' ? await side.encrypt(data) : await side.decrypt(data);
        if (!out) return; // never send clear media, never pass on what does not open
        frame.data = out.buffer;
        controller.enqueue(frame);
      } catch (e) {
        transforms.lastError = String(e?.message || e);
      }
    },
  })).pipeTo(t.writable).catch(() => {});
};

setInterval(() => {
  let encrypted = 0, dropped = 0, decrypted = 0, rejected = 0, lastError = transforms.lastError;
  const byKind = { video: 0, audio: 0 };
  for (const e of encryptors) { encrypted += e.frames; dropped += e.dropped; }
  for (const d of decryptors) { decrypted += d.frames; rejected += d.rejected; byKind[d.kind] += d.frames; if (d.lastError) lastError = d.lastError; }
  postMessage({ event: 'stats', encrypted, dropped, decrypted, rejected, videoDecrypted: byKind.video, audioDecrypted: byKind.audio, lastError });
}, 500);

const commands = { join, leave };
self.onmessage = async (e) => {
  const { id, cmd } = e.data || {};
  const handler = commands[cmd];
  try {
    if (!handler) throw new Error('unknown command');
    postMessage({ id, ok: true, result: await handler(e.data) });
  } catch (err) {
    postMessage({ id, ok: false, error: String(err?.message || err), code: err instanceof ApiError ? err.error : undefined });
  }
};

/** The length prefix of an MLS vector (RFC 9420 2.1.2: a variable-length integer of 1, 2 or 4 bytes). */
function mlsVarint(n) {
  if (n < 0x40) return Uint8Array.of(n);
  if (n < 0x4000) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
