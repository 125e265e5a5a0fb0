// A live class where the teacher's browser prefers H.264, as iOS Safari does (it encodes H.264 in
// hardware): an init script puts H.264 first in the teacher's video transceivers, so her offer
// lists it first. The media server answers in that order, the teacher sends H.264 simulcast, and a
// student on a browser that prefers VP8 decodes it; the student's camera, once allowed, reaches
// the teacher as VP8. Each direction keeps its publisher's codec. Then a student whose browser
// cannot decode H.264 (a Firefox without its H.264 plug-in; here an init script takes H.264 out
// of the server's offers, so the browser's answers refuse it) comes in: the server asks the
// teacher's page for VP8, the page starts its media session again with VP8 first, and everyone
// decodes the teacher.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  loginAs, submitLogin, assertHealthy,
  DEMO_PASSWORD, screenshot,
} from '../lib.mjs';
import { until, inbound, teacherEntersRoom, keepFailure, liveClass } from '../live_common.mjs';

/** Runs in the page before live.js: video transceivers prefer H.264 (packetization mode 1,
 * constrained baseline first), then everything else in the browser's order. */
function preferH264() {
  const P = window.RTCPeerConnection.prototype;
  const add = P.addTransceiver;
  P.addTransceiver = function (what, ...rest) {
    const t = add.call(this, what, ...rest);
    const kind = typeof what === 'string' ? what : what?.kind;
    if (kind === 'video') {
      const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
      const rank = (c) => {
        if (!/h264/i.test(c.mimeType)) return 3;
        const fmtp = c.sdpFmtpLine || '';
        if (!/packetization-mode=1/.test(fmtp)) return 2;
        return /profile-level-id=42e01f/.test(fmtp) ? 0 : 1;
      };
      t.setCodecPreferences([...codecs].sort((a, b) => rank(a) - rank(b)));
    }
    return t;
  };
}

/** Runs in the page before live.js: H.264 is taken out of the offers the page receives, as if
 * the browser had no H.264 decoder (its answers then accept VP8 only). */
function noH264() {
  const strip = (d) => {
    if (!d || d.type !== 'offer' || typeof d.sdp !== 'string') return d;
    const lines = d.sdp.split('\r\n');
    const pts = new Set(lines.map((l) => /^a=rtpmap:(\d+) H264\//i.exec(l)?.[1]).filter(Boolean));
    for (const l of lines) {
      const m = /^a=fmtp:(\d+) apt=(\d+)/.exec(l);
      if (m && pts.has(m[2])) pts.add(m[1]);
    }
    const sdp = lines
      .filter((l) => { const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l); return !(m && pts.has(m[1])); })
      .map((l) => (l.startsWith('m=video') ? l.split(' ').filter((x, i) => i < 3 || !pts.has(x)).join(' ') : l))
      .join('\r\n');
    return { type: d.type, sdp };
  };
  const P = window.RTCPeerConnection.prototype;
  const setRemote = P.setRemoteDescription;
  P.setRemoteDescription = function (d, ...rest) { return setRemote.call(this, strip(d), ...rest); };
}

/** The codecs (mime types) of the page's RTP streams in `direction` ('inbound' or 'outbound')
 * of `kind` that carried packets. */
function codecs(page, direction, kind) {
  return page.evaluate(async ({ direction, kind }) => {
    const pc = window.__live?.pc;
    if (!pc) return [];
    const stats = await pc.getStats();
    const out = new Set();
    stats.forEach((r) => {
      const moved = direction === 'inbound' ? r.packetsReceived : r.packetsSent;
      if (r.type === `${direction}-rtp` && r.kind === kind && moved > 0 && r.codecId) {
        const c = stats.get(r.codecId);
        if (c) out.add(c.mimeType);
      }
    });
    return [...out].sort();
  }, { direction, kind });
}

describe('live class with H.264 (a teacher whose browser prefers it)', { timeout: 240_000 }, () => {
  const suite = liveClass('live-h264');
  const { phone, phones } = suite;

  it('the teacher sends H.264, the student decodes it and sends VP8 back; a browser without H.264 turns the teacher to VP8', async () => {
    try {
      const teacher = await phone('teacher', preferH264);
      await loginAs(teacher, suite.server.baseURL, 'teacher');
      const { roomURL } = await teacherEntersRoom(teacher);

      const s1 = await phone('student');
      await loginAs(s1, suite.server.baseURL, 'student');
      await s1.goto(roomURL);
      await s1.locator('#live-room[data-state="connected"]').waitFor({ timeout: 30_000 });
      const s1Id = await s1.locator('#live-room').getAttribute('data-me');

      // The teacher's camera leaves as H.264 and the student decodes H.264 frames.
      await until('the teacher sends H.264', async () => {
        const c = await codecs(teacher, 'outbound', 'video');
        return c.length && c.every((m) => m === 'video/H264') ? c : null;
      });
      await until("the student decodes the teacher's video", () => inbound(s1, 'video', 'framesDecoded'), 45_000);
      assert.deepEqual(await codecs(s1, 'inbound', 'video'), ['video/H264']);
      await s1.locator('#live-main video').waitFor();
      const decoded = await inbound(s1, 'video', 'framesDecoded');
      await until('the student keeps decoding', async () => (await inbound(s1, 'video', 'framesDecoded')) > decoded + 30);

      // The student, allowed the camera, sends VP8 (their browser's preference) to the teacher.
      await teacher.locator('#live-t-people').click();
      const row = teacher.locator(`#live-people li[data-peer="${s1Id}"]`);
      await row.locator('button', { hasText: 'Cho bật camera' }).click();
      await s1.locator('#live-cam:not([disabled])').waitFor();
      await s1.locator('#live-cam').click();
      await s1.locator('#live-cam[aria-pressed="true"]').waitFor();
      await until("the teacher decodes the student's video", () => inbound(teacher, 'video', 'framesDecoded'), 45_000);
      assert.deepEqual(await codecs(teacher, 'inbound', 'video'), ['video/VP8']);
      assert.deepEqual(await codecs(s1, 'outbound', 'video'), ['video/VP8']);

      // A student whose browser has no H.264 comes in: the teacher's page switches to VP8, and
      // both students decode it.
      const s2 = await phone('student2', noH264);
      await submitLogin(s2, suite.server.baseURL, 'hs.demo2', DEMO_PASSWORD);
      await s2.goto(roomURL);
      await s2.locator('#live-room[data-state="connected"]').waitFor({ timeout: 30_000 });
      await until('the teacher switches to VP8', async () => {
        const c = await codecs(teacher, 'outbound', 'video');
        return c.length && c.every((m) => m === 'video/VP8') ? c : null;
      }, 45_000);
      for (const [who, page] of [['student 1', s1], ['student 2', s2]]) {
        await until(`${who} decodes the teacher's VP8`, async () => {
          const c = await codecs(page, 'inbound', 'video');
          return c.includes('video/VP8') && (await inbound(page, 'video', 'framesDecoded')) > 0 ? c : null;
        }, 45_000);
      }
      await s2.locator('#live-main video').waitFor();
      // The teacher still has the student's camera.
      const fromStudent = await inbound(teacher, 'video', 'framesDecoded');
      await until("the teacher decodes the student's video again", async () => (await inbound(teacher, 'video', 'framesDecoded')) > fromStudent + 10, 45_000);
      await screenshot(teacher, 'live-h264-teacher');
      await screenshot(s2, 'live-h264-student-vp8');
      for (const page of [teacher, s1, s2]) await assertHealthy(page);
    } catch (err) {
      await keepFailure(err, 'live-h264', phones, suite.server);
      throw err;
    }
  });
});
