// An online test on a phone: the teacher builds a test from the sample bank and assigns it; a
// student takes it at 360 px, loses the network mid-test (answers wait in the browser, shown as
// not saved), gets it back (the queue is sent, "Đã lưu"), and submits; the teacher sees the score.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertNoHorizontalScroll, reveal,
} from '../lib.mjs';

async function go(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
}

describe('exam', { timeout: 240_000 }, () => {
  let server;
  let browser;
  const state = {};
  before(async () => {
    server = await startServer('exam');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a teacher builds a test from the sample bank and assigns it', async () => {
    await withPhone(browser, server, 'exam-teacher', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="courses"]'));
      await go(page, page.locator('a[data-course="TOAN-6A1"]'));
      state.course = new URL(page.url()).pathname;
      await page.goto(`${server.baseURL}${state.course}/exams`);
      await go(page, page.locator('form[action$="/sample-bank"] button'));
      await page.fill('#x-title', 'Kiểm tra 15 phút – Hàm số');
      for (const box of await page.locator('#exam-new input[name="q"]').all()) await box.check();
      await go(page, page.locator('#exam-new button[type="submit"]'));
      state.exam = new URL(page.url()).pathname;
      await go(page, page.locator('[data-publish]'));
      await page.locator('[data-status="published"]').waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'exam-teacher');
    });
  });

  it('a student answers offline, sees the queue sent on reconnect, and submits', async () => {
    await withPhone(browser, server, 'exam-student', async (page) => {
      await loginAs(page, server.baseURL, 'student');
      await page.goto(`${server.baseURL}${state.exam}`);
      await go(page, page.locator('[data-start]'));
      await page.locator('#exam-paper').waitFor();
      await page.locator('#exam-status[data-state="saved"]').waitFor();
      const radios = page.locator('.exam-item[data-kind="single_choice"] input[type="radio"]');
      // Online: saved once the server confirmed.
      await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/answers') && r.status() === 200),
        (await reveal(page, radios.nth(0))).check(),
      ]);
      await page.locator('#exam-status[data-state="saved"]').waitFor();
      await page.locator('.exam-item [data-item-state][data-state="saved"]').first().waitFor();

      // Offline: the answer waits in the browser and the page says it is not saved.
      await page.context().setOffline(true);
      const second = page.locator('.exam-item[data-kind="single_choice"]').nth(1).locator('input[type="radio"]').nth(1);
      await (await reveal(page, second)).check();
      await page.locator('#exam-status[data-state="queued"]').waitFor();
      assert.match(await page.locator('#exam-status').innerText(), /Chưa lưu/);
      const queued = await page.evaluate(() => Object.keys(localStorage).find((k) => k.startsWith('lophoc-exam-queue')));
      assert.ok(queued, 'queued in localStorage');
      await screenshot(page, 'exam-offline');

      // Back online: the queue is sent and confirmed.
      await page.context().setOffline(false);
      await page.locator('#exam-status[data-state="saved"]').waitFor({ timeout: 15_000 });
      assert.match(await page.locator('#exam-status').innerText(), /Đã lưu/);
      await assertNoHorizontalScroll(page);

      page.once('dialog', (d) => d.accept());
      await Promise.all([
        page.waitForURL((u) => !u.pathname.endsWith('/submit') && page.url().includes('/attempts/'), { waitUntil: 'load' }),
        (await reveal(page, page.locator('[data-submit]'))).click(),
      ]);
      await page.locator('[data-attempt-status="submitted"]').waitFor();
      await page.locator('[data-score]').waitFor();
      await screenshot(page, 'exam-result');
    });
  });

  it('the teacher sees the result', async () => {
    await withPhone(browser, server, 'exam-results', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await page.goto(`${server.baseURL}${state.exam}/results`);
      const scored = page.locator('[data-results-table] td[data-score]:not(:empty)');
      await scored.first().waitFor();
      assert.ok((await scored.count()) >= 1);
      await screenshot(page, 'exam-results');
    });
  });
});
