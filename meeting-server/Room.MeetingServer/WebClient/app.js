// The meeting-server web client: sign in with a local account, see my meetings, join one. MLS and SFrame run in
// mls-worker.js (keys never reach this page); Janus is spoken directly (janus.js). State for tests: window.roomClient.
import { t, pickLanguage } from './i18n.js';
import { JanusRoom } from './janus.js';
import { serverBase, loadBranding, applyBranding } from './branding.js';
import { request } from './net.js';

const brand = await loadBranding();

const $ = (id) => document.getElementById(id);
const state = {
  lang: pickLanguage(localStorage.getItem('room.lang'), navigator.languages),
  token: sessionStorage.getItem('room.token'),
  identity: sessionStorage.getItem('room.identity'),
  // A guest's session: { meetingId, title, name, invitedBy } after it opened its invitation link; null for people.
  guest: JSON.parse(sessionStorage.getItem('room.guest') || 'null'),
  guestMessage: null, // [key, ...args] shown on the guest view
  view: 'signin',
  meetings: [],
  // The meeting of a meeting link (https://SERVER/meetings/ID, sent here as #meeting=ID): its join page after sign-in.
  linkMeeting: null,
  call: null, // { meeting, worker, janus, epoch, securityCode, roster, myLeaf, stats, phase, error, muted, cameraOff }
};
window.roomClient = { state, stats: () => mediaStats() };

// ---- words

