// peer.mjs MODE URL: a real SSE client for the sse module's tests.
//   node    URL = the event stream; the npm "eventsource" package reads it.
//   browser URL = a page whose EventSource reads the stream, in headless
//           Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
// Every event, open and error is printed as one JSON line on stdout. The
// peer exits when stdin closes.
import { EventSource } from 'eventsource';
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode, url] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
let cleanup = async () => {};

if (mode === 'node') {
  const es = new EventSource(url);
  const report = (type) => (e) => print({ kind: 'event', type, data: e.data, lastEventId: e.lastEventId });
  es.onmessage = report('message');
  es.addEventListener('tick', report('tick'));
  es.onopen = () => print({ kind: 'open' });
  es.onerror = () => print({ kind: 'error', readyState: es.readyState });
  cleanup = async () => es.close();
} else if (mode === 'browser') {
  const dir = mkdtempSync(join(tmpdir(), 'streamkit-chromium-'));
  // A fresh profile directory per run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.exposeFunction('report', (obj) => print(obj));
  page.on('pageerror', (err) => print({ kind: 'pageerror', message: String(err) }));
  await page.goto(url);
  cleanup = async () => {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  };
} else {
  console.error('usage: peer.mjs node|browser URL');
  process.exit(2);
}

process.stdin.resume();
process.stdin.on('end', async () => {
  await cleanup();
  process.exit(0);
});
