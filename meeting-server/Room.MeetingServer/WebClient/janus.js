// Janus's WebSocket API (protocol 'janus-protocol'), through the meeting server's relay: a session opened with the token the meeting server
// handed out, the VideoRoom joined with the room's PIN and this participant's room token. Every published frame goes
// through the MLS worker's SFrame transform; every received one too, and what does not open is dropped there.

export class JanusRoom {
  constructor(access, worker, display, onChange) {
    this.access = access; // { url, room, pin, sessionToken, roomToken, participantId }
    this.worker = worker;
    this.display = display;
    this.onChange = onChange;
    this.tx = 0;
    this.waiters = new Map();
    this.feeds = new Map(); // publisher id -> { display, pc, handle, video, audio }
    this.pub = null;
    this.closed = false;
  }

  send(msg) {
    msg.transaction = 't' + (++this.tx);
    if (this.access.sessionToken) msg.token = this.access.sessionToken;
    this.ws.send(JSON.stringify(msg));
    return new Promise((resolve, reject) => this.waiters.set(msg.transaction, { resolve, reject }));
  }

  async message(handle, body, jsep) {
    const msg = { janus: 'message', session_id: this.session, handle_id: handle, body };
    if (jsep) msg.jsep = jsep;
    const r = await this.send(msg);
    const data = r.plugindata?.data;
    if (r.janus === 'error' || data?.error) throw new Error('Janus: ' + (r.error?.reason || data?.error));
    return r;
  }

  onMessage(ev) {
    const m = JSON.parse(ev.data);
    if (m.janus === 'ack' && !m.plugindata) return;
    const w = m.transaction && this.waiters.get(m.transaction);
    if (w && (m.janus !== 'ack')) { this.waiters.delete(m.transaction); w.resolve(m); return; }
    // Events without a waiter: publishers coming and going in the room.
    const data = m.plugindata?.data;
    if (data?.videoroom === 'event' && m.sender === this.pubHandle) {
      if (Array.isArray(data.publishers)) for (const p of data.publishers) this.subscribe(p).catch((e) => this.fail(e));
      const gone = data.unpublished ?? data.leaving;
      if (gone !== undefined && gone !== 'ok') this.drop(gone);
    }
  }

  fail(e) { if (!this.closed && this.onChange) this.onChange({ error: String(e?.message || e) }); }

  static pcConfig() { return { bundlePolicy: 'max-bundle' }; }

  protect(endpoint, mode, kind) {
    endpoint.transform = new RTCRtpScriptTransform(this.worker, { mode, kind });
  }

