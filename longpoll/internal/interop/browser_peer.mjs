// browser_peer.mjs PAGE_URL: opens PAGE_URL in headless Chromium (the Debian
// package, never a downloaded browser), runs the page's polling scenario and
// prints its result as one JSON line.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [pageURL] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'streamkit-chromium-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = await ctx.newPage();
  page.on('console', (m) => console.error('page:', m.text()));
  await page.goto(pageURL);
  const result = await page.evaluate(() => window.runScenario());
  console.log(JSON.stringify(result));
} catch (err) {
  console.error('browser peer failed:', err && err.stack ? err.stack : err);
  process.exitCode = 1;
} finally {
  if (ctx) await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
