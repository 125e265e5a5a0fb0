// Shared helpers of the browser tests: start a demo lophoc server, drive the system Chromium at a
// phone viewport, log in, save screenshots and, on failure, what the page and server showed.
//
// No fixed sleeps anywhere: every wait is for a selector, a navigation, an HTTP answer or a
// process event, with a deadline.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, accessSync, constants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCREENSHOT_DIR = path.join(here, 'screenshots');
export const RESULTS_DIR = path.join(here, 'test-results');

/** The one password of every demo account. */
export const DEMO_PASSWORD = 'lophoc@2025';

/** Demo logins by role (the role is the suffix of `data-page="dashboard-ROLE"`). */
export const DEMO_LOGINS = {
  system_admin: 'admin',
  province_officer: 'so.chuyenvien',
  commune_officer: 'xa.canbo',
  principal: 'ht.thcs',
  school_admin: 'qt.thcs',
  group_head: 'tt.toan',
  teacher: 'gv.toan',
  student: 'hs.demo',
  parent: '0912000001',
};

/** Letters only Vietnamese has (tone marks, ơ, ư, đ…): a message containing one is Vietnamese. */
export const VIETNAMESE = /[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]/i;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** The phone the tests hold: 360×740 CSS pixels, touch, 2× pixels. */
export const PHONE = {
  viewport: { width: 360, height: 740 },
  screen: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
  locale: 'vi-VN',
  timezoneId: 'Asia/Ho_Chi_Minh',
  userAgent:
    'Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/148.0.0.0 Mobile Safari/537.36',
};

export function ensureDirs() {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  mkdirSync(RESULTS_DIR, { recursive: true });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function lophocBin() {
  const bin = process.env.LOPHOC_BIN;
  if (!bin) throw new Error('LOPHOC_BIN is not set (path of the built lophoc binary)');
  accessSync(bin, constants.X_OK);
  return bin;
}

/**
 * Starts `lophoc serve --demo` on a fresh data directory and a free port, and waits until
 * GET /healthz answers 200. `name` names the log file in test-results/.
 * Returns { baseURL, log(), stop() }.
 */
export async function startServer(name) {
  ensureDirs();
  const bin = lophocBin();
  let lastError;
  // The port is free when chosen but another process could take it before the server binds:
  // then the server exits early and we try another port.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `lophoc-e2e-${name}-`));
    const server = spawnServer(bin, name, port, dataDir);
    try {
      await waitHealthy(server, 30_000);
      return server;
    } catch (e) {
      lastError = e;
      await server.stop();
      if (!server.exited) break; // it runs but never got healthy: retrying would not help
    }
  }
  throw lastError;
}

function spawnServer(bin, name, port, dataDir) {
  const args = ['serve', '--demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`];
  // Live-class media ports on loopback and free: test servers run side by side.
  const env = {
    ...process.env,
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    NO_COLOR: '1',
    LOPHOC_LIVE_UDP: '127.0.0.1:0',
    LOPHOC_LIVE_TCP: '127.0.0.1:0',
  };
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = path.join(RESULTS_DIR, `server-${name}.log`);
  let output = `$ ${bin} ${args.join(' ')}\n`;
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const server = {
    baseURL: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    exited: false,
    exitCode: null,
    log: () => output,
    tail: (n = 4000) => output.slice(-n),
    exitPromise: null,
    async stop() {
      if (!server.exited) {
        child.kill('SIGTERM');
        const timer = new AbortController();
        const done = await Promise.race([
          server.exitPromise.then(() => true),
          delay(10_000, false, { signal: timer.signal }).catch(() => true),
        ]);
        timer.abort();
        if (!done) {
          child.kill('SIGKILL');
          await server.exitPromise;
        }
      }
      process.off('exit', killOnExit);
      writeFileSync(logFile, output);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  server.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      server.exited = true;
      server.exitCode = code ?? signal;
      resolve();
    });
    child.on('error', (err) => {
      output += `\nspawn error: ${err.message}\n`;
      server.exited = true;
      server.exitCode = 'spawn-error';
      resolve();
    });
  });
  return server;
}

async function waitHealthy(server, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (server.exited) {
      throw new Error(
        `lophoc serve exited (${server.exitCode}) before /healthz answered. Output:\n${server.tail()}`,
      );
    }
    try {
      const res = await fetch(`${server.baseURL}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    // Poll again soon, or at once when the process exits.
    await Promise.race([delay(100, undefined, { ref: false }), server.exitPromise]);
  }
  throw new Error(
    `lophoc serve: /healthz did not answer 200 within ${timeoutMs / 1000} s (last: ${last}). ` +
      `Output:\n${server.tail()}`,
  );
}

/**
 * Launches the system Chromium (never a downloaded one). `extraArgs` adds command-line flags
 * for one test file (the live class uses fake camera and microphone).
 */
export async function launchBrowser({ extraArgs = [] } = {}) {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (apt-get install chromium)`);
  }
  // On a loaded 2-core machine Chromium now and then dies while starting (its crash handler
  // prints "no stack mapping" and the pipe closes) before any page exists: that is the
  // environment, not lophoc, so try again a couple of times before failing.
  let lastError;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
    } catch (e) {
      lastError = e;
      console.error(`Chromium did not start (attempt ${attempt}/3): ${String(e).split('\n')[0]}`);
    }
  }
  throw lastError;
}

/**
 * A fresh phone context and page. The page records uncaught script errors and failed
 * responses so that `assertHealthy(page)` can check none happened.
 */