function applyTexts() {
  document.documentElement.lang = state.lang;
  $('lang').value = state.lang;
  document.title = t(state.lang, 'app.title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(state.lang, el.dataset.t);
  applyBranding(brand);
  render();
}

// ---- API

class ApiError extends Error {
  constructor(status, error, message) { super(message || error); this.status = status; this.error = error; }
}
async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  if (body) headers['Content-Type'] = 'application/json';
  const r = await request(new URL(path, serverBase), { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) {
    if (r.status === 401 && path !== 'api/login' && path !== 'api/guest/redeem') signOut();
    throw new ApiError(r.status, json?.error || 'http-' + r.status, json?.message || r.statusText);
  }
  return json;
}

// ---- views

function show(view) {
  state.view = view;
  for (const v of ['signin', 'meetings', 'call', 'guest', 'link']) $('view-' + v).hidden = v !== view;
  $('signin-link-hint').hidden = !(view === 'signin' && state.linkMeeting);
  $('signout').hidden = view === 'signin' || (view === 'guest' && !state.token);
  const focus = { signin: 'signin-name', meetings: 'meetings-title', call: 'call-title', guest: 'guest-title', link: 'link-title' }[view];
  const el = $(focus);
  if (el) { if (!el.matches('input,button')) el.tabIndex = -1; el.focus(); }
}

function render() {
  if (state.view === 'guest') renderGuest();
  if (state.view === 'meetings') renderMeetings();
  if (state.view === 'call') renderCall();
  if (state.view === 'link') renderLink();
}

function renderMeetings() {
  const list = $('meetings-list');
  list.replaceChildren();
  for (const m of state.meetings) {
    const li = document.createElement('li');
    li.dataset.meeting = m.id;
    const text = document.createElement('div');
    const title = document.createElement('strong');
    title.textContent = m.title;
    const meta = document.createElement('div');
    meta.className = 'meta';
    const status = m.ended ? 'meetings.ended' : m.started ? 'meetings.started' : 'meetings.notStarted';
    meta.textContent = `${t(state.lang, m.role === 'host' ? 'meetings.host' : 'meetings.participant')} · ${t(state.lang, status)}`;
    text.append(title, meta);
    const join = document.createElement('button');
    join.type = 'button';
    join.className = 'join';
    join.textContent = t(state.lang, 'meetings.join', m.title);
    join.disabled = m.ended;
    join.addEventListener('click', () => joinMeeting(m));
    li.append(text, join);
    list.append(li);
  }
  if (!state.meetings.length && !$('meetings-status').dataset.error) $('meetings-status').textContent = t(state.lang, 'meetings.none');
}

function kindOf(identity) {
  const k = String(identity || '').split(':')[0];
  return k === 'device' ? 'device' : k === 'guest' ? 'guest' : 'person';
}

function renderCall() {
  const c = state.call;
  if (!c) return;
  $('call-title').textContent = c.meeting.title;
  const code = $('security-code');
  if (c.securityCode) {
    code.dataset.code = c.securityCode;
    code.replaceChildren(...c.securityCode.split(' ').map((g) => { const s = document.createElement('span'); s.textContent = g; return s; }));
  } else {
    delete code.dataset.code;
    code.textContent = t(state.lang, 'call.security.pending');
  }
  const roster = $('roster');
  roster.replaceChildren(...(c.roster || []).map((m) => {
    const li = document.createElement('li');
    li.dataset.identity = m.identity || '';
    const name = document.createElement('span');
    // A guest is named as its guest certificate names it, with the host who invited it (checked in the worker).
    const shown = m.guestName ? m.guestName : String(m.identity || '?').replace(/^[a-z]+:/, '');
    name.textContent = shown + (m.leaf === c.myLeaf ? ' ' + t(state.lang, 'call.you') : '');
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = m.guestName ? t(state.lang, 'kind.guestBy', String(m.invitedBy || '').replace(/^[a-z]+:/, '')) : t(state.lang, 'kind.' + kindOf(m.identity));
    li.append(name, kind);
    return li;
  }));
  const status = c.error ? t(state.lang, 'call.failed', c.error)
    : c.phase === 'removed' ? t(state.lang, 'call.removed')
      : c.phase === 'ended' ? t(state.lang, 'call.ended')
        : c.phase === 'joining' ? t(state.lang, 'call.joining') : '';
  $('call-status').textContent = status;
  $('call-status').classList.toggle('error', !!c.error);
  $('mute').textContent = t(state.lang, c.muted ? 'call.unmute' : 'call.mute');
  $('mute').setAttribute('aria-pressed', String(!!c.muted));
  $('camera').textContent = t(state.lang, c.cameraOff ? 'call.cameraOn' : 'call.cameraOff');
  $('camera').setAttribute('aria-pressed', String(!!c.cameraOff));
  // Inviting and admitting need the host in the group, not its media.
  $('guests-panel').hidden = c.meeting.role !== 'host' || !c.identity || ['failed', 'removed', 'ended', 'signed-out'].includes(c.phase);
  renderLobby();
  if (c.stats) $('media-status').textContent = t(state.lang, 'call.media', c.stats.decrypted, c.stats.rejected);
  renderVideos();
}

function renderVideos() {
  const c = state.call;
  const box = $('videos');
  const feeds = c?.janus?.feeds || new Map();
  // Keep tiles of feeds still there (their video keeps playing), drop the others, add new ones.
  for (const el of [...box.querySelectorAll('.tile.remote')]) {
    const f = feeds.get(Number(el.dataset.feed));
    if (!f || !f.video || el.dataset.track !== f.video.id) el.remove();
  }
  let n = 0;
  for (const [id, f] of feeds) {
    if (!f.video) continue;
    n++;
    let fig = box.querySelector(`.tile.remote[data-feed="${id}"]`);
    if (!fig) {
      fig = document.createElement('figure');
      fig.className = 'tile remote';
      fig.dataset.feed = String(id);
      fig.dataset.track = f.video.id;
      const v = document.createElement('video');
      v.autoplay = true; v.playsInline = true; v.muted = true;
      v.srcObject = new MediaStream([f.video]);
      fig.append(v, document.createElement('figcaption'));
      box.append(fig);
    }
    if (f.audio && !fig.querySelector('audio')) {
      const a = document.createElement('audio');
      a.autoplay = true;
      a.srcObject = new MediaStream([f.audio]);
      fig.append(a);
    }
    fig.querySelector('figcaption').textContent = t(state.lang, 'call.video', n);
  }
}

// ---- sign in, meetings

async function signIn(ev) {
  ev.preventDefault();
  const name = $('signin-name').value.trim(), password = $('signin-password').value;
  const status = $('signin-status');
  status.classList.remove('error');
  status.textContent = t(state.lang, 'signin.busy');
  try {
    const r = await api('POST', 'api/login', { name, password });
    state.token = r.token;
    state.identity = r.identity;
    sessionStorage.setItem('room.token', r.token);
    sessionStorage.setItem('room.identity', r.identity);
    $('signin-password').value = '';
    status.textContent = '';
    await loadMeetings();
    showHome();
  } catch (e) {
    status.classList.add('error');
    status.textContent = t(state.lang, 'signin.failed', e.message);
  }
}

function signOut() {
  state.token = null;
  state.identity = null;
  state.guest = null;
  sessionStorage.removeItem('room.token');
  sessionStorage.removeItem('room.identity');
  sessionStorage.removeItem('room.guest');
  if (state.call) leave();
  show('signin');
}

async function loadMeetings() {
  const status = $('meetings-status');
  delete status.dataset.error;
  status.classList.remove('error');
  status.textContent = '';
  try {
    state.meetings = await api('GET', 'api/meetings');
  } catch (e) {
    state.meetings = [];
    status.dataset.error = '1';
    status.classList.add('error');
    status.textContent = t(state.lang, 'meetings.loadFailed', e.message);
  }
  renderMeetings();
}

// ---- the call

function worker() {
  const w = new Worker('mls-worker.js', { type: 'module' });
  const pending = new Map();
  let next = 0;
  w.onmessage = (e) => {
    const m = e.data;
    if (m.id !== undefined && pending.has(m.id)) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p.resolve(m.result); else p.reject(Object.assign(new Error(m.error), { code: m.code }));
      return;
    }
    onWorkerEvent(m);
  };
  w.call = (cmd, args) => new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, { resolve, reject });
    w.postMessage(Object.assign({ id, cmd }, args));
  });
  return w;
}

