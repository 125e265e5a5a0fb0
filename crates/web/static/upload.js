// Resumable upload of lesson videos (a tus-like protocol): the file goes in chunks, each
// acknowledged with the new offset; on a network error the chunk is retried with backoff after
// asking the server where the upload stands (HEAD), and after a reload the same file (same
// name and size) continues from the offset kept in localStorage.
const form = document.querySelector('form[data-video-form]');

if (form) {
  const d = form.dataset;
  const bar = form.querySelector('[data-video-progress]');
  const say = form.querySelector('[data-video-status]');
  const input = form.querySelector('input[type=file]');
  const button = form.querySelector('button[type=submit]');
  const max = Number(d.maxBytes) || Infinity;
  const chunk = Number(d.chunkBytes) || 4 * 1024 * 1024;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const mb = (n) => (n / 1048576).toLocaleString('vi-VN', { maximumFractionDigits: 1 }) + ' MB';
  const show = (text, failed) => {
    say.textContent = text;
    say.classList.toggle('error', Boolean(failed));
  };
  const b64 = (s) => {
    let bin = '';
    for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
    return btoa(bin);
  };
  const keyFor = (f) => `lophoc-upload:${d.createUrl}:${f.name}:${f.size}`;
  const remember = (f, url) => { try { localStorage.setItem(keyFor(f), url); } catch (_) { /* private mode */ } };
  const forget = (f) => { try { localStorage.removeItem(keyFor(f)); } catch (_) { /* private mode */ } };
  const recall = (f) => { try { return localStorage.getItem(keyFor(f)); } catch (_) { return null; } };

  class Refused extends Error {}

  const progress = (offset, size) => {
    const pct = size ? Math.floor((offset * 100) / size) : 100;
    bar.hidden = false;
    bar.value = pct;
    show(`${d.msgUploading} ${pct} % (${mb(offset)} / ${mb(size)})`);
  };

  // Fetch with retries on network errors and 5xx answers: 1 s, 2 s, 4 s… up to 30 s.
  async function withRetry(make, tries = 12) {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await make();
        if (r.status < 500) return r;
        if (attempt >= tries) return r;
      } catch (e) {
        if (attempt >= tries) throw e;
      }
      show(d.msgRetry);
      await sleep(Math.min(30000, 1000 * 2 ** attempt));
    }
  }

  async function offsetOf(url) {
    const r = await withRetry(() => fetch(url, { method: 'HEAD', cache: 'no-store' }));
    if (!r.ok) return null;
    return Number(r.headers.get('Upload-Offset'));
  }

  async function create(file) {
    const r = await withRetry(() => fetch(d.createUrl, {
      method: 'POST',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Length': String(file.size),
        'Upload-Metadata': `filename ${b64(file.name)},filetype ${b64(file.type || '')}`,
      },
    }));
    if (r.status !== 201) throw new Refused(await r.text());
    const { url } = await r.json();
    remember(file, url);
    return url;
  }

  async function send(file, url, offset) {
    let failures = 0;
    while (offset < file.size) {
      progress(offset, file.size);
      const part = file.slice(offset, Math.min(file.size, offset + chunk));
      let r;
      try {
        r = await fetch(url, {
          method: 'PATCH',
          headers: {
            'Tus-Resumable': '1.0.0',
            'Upload-Offset': String(offset),
            'Content-Type': 'application/offset+octet-stream',
          },
          body: part,
        });
      } catch (_) {
        r = null;
      }
      if (r && (r.status === 204 || r.status === 409)) {
        // 409: the server stands elsewhere (a chunk acknowledged but its answer lost).
        offset = Number(r.headers.get('Upload-Offset'));
        failures = 0;
        continue;
      }
      if (r && r.status < 500) throw new Refused(await r.text());
      failures += 1;
      if (failures > 12) throw new Error('network');
      show(d.msgRetry);
      await sleep(Math.min(30000, 1000 * 2 ** (failures - 1)));
      const now = await offsetOf(url);
      if (now === null) throw new Refused(d.msgFailed);
      offset = now;
    }
    progress(offset, file.size);
  }

  async function finish(file, url) {
    show(d.msgFinishing);
    const id = url.split('/').pop();
    const fields = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string') fields.append(k, v);
    const r = await withRetry(() => fetch(d.finishPrefix + id + '/finish', { method: 'POST', body: fields }));
    if (r.status === 409) {
      // Not all bytes arrived (another tab?): keep the upload and let the teacher try again.
      throw new Refused(await r.text());
    }
    forget(file);
    if (!r.ok) throw new Refused(await errorText(r));
    show(d.msgDone);
    window.location.assign(r.url);
  }

  async function errorText(r) {
    const text = await r.text();
    if (!(r.headers.get('content-type') || '').includes('html')) return text;
    const doc = new DOMParser().parseFromString(text, 'text/html');
    const p = doc.querySelector('main p, p');
    return p ? p.textContent.trim() : `${d.msgFailed} (${r.status})`;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = input.files && input.files[0];
    if (!file) return show(d.msgChoose, true);
    if (!/\.(mp4|m4v|mov|webm)$/i.test(file.name)) return show(d.msgType, true);
    if (file.size > max) return show(d.msgTooBig, true);
    if (!form.reportValidity()) return undefined;
    button.disabled = true;
    try {
      let url = recall(file);
      let offset = url ? await offsetOf(url) : null;
      if (url && offset !== null) {
        show(d.msgResuming);
      } else {
        show(d.msgStarting);
        url = await create(file);
        offset = 0;
      }
      await send(file, url, offset);
      await finish(file, url);
    } catch (e) {
      show(e instanceof Refused ? `${d.msgFailed}: ${e.message}` : d.msgFailed, true);
      button.disabled = false;
    }
    return undefined;
  });
}
