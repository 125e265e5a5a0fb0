// Learning on a phone: a teacher plans an online lesson, writes a material with math and gives
// homework; the group head and the principal approve the material; a student reads it, hands
// in a photo of their work and asks a question; the teacher answers and grades; the student
// sees the score.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal,
} from '../lib.mjs';

// The smallest JPEG header the server recognises (it checks the bytes, not the name).
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]);

async function go(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
}

async function open(page, summaryText) {
  const s = page.locator('details > summary', { hasText: summaryText }).first();
  const d = s.locator('xpath=..');
  if (!(await d.evaluate((el) => el.open))) await s.click();
}

describe('learning', { timeout: 240_000 }, () => {
  let server;
  let browser;
  const state = {};
  before(async () => {
    server = await startServer('learning');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a teacher plans a lesson, writes a material and gives homework', async () => {
    await withPhone(browser, server, 'learning-teacher', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="courses"]'));
      await go(page, page.locator('a[data-course="TOAN-6A1"]'));
      state.course = new URL(page.url()).pathname;
      await open(page, 'Thêm bài học');
      await page.fill('#l-title', 'Bài 5. Phân số bằng nhau');
      await page.selectOption('#l-form', 'online_replace');
      await page.fill('#l-periods', '2');
      await page.fill('#l-body', 'Xem học liệu rồi làm bài tập. Nhớ: $\\frac{a}{b} = \\frac{a \\cdot m}{b \\cdot m}$');
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/lessons"] button[type="submit"]')]);
      state.lesson = new URL(page.url()).pathname;
      await page.locator('main[data-page="lesson"] math').first().waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'lesson-teacher');

      await go(page, page.locator('a[data-nav="library"]'));
      await open(page, 'Soạn học liệu mới');
      await page.selectOption('#m-kind', 'text');
      await page.fill('#m-title', 'Phân số bằng nhau – lý thuyết');
      await page.fill('#m-subject', 'Toán');
      await page.fill('#m-grade', '6');
      await page.fill('#m-body', 'Hai phân số $\\frac{1}{2}$ và $\\frac{2}{4}$ bằng nhau vì $1 \\cdot 4 = 2 \\cdot 2$.');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="create-material"]')]);
      state.material = new URL(page.url()).pathname;
      await Promise.all([page.waitForNavigation(), page.click('button[data-step="submit"]')]);
      assert.equal(await page.locator('[data-status]').getAttribute('data-status'), 'in_review');
      await assertHealthy(page);

      await page.goto(`${server.baseURL}${state.lesson}`);
      await open(page, 'Thêm học liệu từ thư viện');
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/materials"] button[type="submit"]')]);
      assert.equal(await page.locator('li[data-material]').count(), 1);

      await page.goto(`${server.baseURL}${state.course}`);
      await open(page, 'Giao bài tập mới');
      await page.fill('#t-title', 'Bài tập: phân số bằng nhau');
      await page.fill('#t-ins', 'Làm bài 1–3 trang 12, chụp ảnh vở và nộp.');
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/tasks"] button[type="submit"]')]);
      state.task = new URL(page.url()).pathname;
      await assertHealthy(page);
    });
  });

  it('the group head and the principal approve the material', async () => {
    for (const [role, step] of [['group_head', 'endorse'], ['principal', 'approve']]) {
      await withPhone(browser, server, `learning-${role}`, async (page) => {
        await loginAs(page, server.baseURL, role);
        await page.goto(`${server.baseURL}${state.material}`);
        await page.fill('#rv-comment', role === 'group_head' ? 'Nội dung chính xác, phù hợp lớp 6.' : 'Đồng ý.');
        await Promise.all([page.waitForNavigation(), page.click(`button[data-step="${step}"]`)]);
        assert.equal(
          await page.locator('[data-status]').getAttribute('data-status'),
          step === 'approve' ? 'approved' : 'endorsed',
        );
        if (step === 'approve') await screenshot(page, 'material-approved');
        await assertHealthy(page);
      });
    }
  });

  it('a student reads the material, hands in a photo and asks a question', async () => {
    await withPhone(browser, server, 'learning-student', async (page) => {
      await loginAs(page, server.baseURL, 'student');
      await go(page, page.locator('a[data-nav="courses"]'));
      await go(page, page.locator('a[data-course="TOAN-6A1"]'));
      await go(page, page.locator('a[data-lesson]', { hasText: 'Phân số bằng nhau' }));
      await go(page, page.locator('li[data-material] a'));
      await page.locator('.rich math').first().waitFor();
      // Math is MathML written by the server and drawn by the browser: no KaTeX, no math script.
      assert.match(await page.locator('.rich math').first().innerHTML(), /<mfrac>/);
      assert.equal(await page.locator('script[src*="katex"], script[src*="math.js"]').count(), 0);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'material-student');

      await page.goto(`${server.baseURL}${state.task}`);
      await page.fill('#s-body', 'Em nộp bài ạ.');
      await page.setInputFiles('#s-photos', [{ name: 'vo-trang-12.jpg', mimeType: 'image/jpeg', buffer: JPEG }]);
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="submit"]')]);
      await page.locator('[data-my-submission] img.photo').waitFor();
      await screenshot(page, 'task-student');

      await page.goto(`${server.baseURL}${state.lesson}`);
      await page.fill('#q-body', 'Thưa cô, phân số âm có rút gọn như vậy không ạ?');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="ask"]')]);
      await assertHealthy(page);
    });
  });

  it('the teacher answers and grades; the student sees the score', async () => {
    await withPhone(browser, server, 'learning-grade', async (page) => {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="courses"]'));
      await page.locator('[data-unanswered]').waitFor();
      await go(page, page.locator('[data-unanswered] a').first());
      await page.fill('#r-body', 'Có em, quy tắc giống hệt với phân số dương.');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="reply"]')]);
      await page.locator('[data-answered]').waitFor();

      await page.goto(`${server.baseURL}${state.task}`);
      const row = page.locator('[data-submissions] li', { has: page.locator('img.photo') }).first();
      await row.locator('input[name="score"]').fill('9,5');
      await row.locator('textarea[name="feedback"]').fill('Trình bày sạch đẹp.');
      await Promise.all([page.waitForNavigation(), row.locator('button[data-action="grade"]').click()]);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'task-teacher');
      await assertHealthy(page);
    });
    await withPhone(browser, server, 'learning-score', async (page) => {
      await loginAs(page, server.baseURL, 'student');
      await page.goto(`${server.baseURL}${state.task}`);
      assert.match(await page.locator('[data-score]').innerText(), /9,5/);
      await page.goto(`${server.baseURL}/inbox`);
      assert.match(await page.locator('main').innerText(), /Đã chấm bài/);
      await assertHealthy(page);
    });
  });
});
