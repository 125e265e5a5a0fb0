// A live class on phones: the teacher (gv.toan) and two students of 6A1 (hs.demo, hs.demo2) meet
// in the demo session's room through lophoc's own media server, with Chromium's fake camera and
// microphone. The teacher's video reaches the students (frames decoded), the teacher lets student
// 1 speak and hears them (audio packets received), a chat message and a raised hand arrive, a
// student closes the page and comes back, and the session page counts both of their visits.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  loginAs, submitLogin, screenshot, assertHealthy,
  assertNoHorizontalScroll, pathOf, DEMO_PASSWORD,
} from '../lib.mjs';
import { until, inbound, teacherEntersRoom, keepFailure, liveClass } from '../live_common.mjs';

// ---- what the page exposes for tests (window.__live, see static/live.js) ----

// A small PDF of `pages` landscape pages with a big "Trang N" on each (a correct xref table).
function slidesPdf(pages) {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${Array.from({ length: pages }, (_, i) => `${4 + 2 * i} 0 R`).join(' ')}] /Count ${pages} >>`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  for (let i = 0; i < pages; i++) {
    objs.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`);
    const text = `BT /F1 120 Tf 250 250 Td (Trang ${i + 1}) Tj ET`;
    objs.push(`<< /Length ${text.length} >>\nstream\n${text}\nendstream`);
  }
  let out = '%PDF-1.4\n';
  const offsets = [];
  objs.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

async function enterRoom(page, url) {
  await page.goto(url);
  await page.locator('#live-room[data-state="connected"]').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('#live-nojs').count(), 0, 'the "needs JavaScript" notice is gone');
  return page.locator('#live-room').getAttribute('data-me');
}