function onWorkerEvent(m) {
  const c = state.call;
  if (!c) return;
  if (m.event === 'epoch') {
    Object.assign(c, { epoch: m.epoch, securityCode: m.securityCode, roster: m.roster, myLeaf: m.myLeaf });
  } else if (m.event === 'stats') {
    c.stats = m;
    if (state.view === 'call') $('media-status').textContent = t(state.lang, 'call.media', m.decrypted, m.rejected);
    return;
  } else if (m.event === 'removed' || m.event === 'ended' || m.event === 'signed-out') {
    c.phase = m.event;
    // The end is explained now: a media connection the server closed for it a moment earlier is no failure of its own.
    c.error = m.event === 'signed-out' ? t(state.lang, 'call.signedOut') : '';
    c.securityCode = '';
    c.roster = [];
    c.janus?.close();
  } else if (m.event === 'error') {
    c.lastSyncError = m.message;
    return;
  }
  renderCall();
}

async function joinMeeting(meeting) {
  if (state.call) return;
  const c = { meeting, phase: 'joining', roster: [], securityCode: '', muted: false, cameraOff: false, stats: null, error: '' };
  state.call = c;
  show('call');
  renderCall();
  try {
    if (!('RTCRtpScriptTransform' in window)) throw new Error('this browser has no RTCRtpScriptTransform (end-to-end encryption of media)');
    c.worker = worker();
    const joined = await c.worker.call('join', { server: serverBase, token: state.token, meetingId: meeting.id, host: meeting.role === 'host', guest: !!state.guest });
    c.identity = joined.identity;
    // Every member follows its role: a host may make it one during the call, and then it sees the lobby.
    watchLobby(c);
    renderCall();
    const access = await api('GET', `api/meetings/${encodeURIComponent(meeting.id)}/janus`);
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 15 } });
    $('self-video').srcObject = media;
    c.janus = new JanusRoom(access, c.worker, state.identity || '', (ev) => {
      if (ev.error && state.call === c) c.error = ev.error;
      if (state.call === c) renderCall();
    });
    await c.janus.start(media);
    if (c.phase === 'joining') c.phase = 'in-call';
  } catch (e) {
    c.error = e.code === 'group-missing' ? t(state.lang, 'meetings.notStarted') : String(e.message || e);
    c.phase = 'failed';
  }
  renderCall();
}

async function leave() {
  const c = state.call;
  if (!c) return;
  state.call = null;
  try { await c.janus?.close(); } catch { /* leaving */ }
  try { await c.worker?.call('leave', {}); } catch { /* leaving */ }
  c.worker?.terminate();
  $('self-video').srcObject = null;
  if (state.guest) {
    state.guestMessage = ['guest.left'];
    show('guest');
    renderGuest();
  } else if (state.token) {
    await loadMeetings();
    showHome();
  }
}

// ---- a meeting link: https://SERVER/meetings/ID (the server sends a browser to /client/#meeting=ID)

/** After sign-in: the join page of the linked meeting, or the list of my meetings. */
function showHome() {
  if (state.linkMeeting) { renderLink(); show('link'); } else show('meetings');
}

function renderLink() {
  const m = state.meetings.find((x) => x.id === state.linkMeeting);
  const status = $('link-status'), join = $('link-join');
  $('link-title').textContent = m ? m.title : t(state.lang, 'link.unknown');
  $('link-meta').textContent = m ? `${t(state.lang, m.role === 'host' ? 'meetings.host' : 'meetings.participant')} · ${t(state.lang, m.ended ? 'meetings.ended' : m.started ? 'meetings.started' : 'meetings.notStarted')}` : '';
  status.classList.toggle('error', !m || m.ended);
  status.textContent = !m ? t(state.lang, 'link.notInvited') : m.ended ? t(state.lang, 'link.ended') : '';
  join.hidden = !m;
  join.disabled = !m || m.ended;
  join.textContent = m ? t(state.lang, 'meetings.join', m.title) : '';
}

