// Families on a phone: a homeroom teacher prints activation codes and posts an announcement; a
// parent activates with a code, reads the announcement, messages the teacher; the teacher
// answers and the parent finds it in the inbox.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, pathOf, reveal,
} from '../lib.mjs';

describe('families', { timeout: 180_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('family');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a parent activates with a code, reads the announcement and talks with the teacher', async () => {
    let phone;
    let code;
    let classURL;
    // The homeroom teacher of 6A1 (gv.toan in the demo).
    await withPhone(browser, server, 'family-teacher', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await Promise.all([page.waitForNavigation(), page.locator('main a', { hasText: '6A1' }).first().click()]);
      classURL = page.url();
      const summary = page.locator('summary', { hasText: 'Gửi thông báo' });
      await summary.click();
      await page.fill('#a-title', 'Họp phụ huynh cuối học kỳ I');
      await page.fill('#a-body', 'Kính mời quý phụ huynh dự họp lúc 7h30 Chủ nhật 10/01 tại phòng 6A1.');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="announce"]')]);
      await page.locator('text=Họp phụ huynh cuối học kỳ I').first().waitFor();
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="parent-codes"]')]);
      const slip = page.locator('.slip').first();
      await slip.waitFor();
      const codes = await slip.locator('code').allInnerTexts();
      phone = codes[1];
      code = codes[2];
      assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'family-codes');
      await assertHealthy(page);
    });

    // The parent, on their own phone.
    let threadURL;
    await withPhone(browser, server, 'family-parent', async (page) => {
      await page.goto(`${server.baseURL}/login`);
      await Promise.all([page.waitForNavigation(), page.click('a[data-nav="activate"]')]);
      assert.equal(pathOf(page), '/activate');
      await page.fill('input[name="phone"]', phone);
      await page.fill('input[name="code"]', code.toLowerCase());
      await page.fill('input[name="new"]', 'Con-hoc-gioi-2026');
      await page.fill('input[name="confirm"]', 'Con-hoc-gioi-2026');
      await page.check('input[name="consent"]');
      await screenshot(page, 'family-activate');
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      await page.locator('main[data-page="dashboard-parent"]').waitFor();
      await Promise.all([page.waitForNavigation(), page.locator('a[data-nav="child"]').first().click()]);
      await page.locator('text=Họp phụ huynh cuối học kỳ I').first().waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'family-child');
      await Promise.all([page.waitForNavigation(), page.locator('a', { hasText: 'Họp phụ huynh cuối học kỳ I' }).first().click()]);
      await page.locator('text=7h30').first().waitFor();
      await page.goBack();
      await Promise.all([page.waitForNavigation(), page.locator('a[data-nav="message-teacher"]').first().click()]);
      await page.fill('textarea[name="body"]', 'Thưa cô, cháu bị ốm, xin phép cho cháu nghỉ học hôm nay ạ.');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="send"]')]);
      await page.locator('.chat li.mine', { hasText: 'xin phép cho cháu nghỉ học' }).waitFor();
      threadURL = page.url();
      await assertHealthy(page);
    });

    // The teacher sees the new message and answers.
    await withPhone(browser, server, 'family-teacher-reply', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await page.goto(`${server.baseURL}/messages`);
      await page.locator('.badge.unread').first().waitFor();
      await page.goto(threadURL);
      await page.fill('textarea[name="body"]', 'Cô đã nhận tin. Chúc cháu mau khỏe!');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="send"]')]);
      await page.locator('.chat li.mine', { hasText: 'mau khỏe' }).waitFor();
      // The announcement page shows who has read it.
      await page.goto(classURL);
      await Promise.all([page.waitForNavigation(), page.locator('a', { hasText: 'Họp phụ huynh cuối học kỳ I' }).first().click()]);
      await page.locator('[data-readers]').waitFor();
      assert.match(await page.locator('h2').first().innerText(), /1\//, 'one parent has read it');
      await assertHealthy(page);
    });

    // The parent logs in with phone and password and finds the answer in the inbox.
    await withPhone(browser, server, 'family-parent-inbox', async (page) => {
      await page.goto(`${server.baseURL}/login`);
      await page.fill('input[name="login"]', phone);
      await page.fill('input[name="password"]', 'Con-hoc-gioi-2026');
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      const inbox = await reveal(page, page.locator('a[data-nav="inbox"]'));
      assert.match(await inbox.innerText(), /\(\d+\)/, 'the menu shows unread notifications');
      await Promise.all([page.waitForNavigation(), inbox.click()]);
      const item = page.locator('.inbox li.unread a', { hasText: 'Tin nhắn mới' }).first();
      await item.waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'family-inbox');
      await Promise.all([page.waitForNavigation(), item.click()]);
      await page.locator('.chat li.theirs', { hasText: 'mau khỏe' }).waitFor();
      await screenshot(page, 'family-thread');
      await assertHealthy(page);
    });
  });
});
