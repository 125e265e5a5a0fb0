// School-day attendance on a phone: the homeroom teacher opens the month's attendance book
// (sổ theo dõi chuyên cần) of 6A1 from the daily sheet, sees the demo's weeks with P/K/M and the
// totals, downloads it as Excel; a parent cannot open it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll,
} from '../lib.mjs';

describe('attendance', { timeout: 120_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('attendance');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the homeroom teacher reads and downloads the month sheet; a parent is refused', async () => {
    let monthURL;
    await withPhone(browser, server, 'attendance-month', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await Promise.all([page.waitForNavigation(), page.locator('main a', { hasText: '6A1' }).first().click()]);
      await Promise.all([page.waitForNavigation(), page.click('a[data-nav="attendance"]')]);
      await Promise.all([page.waitForNavigation(), page.click('a[data-nav="attendance-month"]')]);
      await page.locator('main[data-page="attendance-month"]').waitFor();
      monthURL = page.url();
      const sheet = page.locator('[data-att-month-sheet]');
      // Before the year opens there is no day to show; otherwise every student has a line.
      if (await sheet.count()) {
        assert.ok(await page.locator('[data-att-month-sheet] tbody tr').count() > 10);
        assert.match(await page.locator('[data-att-month-tally]').innerText(), /ngày đã điểm danh/);
      } else {
        await page.locator('[data-att-month-empty]').waitFor();
      }
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'attendance-month');
      // The month before, if the year has one: a whole month of the demo's days.
      const options = await page.locator('#att-month option').evaluateAll((os) => os.map((o) => [o.value, o.selected]));
      const i = options.findIndex(([, selected]) => selected);
      if (i > 0) {
        await page.selectOption('#att-month', options[i - 1][0]);
        await Promise.all([page.waitForNavigation(), page.click('form.att-day button[type="submit"]')]);
        assert.equal(await page.locator('[data-att-month]').getAttribute('data-att-month'), options[i - 1][0]);
        await assertNoHorizontalScroll(page);
        await screenshot(page, 'attendance-month-previous');
      }
      const xlsx = await page.request.get(
        new URL(await page.locator('a[data-export="attendance-month"]').getAttribute('href'), page.url()).href,
      );
      assert.equal(xlsx.status(), 200);
      assert.match(xlsx.headers()['content-type'], /spreadsheetml/);
      assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK', 'an .xlsx is a zip');
      await assertHealthy(page);
    });
    await withPhone(browser, server, 'attendance-month-parent', async (page) => {
      await loginAs(page, server.baseURL, 'parent');
      const r = await page.goto(monthURL);
      assert.equal(r.status(), 403);
    });
  });
});
