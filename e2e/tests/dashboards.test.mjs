// Every demo role logs in on a phone and reaches its own dashboard.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, DEMO_LOGINS,
} from '../lib.mjs';

describe('dashboards', { timeout: 300_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('dashboards');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const [role, login] of Object.entries(DEMO_LOGINS)) {
    it(`${role} (${login}) reaches dashboard-${role}`, async () => {
      await withPhone(browser, server, `dashboard-${role}`, async (page) => {
        await loginAs(page, server.baseURL, role);
        const h1 = page.locator('h1').first();
        await h1.waitFor({ state: 'visible' });
        assert.ok((await h1.innerText()).trim().length > 0, 'the dashboard <h1> is empty');
        assert.ok(
          (await page.locator('form[action="/logout"]').count()) > 0,
          'no logout form (form[action="/logout"]) on the dashboard',
        );
        // A dashboard is for one role only.
        assert.equal(await page.locator('main[data-page^="dashboard-"]').count(), 1);
        await assertNoHorizontalScroll(page);
        await screenshot(page, `dashboard-${role}`);
        await assertHealthy(page);
      });
    });
  }
});
