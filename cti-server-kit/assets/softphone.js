// cti-rs reference softphone (simulator). Relays between the host page
// (postMessage, one pinned origin) and the simulator (a same-origin
// WebSocket). The server decides what is posted; this script never posts
// to '*' and ignores messages from anyone but its parent at that origin.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($('sim-config').textContent);
  const stats = { connected: false, host: null, posted: 0, received: 0, ignored: 0, refused: null, signedOut: false, state: null, notes: [] };
  window.simPhone = stats;

  const log = (dir, text) => {
    const li = document.createElement('li');
    li.className = dir;
    li.textContent = (dir === 'out' ? '→ ' : dir === 'in' ? '← ' : '· ') + text;
    $('log').prepend(li);
    while ($('log').children.length > 40) $('log').lastChild.remove();
  };

  const refuse = (reason) => {
    stats.refused = reason;
    const p = $('refused');
    p.textContent = 'Refused: ' + reason;
    p.hidden = false;
    $('agent-state').textContent = 'refused';
    document.querySelectorAll('button, input').forEach((b) => { b.disabled = true; });
  };

  // The parent's origin, as the browser reports it.
  const ancestors = window.location.ancestorOrigins;
  let host = ancestors && ancestors.length ? ancestors[0] : null;
  if (!host && document.referrer) {
    try { host = new URL(document.referrer).origin; } catch (_) { host = null; }
  }
  if (window.parent === window || !host || host === 'null') {
    refuse('this phone only runs inside a host page');
    return;
  }
  if (config.origin && config.origin !== host) {
    refuse('the origin parameter does not match the page that embeds this phone');
    return;
  }
  stats.host = host;

  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = scheme + '//' + window.location.host + '/sim/ws?dialect=' +
    encodeURIComponent(config.dialect) + '&host=' + encodeURIComponent(host);
  const socket = new WebSocket(url);
  const send = (frame) => { if (socket.readyState === 1) socket.send(JSON.stringify(frame)); };

  const describe = (msg) => (msg && (msg.type || msg.action)) || JSON.stringify(msg).slice(0, 60);

  socket.addEventListener('open', () => { stats.connected = true; });
  socket.addEventListener('close', () => {
    stats.connected = false;
    if (!stats.refused) $('agent-state').textContent = 'disconnected';
  });
  socket.addEventListener('message', (ev) => {
    let frame;
    try { frame = JSON.parse(ev.data); } catch (_) { return; }
    if (frame.t === 'post') {
      window.parent.postMessage(frame.msg, host);
      stats.posted += 1;
      log('out', describe(frame.msg));
    } else if (frame.t === 'state') {
      render(frame);
    } else if (frame.t === 'note') {
      stats.notes.push(frame.text);
      log('note', frame.text);
    } else if (frame.t === 'signed_out') {
      stats.signedOut = true;
      $('signed-out').hidden = false;
      $('agent-state').textContent = 'signed out';
    } else if (frame.t === 'refused') {
      refuse(frame.reason);
    }
  });

  window.addEventListener('message', (ev) => {
    if (ev.source !== window.parent || ev.origin !== host) {
      stats.ignored += 1;
      return;
    }
    stats.received += 1;
    log('in', describe(ev.data));
    // CCAI posts strings; everything else is an object.
    send({ t: 'host', msg: ev.data });
  });

  const ops = {
    offered: ['answer', 'reject'],
    connected: ['hangup', 'hold', 'mute', 'unmute'],
    held: ['hangup', 'resume'],
    ended: [],
    'wrap-up': [],
  };
  const render = (state) => {
    stats.state = state;
    const agent = state.agent || {};
    $('agent-state').textContent = stats.signedOut ? 'signed out' : agent.state || 'unknown';
    $('agent-state').dataset.state = agent.state || '';
    const i = state.interaction;
    const call = $('call');
    call.className = i ? i.state : 'idle';
    if (!i) {
      $('who').textContent = 'No interaction';
      $('detail').textContent = '';
      $('contact').textContent = '';
    } else {
      const arrow = i.direction === 'outbound' ? 'to' : 'from';
      $('who').textContent = i.channel + ' ' + arrow + ' ' + (i.customer_name || i.customer || 'unknown');
      $('detail').textContent = i.state.replace('-', ' ') + (i.muted ? ' · muted' : '') + (i.recording ? ' · recording' : '');
      $('contact').textContent = i.contact ? 'CRM match: ' + i.contact : '';
    }
    const pop = $('ameyo-pop');
    if (i && i.ameyo_pop) { pop.href = i.ameyo_pop; pop.hidden = false; } else { pop.hidden = true; pop.removeAttribute('href'); }
    const live = new Set(i ? ops[i.state] || [] : []);
    document.querySelectorAll('#controls button').forEach((b) => { b.disabled = !live.has(b.dataset.op); });
    const wrapping = !!i && (i.state === 'ended' || i.state === 'wrap-up' || i.state === 'connected' || i.state === 'held');
    $('wrap').querySelector('button').disabled = !wrapping;
    $('dialer').querySelector('button').disabled = !!i;
    const chatting = !!i && (i.channel === 'chat' || i.channel === 'sms') && (i.state === 'connected' || i.state === 'held');
    $('say').hidden = !chatting;
    $('note-form').querySelector('button').disabled = !i || i.state === 'offered';
  };

  document.querySelectorAll('button[data-op]').forEach((b) => {
    b.addEventListener('click', () => send({ t: 'ui', action: { op: b.dataset.op } }));
  });
  $('sign-in').addEventListener('click', () => {
    send({ t: 'sign_in' });
    stats.signedOut = false;
    $('signed-out').hidden = true;
  });
  $('wrap').addEventListener('submit', (ev) => {
    ev.preventDefault();
    send({ t: 'ui', action: { op: 'dispose', code: $('code').value } });
  });
  $('note-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('note-text').value.trim();
    if (text) send({ t: 'ui', action: { op: 'note', text } });
    $('note-text').value = '';
  });
  $('say').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('say-text').value.trim();
    if (text) send({ t: 'ui', action: { op: 'say', text } });
    $('say-text').value = '';
  });
  $('dialer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const number = $('number').value.trim();
    if (number) send({ t: 'ui', action: { op: 'dial', number } });
  });
})();
