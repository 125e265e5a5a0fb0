// The principal imports a roster: a bad file lists its row errors and cannot be confirmed; a
// good file previews, is confirmed and reports how many students were created.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, withPhone, loginAs, reveal, screenshot, assertHealthy,
  assertNoHorizontalScroll, pathOf, VIETNAMESE,
} from '../lib.mjs';
import { badRoster, goodRoster, BAD, GOOD_COUNT, XLSX_MIME } from '../fixtures.mjs';

const IMPORT_PATH = /^\/schools\/[^/]+\/import$/;

/** From the principal's dashboard to the import page, through the link a person would tap. */
async function openImport(page, baseURL) {
  await loginAs(page, baseURL, 'principal');
  const link = await reveal(page, page.locator('a[data-nav="import"]'));
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
  assert.match(pathOf(page), IMPORT_PATH, `the import link led to ${page.url()}`);
  await page.locator('input[type="file"][name="file"]').waitFor({ state: 'attached' });
}

/**
 * Chooses the file and taps "preview". The page may post the form itself or upload it by script
 * (with a progress bar) and write the answer in place, so this waits for no navigation: the
 * callers wait for what the preview shows.
 */
async function upload(page, name, buffer) {
  await page.locator('input[type="file"][name="file"]').setInputFiles({ name, mimeType: XLSX_MIME, buffer });
  const preview = page.locator('button[data-action="preview"]');
  await preview.waitFor({ state: 'visible' });
  await preview.click();
}

/** Whole-word number match: "5" in "Dòng 5" but not in "15" or "2025". */
function hasNumber(text, n) {
  return new RegExp(`(^|\\D)${n}(\\D|$)`).test(text);
}

describe('roster import', { timeout: 180_000 }, () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer('import');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the import page works on a phone (screenshot import.png)', async () => {
    await withPhone(browser, server, 'import-page', async (page) => {
      await openImport(page, server.baseURL);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'import');
      await assertHealthy(page);
    });
  });

  it('a bad roster shows every row error in Vietnamese and cannot be confirmed', async () => {
    const bytes = await badRoster();
    await withPhone(browser, server, 'import-bad', async (page) => {
      await openImport(page, server.baseURL);
      await upload(page, 'danh-sach-loi.xlsx', bytes);

      const table = page.locator('table.import-errors');
      await table.waitFor({ state: 'visible' });
      const rows = table.locator('tr');
      const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
      const all = texts.join('\n');

      const dateRows = texts.filter((t) => t.includes(BAD.badDate));
      assert.equal(dateRows.length, 1, `one error row should quote "${BAD.badDate}"; table:\n${all}`);
      assert.ok(hasNumber(dateRows[0], BAD.dateRow), `the date error should name row ${BAD.dateRow}: "${dateRows[0]}"`);
      assert.match(dateRows[0], VIETNAMESE, `the date error should be in Vietnamese: "${dateRows[0]}"`);

      const phoneRows = texts.filter((t) => t.includes(BAD.badPhone));
      assert.equal(phoneRows.length, 1, `one error row should quote "${BAD.badPhone}"; table:\n${all}`);
      assert.ok(hasNumber(phoneRows[0], BAD.phoneRow), `the phone error should name row ${BAD.phoneRow}: "${phoneRows[0]}"`);
      assert.match(phoneRows[0], VIETNAMESE, `the phone error should be in Vietnamese: "${phoneRows[0]}"`);

      assert.match(all, /Dòng/i, `the error table should say "Dòng" (row); table:\n${all}`);
      assert.equal(await page.locator('button[data-action="confirm"]').count(), 0, 'a file with errors must not offer a confirm button');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'import-preview-errors');
      await assertHealthy(page);
    });
  });

  it('a good roster previews, is confirmed and reports the students created', async () => {
    const bytes = await goodRoster();
    await withPhone(browser, server, 'import-good', async (page) => {
      await openImport(page, server.baseURL);
      await upload(page, 'danh-sach-6A9.xlsx', bytes);

      const confirm = page.locator('button[data-action="confirm"]');
      await confirm.waitFor({ state: 'visible' });
      assert.equal(await page.locator('table.import-errors').count(), 0, 'a good file shows no error table');
      const body = await page.locator('body').innerText();
      for (const name of ['Đặng Thu Hà', 'Bùi Quang Huy', 'Hoàng Gia Bảo']) {
        assert.ok(body.includes(name), `the preview should list ${name}`);
      }
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'import-preview');

      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), confirm.click()]);
      const result = page.locator('[data-import-result]');
      await result.first().waitFor({ state: 'visible' });
      const text = (await result.first().innerText()).replace(/\s+/g, ' ').trim();
      const attr = await result.first().getAttribute('data-import-result');
      assert.ok(
        hasNumber(text, GOOD_COUNT) || hasNumber(attr ?? '', GOOD_COUNT),
        `the result should say ${GOOD_COUNT} students were created: "${text}" (data-import-result="${attr}")`,
      );
      assert.equal(await page.locator('button[data-action="confirm"]').count(), 0, 'no confirm button after the import');
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'import-result');
      await assertHealthy(page);
    });
  });
});
