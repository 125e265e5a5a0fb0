// The exam client: saves every answer at once, queues answers in localStorage while offline
// and sends them on reconnect, shows "Đã lưu" only after the server confirmed, counts down to
// the server's deadline and reports leaving the page to the integrity log.
//
// Each save carries {item, response, seq, key}: seq grows per item (the server keeps the
// highest), key is random per save (a retry of the same save is harmless either way).

const form = document.getElementById('exam-paper');
if (form) start(form);

function start(form) {
  const attempt = form.dataset.attempt;
  const base = `/attempts/${attempt}`;
  const msg = (k) => form.dataset[k] || '';
  const statusEl = document.getElementById('exam-status');
  const timerEl = document.getElementById('exam-timer');
  const qKey = `lophoc-exam-queue:${attempt}`;
  const sKey = `lophoc-exam-seq:${attempt}`;
  const load = (k) => {
    try { return JSON.parse(localStorage.getItem(k) || '{}'); } catch { return {}; }
  };
  const store = (k, v) => {
    try { localStorage.setItem(k, JSON.stringify(v)); } catch { /* private mode: memory only */ }
  };
  let queue = load(qKey); // item -> pending save
  const timers = {}; // item -> typing timer not yet recorded
  const seqs = load(sKey); // item -> last seq used
  let closed = false;
  // The drain in progress, if any: every flush() joins it, so that whoever awaits a flush
  // (the submit button, the deadline) waits until what is queued now has been sent.
  let draining = null;

  // Seqs continue from what the server already holds (another device, a reload).
  for (const fs of form.querySelectorAll('[data-item]')) {
    const i = fs.dataset.item;
    seqs[i] = Math.max(seqs[i] || 0, Number(fs.dataset.seq || 0));
  }
  store(sKey, seqs);

  // Answers still queued here (made offline, then the page was reloaded) are newer than what
  // the server sent in the page: show them as the student left them, until they are sent.
  function show(fs, response) {
    const i = fs.dataset.item;
    const name = `q${i}`;
    if (response.type === 'single_choice' || response.type === 'multiple_response') {
      const chosen = new Set([].concat(response.value).map(String));
      for (const c of fs.querySelectorAll(`input[name="${name}"]`)) c.checked = chosen.has(c.value);
    } else if (response.type === 'true_false') {
      fs.querySelectorAll('[data-statement]').forEach((st, k) => {
        const v = response.value[k];
        for (const c of st.querySelectorAll('input')) c.checked = v !== null && v !== undefined && (c.value === '1') === v;
      });
    } else {
      const t = fs.querySelector(`[name="${name}"]`);
      if (t) t.value = response.value;
    }
  }
  for (const [i, save] of Object.entries(queue)) {
    const fs = form.querySelector(`[data-item="${i}"]`);
    if (!fs || !save || !save.response) { delete queue[i]; continue; }
    show(fs, save.response);
  }
  store(qKey, queue);

  function setStatus(state) {
    statusEl.dataset.state = state;
    statusEl.textContent = {
      saved: msg('msgSaved'), saving: msg('msgSaving'), queued: msg('msgQueued'), closed: msg('msgClosed'),
    }[state] || '';
  }

  function itemState(i, state) {
    const el = form.querySelector(`[data-item="${i}"] [data-item-state]`);
    if (!el) return;
    el.dataset.state = state;
    el.textContent = state === 'saved' ? '✓ ' + msg('msgSaved') : state === 'queued' ? '⏳' : '…';
  }

  function responseOf(fs) {
    const i = fs.dataset.item;
    const kind = fs.dataset.kind;
    const name = `q${i}`;
    if (kind === 'single_choice') {
      const c = fs.querySelector(`input[name="${name}"]:checked`);
      return c ? { type: 'single_choice', value: Number(c.value) } : null;
    }
    if (kind === 'multiple_response') {
      const v = [...fs.querySelectorAll(`input[name="${name}"]:checked`)].map((c) => Number(c.value));
      return { type: 'multiple_response', value: v };
    }
    if (kind === 'true_false') {
      const v = [...fs.querySelectorAll('[data-statement]')].map((st) => {
        const c = st.querySelector('input:checked');
        return c ? c.value === '1' : null;
      });
      return { type: 'true_false', value: v };
    }
    const t = fs.querySelector(`[name="${name}"]`);
    return { type: kind === 'short_answer' ? 'short_answer' : 'essay', value: t ? t.value : '' };
  }

  function randomKey() {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  }

  // The last response recorded per item: a change event that repeats it (a text field losing
  // focus after its input was already recorded) sends nothing new.
  const last = {};
  for (const fs of form.querySelectorAll('[data-item]')) {
    const i = fs.dataset.item;
    const r = queue[i] ? queue[i].response : responseOf(fs);
    if (r) last[i] = JSON.stringify(r);
  }

  function record(fs) {
    if (closed) return;
    const response = responseOf(fs);
    if (!response) return;
    const i = fs.dataset.item;
    clearTimeout(timers[i]);
    delete timers[i];
    const json = JSON.stringify(response);
    if (last[i] === json) return;
    last[i] = json;
    seqs[i] = (seqs[i] || 0) + 1;
    store(sKey, seqs);
    queue[i] = { item: Number(i), response, seq: seqs[i], key: randomKey() };
    store(qKey, queue);
    itemState(i, 'queued');
    flush();
  }

  // Sends what is queued; resolves once the queue is empty, or the network or the server
  // failed (then it stays queued for the next try), or the attempt is closed.
  function flush() {
    if (!draining) {
      draining = (async () => {
        try {
          while (await sendQueued());
        } finally {
          draining = null;
        }
      })();
    }
    return draining;
  }

  // One pass over the queue; true when it should run again (answers queued meanwhile).
  async function sendQueued() {
    if (closed) return false;
    const pending = Object.values(queue);
    if (pending.length === 0) { setStatus('saved'); return false; }
    if (!navigator.onLine) { setStatus('queued'); return false; }
    setStatus('saving');
    let failed = false;
    for (const save of pending) {
      try {
        const r = await fetch(`${base}/answers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(save),
          credentials: 'same-origin',
        });
        if (r.ok) {
          const body = await r.json();
          // Only drop it if nothing newer was queued meanwhile.
          const cur = queue[save.item];
          if (cur && cur.seq <= body.seq) delete queue[save.item];
          store(qKey, queue);
          if (!queue[save.item]) itemState(save.item, 'saved');
        } else if (r.status === 409) {
          closed = true;
          const body = await r.json().catch(() => ({}));
          statusEl.dataset.state = 'closed';
          statusEl.textContent = body.message || msg('msgClosed');
          break;
        } else if (r.status === 400 || r.status === 403) {
          // Refused for good (tampered, not allowed): do not retry forever.
          delete queue[save.item];
          store(qKey, queue);
        } else {
          failed = true;
        }
      } catch {
        failed = true;
        break;
      }
    }
    if (closed) return false;
    // Changed while this pass was sending (a newer seq, or an item not in this pass): again.
    const sent = new Map(pending.map((p) => [String(p.item), p.seq]));
    const newer = Object.entries(queue).some(([i, q]) => !sent.has(i) || q.seq > sent.get(i));
    if (!failed && newer) return true;
    if (failed || Object.keys(queue).length > 0) {
      setStatus('queued');
      for (const i of Object.keys(queue)) itemState(i, 'queued');
    } else {
      setStatus('saved');
    }
    return false;
  }

  // Answers: radios and checkboxes at once, typing a moment after the last key.
  form.addEventListener('change', (ev) => {
    const fs = ev.target.closest('[data-item]');
    if (fs) record(fs);
  });
  form.addEventListener('input', (ev) => {
    if (!ev.target.matches('input[type="text"], input:not([type]), textarea')) return;
    const fs = ev.target.closest('[data-item]');
    if (!fs) return;
    clearTimeout(timers[fs.dataset.item]);
    timers[fs.dataset.item] = setTimeout(() => record(fs), 600);
  });

  window.addEventListener('online', flush);
  setInterval(flush, 3000);

  // Resume: what the server holds wins over the page, unless a newer answer is queued here.
  fetch(`${base}/state`, { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)).then((st) => {
    if (!st) return;
    for (const a of st.answers) {
      const i = String(a.item);
      seqs[i] = Math.max(seqs[i] || 0, a.seq);
      if (!queue[i]) itemState(i, 'saved');
    }
    store(sKey, seqs);
    if (st.status === 'submitted') location.reload();
  }).catch(() => {});

  // Timer: the server's deadline, corrected for the clock of this device.
  const offset = Number(form.dataset.now) - Date.now();
  const deadline = Number(form.dataset.deadline);
  function tick() {
    const left = Math.max(0, deadline - (Date.now() + offset));
    const m = Math.floor(left / 60000);
    const s = Math.floor((left % 60000) / 1000);
    timerEl.textContent = `${m}:${String(s).padStart(2, '0')}`;
    if (left <= 0) {
      clearInterval(clock);
      flushAll().finally(() => submitNow());
    }
  }
  const clock = setInterval(tick, 1000);
  tick();

  let submitting = false;
  async function submitNow() {
    if (submitting) return;
    submitting = true;
    try {
      const r = await fetch(`${base}/submit`, {
        method: 'POST', headers: { accept: 'application/json' }, credentials: 'same-origin',
      });
      if (r.ok) {
        closed = true;
        store(qKey, {});
        // The result page (the same address now shows the submitted paper).
        location.replace(base);
        return;
      }
      const body = await r.json().catch(() => ({}));
      statusEl.dataset.state = 'error';
      statusEl.textContent = body.message || msg('msgSubmitFailed');
    } catch {
      // The server submits it at the deadline anyway.
      setStatus('queued');
    }
    submitting = false; // not submitted: the button works again
  }

  // Typing not yet recorded (the debounce) is recorded now, then everything queued is sent.
  async function flushAll() {
    for (const i of Object.keys(timers)) {
      const fs = form.querySelector(`[data-item="${i}"]`);
      if (fs) record(fs);
    }
    await flush();
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submitting) return;
    await flushAll();
    if (Object.keys(queue).length > 0 && !closed) {
      statusEl.dataset.state = 'queued';
      statusEl.textContent = msg('msgUnsent');
      return;
    }
    if (!window.confirm(msg('msgConfirm'))) return;
    submitNow();
  });

  // One question per screen.
  if (form.dataset.one === '1') {
    const items = [...form.querySelectorAll('[data-item]')];
    const nav = document.getElementById('exam-nav');
    const pos = document.getElementById('exam-pos');
    let at = 0;
    const show = () => {
      items.forEach((el, i) => { el.hidden = i !== at; });
      pos.textContent = `${at + 1}/${items.length}`;
    };
    nav.hidden = false;
    nav.querySelector('[data-prev]').addEventListener('click', () => { at = Math.max(0, at - 1); show(); });
    nav.querySelector('[data-next]').addEventListener('click', () => { at = Math.min(items.length - 1, at + 1); show(); });
    show();
  }

  // Integrity log.
  const report = (kind, detail = '') => {
    if (!navigator.onLine) return;
    fetch(`${base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind, detail }),
      credentials: 'same-origin',
      keepalive: true,
    }).catch(() => {});
  };
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') report('hidden'); });
  document.addEventListener('fullscreenchange', () => { if (!document.fullscreenElement) report('fullscreen_exit'); });
  window.addEventListener('blur', () => report('blur'));
  form.addEventListener('paste', () => report('paste'));

  for (const i of Object.keys(queue)) itemState(i, 'queued');
  flush();
}
