// The whole assessment journey on 360 px phones: a teacher imports a Word file with equations
// (OMML) into a new bank, reads the preview (the question without a key is refused, the one
// whose answer table disagrees is flagged), saves it, builds a MATRIX exam (topic × level ×
// count) for 6A1 and publishes it. Two students take it at the same time; one loses the
// network mid-exam (Chromium's network emulation), answers offline ("Chưa lưu"), reloads the
// page while still offline, comes back, and every answer reaches the server. Both submit;
// the teacher sees both scores, the offline student's answers, and the item analysis.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPhonePage, loginAs, submitLogin, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal, DEMO_PASSWORD, pathOf,
} from '../lib.mjs';
import { examDocx, DOCX_MIME, CONTENT } from '../fixtures/exam_docx.mjs';

async function go(page, locator) {
  const el = await reveal(page, locator);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
}

const MATRIX = [
  'Hàm số | Nhận biết | 1',
  'Hàm số | Thông hiểu | 1',
  'Phương trình | Nhận biết | 1',
  'Phương trình | Thông hiểu | 1',
  'Phương trình | Vận dụng | 1',
];
const ITEMS = MATRIX.length;
// No step may eat the whole file's time: a stuck step fails on its own, with its own message.
const STEP = 120_000;

/** Answers item `i` of the paper the way a student taps it; resolves once the change is made. */
async function answer(page, i) {
  const fs = page.locator(`.exam-item[data-item="${i}"]`);
  const kind = await fs.getAttribute('data-kind');
  if (kind === 'single_choice') {
    await (await reveal(page, fs.locator('input[type="radio"]').nth(i % 4))).check();
  } else if (kind === 'multiple_response') {
    await (await reveal(page, fs.locator('input[type="checkbox"]').first())).check();
  } else if (kind === 'true_false') {
    const sts = fs.locator('[data-statement]');
    for (let k = 0; k < (await sts.count()); k++) {
      await (await reveal(page, sts.nth(k).locator(`input[value="${k % 2 === 0 ? 1 : 0}"]`))).check();
    }
  } else {
    await (await reveal(page, fs.locator('input, textarea').first())).fill(kind === 'short_answer' ? '2,5' : 'Bài làm');
  }
  return kind;
}

/**
 * Submits the paper as a student does (the button, then "OK" in the confirmation) and waits
 * for the result page. Each wait is for something only the submission produces: the POST to
 * /submit, then the result page's status (the paper being taken has no such element).
 */
