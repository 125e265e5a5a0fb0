// A lesson video on a phone: the teacher uploads a short clip (made with ffmpeg here) in
// chunks, watches the transcode finish, the material is approved and placed in a lesson; the
// student plays it with the adaptive player and the watch progress reaches the teacher. Then
// the teacher fills the gradebook and sees the term average.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal,
} from '../lib.mjs';

let ffmpeg = true;
try { execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' }); } catch { ffmpeg = false; }

async function go(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
}

describe('video and gradebook', { timeout: 300_000 }, () => {
  let server;
  let browser;
  const state = {};
  before(async () => {
    server = await startServer('video');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a teacher uploads a lesson video and it is transcoded', { skip: !ffmpeg && 'ffmpeg is not installed' }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lophoc-clip-'));
    const clip = path.join(dir, 'bai-giang.mp4');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '4', '-pix_fmt', 'yuv420p', '-c:v', 'libx264',
      '-preset', 'ultrafast', '-c:a', 'aac', clip]);
    await withPhone(browser, server, 'video-teacher', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="library"]'));
      await go(page, page.locator('a[data-video-upload]'));
      await page.fill('#v-title', 'Video: cách ghi số La Mã');
      await page.fill('#v-subject', 'Toán');
      await page.setInputFiles('#v-file', clip);
      await Promise.all([
        page.waitForURL(/\/library\/[0-9a-f-]+$/, { timeout: 60_000 }),
        page.click('button[data-action="upload-video"]'),
      ]);
      state.material = new URL(page.url()).pathname;
      // player.js polls the transcode and reloads the page when the renditions are ready.
      await page.locator('.player[data-hls]').waitFor({ timeout: 120_000 });
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'video-teacher');
      await Promise.all([page.waitForNavigation(), page.click('button[data-step="submit"]')]);
      await assertHealthy(page);
    });
    for (const [role, step] of [['group_head', 'endorse'], ['principal', 'approve']]) {
      await withPhone(browser, server, `video-${role}`, async (page) => {
        await loginAs(page, server.baseURL, role);
        await page.goto(`${server.baseURL}${state.material}`);
        await Promise.all([page.waitForNavigation(), page.click(`button[data-step="${step}"]`)]);
      });
    }
    await withPhone(browser, server, 'video-attach', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="courses"]'));
      await go(page, page.locator('a[data-course="TOAN-6A1"]'));
      state.course = new URL(page.url()).pathname;
      await go(page, page.locator('a[data-lesson]').first());
      state.lesson = new URL(page.url()).pathname;
      const summary = page.locator('details > summary', { hasText: 'Thêm học liệu từ thư viện' });
      await summary.click();
      const id = state.material.split('/').pop();
      await page.selectOption('#a-m', id);
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/materials"] button[type="submit"]')]);
    });
  });

  it('a student plays the video and the watch progress is recorded', { skip: !ffmpeg && 'ffmpeg is not installed' }, async () => {
    await withPhone(browser, server, 'video-student', async (page) => {
      await loginAs(page, server.baseURL, 'student');
      await page.goto(`${server.baseURL}${state.lesson}`);
      await go(page, page.locator('li[data-material="video"] a'));
      const video = page.locator('.player video');
      await video.waitFor();
      const canPlay = state.canPlay = await page.evaluate(() => !!(window.MediaSource && MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"')));
      const beacon = page.waitForRequest((r) => r.url().endsWith('/progress') && r.method() === 'POST', { timeout: 60_000 });
      await page.evaluate(async () => {
        const v = document.querySelector('.player video');
        v.muted = true;
        await v.play().catch(() => {});
      });
      if (canPlay) {
        await page.waitForFunction(() => document.querySelector('.player video').currentTime > 1, null, { timeout: 60_000 });
      }
      await page.evaluate(() => document.querySelector('.player video').pause());
      await beacon;
      await screenshot(page, 'video-student');
      await assertHealthy(page);
    });
    await withPhone(browser, server, 'video-progress', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await page.goto(`${server.baseURL}${state.course}/progress`);
      const text = await page.locator('table[data-progress]').innerText();
      // Without H.264 in this Chromium the clip cannot play; the beacon still arrived.
      if (state.canPlay) assert.match(text, /\b[1-9]\d*%/, 'some video watched');
    });
  });

  it('the teacher fills the gradebook and the term average shows', async () => {
    await withPhone(browser, server, 'gradebook-teacher', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="courses"]'));
      await go(page, page.locator('a[data-course="TOAN-6A1"]'));
      await go(page, page.locator('a[data-gradebook]'));
      const first = page.locator('input[name^="c-"][name$="-TX-1"]').first();
      const name = await first.getAttribute('name');
      const student = name.split('-').slice(1, -2).join('-');
      const cell = (kind, slot) => page.locator(`input[name="c-${student}-${kind}-${slot}"]`);
      for (const [slot, v] of [[1, '8'], [2, '7'], [3, '9'], [4, '6,5']]) await cell("TX", slot).fill(v);
      await cell("GK", 1).fill('6');
      await cell("CK", 1).fill('7');
      await Promise.all([page.waitForNavigation(), page.click("button[data-action=\"save\"]")]);
      // (8 + 7 + 9 + 6.5 + 2·6 + 3·7) / (4 + 5) = 63.5 / 9 = 7.06 → 7,1
      assert.match(await page.locator('main').innerText(), /7,1/);
      await screenshot(page, 'gradebook');
      await assertHealthy(page);
    });
  });
});
