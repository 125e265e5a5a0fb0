// The parent's journey on a 360 px phone: the homeroom teacher prints a one-time code; the
// demo parent (two children in two schools) activates with it, sees homework and a grade for
// each child, writes to the teacher, turns on Web Push, and when the teacher releases a new
// grade gets both an inbox item and a push message.
//
// Push in headless Chromium: the real push service (FCM) is unreachable here, so the test is
// the push service. It makes the device keys (P-256 and an auth secret) itself, and the
// browser's PushManager.subscribe answers with them and an endpoint on a local HTTP stand-in;
// everything else is the real app: app.js fetches /push/key and posts /push/subscribe, the
// server's worker encrypts (aes128gcm, RFC 8291) and signs (VAPID, RFC 8292) the message, the
// stand-in records it, the test checks the signature, decrypts it, and hands the plaintext to
// the service worker (DevTools protocol), which shows the notification. The server accepts a
// plain-HTTP local endpoint only because this test sets LOPHOC_PUSH_ALLOW_INSECURE.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import {
  startServer, launchBrowser, withPhone, loginAs, screenshot, assertHealthy,
  assertNoHorizontalScroll, reveal, DEMO_PASSWORD,
} from '../lib.mjs';

const PARENT_PHONE = '0912000001';
const NEW_PASSWORD = 'Hai-con-hoc-gioi-2026';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

/** The push service stand-in: records every POST and answers 201 Created, as FCM does. */
async function pushStandIn() {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const msg = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) };
      received.push(msg);
      res.writeHead(201, { Location: `/msg/${received.length}` });
      res.end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    received,
    /** The next message at or after index `from`, within `ms`. */
    async next(from, ms) {
      const deadline = Date.now() + ms;
      while (received.length <= from) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no push message reached the stand-in within ${ms / 1000} s`);
        await new Promise((ok) => {
          const t = setTimeout(ok, left);
          waiters.push(() => { clearTimeout(t); ok(); });
        });
      }
      return received[from];
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
}

/** Decrypts an aes128gcm Web Push body (RFC 8291 §3.4, RFC 8188) with the device's keys. */
function decryptPush(body, ecdh, authSecret) {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  assert.equal(idlen, 65, 'the key id is the server\'s ephemeral P-256 key');
  assert.ok(records.length <= rs, 'one record');
  const uaPublic = ecdh.getPublicKey();
  const shared = ecdh.computeSecret(asPublic);
  const prkKey = hmac(authSecret, shared);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic, Buffer.from([1])]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 followed by zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  assert.equal(padded[end], 2, 'last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/** Checks the VAPID header (RFC 8292): a JWT for the push service's origin, signed with `k`. */
function checkVapid(authorization, audience, serverKey) {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  assert.ok(m, `Authorization is "vapid t=…, k=…": ${authorization}`);
  const [, jwt, k] = m;
  assert.equal(k, serverKey, 'k is the key the page subscribed with (/push/key)');
  const [h, p, sig] = jwt.split('.');
  const header = JSON.parse(unb64u(h));
  const claims = JSON.parse(unb64u(p));
  assert.equal(header.alg, 'ES256');
  assert.equal(claims.aud, audience);
  assert.ok(claims.exp * 1000 > Date.now() && claims.exp * 1000 <= Date.now() + 24 * 3600 * 1000 + 60_000, 'expires within 24 h');
  assert.match(claims.sub, /^(mailto:|https:)/);
  const point = unb64u(k);
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33, 65)) },
    format: 'jwk',
  });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, unb64u(sig));
  assert.ok(ok, 'the VAPID signature verifies with the server key');
}

/** A logged-in HTTP session of the real routes (the teachers' side of the journey). */
async function httpSession(baseURL, login, password = DEMO_PASSWORD) {
  const r = await fetch(`${baseURL}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login, password }),
  });
  assert.equal(r.status, 303, `login of ${login}`);
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const call = async (path, init = {}) => {
    const res = await fetch(`${baseURL}${path}`, { redirect: 'manual', ...init, headers: { ...(init.headers ?? {}), cookie } });
    return res;
  };
  return {
    get: async (path) => {
      const res = await call(path);
      assert.equal(res.status, 200, `GET ${path} as ${login}`);
      return res.text();
    },
    form: async (path, fields) => {
      const res = await call(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
      assert.equal(res.status, 303, `POST ${path} as ${login}: ${res.status} ${res.status === 303 ? '' : await res.text()}`);
      return res.headers.get('location');
    },
    multipart: async (path, fields) => {
      const body = new FormData();
      for (const [k, v] of Object.entries(fields)) body.append(k, v);
      const res = await call(path, { method: 'POST', body });
      assert.equal(res.status, 303, `POST ${path} as ${login}: ${res.status === 303 ? '' : await res.text()}`);
      return res.headers.get('location');
    },
  };
}

