// lophoc — small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("click", (e) => {
  const t = e.target;
  if (t instanceof HTMLElement && t.hasAttribute("data-print")) window.print();
});
// Roster import: poll the progress of the background write and reload when it is done.
const progress = document.querySelector("[data-import-progress]");
if (progress) {
  const url = progress.getAttribute("data-status-url");
  const bar = progress.querySelector("progress");
  const done = progress.querySelector("[data-done]");
  const total = progress.querySelector("[data-total]");
  const tick = async () => {
    try {
      const r = await fetch(url, { credentials: "same-origin" });
      if (r.ok) {
        const s = await r.json();
        const pct = s.total ? Math.round((s.done * 100) / s.total) : 100;
        if (bar) bar.value = pct;
        if (done) done.textContent = s.done;
        if (total) total.textContent = s.total;
        if (s.finished) { location.reload(); return; }
      }
    } catch (_) { /* network blip: try again */ }
    setTimeout(tick, 700);
  };
  setTimeout(tick, 300);
}
// Upload progress for large roster files on slow networks.
const upload = document.querySelector("form[data-upload]");
if (upload && window.XMLHttpRequest) {
  upload.addEventListener("submit", (e) => {
    const bar = upload.querySelector("[data-upload-progress]");
    if (!bar) return;
    e.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.action);
    bar.hidden = false;
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = Math.round((ev.loaded * 100) / ev.total); };
    xhr.onload = () => { document.open(); document.write(xhr.responseText); document.close(); history.replaceState(null, "", upload.action); };
    xhr.onerror = () => { bar.hidden = true; alert(upload.getAttribute("data-upload-error")); };
    xhr.send(new FormData(upload));
  });
}
