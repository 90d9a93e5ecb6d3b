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

  // A flash message outside the pop card, which hides when the call
  // completes: the confirmation stays long enough to be read.
  let flashTimer = null;
  const flash = (text, kind) => {
    const f = $('flash');
    f.textContent = text;
    f.className = kind || 'ok';
    f.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { f.hidden = true; }, 10000);
  };

  const time = (iso) => {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    // Today's calls by their time; older ones with their date.
    const today = d.toDateString() === new Date().toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
  };
  const duration = (s) => {
    if (s === null || s === undefined) return '';
    const m = Math.floor(s / 60);
    return m + ':' + String(s % 60).padStart(2, '0');
  };
  const cell = (text, cls) => el('td', text, cls);

  const drawCalls = (calls) => {
    const body = $('calls').querySelector('tbody');
    body.replaceChildren();
    for (const c of calls) {
      const tr = el('tr');
      tr.dataset.id = c.id;
      tr.dataset.state = c.state;
      const when = cell(time(c.started_at), 'time');
      if (c.started_at) when.title = c.started_at;
      tr.append(
        when,
        cell(c.contact_name || c.customer, 'contact'),
        cell(c.channel, 'channel'),
        cell(c.direction, 'direction'),
        cell(duration(c.duration_seconds), 'duration'),
        cell(c.disposition || (c.state === 'not_connected' ? 'not connected' : ''), 'disposition'),
        cell(c.notes.join(' · '), 'notes'),
      );
      const files = cell('', 'files');
      const link = (text, href, cls) => {
        const a = el('a', text);
        a.href = href;
        a.className = cls;
        files.append(a, ' ');
      };
      const base = '/api/calls/' + encodeURIComponent(c.id);
      if (c.recorded) {
        for (const f of ['wav', 'mp3']) link(f.toUpperCase(), base + '/voicelog?format=' + f, 'voicelog ' + f);
      }
      if (c.transcript) link('Transcript', base + '/transcript', 'transcript');
      tr.append(files);
      body.append(tr);
    }
  };

  // The event log: the lines kept here (newest first), shown through
  // the filter; Clear forgets them, Export saves what the filter shows.
  const kept = [];
  const matches = (e) => {
    const q = $('event-filter').value.trim().toLowerCase();
    if (!q) return true;
    return [e.vendor, e.wire, e.dir, JSON.stringify(e.raw), JSON.stringify(e.normalized)]
      .some((t) => String(t).toLowerCase().includes(q));
  };
  const drawEventRows = () => {
    const rows = $('event-rows');
    rows.replaceChildren(...kept.filter(matches).map((e) => {
      const tr = el('tr', null, e.dir);
      tr.append(
        el('td', String(e.seq)),
        el('td', e.dir === 'in' ? '←' : '→'),
        el('td', e.vendor + ' ' + e.wire),
        el('td', JSON.stringify(e.raw), 'mono raw'),
        el('td', e.normalized === null ? '—' : JSON.stringify(e.normalized), 'mono normalized'),
      );
      return tr;
    }));
  };
  const drawEvents = (events) => {
    if (!events.length) return;
    for (const e of events) {
      kept.unshift(e);
      since = Math.max(since, e.seq);
    }
    kept.splice(200);
    drawEventRows();
  };
  $('event-filter').addEventListener('input', drawEventRows);
  $('event-clear').addEventListener('click', () => { kept.length = 0; drawEventRows(); });
  $('event-export').addEventListener('click', () => {
    const blob = new Blob([JSON.stringify(kept.filter(matches), null, 2)], { type: 'application/json' });
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'cti-events.json';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  const poll = async () => {
    try {
      const r = await fetch('/api/state?since=' + since, { cache: 'no-store' });
      if (r.status === 401) { window.location.assign('/'); return; }
      const state = await r.json();
      if (!contactsDrawn) {
        drawContacts(state.contacts);
        contactsDrawn = true;
        // A link to a contact (`#contact-…`, as Streem's redirect back
        // names it) highlights it once it is drawn.
        const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
        if (target && target.parentElement === $('contact-list')) {
          target.classList.add('highlight');
          target.scrollIntoView({ block: 'center' });
        }
      }
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
    const who = $('pop-name').textContent;
    try {
      const r = await post('/api/dispose', { disposition: $('disposition').value });
      $('dispose-result').textContent = '';
      flash((r.already_disposed ? 'Already disposed: ' : 'Disposed: ') + who + ' as ' + r.disposition + (r.recorded ? ', recording saved' : ''), 'ok');
    } catch (e) { $('dispose-result').textContent = 'Refused: ' + e.message; }
  });
  $('reset').addEventListener('click', async () => {
    try {
      const r = await post('/api/reset', {});
      kept.length = 0;
      drawEventRows();
      flash(r.ended_a_call ? 'Demo reset: the call on the phone was ended' : 'Demo reset', 'ok');
    } catch (e) { flash('Reset refused: ' + e.message, 'bad'); }
  });
  $('sso').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await post('/api/sign-out', {}); } catch (_) { /* signed out anyway */ }
    window.location.assign('/');
  });
  poll();
})();