export async function newPhonePage(browser) {
  const context = await browser.newContext(PHONE);
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`script error: ${err.message}`));
  page.on('response', (res) => {
    const url = new URL(res.url());
    if (url.pathname === '/favicon.ico') return;
    if (res.status() >= 500 || (res.status() === 404 && res.request().resourceType() !== 'document')) {
      page.problems.push(`HTTP ${res.status()} ${res.request().method()} ${url.pathname}`);
    }
  });
  page.on('requestfailed', (req) => {
    const url = new URL(req.url());
    // ERR_ABORTED is the browser cancelling what the page still loaded (an icon, say) because
    // the test navigated on: not a fault of the server.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    if (url.hostname === '127.0.0.1' && url.pathname !== '/favicon.ico') {
      page.problems.push(`request failed: ${req.method()} ${url.pathname} ${req.failure()?.errorText}`);
    }
  });
  return { context, page };
}

/**
 * No script error, no 5xx, no missing asset on this page so far, and no text the translation
 * layer could not find (fluent-templates writes "Unknown localization key" in its place).
 */
export async function assertHealthy(page) {
  assert.deepEqual(page.problems, [], `problems on ${page.url()}:\n${page.problems.join('\n')}`);
  const missing = await page.evaluate(() => {
    const found = document.documentElement.outerHTML.matchAll(/Unknown localization key: (?:"|&quot;|&#34;)([\w-]+)/g);
    return [...new Set([...found].map((m) => m[1]))];
  });
  assert.deepEqual(missing, [], `untranslated keys on ${page.url()}: ${missing.join(', ')}`);
}

/** The page fits a 360 px phone: nothing makes it scroll sideways. */
export async function assertNoHorizontalScroll(page) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(
    scrollWidth <= clientWidth + 1,
    `${new URL(page.url()).pathname} scrolls sideways on a 360 px phone: ` +
      `content is ${scrollWidth} px wide for ${clientWidth} px`,
  );
}

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Opens /login, fills the form and submits it; waits for the page that answers. */
export async function submitLogin(page, baseURL, login, password) {
  await page.goto(`${baseURL}/login`);
  const form = page.locator('form', { has: page.locator('input[name="login"]') });
  await form.locator('input[name="login"]').fill(login);
  await form.locator('input[name="password"]').fill(password);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    form.locator('button[type="submit"]').click(),
  ]);
}

/** Logs in and waits for the dashboard of `role` at `/`. */
export async function loginAs(page, baseURL, role) {
  const login = DEMO_LOGINS[role];
  await submitLogin(page, baseURL, login, DEMO_PASSWORD);
  assert.equal(
    pathOf(page),
    '/',
    `${role} (${login}) should land on / after logging in, got ${page.url()}; ` +
      `flash: ${await page.locator('.flash-error').allInnerTexts().catch(() => [])}`,
  );
  await page.locator(`main[data-page="dashboard-${role}"]`).waitFor({ state: 'visible' });
}

/**
 * Makes `locator` visible if it sits in a closed menu (a <details> or a button with
 * aria-expanded="false"), as a person on a phone would open the menu first.
 */
export async function reveal(page, locator) {
  await locator.first().waitFor({ state: 'attached' });
  // Prefer a match already on screen (a dashboard button over the same link in the menu).
  const onScreen = locator.filter({ visible: true });
  if ((await onScreen.count()) > 0) return onScreen.first();
  const target = locator.first();
  const inDetails = await target.evaluate((el) => {
    const d = el.closest('details');
    return d && !d.open ? true : false;
  });
  if (inDetails) {
    // The innermost closed <details> holding the element: click its summary.
    const summaries = page.locator('details:not([open]) > summary');
    const n = await summaries.count();
    for (let i = 0; i < n && !(await target.isVisible()); i++) {
      const s = summaries.nth(i);
      const holds = await s.evaluate((el, t) => el.parentElement.contains(t), await target.elementHandle());
      if (holds && (await s.isVisible())) await s.click();
    }
  }
  if (!(await target.isVisible())) {
    const toggles = page.locator('button[aria-expanded="false"]:visible, [role="button"][aria-expanded="false"]:visible');
    const n = await toggles.count();
    for (let i = 0; i < n && !(await target.isVisible()); i++) {
      await toggles.nth(i).click();
      await target.waitFor({ state: 'visible', timeout: 2_000 }).catch(() => {});
    }
  }
  await target.waitFor({ state: 'visible', timeout: 5_000 }).catch(() => {
    throw new Error(`${locator} exists on ${page.url()} but a phone user cannot see it, even after opening the menu`);
  });
  return target;
}

/** Logs out through the form in the menu; waits for the page that answers. */
export async function logout(page) {
  const button = page.locator('form[action="/logout"] button[type="submit"], form[action="/logout"] button:not([type]), form[action="/logout"] input[type="submit"]');
  assert.ok((await page.locator('form[action="/logout"]').count()) > 0, `no logout form on ${page.url()}`);
  const visible = await reveal(page, button);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), visible.click()]);
}

/** A full-page screenshot in e2e/screenshots/<name>.png. */
export async function screenshot(page, name) {
  ensureDirs();
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Runs `fn(page)` in a fresh phone context; on failure saves a screenshot and the HTML of the
 * page in test-results/ and appends the server output to the error.
 */
export async function withPhone(browser, server, name, fn) {
  const { context, page } = await newPhonePage(browser);
  try {
    await fn(page);
  } catch (err) {
    ensureDirs();
    const base = path.join(RESULTS_DIR, name.replace(/[^\w.-]+/g, '_'));
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
    const html = await page.content().catch(() => '');
    writeFileSync(`${base}.html`, html);
    err.message +=
      `\n  page: ${page.url()}\n  saved: ${base}.png, ${base}.html` +
      (page.problems.length ? `\n  page problems: ${page.problems.join('; ')}` : '') +
      `\n  server output (tail):\n${server.tail(2000).replace(/^/gm, '    ')}`;
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}