/** The term the child's page shows today (the demo year: term I from 5/9 to 17/1). */
function currentTerm() {
  const vn = new Date(Date.now() + 7 * 3600 * 1000);
  const m = vn.getUTCMonth() + 1;
  const d = vn.getUTCDate();
  return (m >= 2 && m <= 7) || (m === 1 && d >= 19) ? '2' : '1';
}

/** `yyyy-mm-ddThh:mm` in Vietnam, `days` from now (the task form's datetime-local). */
function vnLocal(days) {
  return new Date(Date.now() + 7 * 3600 * 1000 + days * 86_400_000).toISOString().slice(0, 16);
}

describe('a parent of two children, on a phone', { timeout: 240_000 }, () => {
  let server;
  let browser;
  let push;
  before(async () => {
    push = await pushStandIn();
    process.env.LOPHOC_PUSH_ALLOW_INSECURE = 'true';
    server = await startServer('family-journey');
    delete process.env.LOPHOC_PUSH_ALLOW_INSECURE;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await push?.close();
  });

  it('activates with a code, follows both children, writes to the teacher and gets inbox and push for a new grade', async () => {
    const base = server.baseURL;
    // 1. The homeroom teacher of 6A1 prints codes, also for parents who already have a password.
    let code;
    await withPhone(browser, server, 'journey-teacher', async (page) => {
      await loginAs(page, base, 'teacher');
      await Promise.all([page.waitForNavigation(), page.locator('main a', { hasText: '6A1' }).first().click()]);
      await page.check('input[name="include_active"]');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="parent-codes"]')]);
      const slip = page.locator('.slip', { hasText: PARENT_PHONE }).first();
      await slip.waitFor();
      code = (await slip.locator('code').allInnerTexts())[2];
      assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      await assertHealthy(page);
    });

    // 2. The parent activates on their phone and finds both children on the home page.
    const device = crypto.createECDH('prime256v1');
    device.generateKeys();
    const authSecret = crypto.randomBytes(16);
    const endpoint = `${push.base}/push/device-1`;
    const { context, page } = await (async () => {
      const context = await browser.newContext({
        viewport: { width: 360, height: 740 }, screen: { width: 360, height: 740 }, isMobile: true, hasTouch: true,
        deviceScaleFactor: 2, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh',
      });
      context.setDefaultTimeout(15_000);
      await context.grantPermissions(['notifications'], { origin: base });
      // The device's push service is the stand-in: subscribe() answers with keys the test holds.
      await context.addInitScript(({ endpoint, p256dh, auth }) => {
        if (!('PushManager' in self)) return;
        const sub = {
          endpoint, expirationTime: null, options: null,
          toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
          unsubscribe: async () => { sessionStorage.removeItem('test-push'); return true; },
        };
        PushManager.prototype.subscribe = async function (opts) {
          const key = new Uint8Array(opts.applicationServerKey);
          sessionStorage.setItem('test-push', btoa(String.fromCharCode(...key)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
          return sub;
        };
        PushManager.prototype.getSubscription = async function () {
          return sessionStorage.getItem('test-push') ? sub : null;
        };
      }, { endpoint, p256dh: b64u(device.getPublicKey()), auth: b64u(authSecret) });
      const page = await context.newPage();
      page.problems = [];
      page.on('pageerror', (err) => page.problems.push(`script error: ${err.message}`));
      page.on('response', (res) => { if (res.status() >= 500) page.problems.push(`HTTP ${res.status()} ${res.url()}`); });
      return { context, page };
    })();
    try {
      await page.goto(`${base}/activate`);
      await page.fill('input[name="phone"]', PARENT_PHONE);
      await page.fill('input[name="code"]', code);
      await page.fill('input[name="new"]', NEW_PASSWORD);
      await page.fill('input[name="confirm"]', NEW_PASSWORD);
      await page.check('input[name="consent"]');
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      await page.locator('main[data-page="dashboard-parent"]').waitFor();
      const children = page.locator('a[data-nav="child"]');
      assert.equal(await children.count(), 2, 'two children');
      const cards = await page.locator('main li.card', { has: page.locator('a[data-nav="child"]') }).allInnerTexts();
      assert.ok(cards.some((t) => t.includes('Tiểu học Gia Viễn A')) && cards.some((t) => t.includes('THCS Gia Viễn')), cards.join(' | '));
      const childURL = async (school) => page.locator('main li.card', { hasText: school }).locator('a[data-nav="child"]').getAttribute('href');
      const primaryURL = await childURL('Tiểu học Gia Viễn A');
      const thcsURL = await childURL('THCS Gia Viễn');
      const [, , , primaryStudent] = primaryURL.split('/').slice(1);
      const [, , , thcsStudent] = thcsURL.split('/').slice(1);
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'journey-home');

      // 3. Meanwhile at school (the real routes, over HTTP): the primary school sets homework
      //    in Toán 1A and enters the child's end-of-term result; gv.toan grades the THCS child.
      await page.goto(`${base}/courses`);
      const primaryCourse = (await page.locator('a[data-course="TOAN-1A"]').getAttribute('href')).split('/')[2];
      const primaryPrincipal = await httpSession(base, 'ht.37thgv01');
      await primaryPrincipal.multipart(`/courses/${primaryCourse}/tasks`, {
        title: 'Luyện đếm từ 1 đến 10',
        instructions: 'Đếm đồ vật trong nhà cùng bố mẹ và ghi vào vở.',
        due: vnLocal(5),
        late: 'accept_late',
      });
      const term = currentTerm();
      await primaryPrincipal.form(`/courses/${primaryCourse}/gradebook`, {
        term, [`c-${primaryStudent}-MCK-1`]: 'T', [`c-${primaryStudent}-KTCK-1`]: '9',
      });
      const teacher = await httpSession(base, 'gv.toan');
      const courses = await teacher.get('/courses');
      const thcsCourse = /href="\/courses\/([0-9a-f-]+)" data-course="TOAN-6A1"/.exec(courses)[1];
      await teacher.form(`/courses/${thcsCourse}/gradebook`, { term, [`c-${thcsStudent}-TX-1`]: '8' });

      // The homeroom teacher takes the day's attendance on her phone: the THCS child is absent
      // with permission, everyone else present.
      await withPhone(browser, server, 'journey-attendance', async (tp) => {
        await loginAs(tp, base, 'teacher');
        await Promise.all([tp.waitForNavigation(), tp.locator('main a', { hasText: '6A1' }).first().click()]);
        await Promise.all([tp.waitForNavigation(), tp.click('a[data-nav="attendance"]')]);
        await tp.locator('[data-att-not-taken]').waitFor();
        await tp.locator(`label:has(input[name="s-${thcsStudent}"][value="excused"])`).click();
        await tp.fill(`input[name="n-${thcsStudent}"]`, 'ốm, bố đã xin phép');
        await assertNoHorizontalScroll(tp);
        await Promise.all([tp.waitForNavigation(), tp.click('button[data-action="save-attendance"]')]);
        await tp.locator('[data-att-taken]').waitFor();
        assert.ok(await tp.locator(`input[name="s-${thcsStudent}"][value="excused"]`).isChecked());
        assert.match(await tp.locator('[data-att-tally]').innerText(), /\b1\b/);
        await screenshot(tp, 'journey-attendance');
        await assertHealthy(tp);
      });

      // 4. Each child's page shows homework with its status and the grade.
      for (const [url, homework, grade, shot] of [
        [primaryURL, 'Luyện đếm từ 1 đến 10', /Hoàn thành tốt/, 'journey-child-primary'],
        [thcsURL, 'Viết các số sau bằng số La Mã', /ĐĐGtx: 8/, 'journey-child-thcs'],
      ]) {
        await page.goto(`${base}${url}`);
        const hw = page.locator('[data-homework] li', { hasText: homework });
        await hw.waitFor();
        assert.match(await hw.innerText(), /Chưa nộp/);
        assert.match(await page.locator('[data-grades]').innerText(), grade);
        await page.locator('[data-school-attendance]').waitFor();
        if (url === thcsURL) assert.match(await page.locator('[data-school-attendance]').innerText(), /vắng có phép/);
        await assertNoHorizontalScroll(page);
        await screenshot(page, shot);
      }

      // 5. The parent writes to the THCS child's teacher.
      await Promise.all([page.waitForNavigation(), page.locator('a[data-nav="message-teacher"]').first().click()]);
      await page.fill('textarea[name="body"]', 'Thưa cô, tối nay cháu sẽ làm bài tập số La Mã ạ.');
      await Promise.all([page.waitForNavigation(), page.click('button[data-action="send"]')]);
      await page.locator('.chat li.mine', { hasText: 'số La Mã' }).waitFor();
      await assertNoHorizontalScroll(page);

      // 6. Notification settings: no quiet hours on this phone, and push on.
      await page.goto(`${base}/account/notifications`);
      await page.selectOption('#qs', '0');
      await page.selectOption('#qe', '0');
      await Promise.all([page.waitForNavigation(), page.locator('form[action="/account/notifications"] button[type="submit"]').click()]);
      const enable = page.locator('[data-push-subscribe]');
      await enable.waitFor({ state: 'visible' });
      const subscribed = page.waitForResponse((r) => r.url().endsWith('/push/subscribe'));
      await enable.click();
      assert.equal((await subscribed).status(), 204);
      await page.locator('[data-push-unsubscribe]').waitFor({ state: 'visible' });
      const serverKey = (await (await page.request.get(`${base}/push/key`)).json()).key;
      assert.equal(await page.evaluate(() => sessionStorage.getItem('test-push')), serverKey, 'subscribed with the server key');
      await screenshot(page, 'journey-push-on');

      // 7. The teacher releases a new grade; the worker delivers it.
      const before = push.received.length;
      await teacher.form(`/courses/${thcsCourse}/gradebook`, { term, [`c-${thcsStudent}-TX-1`]: '8', [`c-${thcsStudent}-TX-2`]: '9' });
      // Every message is checked; an earlier grade notice still queued may come first.
      let payload;
      for (let i = before; !payload; i++) {
        const msg = await push.next(i, 30_000);
        assert.equal(msg.method, 'POST');
        assert.equal(msg.path, '/push/device-1');
        assert.equal(msg.headers['content-encoding'], 'aes128gcm');
        assert.ok(Number(msg.headers.ttl) > 0, 'a TTL');
        // web-push-native names the audience by scheme and host only; push services listen on
        // the default port, where that is exactly their origin (RFC 8292 §2).
        const standIn = new URL(push.base);
        checkVapid(msg.headers.authorization, `${standIn.protocol}//${standIn.hostname}`, serverKey);
        const p = JSON.parse(decryptPush(msg.body, device, authSecret));
        if (/ĐĐGtx2: — → 9/.test(p.body)) payload = p;
      }
      assert.match(payload.title, /Cập nhật điểm môn Toán/);
      assert.match(payload.url, /\/inbox\/[0-9a-f-]+$/);

      // 8. The service worker shows it as a notification.
      const cdp = await context.newCDPSession(page);
      const registration = new Promise((ok) => cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const r = registrations.find((x) => x.scopeURL.startsWith(base) && !x.isDeleted);
        if (r) ok(r.registrationId);
      }));
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: base, registrationId: await registration, data: JSON.stringify(payload) });
      const shown = await page.evaluate(async (title) => {
        const reg = await navigator.serviceWorker.ready;
        for (let i = 0; i < 50; i++) {
          const list = await reg.getNotifications();
          const hit = list.find((n) => n.title === title);
          if (hit) return { title: hit.title, body: hit.body, url: hit.data && hit.data.url };
          await new Promise((ok) => setTimeout(ok, 100));
        }
        return null;
      }, payload.title);
      assert.ok(shown, 'the service worker showed the notification');
      assert.equal(shown.url, payload.url);

      // 9. And the inbox has it, unread; opening it leads to the child's page with the grade.
      await page.goto(`${base}/`);
      const inbox = await reveal(page, page.locator('a[data-nav="inbox"]'));
      await Promise.all([page.waitForNavigation(), inbox.click()]);
      const item = page.locator('.inbox li.unread a', { hasText: 'Cập nhật điểm môn Toán' }).first();
      await item.waitFor();
      await page.locator('.inbox li a', { hasText: 'vắng có phép' }).first().waitFor();
      await assertNoHorizontalScroll(page);
      await screenshot(page, 'journey-inbox');
      await Promise.all([page.waitForNavigation(), item.click()]);
      assert.equal(new URL(page.url()).pathname, thcsURL);
      assert.match(await page.locator('[data-grades]').innerText(), /ĐĐGtx: 8,0; 9,0/);
      assert.deepEqual(page.problems, []);
    } catch (err) {
      await page.screenshot({ path: 'test-results/journey-parent.png', fullPage: true }).catch(() => {});
      err.message += `\n  page: ${page.url()}\n  server output (tail):\n${server.tail(2000)}`;
      throw err;
    } finally {
      await context.close();
    }
  });
});