async function submitPaper(page, attempt) {
  page.once('dialog', (d) => d.accept());
  const submitted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${attempt}/submit`);
  await (await reveal(page, page.locator('[data-submit]'))).click();
  const r = await submitted.catch(async (e) => {
    const status = await page.locator('#exam-status').innerText().catch(() => '?');
    throw new Error(`the submit button sent nothing (status: "${status}"): ${e.message}`);
  });
  if (r.status() !== 200) assert.fail(`submission refused: HTTP ${r.status()} ${await r.text().catch(() => '')}`);
  await page.locator('main[data-page="exam-result"] [data-attempt-status="submitted"]').waitFor();
  assert.equal(pathOf(page), attempt);
}

/** What the server holds for this attempt (the student's own /state). */
async function serverAnswers(page, attempt) {
  return page.evaluate(async (a) => (await (await fetch(`${a}/state`)).json()).answers, attempt);
}

describe('exam journey', { timeout: 420_000 }, () => {
  let server;
  let browser;
  const state = {};
  before(async () => {
    server = await startServer('exam-journey');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a teacher imports a Word file with equations, checks the preview and saves it to a bank', async () => {
    const { context, page } = await newPhonePage(browser);
    try {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="banks"]'));
      const create = page.locator('form[action$="/banks"]');
      if (!(await create.isVisible())) await page.locator('details:has(form[action$="/banks"]) > summary').click();
      await page.fill('#b-name', 'Toán 9 – Hàm số và phương trình');
      await go(page, page.locator('[data-action="create-bank"]'));
      state.bank = pathOf(page);
      assert.match(state.bank, /^\/schools\/[^/]+\/banks\/[^/]+$/);

      await page.locator('#b-file').setInputFiles({ name: 'de-15-phut.docx', mimeType: DOCX_MIME, buffer: examDocx() });
      await go(page, page.locator('[data-action="preview"]'));
      // The preview: counts per kind, equations as LaTeX, topic and level, the refused
      // question and the disagreeing answer table, and nothing saved yet.
      const counts = await page.locator('[data-counts]').innerText();
      assert.match(counts, /trắc nghiệm một lựa chọn/);
      assert.match(counts, /đúng\/sai/);
      assert.match(counts, /trả lời ngắn/);
      const preview = await page.locator('[data-preview]').innerText();
      // Word's equations came through: drawn as formulas (MathML), none reported broken.
      const first = page.locator('[data-preview] li').first().locator('[data-stem]');
      assert.equal(await first.locator('math mfrac').count(), 1, 'the OMML fraction of Câu 1 is a fraction');
      assert.ok((await page.locator('[data-preview] [data-stem] math').count()) >= 8, 'every equation is drawn');
      assert.equal(await page.locator('[data-preview] .math-error').count(), 0);
      assert.equal(await page.locator('[data-preview] li').nth(1).locator('math msqrt').count(), 1, 'the root of Câu 2');
      assert.match(preview, /Hàm số · Nhận biết/);
      assert.match(preview, /Phương trình · Vận dụng/);
      const invalid = page.locator('[data-preview] li.invalid');
      assert.equal(await invalid.count(), 1);
      assert.match(await invalid.innerText(), new RegExp(`${CONTENT.errorQuestion}.*(đáp án|khoá)`, 'is'));
      assert.match(preview, new RegExp(`${CONTENT.warningQuestion}: bảng đáp án ghi C`));
      assert.equal(await page.locator('[data-to-save]').getAttribute('data-to-save'), String(CONTENT.saved));
      await assertNoHorizontalScroll(page);
      await assertHealthy(page);
      await screenshot(page, 'exam-journey-preview');

      await go(page, page.locator('[data-action="confirm"]'));
      assert.equal(pathOf(page), state.bank);
      assert.equal(await page.locator('[data-total]').getAttribute('data-total'), String(CONTENT.saved));
      await screenshot(page, 'exam-journey-bank');
    } finally {
      await context.close();
    }
  });

  it('builds a matrix exam (topic × level × count) for 6A1 and publishes it', async () => {
    const { context, page } = await newPhonePage(browser);
    try {
      await loginAs(page, server.baseURL, 'teacher');
      await go(page, page.locator('a[data-nav="courses"]'));
      await go(page, page.locator('a[data-course="TOAN-6A1"]'));
      const course = pathOf(page);
      const bankId = state.bank.split('/').pop();
      await page.goto(`${server.baseURL}${course}/exams`);
      await page.selectOption('#x-bank-pick', bankId);
      await go(page, page.locator('form[method="get"] button[type="submit"]'));
      await page.fill('#x-title', 'Kiểm tra 15 phút – ma trận');
      await page.locator('#exam-new input[name="mode"][value="matrix"]').check();
      await page.fill('#x-matrix', MATRIX.join('\n'));
      await page.fill('#x-duration', '30');
      await assertNoHorizontalScroll(page);
      await go(page, page.locator('#exam-new button[type="submit"]'));
      state.exam = pathOf(page);
      assert.match(state.exam, /^\/exams\//, `created: ${page.url()} ${await page.locator('main').innerText()}`);
      await go(page, page.locator('[data-publish]'));
      await page.locator('[data-status="published"]').waitFor();
      await assertHealthy(page);
      await screenshot(page, 'exam-journey-published');
    } finally {
      await context.close();
    }
  });

  it('two students take it at once; one answers offline, reloads, and no answer is lost', { timeout: STEP }, async () => {
    const a = await newPhonePage(browser);
    const b = await newPhonePage(browser);
    try {
      // Both log in and start together.
      await Promise.all([
        loginAs(a.page, server.baseURL, 'student'),
        (async () => {
          await submitLogin(b.page, server.baseURL, 'hs.demo2', DEMO_PASSWORD);
          await b.page.locator('main[data-page="dashboard-student"]').waitFor();
        })(),
      ]);
      await Promise.all([a.page, b.page].map(async (page) => {
        await page.goto(`${server.baseURL}${state.exam}`);
        await go(page, page.locator('[data-start]'));
        await page.locator('#exam-paper').waitFor();
        await page.locator('#exam-status[data-state="saved"]').waitFor();
      }));
      state.attemptA = pathOf(a.page);
      state.attemptB = pathOf(b.page);
      assert.notEqual(state.attemptA, state.attemptB);
      for (const page of [a.page, b.page]) {
        assert.equal(await page.locator('.exam-item').count(), ITEMS, 'one question per matrix row');
      }

      // Student A answers everything online; student B the first question, at the same time.
      const saved = (page) => page.waitForResponse((r) => r.url().endsWith('/answers') && r.status() === 200);
      await Promise.all([
        (async () => {
          for (let i = 0; i < ITEMS; i++) await answer(a.page, i);
          await a.page.waitForFunction(
            (n) => document.querySelectorAll('[data-item-state][data-state="saved"]').length === n, ITEMS,
          );
        })(),
        (async () => {
          await Promise.all([saved(b.page), answer(b.page, 0)]);
          await b.page.locator('.exam-item[data-item="0"] [data-item-state][data-state="saved"]').waitFor();
        })(),
      ]);

      // B loses the network and answers the rest: queued in the browser, shown as not saved.
      await b.context.setOffline(true);
      const kinds = [];
      for (let i = 1; i < ITEMS; i++) kinds.push(await answer(b.page, i));
      await b.page.waitForFunction(
        (n) => document.querySelectorAll('[data-item-state][data-state="queued"]').length === n, ITEMS - 1,
      );
      await b.page.locator('#exam-status[data-state="queued"]').waitFor();
      assert.match(await b.page.locator('#exam-status').innerText(), /Chưa lưu/);
      const queued = await b.page.evaluate(() => {
        const k = Object.keys(localStorage).find((x) => x.startsWith('lophoc-exam-queue:'));
        return Object.keys(JSON.parse(localStorage.getItem(k) || '{}')).length;
      });
      assert.equal(queued, ITEMS - 1, 'every offline answer waits in localStorage');
      await screenshot(b.page, 'exam-journey-offline');
      // What the teacher's browser would want to know now: what B chose, to compare after.
      const chosen = await b.page.evaluate(() => [...document.querySelectorAll('#exam-paper input:checked, #exam-paper input[type="text"], #exam-paper input:not([type])')]
        .map((el) => `${el.name}=${el.type === 'radio' || el.type === 'checkbox' ? el.value : el.value}`).sort());

      // Reloading while still offline fails, as on a real phone; the queue survives it.
      await b.page.reload({ timeout: 5_000 }).catch(() => {});
      await b.context.setOffline(false);
      await b.page.goto(`${server.baseURL}${state.attemptB}`);
      await b.page.locator('#exam-paper').waitFor();
      // The page shows the queued answers as they were left, then sends them.
      const shown = await b.page.evaluate(() => [...document.querySelectorAll('#exam-paper input:checked, #exam-paper input[type="text"], #exam-paper input:not([type])')]
        .map((el) => `${el.name}=${el.value}`).sort());
      assert.deepEqual(shown, chosen, 'queued answers are shown after the reload');
      await b.page.waitForFunction(
        (n) => document.querySelectorAll('[data-item-state][data-state="saved"]').length === n, ITEMS,
        undefined, { timeout: 20_000 },
      );
      await b.page.locator('#exam-status[data-state="saved"]').waitFor();
      const onServer = await serverAnswers(b.page, state.attemptB);
      assert.equal(onServer.length, ITEMS, `every answer reached the server: ${JSON.stringify(onServer)}`);
      assert.equal(await b.page.evaluate(() => {
        const k = Object.keys(localStorage).find((x) => x.startsWith('lophoc-exam-queue:'));
        return Object.keys(JSON.parse(localStorage.getItem(k) || '{}')).length;
      }), 0, 'the queue is empty once the server confirmed');
      assert.equal((await serverAnswers(a.page, state.attemptA)).length, ITEMS);
      await assertNoHorizontalScroll(b.page);
      await screenshot(b.page, 'exam-journey-back-online');

      // A corrects the short answer and taps "Nộp bài" at once, the field still focused and
      // its typing not yet sent: the submission waits for that save, which is not lost.
      const short = a.page.locator('.exam-item[data-kind="short_answer"] input');
      assert.equal(await short.count(), 1, 'the matrix draws one short answer (Phương trình · Vận dụng)');
      await (await reveal(a.page, short)).fill('2,50');
      await submitPaper(a.page, state.attemptA);
      await submitPaper(b.page, state.attemptB);
      // Scores are released at once (the exam's default): both students see a mark.
      for (const page of [a.page, b.page]) {
        const score = (await page.locator('[data-score]').innerText()).trim();
        assert.match(score, /^\d+(,\d+)?$/, `a score on ${pathOf(page)}: "${score}"`);
      }
      assert.match(await a.page.locator('[data-result-item] .answer').allInnerTexts().then((t) => t.join(' ')), /2,50/,
        'the answer typed just before submitting was saved');
      await screenshot(b.page, 'exam-journey-result');
      // Only the offline phase may have failed requests (the network was off on purpose).
      b.page.problems = b.page.problems.filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p));
      await assertHealthy(a.page);
      await assertHealthy(b.page);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  });

  it('the teacher sees both results, the offline answers and the item analysis', { timeout: STEP }, async () => {
    const { context, page } = await newPhonePage(browser);
    try {
      await loginAs(page, server.baseURL, 'teacher');
      await page.goto(`${server.baseURL}${state.exam}/results`);
      const scored = page.locator('[data-results-table] td[data-score]:not(:empty)');
      await scored.first().waitFor();
      const scores = await scored.allInnerTexts();
      assert.equal(scores.filter((t) => t.trim() && t.trim() !== '—').length, 2, `two marked attempts: ${scores}`);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'exam-journey-results');

      // The offline student's paper, as the teacher sees it: every question answered.
      await page.goto(`${server.baseURL}${state.attemptB}`);
      const items = page.locator('[data-result-item]');
      assert.equal(await items.count(), ITEMS);
      for (let i = 0; i < ITEMS; i++) {
        const text = await items.nth(i).innerText();
        assert.ok(/☑|— (Đúng|Sai)|2,5/.test(text), `question ${i + 1} answered: ${text}`);
      }
      await screenshot(page, 'exam-journey-teacher-view');

      await page.goto(`${server.baseURL}${state.exam}/analysis`);
      await page.locator('[data-analysis-table]').waitFor();
      const rows = page.locator('[data-analysis-table] tbody tr');
      assert.ok((await rows.count()) >= ITEMS, 'one row per question drawn');
      // Facility and discrimination are numbers; the histogram is an SVG.
      const first = await rows.first().locator('td').allInnerTexts();
      assert.match(first[1], /^\d+,\d\d$/);
      assert.match(first[2], /^-?\d+,\d\d$/);
      assert.equal(await page.locator('figure.histogram svg').count(), 1);
      await screenshot(page, 'exam-journey-analysis');
      await assertHealthy(page);
      await assertNoHorizontalScroll(page);
    } finally {
      await context.close();
    }
  });
});
