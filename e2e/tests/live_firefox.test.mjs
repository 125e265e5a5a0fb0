// A live class with a student on Firefox (issue 5: desktop Chrome and Firefox). The teacher
// (gv.toan) stays on Chromium through playwright-core; the student (hs.demo) uses Debian's
// firefox-esr, driven by puppeteer-core over WebDriver BiDi (Playwright cannot drive a stock
// Firefox), at the same 360×740 phone size, with Firefox's fake camera and microphone. The
// student's Firefox decodes the teacher's video and plays the sound, the teacher lets the student
// speak and then show their camera and receives both from Firefox, and a chat message written in
// Firefox reaches the teacher; after a network blip Firefox reconnects and the media flows again.
//
// Environment: FIREFOX_PATH (default /usr/bin/firefox-esr; `apt-get install firefox-esr`).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import {
  startServer, launchBrowser, newPhonePage, loginAs, assertHealthy,
  DEMO_PASSWORD, RESULTS_DIR, SCREENSHOT_DIR, ensureDirs,
} from '../lib.mjs';
import { MEDIA_ARGS, until, teacherEntersRoom } from '../live_common.mjs';

// Firefox's equivalents: fake devices without a permission prompt, ICE over loopback (the media
// server announces 127.0.0.1 in tests). Autoplay keeps Firefox's default policy; a site allowed
// to use camera and microphone (below) may start sound by itself, and should Firefox block it the
// test takes the "Chạm để nghe lớp học" button instead.
//
// Loopback needs one more thing. Until a site may use the camera or microphone, Firefox gathers
// ICE candidates on the default-route interface only (PeerConnectionImpl's "default address
// only" privacy rule: IsActivelyCapturingOrHasAPermission is false). A student comes in with mic
// and camera off, so the peer connection would offer 192.0.2.x / fd00:: host candidates only,
// never pair them with the server's 127.0.0.1, and fail ICE ("ICE failed, add a STUN server").
// On a real network the default route reaches the server's public address and this rule is
// harmless; in the test we let every site use camera and microphone (as a student who allowed
// them once has), so Firefox gathers on loopback too.
const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  // A test browser: no first-run pages, updates or telemetry on a loaded 2-core machine.
  'browser.shell.checkDefaultBrowser': false,
  'app.update.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
};

async function launchFirefox() {
  const executablePath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
  if (!existsSync(executablePath)) {
    throw new Error(`Firefox not found at ${executablePath} (apt-get install firefox-esr)`);
  }
  // As with Chromium (lib.mjs), a browser that dies while starting on a loaded machine is the
  // environment, not lophoc: one more try.
  let lastError;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      return await puppeteer.launch({
        browser: 'firefox',
        protocol: 'webDriverBiDi',
        executablePath,
        headless: true,
        extraPrefsFirefox: FIREFOX_PREFS,
        timeout: 90_000,
        protocolTimeout: 60_000,
      });
    } catch (e) {
      lastError = e;
      console.error(`Firefox did not start (attempt ${attempt}/2): ${String(e).split('\n')[0]}`);
    }
  }
  throw lastError;
}

// Runs in the page, in Chromium or Firefox alike: the sum of `field` over the inbound RTP streams
// of `kind` (optionally only the given mids) of the room's peer connection.
async function inboundIn({ kind, field, mids }) {
  const pc = window.__live?.pc;
  if (!pc || pc.connectionState === 'closed') return 0;
  let n = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === kind && (!mids || mids.includes(r.mid))) n += r[field] || 0;
  });
  return n;
}
/** Works with a Playwright page (the teacher) and a Puppeteer page (the Firefox student). */
const inbound = (page, kind, field, mids = null) => page.evaluate(inboundIn, { kind, field, mids });

