// Lesson video player: HLS renditions (native on iOS, hls.js elsewhere, starting at the lowest
// quality), resume where the student stopped, and progress beacons while playing. Also polls
// the transcode progress bar on the library page.
const REPORT_EVERY_MS = 15000;
const MAX_STEP_S = 30;

async function attachHls(video, src, fallback) {
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;
    return;
  }
  try {
    const { default: Hls } = await import('/static/vendor/hls.light.min.mjs');
    if (!Hls.isSupported()) throw new Error('no MSE');
    // No worker: the page's CSP allows scripts from this origin only (no blob: workers).
    const hls = new Hls({ startLevel: 0, capLevelToPlayerSize: true, enableWorker: false });
    let recovered = false;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
        hls.startLoad();
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true;
        hls.recoverMediaError();
      } else {
        hls.destroy();
        if (fallback) video.src = fallback;
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } catch (_) {
    if (fallback) video.src = fallback;
  }
}

function track(video, url) {
  let watched = 0;
  let last = null;
  video.addEventListener('timeupdate', () => {
    const t = video.currentTime;
    if (last !== null && !video.paused && !video.seeking) {
      const step = t - last;
      // Only time actually played counts, not a jump forward.
      if (step > 0 && step < 2) watched += step;
    }
    last = t;
  });
  video.addEventListener('seeking', () => { last = null; });
  const body = () => {
    const step = Math.min(MAX_STEP_S, Math.round(watched));
    watched = Math.max(0, watched - step);
    return JSON.stringify({ position: Math.floor(video.currentTime || 0), watched: step });
  };
  const report = (leaving) => {
    if (!video.currentTime && watched < 1) return;
    const json = body();
    if (leaving && navigator.sendBeacon) {
      navigator.sendBeacon(url, new Blob([json], { type: 'application/json' }));
      return;
    }
    fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: json,
      keepalive: true,
      credentials: 'same-origin',
    }).catch(() => { /* the next report carries the position again */ });
  };
  setInterval(() => { if (!video.paused) report(false); }, REPORT_EVERY_MS);
  video.addEventListener('pause', () => report(false));
  video.addEventListener('ended', () => report(false));
  window.addEventListener('pagehide', () => report(true));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') report(true);
  });
}

function setUp(box) {
  const video = box.querySelector('video');
  if (!video) return;
  const d = box.dataset;
  const fallback = d.progressUrl ? d.progressUrl.replace(/\/progress$/, '/file') : '';
  const resume = Number(d.resume) || 0;
  if (resume > 0) {
    video.addEventListener('loadedmetadata', () => {
      if (!video.duration || resume < video.duration - 3) video.currentTime = resume;
    }, { once: true });
  }
  if (d.hls) attachHls(video, d.hls, fallback);
  if (d.learner === '1' && d.progressUrl) track(video, d.progressUrl);
}

function pollTranscode(bar) {
  const url = bar.dataset.transcode;
  let failures = 0;
  const tick = async () => {
    try {
      const r = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!r.ok) throw new Error(String(r.status));
      const s = await r.json();
      failures = 0;
      bar.value = s.progress || 0;
      const note = bar.closest('[data-video-note]');
      if (note && s.note && note.firstChild && note.firstChild.nodeType === Node.TEXT_NODE) {
        note.firstChild.textContent = `${s.note} `;
      }
      if (s.status !== 'queued' && s.status !== 'processing') {
        window.location.reload();
        return;
      }
    } catch (_) {
      failures += 1;
      if (failures > 10) return;
    }
    setTimeout(tick, 3000);
  };
  setTimeout(tick, 1000);
}

document.querySelectorAll('[data-player]').forEach(setUp);
document.querySelectorAll('progress[data-transcode]').forEach(pollTranscode);
