// Runs the browser tests: every tests/*.test.mjs under node's test runner, one file at a time
// (each starts its own lophoc server and Chromium; the machine has 2 cores).
//
//   LOPHOC_BIN=/path/to/lophoc node run.mjs [NAME...]
//
// NAME filters test files by substring ("import" runs tests/import.test.mjs). Screenshots go to
// screenshots/, failure screenshots, page HTML and server logs to test-results/.
// Environment: LOPHOC_BIN (required), CHROMIUM_PATH (default /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDirs, RESULTS_DIR } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(2);
}

const bin = process.env.LOPHOC_BIN;
if (!bin) fail('set LOPHOC_BIN to the built lophoc binary (cargo build --bin lophoc)');
try {
  accessSync(bin, constants.X_OK);
} catch {
  fail(`LOPHOC_BIN=${bin} is not an executable file`);
}
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) fail(`no Chromium at ${chromiumPath} (apt-get install chromium)`);

const filters = process.argv.slice(2);
const testsDir = path.join(here, 'tests');
const files = readdirSync(testsDir)
  .filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => path.join('tests', f));
if (files.length === 0) fail(`no test file matches ${filters.join(' ')}`);

rmSync(RESULTS_DIR, { recursive: true, force: true });
ensureDirs();

console.log(`e2e: ${files.length} file(s) with ${bin} and ${chromiumPath}`);
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: here, stdio: 'inherit', env: { ...process.env, LOPHOC_BIN: path.resolve(bin) } },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (code !== 0) console.error(`e2e: failed; see ${path.relative(process.cwd(), RESULTS_DIR) || '.'} for screenshots, HTML and server logs`);
  process.exit(code ?? (signal ? 1 : 0));
});
