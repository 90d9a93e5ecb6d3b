// cti-rs bridge: relays postMessage traffic between one vendor frame and
// the server, over one WebSocket. Served by cti-server-kit; no build step.
//
// Configuration comes from the data attributes of this <script> element:
//   data-frame         id of the vendor <iframe>
//   data-frame-origin  the frame's exact origin; messages from any other
//                      origin, or from any window but the frame's, are
//                      ignored, and commands are posted to this origin only
//   data-origin-mode   "login" for a frame whose origin follows its login
//                      (LeadDesk Talk): until the server pins an origin,
//                      messages are heard from the frame's window on any
//                      origin of data-login-origins, and nothing is posted
//   data-login-origins the allowed login origins, space-separated
//                      (`https://*.leaddesk.com`)
//   data-ws            the bridge WebSocket URL (relative to the page)
//   data-token         the page token (sent as a WebSocket subprotocol)
//   data-ready-on      "message" (the frame is ready once it has posted
//                      something) or "load" (once its load event fired)
//   data-dedup-ms      identical messages within this window are dropped
(() => {
  'use strict';
  const me = document.currentScript;
  if (!me) return;
  const cfg = me.dataset;
  const frame = document.getElementById(cfg.frame || '');
  const frameOrigin = cfg.frameOrigin || '';
  const token = cfg.token || '';
  if (!frame || !frameOrigin || frameOrigin === '*' || frameOrigin === 'null' || !token) {
    console.error('cti bridge: incomplete configuration; not starting');
    return;
  }
  const loginMode = cfg.originMode === 'login';
  // A bare wildcard is never a login origin: patterns are longer.
  const loginPatterns = (cfg.loginOrigins || '').split(/\s+/).filter((p) => p.length > 1);
  // The origin heard from and posted to; in login mode none until the
  // server pins the one the frame's login named.
  let pinned = loginMode ? null : frameOrigin;

  // `https://*.leaddesk.com` or an exact origin. The server checks the
  // login against the same list.
  function allowedLogin(origin) {
    return loginPatterns.some((p) => {
      if (p === origin) return true;
      const at = p.indexOf('://*.');
      if (at < 0) return false;
      const scheme = p.slice(0, at + 3);
      const suffix = p.slice(at + 4);
      if (!origin.startsWith(scheme)) return false;
      const host = origin.slice(scheme.length);
      return host.length > suffix.length && host.endsWith(suffix) && !host.includes('/');
    });
  }
  const dedupMs = Number(cfg.dedupMs || '250');
  const wsUrl = new URL(cfg.ws || 'ws', location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  // Visible to tests and to curious developers; holds no secrets.
  const stats = { received: 0, ignored: 0, duplicates: 0, forwarded: 0, posted: 0, queued: 0, connected: false };
  window.ctiBridge = stats;

  let frameReady = false;
  const outbox = [];        // commands that arrived before the frame was ready
  const unacked = new Map(); // seq -> frame text, until the server acks it
  let seq = 0;
  let ws = null;
  let backoff = 250;
  let lastText = null;
  let lastAt = 0;

  function post(data) {
    if (pinned === null) {
      outbox.push(data);
      stats.queued = outbox.length;
      return;
    }
    // Never '*': only the pinned origin may read what we send.
    frame.contentWindow.postMessage(data, pinned);
    stats.posted += 1;
  }

  function markReady() {
    if (frameReady) return;
    frameReady = true;
    if (pinned === null) return;
    while (outbox.length > 0) post(outbox.shift());
    stats.queued = 0;
  }

  if (cfg.readyOn === 'load') frame.addEventListener('load', markReady);

  function send(text) {
    if (ws !== null && ws.readyState === WebSocket.OPEN) {
      ws.send(text);
      stats.forwarded += 1;
    }
  }

  window.addEventListener('message', (ev) => {
    const heard = pinned !== null ? ev.origin === pinned : loginMode && allowedLogin(ev.origin);
    if (!heard || ev.source !== frame.contentWindow) {
      stats.ignored += 1;
      return;
    }
    let text;
    try {
      text = JSON.stringify(ev.data);
    } catch (_) {
      stats.ignored += 1;
      return;
    }
    if (text === undefined) return;
    const now = Date.now();
    if (text === lastText && now - lastAt < dedupMs) {
      stats.duplicates += 1;
      return;
    }
    lastText = text;
    lastAt = now;
    stats.received += 1;
    markReady();
    seq += 1;
    const line = '{"t":"event","seq":' + seq + ',"from":' + JSON.stringify(ev.origin) + ',"data":' + text + '}';
    unacked.set(seq, line);
    send(line);
  });

  function acked(upTo) {
    for (const s of Array.from(unacked.keys())) if (s <= upTo) unacked.delete(s);
  }

  function onServer(msg) {
    if (typeof msg.ack === 'number') acked(msg.ack);
    switch (msg.t) {
      case 'welcome':
        // The server has everything up to last_seq: drop it, resend the rest.
        for (const s of Array.from(unacked.keys())) if (s <= msg.last_seq) unacked.delete(s);
        if (msg.last_seq > seq) seq = msg.last_seq;
        for (const line of unacked.values()) send(line);
        break;
      case 'ack':
        acked(msg.seq);
        break;
      case 'pin':
        // The frame logged in from this origin: hear it alone, post to it.
        if (loginMode && typeof msg.origin === 'string' && allowedLogin(msg.origin)) {
          pinned = msg.origin;
          frameReady = false;
          markReady();
        }
        break;
      case 'unpin':
        if (loginMode) {
          pinned = null;
          frameReady = false;
        }
        break;
      case 'command':
        if (frameReady) {
          post(msg.data);
        } else {
          outbox.push(msg.data);
          stats.queued = outbox.length;
        }
        break;
      default:
        break;
    }
  }

  function connect() {
    const socket = new WebSocket(wsUrl.href, ['cti-bridge.v1', 'cti-token.' + token]);
    ws = socket;
    socket.onopen = () => {
      backoff = 250;
      stats.connected = true;
    };
    socket.onmessage = (m) => {
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch (_) {
        return;
      }
      if (msg !== null && typeof msg === 'object') onServer(msg);
    };
    socket.onclose = () => {
      stats.connected = false;
      if (ws === socket) ws = null;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }
  connect();
})();
