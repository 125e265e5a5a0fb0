// The login page on a phone, a wrong password, and logging out.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, submitLogin, loginAs, logout, screenshot,
  assertHealthy, assertNoHorizontalScroll, pathOf, DEMO_LOGINS, VIETNAMESE,
} from '../lib.mjs';

describe('login', { timeout: 120_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('login');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('shows the login form at 360 px (screenshot login.png)', async () => {
    await withPhone(browser, server, 'login-page', async (page) => {
      const res = await page.goto(`${server.baseURL}/login`);
      assert.equal(res.status(), 200);
      await page.locator('input[name="login"]').waitFor({ state: 'visible' });
      await page.locator('input[name="password"]').waitFor({ state: 'visible' });
      assert.equal(await page.locator('input[name="password"]').getAttribute('type'), 'password');
      await page.locator('button[type="submit"]').first().waitFor({ state: 'visible' });
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'login');
      await assertHealthy(page);
    });
  });

  it('anonymous visitors of / are sent to /login', async () => {
    await withPhone(browser, server, 'login-anonymous', async (page) => {
      await page.goto(`${server.baseURL}/`);
      assert.equal(pathOf(page), '/login');
      await assertHealthy(page);
    });
  });

  it('a wrong password re-renders the login page with a Vietnamese error', async () => {
    await withPhone(browser, server, 'login-wrong-password', async (page) => {
      await submitLogin(page, server.baseURL, DEMO_LOGINS.teacher, 'sai-mat-khau-123');
      const flash = page.locator('.flash-error');
      await flash.first().waitFor({ state: 'visible' });
      const text = (await flash.first().innerText()).trim();
      assert.ok(text.length > 0, '.flash-error is empty');
      assert.match(text, VIETNAMESE, `.flash-error is not Vietnamese: "${text}"`);
      assert.ok(
        (await page.locator('input[name="login"]').count()) === 1 &&
          (await page.locator('input[name="password"]').count()) === 1,
        'the login form is shown again',
      );
      assert.ok(!(await page.locator('main[data-page^="dashboard-"]').count()), 'no dashboard after a wrong password');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'login-error');
      // No session was opened.
      await page.goto(`${server.baseURL}/`);
      assert.equal(pathOf(page), '/login');
      await assertHealthy(page);
    });
  });

  it('logging out ends the session', async () => {
    await withPhone(browser, server, 'logout', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await logout(page);
      await page.goto(`${server.baseURL}/`);
      assert.equal(pathOf(page), '/login', 'after logout, / must redirect to /login');
      await page.locator('input[name="login"]').waitFor({ state: 'visible' });
      await assertHealthy(page);
    });
  });
});