describe('live class', { timeout: 300_000 }, () => {
  const suite = liveClass('live');
  const { phone, phones } = suite;

  it('teacher and two students: media both ways, chat, hands, a student comes back, attendance', async () => {
    try {
      // The teacher opens the demo session of Toán 6A1 from the course and enters the room.
      const teacher = await phone('teacher');
      await loginAs(teacher, suite.server.baseURL, 'teacher');
      // The teacher comes in with camera and microphone on (the fake devices).
      const { sessionURL, roomURL } = await teacherEntersRoom(teacher);

      // Two students of the class come in; their microphones wait for the teacher.
      const s1 = await phone('student1');
      await loginAs(s1, suite.server.baseURL, 'student');
      const s1Id = await enterRoom(s1, roomURL);
      const s1Name = await s1.locator('#live-room').getAttribute('data-me-name');
      assert.ok(await s1.locator('#live-mic').isDisabled(), 'a student may not speak before being allowed');
      assert.ok(await s1.locator('#live-cam').isDisabled(), 'a student camera is off until allowed');
      assert.ok(await s1.locator('#live-share').isHidden(), 'students do not share screens');

      const s2 = await phone('student2');
      await submitLogin(s2, suite.server.baseURL, 'hs.demo2', DEMO_PASSWORD);
      assert.equal(pathOf(s2), '/', `hs.demo2 should land on / after logging in, got ${s2.url()}`);
      const s2Id = await enterRoom(s2, roomURL);
      const s2Name = await s2.locator('#live-room').getAttribute('data-me-name');

      // The teacher's video plays on both students' phones.
      for (const [who, page] of [['student 1', s1], ['student 2', s2]]) {
        await until(`${who} decodes the teacher's video`, () => inbound(page, 'video', 'framesDecoded'));
        await page.locator('#live-main video').waitFor();
      }

      // The teacher lets student 1 speak; student 1 turns the microphone on; the teacher
      // receives their audio on the mid the server labelled as student 1's microphone.
      await teacher.locator('#live-t-people').click();
      const row = teacher.locator(`#live-people li[data-peer="${s1Id}"]`);
      await row.locator('button', { hasText: 'Cho nói' }).click();
      await s1.locator('#live-mic:not([disabled])').waitFor();
      await s1.locator('#live-mic').click();
      await s1.locator('#live-mic[aria-pressed="true"]').waitFor();
      const mids = await until("the teacher gets student 1's microphone track", () =>
        teacher.evaluate((id) => {
          const m = window.__live.state.tracks.filter((t) => t.peer === id && t.kind === 'audio').map((t) => t.mid);
          return m.length ? m : null;
        }, s1Id));
      await until("the teacher receives student 1's audio", () => inbound(teacher, 'audio', 'packetsReceived', mids));
      await row.locator('button', { hasText: 'Thôi nói' }).waitFor();

      // Chat from student 2 reaches the teacher and student 1.
      const text = 'Thưa cô, em chưa hiểu phần quy đồng mẫu số ạ.';
      await s2.locator('#live-chat-form input[name="text"]').fill(text);
      await s2.locator('#live-chat-form button[type="submit"]').click();
      await teacher.locator('#live-t-chat').click();
      for (const page of [teacher, s1]) await page.locator('#live-chat li', { hasText: text }).waitFor();

      // Student 2 raises a hand: it appears in the teacher's queue.
      await s2.locator('#live-hand').click();
      await s2.locator('#live-hand[aria-pressed="true"]').waitFor();
      await teacher.locator('#live-t-hands').click();
      await teacher.locator(`#live-hands li[data-peer="${s2Id}"]`).waitFor();

      // A poll: the teacher opens it, student 1 votes, the teacher sees the vote live.
      await teacher.locator('#live-t-poll').click();
      await teacher.locator('#live-poll-q').fill('1/2 + 1/3 bằng bao nhiêu?');
      await teacher.locator('#live-poll-o').fill('2/5\n5/6\n1/6');
      await teacher.locator('#live-poll-form button[type="submit"]').click();
      await s1.locator('#live-t-poll[data-unread]').click();
      await s1.locator('#live-poll li[data-option="1"] button').click();
      await s1.locator('#live-poll li[data-option="1"] button[aria-pressed="true"]').waitFor();
      await teacher.locator('#live-poll li[data-option="1"] .live-poll-count', { hasText: '1 phiếu' }).waitFor();

      // The whiteboard: the teacher draws a line and writes; the students see both; the board
      // is saved as a PNG for the session page.
      await teacher.locator('#live-t-board').click();
      const canvas = teacher.locator('#live-canvas');
      const box = await canvas.boundingBox();
      await teacher.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.2);
      await teacher.mouse.down();
      for (let i = 1; i <= 10; i++) await teacher.mouse.move(box.x + box.width * (0.1 + i * 0.07), box.y + box.height * (0.2 + (i % 3) * 0.05));
      await teacher.mouse.up();
      await teacher.locator('[data-tool="text"]').click();
      await teacher.locator('[data-color="#d62828"]').click();
      await teacher.locator('#live-board-text').fill('1/2 + 1/3 = 5/6');
      await canvas.click({ position: { x: box.width * 0.2, y: box.height * 0.6 } });
      for (const page of [s1, s2]) {
        await page.waitForFunction(() => window.__live.state.board.map((i) => i.tool).join() === 'pen,text');
      }
      await teacher.waitForFunction(() => window.__live.state.board.length === 2 && window.__live.state.pending.length === 0);
      const [saved] = await Promise.all([
        teacher.waitForResponse((r) => r.url().endsWith('/whiteboard') && r.request().method() === 'POST'),
        teacher.locator('#live-board-save').click(),
      ]);
      assert.ok(saved.ok(), `the whiteboard PNG was refused: HTTP ${saved.status()}`);
      await s1.locator('#live-t-board').click();
      await screenshot(s1, 'live-student-board');

      // Slides: the teacher presents a PDF; its pages are rendered by the server and every
      // phone shows the teacher's page, following the next/previous buttons.
      const slidesUp = teacher.waitForResponse((r) => r.url().endsWith('/slides') && r.request().method() === 'POST');
      await teacher.locator('#live-slides-file').setInputFiles({ name: 'bai-giang.pdf', mimeType: 'application/pdf', buffer: slidesPdf(2) });
      const up = await slidesUp;
      assert.ok(up.ok(), `the PDF was refused: HTTP ${up.status()}`);
      const slideShown = (page, n) => page.waitForFunction((n) => {
        const img = document.getElementById('live-slide');
        return img && !document.getElementById('live-slides').hidden && img.complete && img.naturalWidth === 1280
          && img.getAttribute('src').endsWith(`/${n}`) && document.getElementById('live-slide-caption').textContent === `Trang ${n}/2`;
      }, n, { timeout: 20_000 });
      for (const page of [teacher, s1, s2]) await slideShown(page, 1);
      await teacher.locator('#live-slide-next').click();
      for (const page of [teacher, s1, s2]) await slideShown(page, 2);
      assert.ok(await teacher.locator('#live-slide-next').isDisabled(), 'no page after the last');
      await screenshot(s1, 'live-student-slides');

      // The teacher shares the screen: it takes the big place on the students' phones and the
      // teacher's camera moves to a small tile; when the sharing stops the camera comes back.
      await teacher.locator('#live-share').click();
      await teacher.locator('#live-share[aria-pressed="true"]').waitFor();
      await s1.locator('#live-main .live-tile[data-source="screen"] video').waitFor();
      await s1.locator('#live-strip .live-tile[data-source="camera"] video').waitFor();
      await screenshot(s1, 'live-student-screen');
      await teacher.locator('#live-share').click();
      await teacher.locator('#live-share[aria-pressed="false"]').waitFor();
      await s1.locator('#live-main .live-tile[data-source="camera"] video').waitFor();

      // Audio only (for a weak network): the video stops, the sound goes on; and back.
      await s2.locator('#live-audio-only').click();
      await s2.locator('#live-audio-only[aria-pressed="true"]').waitFor();
      await s2.locator('#live-main .live-empty', { hasText: 'chỉ âm thanh' }).waitFor();
      // The slide comes in its light version.
      await s2.waitForFunction(() => {
        const img = document.getElementById('live-slide');
        return img.getAttribute('src').endsWith('/2?s=1') && img.complete && img.naturalWidth === 480;
      });
      const heard = await inbound(s2, 'audio', 'packetsReceived');
      await until('student 2 still hears the teacher in audio-only mode', async () => (await inbound(s2, 'audio', 'packetsReceived')) > heard + 20);
      await s2.locator('#live-audio-only').click();
      await s2.locator('#live-main .live-tile[data-source="camera"] video').waitFor();

      for (const page of [teacher, s1, s2]) {
        await assertNoHorizontalScroll(page);
        await assertHealthy(page);
      }
      await teacher.locator('#live-t-people').click();
      await screenshot(teacher, 'live-teacher');
      await s1.locator('#live-t-chat').click();
      await screenshot(s1, 'live-student');

      // A network blip on student 1's phone (the connection drops without a goodbye): the page
      // reconnects with a fresh token and a new peer connection and keeps its place — the raised
      // hand stays second in the queue, the permission to speak stays, the teacher hears it again.
      await s1.locator('#live-hand').click();
      await teacher.locator('#live-t-hands').click();
      const queue = () => teacher.locator('#live-hands li').evaluateAll((lis) => lis.map((li) => li.dataset.peer));
      await until('both hands in the queue', async () => (await queue()).length === 2);
      assert.deepEqual(await queue(), [s2Id, s1Id]);
      const oldPc = await s1.evaluateHandle(() => window.__live.pc);
      await s1.evaluate(() => window.__live.reconnect());
      await s1.locator('#live-room[data-state="reconnecting"]').waitFor();
      assert.match(await s1.locator('#live-banner').innerText(), /Đang kết nối lại…/);
      await s1.locator('#live-room[data-state="connected"]').waitFor({ timeout: 20_000 });
      assert.ok(await s1.evaluate((old) => window.__live.pc !== old && old.connectionState === 'closed', oldPc), 'a new peer connection');
      await s1.locator('#live-mic[aria-pressed="true"]:not([disabled])').waitFor();
      await s1.locator('#live-hand[aria-pressed="true"]').waitFor();
      assert.deepEqual(await queue(), [s2Id, s1Id]);
      await until("student 1 decodes the teacher's video after the blip", () => inbound(s1, 'video', 'framesDecoded'));
      const before = await inbound(teacher, 'audio', 'packetsReceived');
      await until("the teacher hears student 1 after the blip", async () => (await inbound(teacher, 'audio', 'packetsReceived')) > before + 20);

      // Student 2 closes the page (a goodbye) and opens the room again: back in the class.
      const s2Page = s2;
      const gone = teacher.locator(`#live-people li[data-peer="${s2Id}"]`);
      await s2Page.close({ runBeforeUnload: true });
      await gone.waitFor({ state: 'detached', timeout: 40_000 });
      const s2Again = await s2Page.context().newPage();
      s2Again.problems = [];
      phones.push({ name: 'student2-again', context: s2Page.context(), page: s2Again });
      assert.equal(await enterRoom(s2Again, roomURL), s2Id);
      await teacher.locator(`#live-people li[data-peer="${s2Id}"][data-online="true"]`).waitFor({ state: "attached" });
      await until("student 2 decodes the teacher's video again", () => inbound(s2Again, 'video', 'framesDecoded'));
      // Coming back in the middle of the presentation shows the teacher's current page.
      await slideShown(s2Again, 2);

      // The session page counts both of student 2's visits.
      await s2Again.locator('#live-leave').click();
      await gone.waitFor({ state: 'detached', timeout: 40_000 });
      const page = await phone('teacher-session');
      await loginAs(page, suite.server.baseURL, 'teacher');
      await page.goto(sessionURL);
      const visits = (name) => page.locator('[data-attendance] tr[data-student]', { hasText: name }).locator('[data-visits]').innerText();
      assert.equal((await visits(s2Name)).trim(), '2', `${s2Name} came twice`);
      assert.equal((await visits(s1Name)).trim(), '1', `${s1Name}'s blip is not a new visit`);
      await page.locator('img[data-whiteboard]').waitFor();
      assert.ok(await page.locator('img[data-whiteboard]').evaluate((i) => i.complete && i.naturalWidth === 1600), 'the saved board shows');
      await assertHealthy(page);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'live-attendance');
    } catch (err) {
      await keepFailure(err, 'live', phones, suite.server);
      throw err;
    }
  });
});