/** A meeting link in the address (on load, or a new one in a tab that has the client open). */
function meetingLinkInAddress() {
  const link = /^#meeting=([a-z0-9]{1,64})$/.exec(location.hash);
  if (!link) return false;
  state.linkMeeting = link[1];
  if (state.token && !state.guest && !state.call) loadMeetings().then(() => { if (state.token) showHome(); });
  else if (!state.token) show('signin');
  return true;
}

function allMeetings() {
  state.linkMeeting = null;
  history.replaceState(null, '', location.pathname);
  show('meetings');
}

async function mediaStats() {
  const c = state.call;
  const janus = c?.janus ? await c.janus.stats() : {};
  return Object.assign({ phase: c?.phase ?? 'none', error: c?.error ?? '', securityCode: c?.securityCode ?? '', epoch: c?.epoch ?? -1,
    roster: (c?.roster || []).map((m) => m.identity), feeds: c?.janus?.feeds.size ?? 0 }, c?.stats || {}, janus);
}

// ---- guests

function renderGuest() {
  const status = $('guest-status');
  const [key, ...args] = state.guestMessage || ['guest.opening'];
  status.textContent = t(state.lang, key, ...args);
  status.classList.toggle('error', key.startsWith('guest.error'));
}

function guestSays(key, ...args) {
  state.guestMessage = [key, ...args];
  if (state.view === 'guest') renderGuest();
}

/** The guest opened its link: the token leaves the address bar, is spent once at the server, and the guest waits. */
async function openInvitation(token) {
  history.replaceState(null, '', location.pathname);
  signOut();
  show('guest');
  guestSays('guest.opening');
  try {
    const r = await api('POST', 'api/guest/redeem', { token });
    state.token = r.token;
    state.identity = r.identity;
    state.guest = { meetingId: r.meetingId, title: r.title, name: r.name, invitedBy: r.invitedBy };
    sessionStorage.setItem('room.token', r.token);
    sessionStorage.setItem('room.identity', r.identity);
    sessionStorage.setItem('room.guest', JSON.stringify(state.guest));
    waitInLobby();
  } catch (e) {
    if (['invitation-used', 'invitation-expired', 'invitation-revoked', 'invitation-invalid'].includes(e.error)) guestSays('guest.error.' + e.error);
    else guestSays('guest.error.other', e.message);
  }
}

