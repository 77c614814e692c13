// The meeting-server web client: sign in with a local account, see my meetings, join one. MLS and SFrame run in
// mls-worker.js (keys never reach this page); Janus is spoken directly (janus.js). State for tests: window.roomClient.
import { t, pickLanguage } from './i18n.js';
import { JanusRoom } from './janus.js';

const $ = (id) => document.getElementById(id);
const state = {
  lang: pickLanguage(localStorage.getItem('room.lang'), navigator.languages),
  token: sessionStorage.getItem('room.token'),
  identity: sessionStorage.getItem('room.identity'),
  view: 'signin',
  meetings: [],
  call: null, // { meeting, worker, janus, epoch, securityCode, roster, myLeaf, stats, phase, error, muted, cameraOff }
};
window.roomClient = { state, stats: () => mediaStats() };

// ---- words

function applyTexts() {
  document.documentElement.lang = state.lang;
  $('lang').value = state.lang;
  document.title = t(state.lang, 'app.title');
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(state.lang, el.dataset.t);
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
  const r = await fetch(new URL(path, location.origin + '/'), { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) {
    if (r.status === 401 && path !== 'api/login') signOut();
    throw new ApiError(r.status, json?.error || 'http-' + r.status, json?.message || r.statusText);
  }
  return json;
}

// ---- views

function show(view) {
  state.view = view;
  for (const v of ['signin', 'meetings', 'call']) $('view-' + v).hidden = v !== view;
  $('signout').hidden = view === 'signin';
  const focus = { signin: 'signin-name', meetings: 'meetings-title', call: 'call-title' }[view];
  const el = $(focus);
  if (el) { if (!el.matches('input,button')) el.tabIndex = -1; el.focus(); }
}

function render() {
  if (state.view === 'meetings') renderMeetings();
  if (state.view === 'call') renderCall();
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
    name.textContent = String(m.identity || '?').replace(/^[a-z]+:/, '') + (m.leaf === c.myLeaf ? ' ' + t(state.lang, 'call.you') : '');
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = t(state.lang, 'kind.' + kindOf(m.identity));
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
    show('meetings');
  } catch (e) {
    status.classList.add('error');
    status.textContent = t(state.lang, 'signin.failed', e.message);
  }
}

function signOut() {
  state.token = null;
  state.identity = null;
  sessionStorage.removeItem('room.token');
  sessionStorage.removeItem('room.identity');
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
    if (m.event === 'signed-out') c.error = t(state.lang, 'call.signedOut');
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
    const joined = await c.worker.call('join', { server: location.origin + '/', token: state.token, meetingId: meeting.id, host: meeting.role === 'host' });
    c.identity = joined.identity;
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
  if (state.token) {
    await loadMeetings();
    show('meetings');
  }
}

async function mediaStats() {
  const c = state.call;
  const janus = c?.janus ? await c.janus.stats() : {};
  return Object.assign({ phase: c?.phase ?? 'none', error: c?.error ?? '', securityCode: c?.securityCode ?? '', epoch: c?.epoch ?? -1,
    roster: (c?.roster || []).map((m) => m.identity), feeds: c?.janus?.feeds.size ?? 0 }, c?.stats || {}, janus);
}

// ---- wiring

$('lang').addEventListener('change', () => { state.lang = $('lang').value; localStorage.setItem('room.lang', state.lang); applyTexts(); });
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', signOut);
$('meetings-refresh').addEventListener('click', loadMeetings);
$('leave').addEventListener('click', leave);
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
if (state.token) {
  loadMeetings().then(() => { if (state.token) show('meetings'); });
} else {
  show('signin');
}
document.body.dataset.ready = 'true';
