// A supervisor opens a case in the Temporal UI: with the codec endpoint the UI decodes the case's input
// and current details through the API; without it, the same page shows ciphertext. A real dev server
// with its Web UI, a real headless Chromium (Debian's `chromium`), screenshots kept under .data/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTemporalDevServer, type DevServer } from '../dev/temporal-dev-server';
import { PROJECT_ROOT, toolPaths } from '../dev/tools';
import { middayZone, openCaseByApi, type Stack, startStack, uniqueAccountId } from './helpers';
import { freePort } from './ports';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'ui-test-token-0123456789abcdefghijklmnop';
const NAME = '东方明珠';
const SHOTS = path.join(PROJECT_ROOT, '.data', 'screenshots');

let dataDir: string;
let server: DevServer | undefined;
let stack: Stack | undefined;
let browser: Browser | undefined;
let ports: { temporal: number; ui: number; api: number };

const startServer = async (codec: boolean) =>
  startTemporalDevServer({
    cli: toolPaths().temporalCli,
    dataDir,
    port: ports.temporal,
    uiPort: ports.ui,
    namespace: 'default',
    ...(codec ? { codecEndpoint: `http://127.0.0.1:${ports.api}/v1/codec/ui/${TOKEN}` } : {}),
  });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'recoup-ui-'));
  ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
  server = await startServer(true);
  stack = await startStack({
    temporalAddress: server.address,
    apiPort: ports.api,
    codecServer: { uiToken: TOKEN, corsOrigins: [`http://127.0.0.1:${ports.ui}`, `http://localhost:${ports.ui}`] },
  });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/**
 * The case's page in the UI, once it shows `shows` (or after 30 s, what it shows then): its text, and a
 * screenshot. The UI keeps polling, so the network never goes quiet: the page is read by what it shows.
 */
async function openCasePage(workflowId: string, runId: string, tab: string, shot: string, shows: string): Promise<string> {
  const page = await browser!.newPage();
  await page.setViewport({ width: 1400, height: 1800 });
  try {
    await page.goto(`http://127.0.0.1:${ports.ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/${tab}`, {
      waitUntil: 'domcontentloaded',
      timeout: 60_000,
    });
    await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(workflowId)})`, { timeout: 30_000 });
    // The page's text and its frames' (the UI renders markdown, the current details, in a sandboxed iframe).
    const textOf = async () => {
      const texts = await Promise.all(page.frames().map((f) => f.evaluate('document.body ? document.body.innerText : ""').catch(() => '')));
      return texts.join('\n');
    };
    const deadline = Date.now() + 30_000;
    while (!(await textOf()).includes(shows) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
    const text = await textOf();
    if (process.env.DEBUG_UI) console.log(text);
    return text;
  } finally {
    await page.close();
  }
}

it('shows the decoded debtor name and current details with the codec endpoint, ciphertext without it', async () => {
  const accountId = uniqueAccountId('UI');
  const timeZone = middayZone();
  const { workflowId, runId } = await openCaseByApi(stack!, accountId, { amountMinor: 800_000, debtor: { name: NAME, timeZone } });
  await expect
    .poll(async () => (await stack!.sql`select 1 from cases where account_id = ${accountId}`).length, { timeout: 20_000 })
    .toBe(1);

  // The input (with the debtor's name) and the activity summaries on the history tab; the current-details
  // line on the user-metadata tab.
  const DETAILS = /Day 0: .*Outstanding\s8,000\.00\sCNY/; // the amount and its currency: a no-break space
  const history = await openCasePage(workflowId, runId, 'history', 'case-with-codec.png', NAME);
  expect(history).toContain(NAME);
  expect(history).toMatch(/Day 0: Visit the business site/);
  const details = await openCasePage(workflowId, runId, 'user-metadata', 'case-details-with-codec.png', 'Outstanding');
  expect(details).toMatch(DETAILS);
  console.log(`[temporal-ui] with the codec endpoint: debtor name, summaries and current details shown (screenshots in ${SHOTS})`);

  // The same server on the same SQLite file, started without the codec endpoint.
  await server!.stop();
  server = await startServer(false);
  // The input is shown as the ciphertext's base64 (our format's first bytes, version 1 and flags: "AQ…").
  const encrypted = await openCasePage(workflowId, runId, 'history', 'case-without-codec.png', '"AQ');
  expect(encrypted).toContain(workflowId);
  expect(encrypted).not.toContain(NAME);
  expect(encrypted).not.toMatch(/Day 0: Visit the business site/);
  expect(encrypted).toMatch(/"AQ[A-Za-z0-9+/=\s]{200,}"/);
  const noDetails = await openCasePage(workflowId, runId, 'user-metadata', 'case-details-without-codec.png', 'Current Details');
  expect(noDetails).toContain(workflowId);
  expect(noDetails).not.toMatch(DETAILS);
  console.log(`[temporal-ui] without it: ciphertext, no name (${path.join(SHOTS, 'case-without-codec.png')})`);
}, 240_000);