  async start(stream) {
    // Through the meeting server's relay (/janus, Janus/JanusProxy.cs): the browser trusts only the server it came
    // from; the server checks Janus's wss:// certificate against the organisation CA. access.url is for rooms.
    this.ws = new WebSocket(new URL('/janus', location.href).href.replace(/^http/, 'ws'), 'janus-protocol');
    this.ws.onmessage = (ev) => this.onMessage(ev);
    this.ws.onclose = () => { if (!this.closed) this.fail(new Error('the media server closed the connection')); };
    await new Promise((res, rej) => { this.ws.onopen = res; this.ws.onerror = () => rej(new Error('the media server cannot be reached')); });
    const created = await this.send({ janus: 'create' });
    if (created.janus !== 'success') throw new Error('Janus refused the session: ' + (created.error?.reason || created.janus));
    this.session = created.data.id;
    this.keepalive = setInterval(() => this.ws.send(JSON.stringify({ janus: 'keepalive', session_id: this.session, transaction: 'k' + (++this.tx), token: this.access.sessionToken })), 20000);
    this.pubHandle = (await this.send({ janus: 'attach', session_id: this.session, plugin: 'janus.plugin.videoroom' })).data.id;
    // Under the id the meeting server handed out: it kicks this participant by it when the person is removed.
    const join = { request: 'join', ptype: 'publisher', room: this.access.room, pin: this.access.pin, token: this.access.roomToken, display: this.display };
    if (this.access.participantId) join.id = this.access.participantId;
    const joined = await this.message(this.pubHandle, join);
    this.myId = joined.plugindata.data.id;
    // The room requires it on subscriptions: a kick of this publisher ends them too.
    this.privateId = joined.plugindata.data.private_id;
    const pc = new RTCPeerConnection(JanusRoom.pcConfig());
    this.pub = pc;
    this.stream = stream;
    for (const t of stream.getTracks()) {
      const tr = pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
      this.protect(tr.sender, 'encrypt', t.kind);
      if (t.kind === 'video' && RTCRtpSender.getCapabilities) {
        // Janus's room is VP8 (frame-format.md section 1): offer only VP8.
        const vp8 = RTCRtpSender.getCapabilities('video').codecs.filter((c) => /vp8|rtx/i.test(c.mimeType));
        if (vp8.length) tr.setCodecPreferences(vp8);
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const r = await this.message(this.pubHandle, { request: 'publish' }, { type: 'offer', sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription(r.jsep);
    for (const p of joined.plugindata.data.publishers || []) await this.subscribe(p);
  }

  async subscribe(p) {
    if (this.closed || this.feeds.has(p.id) || p.id === this.myId) return;
    const feed = { display: p.display || '', pc: null, handle: 0, video: null, audio: null };
    this.feeds.set(p.id, feed);
    feed.handle = (await this.send({ janus: 'attach', session_id: this.session, plugin: 'janus.plugin.videoroom' })).data.id;
    const r = await this.message(feed.handle, { request: 'join', ptype: 'subscriber', room: this.access.room, pin: this.access.pin, token: this.access.roomToken, private_id: this.privateId, streams: [{ feed: p.id }] });
    const pc = new RTCPeerConnection(JanusRoom.pcConfig());
    feed.pc = pc;
    pc.ontrack = (e) => {
      this.protect(e.receiver, 'decrypt', e.track.kind);
      feed[e.track.kind] = e.track;
      this.onChange?.({ feeds: true });
    };
    await pc.setRemoteDescription(r.jsep);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await this.message(feed.handle, { request: 'start' }, { type: 'answer', sdp: pc.localDescription.sdp });
    this.onChange?.({ feeds: true });
  }

  drop(id) {
    const f = this.feeds.get(id);
    if (!f) return;
    this.feeds.delete(id);
    f.pc?.close();
    this.onChange?.({ feeds: true });
  }

  setMuted(kind, muted) {
    for (const t of this.stream?.getTracks() || []) if (t.kind === kind) t.enabled = !muted;
  }

  async stats() {
    const out = { framesDecoded: 0, framesSent: 0, audioSamples: 0, width: 0, perFeed: [] };
    if (this.pub) (await this.pub.getStats()).forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent += s.framesEncoded || 0; });
    for (const [id, f] of this.feeds) {
      if (!f.pc) continue;
      const feed = { id, framesDecoded: 0, audioSamples: 0 };
      (await f.pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') { feed.framesDecoded += s.framesDecoded || 0; out.width = Math.max(out.width, s.frameWidth || 0); }
        if (s.kind === 'audio') feed.audioSamples += s.totalSamplesReceived || 0;
      });
      out.framesDecoded += feed.framesDecoded;
      out.audioSamples += feed.audioSamples;
      out.perFeed.push(feed);
    }
    return out;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    try { await Promise.race([this.message(this.pubHandle, { request: 'leave' }), new Promise((r) => setTimeout(r, 1000))]); } catch { /* leaving anyway */ }
    for (const f of this.feeds.values()) f.pc?.close();
    this.pub?.close();
    for (const t of this.stream?.getTracks() || []) t.stop();
    try { this.ws.close(); } catch { /* closed */ }
  }
}

async function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise((r) => {
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') r(); });
    setTimeout(r, 3000);
  });
}
