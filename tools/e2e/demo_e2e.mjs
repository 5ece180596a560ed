// demo_e2e.mjs URL SHOTS_DIR [FULL_PAGE_PNG]: drives the demo page in headless
// Chromium (Debian's /usr/bin/chromium through playwright-core; no browser is
// ever downloaded) and reports to the Go test, one JSON line per step on
// stdout. When it needs the server restarted it prints {"need":"restart"}
// and waits for a line on stdin. Screenshots go to SHOTS_DIR, and a
// full-page one to FULL_PAGE_PNG when given.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [url, shots, fullPage] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const T = { timeout: 30000 };

const profile = mkdtempSync(join(tmpdir(), 'streamkit-e2e-chromium-'));
let ctx;
try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const open = async (name) => {
    const page = await ctx.newPage();
    page.on('pageerror', (err) => console.error(`${name} pageerror:`, String(err)));
    page.on('console', (m) => { if (m.type() === 'error') console.error(`${name} console:`, m.text()); });
    await page.goto(url);
    return page;
  };
  const shot = (page, file) => page.screenshot({ path: join(shots, file) });
  const state = (page, panel) => page.textContent(`#${panel}-state`);

  // 1. SSE numbers arrive.
  const a = await open('A');
  await a.waitForFunction(() => window.demo.ticks.length >= 3, null, T);
  await shot(a, '1-sse.png');
  const before = await a.evaluate(() => window.demo.ticks.slice());
  print({ step: 'sse', ticks: before });

  // 2. The server restarts (same file store); the ticker goes on with no gap.
  print({ need: 'restart' });
  const reply = await lines.next();
  if (reply.done) throw new Error('stdin closed before the restart');
  const seen = await a.evaluate(() => window.demo.ticks.length);
  await a.waitForFunction((n) => window.demo.ticks.length >= n, seen + 4, T);
  await a.waitForFunction(() => document.querySelector('#sse-state').textContent === 'open', null, T);
  await shot(a, '2-restart.png');
  print({ step: 'restart', sseState: await state(a, 'sse') });

  // 3. Two pages chat in a room.
  const b = await open('B');
  const joinRoom = async (page, name) => {
    await page.fill('#chat-name', name);
    await page.fill('#chat-room-input', 'lobby');
    await page.click('#chat-join button');
    await page.waitForFunction((n) => window.demo.chat.some((m) => m.kind === 'welcome' && m.from === n), name, T);
    await page.waitForFunction(() => document.querySelector('#chat-state').textContent === 'open', null, T);
  };
  await joinRoom(a, 'alice');
  await joinRoom(b, 'bob');
  const say = async (from, to, text) => {
    await from.fill('#chat-input', text);
    await from.press('#chat-input', 'Enter');
    await to.waitForFunction((t) => window.demo.chat.some((m) => m.kind === 'message' && m.text === t), text, T);
  };
  await say(a, b, 'hello from alice');
  await say(b, a, 'hi alice, bob here');
  await shot(a, '3-chat-a.png');
  await shot(b, '3-chat-b.png');
  print({ step: 'chat' });

  // 4. A notification published from page B reaches page A by long polling.
  await b.fill('#poll-input', 'deploy finished');
  await b.press('#poll-input', 'Enter');
  await a.waitForFunction(() => window.demo.notes.some((n) => n.text === 'deploy finished'), null, T);
  await shot(a, '4-notification.png');
  print({ step: 'notification' });

  // 5. The job's progress reaches 100% over MCP Streamable HTTP.
  await a.click('#job-run');
  await a.waitForFunction(() => window.demo.job.done, null, T);
  await a.waitForFunction(() => window.demo.notes.some((n) => n.from === 'job'), null, T);
  await a.waitForTimeout(500); // the progress bar's transition
  await shot(a, '5-job.png');
  if (fullPage) await a.screenshot({ path: fullPage, fullPage: true });

  const result = await a.evaluate(() => window.demo);
  const resultB = await b.evaluate(() => window.demo);
  print({ step: 'done', a: result, b: resultB });
} catch (err) {
  console.error('e2e failed:', err && err.stack ? err.stack : err);
  process.exitCode = 1;
} finally {
  if (ctx) await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  process.stdin.destroy();
}
