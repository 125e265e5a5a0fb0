// What the live-class browser tests share: Chromium's fake-media flags, navigation, polling, and
// the inbound RTP counters of the room's peer connection (window.__live, see static/live.js).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, after } from 'node:test';
import { reveal, ensureDirs, RESULTS_DIR, startServer, launchBrowser, newPhonePage } from './lib.mjs';

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

/** The teacher, logged in, opens the first upcoming live session of Toán 6A1 from the course
 * and enters its room with camera and microphone on; returns the session's and the room's URLs. */
export async function teacherEntersRoom(teacher) {
  await go(teacher, teacher.locator('a[data-nav="courses"]'));
  await go(teacher, teacher.locator('a[data-course="TOAN-6A1"]'));
  await teacher.goto(`${teacher.url().replace(/\/$/, '')}/live`);
  await go(teacher, teacher.locator('[data-live-upcoming] a[data-live-session]').first());
  const sessionURL = teacher.url();
  await go(teacher, teacher.locator('a[data-enter]'));
  const roomURL = teacher.url();
  assert.match(new URL(roomURL).pathname, /^\/live\/[^/]+\/room$/);
  await teacher.locator('#live-room[data-state="connected"]').waitFor({ timeout: 30_000 });
  await teacher.locator('#live-cam[aria-pressed="true"]').waitFor();
  await teacher.locator('#live-mic[aria-pressed="true"]').waitFor();
  return { sessionURL, roomURL };
}

/** After a failure: a screenshot and the HTML of every open phone (`{ name, page }`) in the
 * results folder as `<prefix>-<name>`, their problems and the server's output added to `err`. */
export async function keepFailure(err, prefix, phones, server) {
  ensureDirs();
  for (const { name, page } of phones) {
    if (!page || page.isClosed()) continue;
    const base = path.join(RESULTS_DIR, `${prefix}-${name}`);
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
    writeFileSync(`${base}.html`, await page.content().catch(() => ''));
    if (page.problems?.length) err.message += `\n  ${name} problems: ${page.problems.join('; ')}`;
  }
  err.message += `\n  server output (tail):\n${server.tail(3000).replace(/^/gm, '    ')}`;
}

/** Inside a `describe`: a server and a Chromium with fake media for the suite (`before`), closed
 * with every phone afterwards (`after`). `phone(name, init)` opens a fresh phone (with an init
 * script run before the page's own, if given); `phones` lists them for `keepFailure`. */
export function liveClass(name) {
  const ctx = { server: null, browser: null, phones: [] };
  before(async () => {
    ctx.server = await startServer(name);
    ctx.browser = await launchBrowser({ extraArgs: MEDIA_ARGS });
  });
  after(async () => {
    for (const p of ctx.phones) await p.context.close().catch(() => {});
    await ctx.browser?.close();
    await ctx.server?.stop();
  });
  ctx.phone = async (phoneName, init) => {
    const p = await newPhonePage(ctx.browser);
    if (init) await p.context.addInitScript(init);
    p.name = phoneName;
    ctx.phones.push(p);
    return p.page;
  };
  return ctx;
}
