/**
 * The README's screenshots, retaken from `npm run demo`'s data: the org view as an admin sees it, and
 * one person's own page. Starts the demo on a fresh data dir and a free port, drives Debian's Chromium
 * through playwright-core, writes docs/screenshots/*.png, and stops.
 *
 *   npx tsx scripts/screenshots.ts
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/support/browser.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'docs/screenshots');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-screenshots-'));
const port = await freePort();
const demo = spawn(process.execPath, ['--import', 'tsx', 'functions/local/demo.ts'], {
  cwd: ROOT,
  env: {
    ...process.env,
    TOLLGATE_DATA_DIR: dataDir,
    TOLLGATE_PORT: String(port),
    TOLLGATE_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
demo.stdout.on('data', (d: Buffer) => {
  out += d.toString();
});
try {
  const deadline = Date.now() + 180_000;
  while (!/^Dashboard: /m.test(out)) {
    if (Date.now() > deadline || demo.exitCode !== null) throw new Error(`the demo did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const url = /^Dashboard: (\S+)/m.exec(out)?.[1] ?? '';
  const masterKey = /master key\s+(sk-master-\S+)/.exec(out)?.[1] ?? '';
  const personKey = /their own page\) with\s+(sk-tg-\S+)/.exec(out)?.[1] ?? '';
  const browser = await launchChromium();
  try {
    for (const [name, key, lands] of [
      ['org-view', masterKey, '#org'],
      ['own-page', personKey, '#me'],
    ] as const) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(url);
      await page.getByLabel('Your Tollgate key, or the master key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator(`${lands}:not([hidden])`).waitFor();
      await page.waitForTimeout(1_000); // charts animate in
      // The org view's first screen (its tiles and budgets); the whole of a person's page.
      await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: name === 'own-page' });
      console.log(`wrote docs/screenshots/${name}.png`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
} finally {
  demo.kill('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
}
