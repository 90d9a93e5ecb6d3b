// Acme CRM (cti-rs demo): the sign-in form. A successful sign-in sets
// the session cookie (HttpOnly: this script never sees it), then the page
// reloads as the CRM.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  $('sso').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const userId = $('sso-user').value;
    const state = $('sso-state');
    try {
      const r = await fetch('/ameyo/sso', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ command: 'login', userId, password: $('sso-pass').value }),
      });
      const json = await r.json().catch(() => ({}));
      if (r.ok && json.status === 'success') {
        state.textContent = 'Signed in as ' + userId;
        state.dataset.ok = 'yes';
        window.location.reload();
        return;
      }
      state.textContent = 'Sign-in refused' + (json.message ? ': ' + json.message : '');
      state.dataset.ok = 'no';
    } catch (e) {
      state.textContent = 'Sign-in failed';
      state.dataset.ok = 'no';
    }
    $('sso-pass').value = '';
  });
})();