/** Asks the server every second whether a host let this guest in; then joins like anyone else (guest certificate). */
async function waitInLobby() {
  const g = state.guest;
  show('guest');
  guestSays('guest.waiting', g.name, String(g.invitedBy).replace(/^[a-z]+:/, ''), g.title);
  while (state.guest === g && !state.call) {
    try {
      const r = await api('POST', `api/meetings/${encodeURIComponent(g.meetingId)}/lobby`);
      if (r.state === 'admitted') {
        await joinMeeting({ id: g.meetingId, title: g.title, role: 'participant' });
        return;
      }
      if (r.state === 'removed') { guestSays('call.removed'); return; }
    } catch (e) {
      if (state.guest === g) guestSays('guest.error.other', e.message);
      return;
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
}

// A host in the call sees who waits in the lobby (guests by the name they were invited under) and admits them.
function renderLobby() {
  const c = state.call;
  const list = $('lobby');
  const waiting = c?.lobby || [];
  // Rebuilt only when someone came or went (or the language changed): a button keeps its keyboard focus meanwhile.
  if (!c?.lobbyError) $('lobby-status').textContent = c?.lobby && !waiting.length ? t(state.lang, 'host.lobbyEmpty') : '';
  const key = state.lang + '|' + waiting.map((w) => w.identity).join(',');
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...waiting.map((w) => {
    const li = document.createElement('li');
    li.className = 'waiting';
    li.dataset.identity = w.identity;
    const name = document.createElement('span');
    name.textContent = w.name;
    if (w.invitedBy) {
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = t(state.lang, 'kind.guestBy', w.invitedBy.replace(/^[a-z]+:/, ''));
      name.append(kind);
    }
    const admit = document.createElement('button');
    admit.type = 'button';
    admit.className = 'admit';
    admit.textContent = t(state.lang, 'host.admit', w.name);
    admit.addEventListener('click', () => admitFromLobby(w.identity));
    li.append(name, admit);
    return li;
  }));
}

async function refreshLobby(c) {
  const id = encodeURIComponent(c.meeting.id);
  const people = await api('GET', `api/meetings/${id}/participants`);
  const role = people.find((p) => p.identity === c.identity)?.role;
  if (role && role !== c.meeting.role) {
    c.meeting.role = role;
    if (state.call === c) renderCall();
  }
  if (c.meeting.role !== 'host') {
    c.lobby = null;
    return;
  }
  const guests = await api('GET', `api/meetings/${id}/guests`);
  const byIdentity = new Map(guests.map((g) => [g.identity, g]));
  c.lobby = people.filter((p) => p.state === 'waiting').map((p) => {
    const g = byIdentity.get(p.identity);
    return g ? { identity: p.identity, name: g.name, invitedBy: g.invitedBy } : { identity: p.identity, name: p.identity.replace(/^[a-z]+:/, '') };
  });
  if (state.call === c) renderLobby();
}

async function watchLobby(c) {
  while (state.call === c && !['removed', 'ended', 'signed-out', 'failed'].includes(c.phase)) {
    try { await refreshLobby(c); } catch { /* the next round says it again */ }
    await new Promise((res) => setTimeout(res, 1500));
  }
}

async function admitFromLobby(identity) {
  const c = state.call;
  if (!c) return;
  c.lobbyError = '';
  try {
    await api('POST', `api/meetings/${encodeURIComponent(c.meeting.id)}/lobby/${encodeURIComponent(identity)}/admit`);
    await refreshLobby(c);
  } catch (e) {
    c.lobbyError = e.message;
    $('lobby-status').textContent = t(state.lang, 'host.admitFailed', e.message);
  }
}

async function inviteGuest(ev) {
  ev.preventDefault();
  const c = state.call;
  if (!c) return;
  const status = $('guest-invite-status');
  status.classList.remove('error');
  try {
    const r = await api('POST', `api/meetings/${encodeURIComponent(c.meeting.id)}/guests`, { name: $('guest-name').value });
    $('guest-link').value = r.link;
    $('guest-link-box').hidden = false;
    $('guest-name').value = '';
    status.textContent = t(state.lang, 'host.linkMade', r.name, new Date(r.expiresAt * 1000).toLocaleString(state.lang));
    $('guest-link').focus();
    $('guest-link').select();
  } catch (e) {
    status.classList.add('error');
    status.textContent = t(state.lang, 'host.inviteFailed', e.message);
  }
}

// ---- wiring

$('lang').addEventListener('change', () => { state.lang = $('lang').value; localStorage.setItem('room.lang', state.lang); applyTexts(); });
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', signOut);
$('meetings-refresh').addEventListener('click', loadMeetings);
$('link-join').addEventListener('click', () => {
  const m = state.meetings.find((x) => x.id === state.linkMeeting);
  if (m && !m.ended) joinMeeting(m);
});
$('link-all').addEventListener('click', allMeetings);
$('leave').addEventListener('click', leave);
$('guest-form').addEventListener('submit', inviteGuest);
$('mute').addEventListener('click', () => {
  const c = state.call;
  if (!c) return;
  c.muted = !c.muted;
  c.janus?.setMuted('audio', c.muted);
  renderCall();
});
$('camera').addEventListener('click', () => {
  const c = state.call;
  if (!c) return;
  c.cameraOff = !c.cameraOff;
  c.janus?.setMuted('video', c.cameraOff);
  renderCall();
});

applyTexts();
/** An invitation link in the address (on load, or pasted into a tab that has the client open already). */
function invitationInAddress() {
  if (!location.hash.startsWith('#guest=')) return false;
  const invitation = /^#guest=([A-Za-z0-9_-]{1,100})$/.exec(location.hash);
  if (invitation) openInvitation(invitation[1]);
  else { history.replaceState(null, '', location.pathname); show('guest'); guestSays('guest.error.invitation-invalid'); }
  return true;
}
window.addEventListener('hashchange', invitationInAddress);
window.addEventListener('hashchange', meetingLinkInAddress);
if (invitationInAddress()) {
  // the guest's page
} else if (meetingLinkInAddress()) {
  // the linked meeting's join page (after sign-in)
} else if (state.guest && state.token) {
  waitInLobby();
} else if (state.token) {
  loadMeetings().then(() => { if (state.token) showHome(); });
} else {
  show('signin');
}
document.body.dataset.ready = 'true';
