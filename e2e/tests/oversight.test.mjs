// The Sở officer's journey on a phone: from the dashboard to the coverage of every school, and
// the Excel export.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal,
} from '../lib.mjs';

describe('oversight', { timeout: 120_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('oversight');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a province officer opens the coverage dashboard and exports it', async () => {
    await withPhone(browser, server, 'oversight-province', async (page) => {
      await loginAs(page, server.baseURL, 'province_officer');
      const link = await reveal(page, page.locator('a[data-nav="coverage"]'));
      await Promise.all([page.waitForNavigation(), link.click()]);
      await page.locator('[data-rag]').first().waitFor();
      assert.equal(await page.locator('[data-rag]').count(), 6, 'six demo schools');
      assert.equal(await page.locator('svg.chart rect').count(), 6);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'coverage');
      const href = await page.locator('a[data-nav="coverage-xlsx"]').getAttribute('href');
      const res = await page.request.get(`${server.baseURL}${href}`);
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-type'], /spreadsheetml/);
      assert.ok((await res.body()).length > 2000);
      await assertHealthy(page);
    });
  });
});
