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
// Roster upload: the browser posts the form itself (and shows its own upload progress); this
// only shows that work is under way and blocks a second tap on a slow network.
const upload = document.querySelector("form[data-upload]");
if (upload) {
  upload.addEventListener("submit", () => {
    const bar = upload.querySelector("[data-upload-progress]");
    if (bar) { bar.hidden = false; bar.removeAttribute("value"); }
    const button = upload.querySelector("button[type=submit]");
    if (button) setTimeout(() => { button.disabled = true; }, 0);
  });
}
// Installable as an app (PWA); the worker only caches static assets and an offline notice.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => { navigator.serviceWorker.register("/sw.js").catch(() => {}); });
}
// Web Push on this device, from the notification settings page.
const pushBox = document.querySelector("[data-push]");
if (pushBox) {
  const status = pushBox.querySelector("[data-push-status]");
  const on = pushBox.querySelector("[data-push-subscribe]");
  const off = pushBox.querySelector("[data-push-unsubscribe]");
  const say = (key) => { status.textContent = pushBox.getAttribute(key); };
  const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const post = (url, body) => fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    say("data-unsupported-text");
  } else {
    navigator.serviceWorker.register("/sw.js").then(async (reg) => {
      const show = (sub) => { on.hidden = !!sub; off.hidden = !sub; say(sub ? "data-on-text" : "data-off-text"); };
      show(await reg.pushManager.getSubscription());
      on.addEventListener("click", async () => {
        if ((await Notification.requestPermission()) !== "granted") { say("data-denied-text"); return; }
        const { key } = await (await fetch("/push/key", { credentials: "same-origin" })).json();
        const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) });
        await post("/push/subscribe", sub.toJSON());
        show(sub);
      });
      off.addEventListener("click", async () => {
        const sub = await reg.pushManager.getSubscription();
        if (sub) { await post("/push/unsubscribe", { endpoint: sub.endpoint }); await sub.unsubscribe(); }
        show(null);
      });
    }).catch(() => say("data-unsupported-text"));
  }
}
// Photos taken with a phone camera are several MB: shrink them in the browser (longest side
// 1600 px, JPEG) before they go over 3G. If anything fails, the originals are sent.
document.querySelectorAll("form[data-photos] input[type=file]").forEach((input) => {
  input.addEventListener("change", async () => {
    if (!window.DataTransfer || !input.files.length) return;
    const out = new DataTransfer();
    for (const file of input.files) {
      try {
        if (file.size < 400 * 1024) { out.items.add(file); continue; }
        const bitmap = await createImageBitmap(file);
        const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", 0.8));
        out.items.add(blob ? new File([blob], file.name.replace(/\.[^.]+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
      } catch (_) { out.items.add(file); }
    }
    input.files = out.files;
  });
});
