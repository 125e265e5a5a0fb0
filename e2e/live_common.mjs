// What the live-class browser tests share: Chromium's fake-media flags, navigation, polling, and
// the inbound RTP counters of the room's peer connection (window.__live, see static/live.js).

import { reveal } from './lib.mjs';

/** Chromium flags for a live class: fake camera and microphone, ICE over loopback, sound. */
export const MEDIA_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // The media server announces 127.0.0.1 in tests; Chromium leaves loopback out of ICE otherwise.
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/** Clicks `locator` (scrolled into view) and waits for the page it opens. */
export async function go(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
}

/** Waits until `probe()` returns a truthy value (polling; `what` names it in the error). */
export async function until(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`);
}

/** Sum of `field` over the inbound RTP streams of `kind` (optionally only the given mids). */
export function inbound(page, kind, field, mids = null) {
  return page.evaluate(async ({ kind, field, mids }) => {
    const pc = window.__live?.pc;
    if (!pc || pc.connectionState === 'closed') return 0;
    let n = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === kind && (!mids || mids.includes(r.mid))) n += r[field] || 0;
    });
    return n;
  }, { kind, field, mids });
}
