// A live class on a network that blocks UDP: in both phones the server's UDP candidates never
// reach the browser's ICE agent (an init script strips them from every description the page
// applies, as a firewall dropping UDP leaves only TCP reachable), so the only way in is lophoc's
// ICE-TCP candidate. The teacher and a student still meet: the student decodes the teacher's
// video, the teacher hears the student, and both connections' selected candidate pairs are TCP.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  loginAs, assertHealthy,
} from '../lib.mjs';
import { until, inbound, teacherEntersRoom, keepFailure, liveClass } from '../live_common.mjs';

/** Runs in the page before live.js: the server's UDP candidates are dropped on the way in. */
function blockUdp() {
  const strip = (d) => {
    if (!d || typeof d.sdp !== 'string') return d;
    const sdp = d.sdp.split('\r\n').filter((l) => !/^a=candidate:\S+ \d+ udp /i.test(l)).join('\r\n');
    return { type: d.type, sdp };
  };
  const P = window.RTCPeerConnection.prototype;
  const setRemote = P.setRemoteDescription;
  P.setRemoteDescription = function (d, ...rest) { return setRemote.call(this, strip(d), ...rest); };
  const addCandidate = P.addIceCandidate;
  P.addIceCandidate = function (c, ...rest) {
    if (c && / udp /i.test(c.candidate || '')) return Promise.resolve();
    return addCandidate.call(this, c, ...rest);
  };
}

/** The protocols of the selected candidate pair's local and remote candidates, and the
 * protocols of every local candidate gathered. */
function transport(page) {
  return page.evaluate(async () => {
    const pc = window.__live?.pc;
    if (!pc) return null;
    const stats = await pc.getStats();
    let pairId = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
    });
    const local = [];
    stats.forEach((r) => { if (r.type === 'local-candidate') local.push(r.protocol); });
    const pair = pairId && stats.get(pairId);
    if (!pair) return { selected: null, local };
    return {
      selected: {
        state: pair.state,
        local: stats.get(pair.localCandidateId)?.protocol,
        remote: stats.get(pair.remoteCandidateId)?.protocol,
        remoteType: stats.get(pair.remoteCandidateId)?.candidateType,
      },
      local,
    };
  });
}

describe('live class without UDP (ICE-TCP)', { timeout: 240_000 }, () => {
  const suite = liveClass('live-tcp');
  const { phone, phones } = suite;

  it('teacher and student meet over TCP: video and audio flow', async () => {
    try {
      const teacher = await phone('teacher', blockUdp);
      await loginAs(teacher, suite.server.baseURL, 'teacher');
      const { roomURL } = await teacherEntersRoom(teacher);

      const s1 = await phone('student', blockUdp);
      await loginAs(s1, suite.server.baseURL, 'student');
      await s1.goto(roomURL);
      await s1.locator('#live-room[data-state="connected"]').waitFor({ timeout: 30_000 });
      const s1Id = await s1.locator('#live-room').getAttribute('data-me');

      // The teacher's video reaches the student over TCP.
      await until("the student decodes the teacher's video", () => inbound(s1, 'video', 'framesDecoded'), 45_000);

      // The teacher lets the student speak and receives the student's audio.
      await teacher.locator('#live-t-people').click();
      const row = teacher.locator(`#live-people li[data-peer="${s1Id}"]`);
      await row.locator('button', { hasText: 'Cho nói' }).click();
      await s1.locator('#live-mic:not([disabled])').waitFor();
      await s1.locator('#live-mic').click();
      await s1.locator('#live-mic[aria-pressed="true"]').waitFor();
      await until("the teacher receives the student's audio", () => inbound(teacher, 'audio', 'packetsReceived'), 45_000);

      // Both media paths run on TCP.
      for (const [who, page] of [['teacher', teacher], ['student', s1]]) {
        const t = await until(`${who}'s selected candidate pair`, async () => {
          const t = await transport(page);
          return t?.selected?.state === 'succeeded' ? t : null;
        });
        assert.equal(t.selected.local, 'tcp', `${who}: local candidate is TCP (${JSON.stringify(t)})`);
        assert.equal(t.selected.remote, 'tcp', `${who}: the server's candidate is TCP (${JSON.stringify(t)})`);
      }
      await assertHealthy(teacher);
      await assertHealthy(s1);
    } catch (err) {
      await keepFailure(err, 'live-tcp', phones, suite.server);
      throw err;
    }
  });
});
