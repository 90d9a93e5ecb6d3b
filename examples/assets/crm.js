// Acme CRM (cti-rs demo): polls the CRM server and renders it. Every
// value goes in through textContent, never as HTML.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const main = document.querySelector('main.crm');
  const vendor = main.dataset.vendor;
  const sim = main.dataset.sim;
  let since = 0;
  let contactsDrawn = false;
  window.crmDemo = { vendor, polls: 0, lastError: null };

  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const post = async (url, body) => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    let json = null;
    try { json = await r.json(); } catch (_) { json = null; }
    if (!r.ok) throw new Error((json && json.message) || ('HTTP ' + r.status));
    return json;
  };

  const streemUrl = (c) => {
    const u = new URL('/embed', sim);
    u.searchParams.set('name', c.name);
    u.searchParams.set('phone', c.phone);
    u.searchParams.set('refId', c.id);
    u.searchParams.set('redirect', window.location.origin + '/?vendor=' + vendor + '#contact-' + c.id);
    return u.toString();
  };

  const drawContacts = (contacts) => {
    const list = $('contact-list');
    list.replaceChildren();
    for (const c of contacts) {
      const li = el('li');
      li.id = 'contact-' + c.id;
      li.append(el('strong', c.name), el('span', c.company, 'muted'), el('span', c.phone, 'mono'));
      const call = el('button', 'Call');
      call.type = 'button';
      call.className = 'dial';
      call.dataset.contact = c.id;
      call.addEventListener('click', async () => {
        try {
          const r = await post('/api/contacts/' + encodeURIComponent(c.id) + '/dial', { vendor });
          const why = { not_ready: 'the phone is not signed in', not_connected: 'the phone is not connected', failed: 'the phone could not dial' }[r.phone];
          call.textContent = 'Calling (' + r.via + (why ? '; ' + why : '') + ')';
        } catch (e) { call.textContent = 'Failed: ' + e.message; }
        setTimeout(() => { call.textContent = 'Call'; }, 3000);
      });
      const streem = el('a', 'Start Streem');
      streem.href = streemUrl(c);
      streem.target = '_blank';
      streem.rel = 'noopener';
      li.append(call, streem);
      list.append(li);
    }
  };

  const drawPop = (state) => {
    const cur = state.current;
    $('pop-empty').hidden = !!cur;
    $('pop-card').hidden = !cur;
    if (!cur) { $('pop-card').dataset.id = ''; return; }
    const c = state.contact;
    $('pop-card').dataset.id = cur.id;
    $('pop-name').textContent = c ? c.name : 'Unknown caller';
    $('pop-company').textContent = c ? c.company : '';
    $('pop-number').textContent = cur.customer;
    $('pop-state').textContent = cur.channel + ' · ' + cur.direction + ' · ' + cur.state;
    $('pop-state').dataset.state = cur.state;
    const notes = $('notes');
    notes.replaceChildren(...cur.notes.map((n) => el('li', n)));
  };

  const drawCalls = (calls) => {
    const body = $('calls').querySelector('tbody');
    body.replaceChildren();
    for (const c of calls) {
      const tr = el('tr');
      tr.dataset.id = c.id;
      tr.dataset.state = c.state;
      tr.append(
        el('td', c.contact_name || c.customer),
        el('td', c.channel),
        el('td', c.direction),
        el('td', c.disposition || (c.state === 'not_connected' ? 'not connected' : '')),
        el('td', c.notes.join(' · ')),
      );
      const rec = el('td');
      if (c.recorded) {
        for (const f of ['wav', 'mp3']) {
          const a = el('a', f.toUpperCase());
          a.href = '/api/calls/' + encodeURIComponent(c.id) + '/voicelog?format=' + f;
          a.className = 'voicelog ' + f;
          rec.append(a, ' ');
        }
      }
      tr.append(rec);
      body.append(tr);
    }
  };

  const drawEvents = (events) => {
    const rows = $('event-rows');
    for (const e of events) {
      const tr = el('tr', null, e.dir);
      tr.append(
        el('td', String(e.seq)),
        el('td', e.dir === 'in' ? '←' : '→'),
        el('td', e.vendor + ' ' + e.wire),
        el('td', JSON.stringify(e.raw), 'mono raw'),
        el('td', e.normalized === null ? '—' : JSON.stringify(e.normalized), 'mono normalized'),
      );
      rows.prepend(tr);
      since = Math.max(since, e.seq);
    }
    while (rows.children.length > 200) rows.lastChild.remove();
  };

  const poll = async () => {
    try {
      const r = await fetch('/api/state?since=' + since, { cache: 'no-store' });
      if (r.status === 401) { window.location.assign('/'); return; }
      const state = await r.json();
      if (!contactsDrawn) { drawContacts(state.contacts); contactsDrawn = true; }
      $('sso-state').textContent = 'Signed in as ' + state.user;
      drawPop(state);
      drawCalls(state.calls);
      drawEvents(state.events);
      window.crmDemo.polls += 1;
      window.crmDemo.state = state;
    } catch (e) {
      window.crmDemo.lastError = String(e);
    }
    setTimeout(poll, 300);
  };

  $('note-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('note').value.trim();
    if (!text) return;
    try { await post('/api/notes', { text }); $('note').value = ''; } catch (e) { $('dispose-result').textContent = e.message; }
  });
  $('dispose-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('dispose-result').textContent = 'Disposing…';
    try {
      const r = await post('/api/dispose', { disposition: $('disposition').value });
      $('dispose-result').textContent = 'Disposed as ' + r.disposition + (r.recorded ? ', recording saved' : '');
    } catch (e) { $('dispose-result').textContent = 'Refused: ' + e.message; }
  });
  $('sso').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await post('/api/sign-out', {}); } catch (_) { /* signed out anyway */ }
    window.location.assign('/');
  });
  poll();
})();