describe('live class with a student on Firefox', { timeout: 300_000 }, () => {
  let server;
  let chromium;
  let firefox;
  let teacher;
  let student;
  const studentProblems = [];

  before(async () => {
    server = await startServer('live-firefox');
    chromium = await launchBrowser({ extraArgs: MEDIA_ARGS });
    firefox = await launchFirefox();
  });
  after(async () => {
    await teacher?.context().close().catch(() => {});
    await firefox?.close().catch(() => {});
    await chromium?.close();
    await server?.stop();
  });

  async function saveAll(err) {
    ensureDirs();
    const base = path.join(RESULTS_DIR, 'live-firefox');
    if (teacher && !teacher.isClosed()) {
      await teacher.screenshot({ path: `${base}-teacher.png`, fullPage: true }).catch(() => {});
      writeFileSync(`${base}-teacher.html`, await teacher.content().catch(() => ''));
      if (teacher.problems.length) err.message += `\n  teacher problems: ${teacher.problems.join('; ')}`;
    }
    if (student && !student.isClosed()) {
      await student.screenshot({ path: `${base}-student.png`, fullPage: true }).catch(() => {});
      writeFileSync(`${base}-student.html`, await student.content().catch(() => ''));
      err.message += `\n  student (Firefox) page: ${student.url()}`;
      // Where ICE stood: the states and the candidates Firefox gathered (loopback or not).
      const ice = await student.evaluate(async () => {
        const pc = window.__live?.pc;
        if (!pc) return 'no peer connection';
        const local = [];
        (await pc.getStats()).forEach((r) => { if (r.type === 'local-candidate') local.push(`${r.protocol} ${r.address}`); });
        return `connection ${pc.connectionState}, ice ${pc.iceConnectionState}, local candidates: ${local.join(', ') || 'none'}`;
      }).catch((e) => `unknown (${e.message})`);
      err.message += `\n  student (Firefox) WebRTC: ${ice}`;
    }
    if (studentProblems.length) err.message += `\n  student (Firefox) problems: ${studentProblems.join('; ')}`;
    err.message += `\n  saved: ${base}-*.png, ${base}-*.html`;
    err.message += `\n  server output (tail):\n${server.tail(3000).replace(/^/gm, '    ')}`;
  }

  /** A Firefox tab at phone size that records script errors, failed requests and live.js warnings. */
  async function firefoxPhone() {
    const page = await firefox.newPage();
    await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 2 });
    page.setDefaultTimeout(20_000);
    page.setDefaultNavigationTimeout(30_000);
    page.on('pageerror', (e) => studentProblems.push(`script error: ${e.message ?? e}`));
    // live.js reports what failed in the signalling chain (an SDP Firefox refused, say) as
    // console.warn("live:", …).
    page.on('console', (m) => {
      if (/^live:/.test(m.text())) studentProblems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('response', (res) => {
      const url = new URL(res.url());
      if (url.pathname === '/favicon.ico') return;
      if (res.status() >= 500 || (res.status() === 404 && res.request().resourceType() !== 'document')) {
        studentProblems.push(`HTTP ${res.status()} ${res.request().method()} ${url.pathname}`);
      }
    });
    return page;
  }

  it('teacher on Chromium, student on Firefox: video, sound, microphone, camera, chat and a blip', async () => {
    try {
      // The teacher opens the demo session of Toán 6A1 and enters the room with camera and mic.
      ({ page: teacher } = await newPhonePage(chromium));
      await loginAs(teacher, server.baseURL, 'teacher');
      const { roomURL } = await teacherEntersRoom(teacher);

      // The student logs in on Firefox.
      student = await firefoxPhone();
      const version = await firefox.version();
      assert.match(version, /^firefox\//i, `a Firefox, not ${version}`);
      await student.goto(`${server.baseURL}/login`);
      await student.locator('input[name="login"]').fill('hs.demo');
      await student.locator('input[name="password"]').fill(DEMO_PASSWORD);
      await Promise.all([
        student.waitForNavigation({ waitUntil: 'load' }),
        student.locator('form:has(input[name="login"]) button[type="submit"]').click(),
      ]);
      assert.equal(new URL(student.url()).pathname, '/', `hs.demo should land on / on Firefox, got ${student.url()}`);
      await student.waitForSelector('main[data-page="dashboard-student"]', { visible: true });

      // …and enters the same room.
      await student.goto(roomURL);
      await student.waitForSelector('#live-room[data-state="connected"]', { timeout: 30_000 });
      assert.equal(await student.$('#live-nojs'), null, 'the "needs JavaScript" notice is gone');
      const studentId = await student.$eval('#live-room', (r) => r.dataset.me);
      assert.ok(studentId, 'the room names the student');
      assert.ok(await student.$eval('#live-mic', (b) => b.disabled), 'a student may not speak before being allowed');

      // Firefox decodes the teacher's video and shows it in the main place, and the tile stays
      // there (live.js drops tiles whose frames stop, by the mid in Firefox's stats too).
      await until("Firefox decodes the teacher's video", () => inbound(student, 'video', 'framesDecoded'), 40_000);
      await student.waitForSelector('#live-main .live-tile[data-source="camera"][data-live="true"] video', { timeout: 20_000 });
      await until('the teacher\'s video plays in Firefox', () => student.$eval('#live-main video', (v) =>
        !v.paused && v.videoWidth > 0 && v.readyState >= 2 ? `${v.videoWidth}x${v.videoHeight}` : null));
      const decoded = await inbound(student, 'video', 'framesDecoded');
      await until('Firefox keeps decoding the teacher\'s video', async () => (await inbound(student, 'video', 'framesDecoded')) > decoded + 10);
      // …and plays the teacher's sound.
      await until("Firefox receives the teacher's audio", () => inbound(student, 'audio', 'packetsReceived'));
      // Firefox blocks sound that starts by itself on a page not yet touched: live.js then shows
      // the "tap to hear the class" button, and a tap starts it. Either way the sound must play.
      const playing = () => student.evaluate(() =>
        [...document.querySelectorAll('#live-audio audio')].some((a) => !a.paused && a.srcObject));
      const soundOrButton = await until("Firefox plays the teacher's sound or offers to", async () =>
        (await playing()) ? 'playing' : (await student.$eval('#live-unmute', (b) => !b.hidden)) ? 'button' : null);
      if (soundOrButton === 'button') {
        await student.locator('#live-unmute').click();
        await student.waitForSelector('#live-unmute', { hidden: true });
      }
      await until("the teacher's sound plays in Firefox", playing);
      console.log(`Firefox student: the teacher's sound ${soundOrButton === 'button' ? 'started after a tap on the button' : 'started by itself'}`);

      // The teacher lets the student speak; the student turns the microphone on in Firefox; the
      // teacher receives their audio on the mids the server labelled as the student's.
      await teacher.locator('#live-t-people').click();
      const row = teacher.locator(`#live-people li[data-peer="${studentId}"]`);
      await row.locator('button', { hasText: 'Cho nói' }).click();
      await student.waitForSelector('#live-mic:not([disabled])');
      await student.locator('#live-mic').click();
      await student.waitForSelector('#live-mic[aria-pressed="true"]');
      const trackMids = (kind) => until(`the teacher gets the student's ${kind} track`, () =>
        teacher.evaluate(({ id, kind }) => {
          const m = window.__live.state.tracks.filter((t) => t.peer === id && t.kind === kind).map((t) => t.mid);
          return m.length ? m : null;
        }, { id: studentId, kind }));
      const audioMids = await trackMids('audio');
      await until("the teacher receives the Firefox student's audio", () => inbound(teacher, 'audio', 'packetsReceived', audioMids));
      const heard = await inbound(teacher, 'audio', 'packetsReceived', audioMids);
      await until('the audio from Firefox keeps coming', async () => (await inbound(teacher, 'audio', 'packetsReceived', audioMids)) > heard + 20);
      await row.locator('button', { hasText: 'Thôi nói' }).waitFor();

      // The teacher lets the student show their camera; Firefox sends it and the teacher decodes it.
      await row.locator('button', { hasText: 'Cho bật camera' }).click();
      await student.waitForSelector('#live-cam:not([disabled])');
      await student.locator('#live-cam').click();
      await student.waitForSelector('#live-cam[aria-pressed="true"]');
      const videoMids = await trackMids('video');
      await until("the teacher decodes the Firefox student's video", () => inbound(teacher, 'video', 'framesDecoded', videoMids), 40_000);
      await teacher.locator('#live-strip .live-tile[data-source="camera"] video').first().waitFor();

      // A chat message written in Firefox reaches the teacher.
      const text = 'Thưa cô, em dùng Firefox, em nghe rõ ạ.';
      await student.locator('#live-chat-form input[name="text"]').fill(text);
      await student.locator('#live-chat-form button[type="submit"]').click();
      await teacher.locator('#live-t-chat').click();
      await teacher.locator('#live-chat li', { hasText: text }).waitFor();
      await student.waitForFunction((t) => [...document.querySelectorAll('#live-chat li')].some((li) => li.textContent.includes(t)), {}, text);

      // A network blip in Firefox (the connection drops without a goodbye): the page reconnects
      // with a new peer connection, keeps the permission to speak and the microphone on, and the
      // media flows again both ways.
      await student.evaluate(() => { window.__oldPc = window.__live.pc; window.__live.reconnect(); });
      assert.equal(await student.$eval('#live-room', (r) => r.dataset.state), 'reconnecting');
      await student.waitForSelector('#live-room[data-state="connected"]', { timeout: 30_000 });
      assert.ok(await student.evaluate(() => window.__live.pc !== window.__oldPc && window.__oldPc.connectionState === 'closed'), 'a new peer connection in Firefox');
      await student.waitForSelector('#live-mic[aria-pressed="true"]:not([disabled])');
      await until("Firefox decodes the teacher's video after the blip", () => inbound(student, 'video', 'framesDecoded'), 40_000);
      // (The student is the only one who sends the teacher audio: all of it counts.)
      const before = await inbound(teacher, 'audio', 'packetsReceived');
      await until('the teacher hears the Firefox student after the blip', async () => (await inbound(teacher, 'audio', 'packetsReceived')) > before + 20);

      // Nothing went wrong on either side, and the student's page fits the phone.
      assert.deepEqual(studentProblems, [], `problems on Firefox:\n${studentProblems.join('\n')}`);
      await assertHealthy(teacher);
      const { scrollWidth, clientWidth } = await student.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      assert.ok(scrollWidth <= clientWidth + 1, `the room scrolls sideways in Firefox at 360 px: ${scrollWidth} px for ${clientWidth} px`);
      ensureDirs();
      await student.screenshot({ path: path.join(SCREENSHOT_DIR, 'live-firefox-student.png') });
    } catch (err) {
      await saveAll(err);
      throw err;
    }
  });
});
