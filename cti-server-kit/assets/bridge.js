// cti-rs bridge: relays postMessage traffic between one vendor frame and
// the server, over one WebSocket. Served by cti-server-kit; no build step.
//
// Configuration comes from the data attributes of this <script> element:
//   data-frame         id of the vendor <iframe>
//   data-frame-origin  the frame's exact origin; messages from any other
//                      origin, or from any window but the frame's, are
//                      ignored, and commands are posted to this origin only
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
  const pinned = cfg.frameOrigin || '';
  const token = cfg.token || '';
  if (!frame || !pinned || pinned === '*' || pinned === 'null' || !token) {
    console.error('cti bridge: incomplete configuration; not starting');
    return;
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
    // Never '*': only the pinned origin may read what we send.
    frame.contentWindow.postMessage(data, pinned);
    stats.posted += 1;
  }

  function markReady() {
    if (frameReady) return;
    frameReady = true;
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
    if (ev.origin !== pinned || ev.source !== frame.contentWindow) {
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
    const line = '{"t":"event","seq":' + seq + ',"data":' + text + '}';
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
