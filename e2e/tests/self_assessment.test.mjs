// The Decision 4725 cycle on phones: the principal of THCS Gia Viễn sees the values the platform
// filled in, uploads the missing regulation as a PDF, links the group 2 conditions and submits;
// the commune officer returns one criterion with a comment; the school replaces the file and
// resubmits; the commune approves and publishes, and its overview shows the level. The Circular
// 09 checklist of the same school opens in its printable form.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal,
} from '../lib.mjs';

async function go(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
}

/** Fills and saves one criterion's form (its <details> is opened first). */
async function saveCriterion(page, code, { file, url, note } = {}) {
  const form = page.locator(`form[data-item-form="${code}"]`);
  await reveal(page, form.locator('button[type="submit"]'));
  if (file) await form.locator('input[type="file"]').setInputFiles(file);
  if (url) await form.locator('input[name="url"]').fill(url);
  if (note) await form.locator('textarea[name="note"]').fill(note);
  await go(page, form.locator('button[type="submit"]'));
  await page.locator('.flash-ok').waitFor();
}

describe('self-assessment', { timeout: 240_000 }, () => {
  let server;
  let browser;
  const state = {};
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lophoc-e2e-4725-'));
  const pdf = (name) => {
    const p = path.join(dir, name);
    writeFileSync(p, '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
    return p;
  };
  before(async () => {
    server = await startServer('self-assessment');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the principal completes the evidence and submits', async () => {
    await withPhone(browser, server, 'sa-principal', async (page) => {
      await loginAs(page, server.baseURL, 'principal');
      await go(page, page.locator('a[data-nav="school"]'));
      await go(page, page.locator('a[data-nav="self-assessment"]'));
      state.path = new URL(page.url()).pathname;
      await page.locator('[data-status="draft"]').waitFor();
      // Platform figures are filled in, not typed.
      const tasks = page.locator('[data-criterion="1.3b"]');
      assert.equal(await tasks.getAttribute('data-source'), 'auto');
      assert.equal(await tasks.locator('[data-points]').textContent(), '6/6');
      // Missing mandatory evidence is listed by criterion before submitting.
      const problems = await page.locator('[data-problems]').textContent();
      assert.match(problems, /Tiêu chí 1\.2/);
      assert.match(problems, /Tiêu chí 2\.1/);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'sa-draft');

      await saveCriterion(page, '1.2', { file: pdf('quy-che.pdf'), note: 'Quyết định số 12/QĐ-THCS' });
      assert.match(await page.locator('[data-criterion="1.2"] [data-evidence-file]').textContent(), /quy-che\.pdf/);
      for (const code of ['2.1', '2.2']) {
        await saveCriterion(page, code, { url: `https://thcsgiavien.edu.vn/van-ban/${code}.pdf` });
      }
      assert.equal(await page.locator('[data-problems]').count(), 0, 'nothing left to complete');
      await go(page, page.locator('[data-submit]'));
      await page.locator('[data-status="submitted"]').waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'sa-submitted');
      await assertHealthy(page);
    });
  });

  it('the commune returns one criterion with a comment', async () => {
    await withPhone(browser, server, 'sa-commune-return', async (page) => {
      await loginAs(page, server.baseURL, 'commune_officer');
      await page.goto(`${server.baseURL}${state.path}`);
      await page.locator('[data-status="submitted"]').waitFor();
      const comment = page.locator('textarea[name="c_1.2"]');
      await reveal(page, comment);
      await comment.fill('Quy chế chưa có chữ ký và dấu của nhà trường');
      await go(page, page.locator('[data-return]'));
      await page.locator('[data-status="returned"]').waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'sa-returned');
      await assertHealthy(page);
    });
  });

  it('the school fixes the returned criterion and resubmits', async () => {
    await withPhone(browser, server, 'sa-principal-fix', async (page) => {
      await loginAs(page, server.baseURL, 'principal');
      await page.goto(`${server.baseURL}${state.path}`);
      const card = page.locator('[data-criterion="1.2"]');
      assert.match(await card.locator('[data-comment]').textContent(), /chưa có chữ ký/);
      await saveCriterion(page, '1.2', { file: pdf('quy-che-da-ky.pdf') });
      await page.locator('[data-criterion="1.2"] [data-fixed]').waitFor();
      await go(page, page.locator('[data-submit]'));
      await page.locator('[data-status="submitted"]').waitFor();
      await assertHealthy(page);
    });
  });

  it('the commune approves, publishes, and its overview shows the level', async () => {
    await withPhone(browser, server, 'sa-commune-approve', async (page) => {
      await loginAs(page, server.baseURL, 'commune_officer');
      await page.goto(`${server.baseURL}${state.path}`);
      await go(page, page.locator('[data-approve]'));
      await page.locator('[data-status="approved"]').waitFor();
      await go(page, page.locator('[data-publish]'));
      await page.locator('[data-status="published"]').waitFor();
      const overall = (await page.locator('[data-overall]').textContent()).trim();
      // From the coverage dashboard to the unit's 4725 overview.
      await go(page, page.locator('a[data-nav="coverage"]'));
      await go(page, page.locator('a[data-nav="sa-overview"]'));
      const line = page.locator('[data-school="37THCSGV"]');
      assert.equal(await line.getAttribute('data-sa-status'), 'published');
      const level = (await line.locator('[data-level]').textContent()).trim();
      assert.match(level, /^Mức [123]$/);
      assert.ok(overall.startsWith(level), `${overall} vs ${level}`);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'sa-overview');
      await assertHealthy(page);
    });
  });

  it('an inspector opens the printable Circular 09 checklist', async () => {
    await withPhone(browser, server, 'checklist', async (page) => {
      await loginAs(page, server.baseURL, 'commune_officer');
      const school = state.path.split('/')[2];
      await page.goto(`${server.baseURL}/schools/${school}/checklist`);
      assert.equal(await page.locator('[data-item="tasks"]').getAttribute('data-check'), 'ok');
      assert.equal(await page.locator('[data-item="plan"]').getAttribute('data-check'), 'manual_ok');
      await go(page, page.locator('a[data-nav="cl-print"]'));
      assert.equal(await page.locator('form[data-evidence-form]').count(), 0);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'checklist-print');
      await assertHealthy(page);
    });
  });
});
