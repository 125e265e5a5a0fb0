// Surveys on a phone: the Sở issues a device survey, a school fills it in (pre-filled from lophoc,
// a bad figure refused, then submitted), and the commune and the Sở see the totals.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal,
} from '../lib.mjs';

const TITLE = 'Rà soát thiết bị học trực tuyến – e2e';

async function click(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation(), el.click()]);
}

/** From an officer's dashboard to the survey list of their unit. */
async function openUnitSurveys(page) {
  await click(page, page.locator('a[data-nav="unit-1"]'));
  await click(page, page.locator('a[data-nav="surveys"]'));
  await page.locator('main[data-page="surveys"]').waitFor();
}

async function total(page, key) {
  return Number(await page.locator(`[data-total="${key}"]`).innerText());
}

describe('surveys', { timeout: 180_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('surveys');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the Sở issues a device survey, a school submits, the commune and the Sở see totals', async () => {
    await withPhone(browser, server, 'surveys-issue', async (page) => {
      await loginAs(page, server.baseURL, 'province_officer');
      await openUnitSurveys(page);
      await reveal(page, page.locator('#sv-title'));
      await page.selectOption('#sv-template', 'devices');
      await page.selectOption('#sv-late', 'accept');
      await page.fill('#sv-title', TITLE);
      await page.fill('#sv-instr', 'Báo cáo theo từng đối tượng, kèm đề xuất.');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'surveys-new');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="issue-survey"]')]);
      await page.locator('main[data-page="survey-results"]').waitFor();
      assert.equal(await page.locator('h1').innerText(), TITLE);
      assert.equal(await page.locator('[data-status="missing"]').count(), 6, 'six demo schools asked');
      await assertHealthy(page);
    });

    await withPhone(browser, server, 'surveys-answer', async (page) => {
      await loginAs(page, server.baseURL, 'principal');
      await click(page, page.locator('a[data-nav="school"]'));
      await click(page, page.locator('a[data-nav="school-surveys"]'));
      await click(page, page.locator('a[data-survey-link]', { hasText: TITLE }));
      await page.locator('form[data-survey-form]').waitFor();
      // Pre-filled from the roster: 72 studying students.
      assert.equal(await page.inputValue('#v-students'), '72');
      await page.locator('[data-prefilled]').waitFor();
      await page.fill('#v-poor', '4');
      await page.fill('#v-near_poor', '2');
      await page.fill('#v-policy', '1');
      await page.fill('#v-other', '90');
      // The browser's own limit check is skipped by the draft button: the server names the field.
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="draft"]')]);
      const errors = await page.locator('[data-errors]').innerText();
      assert.match(errors, /khó khăn khác/);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'surveys-form-error');
      await page.fill('#v-other', '0');
      for (const [k, v] of [['need_computer', '1'], ['need_tablet', '2'], ['need_phone', '3'], ['need_internet', '2']]) {
        await page.fill(`#v-${k}`, v);
      }
      await page.fill('#v-proposal', 'Đề nghị hỗ trợ 2 máy tính bảng.');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="submit"]')]);
      await page.locator('[data-submitted]').waitFor();
      assert.match(await page.locator('[data-submitted]').innerText(), /Đã nộp lúc/);
      assert.equal(await page.locator('form[data-survey-form]').count(), 0, 'read-only once submitted');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'surveys-submitted');
      await assertHealthy(page);
    });

    await withPhone(browser, server, 'surveys-commune', async (page) => {
      await loginAs(page, server.baseURL, 'commune_officer');
      await openUnitSurveys(page);
      await click(page, page.locator('[data-survey] a', { hasText: TITLE }));
      await page.locator('main[data-page="survey-results"]').waitFor();
      assert.equal(await page.locator('[data-school]').count(), 2, 'the commune sees its two schools');
      assert.equal(await total(page, 'poor'), 4);
      assert.equal(await page.locator('[data-status="submitted"][data-school="37THCSGV"]').count(), 1);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'surveys-commune-results');
      await assertHealthy(page);
    });

    await withPhone(browser, server, 'surveys-province', async (page) => {
      await loginAs(page, server.baseURL, 'province_officer');
      await openUnitSurveys(page);
      await click(page, page.locator('[data-survey] a', { hasText: TITLE }));
      await page.locator('main[data-page="survey-results"]').waitFor();
      assert.equal(await page.locator('[data-school]').count(), 6);
      assert.equal(await total(page, 'poor'), 4);
      assert.equal(await total(page, 'students'), 72, 'only what was submitted is added up');
      assert.equal(await page.locator('tr[data-group]').count(), 3, 'two communes and the Sở’s own schools');
      assert.equal(await page.locator('[data-count="missing"]').innerText(), '5');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'surveys-province-results');
      const href = await page.locator('a[data-nav="survey-xlsx"]').getAttribute('href');
      const res = await page.request.get(`${server.baseURL}${href}`);
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-type'], /spreadsheetml/);
      // Remind the five missing schools.
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="remind"]')]);
      await page.locator('.flash-ok').waitFor();
      await assertHealthy(page);
    });
  });

  it('a school uploads its online-teaching plan and the principal approves it', async () => {
    await withPhone(browser, server, 'documents', async (page) => {
      await loginAs(page, server.baseURL, 'principal');
      await click(page, page.locator('a[data-nav="school"]'));
      // The recent changes (long audit details among them) stay inside a phone's width.
      await assertNoHorizontalScroll(page);
      await click(page, page.locator('a[data-nav="school-documents"]'));
      await page.locator('main[data-page="school-documents"]').waitFor();
      await page.selectOption('#d-kind', 'online_plan');
      await page.setInputFiles('#d-file', {
        name: 'Ke-hoach-day-hoc-truc-tuyen.pdf',
        mimeType: 'application/pdf',
        buffer: Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n'),
      });
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="upload-doc"]')]);
      const plan = page.locator('[data-doc-kind="online_plan"]');
      assert.equal(await plan.getAttribute('data-doc-status'), 'waiting');
      await Promise.all([page.waitForNavigation(), plan.locator('button[data-action="approve-doc"]').click()]);
      assert.equal(await page.locator('[data-doc-kind="online_plan"]').getAttribute('data-doc-status'), 'approved');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'school-documents');
      await assertHealthy(page);
    });
  });
});
